"""Test helpers around the Slack side: the Web API fake on a real port, polling, and
requests built and signed exactly the way Slack builds them.

``*_payload`` functions return what Slack sends (a dict); ``*_body`` functions return the
HTTP body Slack posts to the app's Request URL (form-encoded; interactions as a
``payload=`` JSON field). Over Socket Mode the payload dict is the envelope's ``payload``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.slack_fake import SlackFake
from tests.fakes.servers import ThreadedServer

T = TypeVar("T")

TEAM_ID = "T00000001"
TEAM_DOMAIN = "chatops-fake"
API_APP_ID = "A0001"
VERIFICATION_TOKEN = "fake-verification-token"  # the deprecated field Slack still sends
BOT_USER_ID = "UBOTFAKE"
# Port 9 (discard) refuses connections: an app that responds without a real
# response_url fails fast instead of reaching the internet.
UNUSED_RESPONSE_URL = "http://127.0.0.1:9/respond/unset"

_trigger_counter = itertools.count(1)


@dataclass
class RunningSlackFake:
    """A ``SlackFake`` served on a free loopback port."""

    fake: SlackFake
    server: ThreadedServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def api_url(self) -> str:
        """What ``SLACK_API_URL`` / ``AsyncWebClient(base_url=...)`` should be."""
        return self.server.url + "/api/"

    def response_url(self, **kw: Any) -> str:
        return self.fake.response_url(self.url, **kw)


@contextmanager
def running_slack_fake(**kw: Any) -> Iterator[RunningSlackFake]:
    """``with running_slack_fake() as slack: AsyncWebClient(base_url=slack.api_url)``."""
    fake = SlackFake(**kw)
    with ThreadedServer(fake.app) as server:
        yield RunningSlackFake(fake, server)


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    *,
    message: str | Callable[[], str] | None = None,
) -> T:
    """Poll ``predicate`` until it returns something truthy, and return that.

    A predicate raising AssertionError counts as not yet. On timeout, raise AssertionError
    naming the predicate, its last result and ``message`` (a string or a callable that
    describes the state, e.g. ``lambda: str(fake.calls)``). Blocks the thread: inside a
    test's event loop use ``wait_for_async``.
    """
    deadline = time.monotonic() + timeout
    while True:
        last = _attempt(predicate)
        if last[0]:
            return last[0]
        if time.monotonic() >= deadline:
            raise AssertionError(_timeout_message(predicate, timeout, last, message))
        time.sleep(interval)


async def wait_for_async(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.02,
    *,
    message: str | Callable[[], str] | None = None,
) -> T:
    """``wait_for`` that sleeps with asyncio, so the loop's own tasks keep running."""
    deadline = time.monotonic() + timeout
    while True:
        last = _attempt(predicate)
        if last[0]:
            return last[0]
        if time.monotonic() >= deadline:
            raise AssertionError(_timeout_message(predicate, timeout, last, message))
        await asyncio.sleep(interval)


def _attempt(predicate: Callable[[], Any]) -> tuple[Any, AssertionError | None]:
    try:
        return predicate(), None
    except AssertionError as exc:
        return None, exc


def _timeout_message(
    predicate: Callable[[], Any],
    timeout: float,
    last: tuple[Any, AssertionError | None],
    message: str | Callable[[], str] | None,
) -> str:
    name = getattr(predicate, "__qualname__", repr(predicate))
    code = getattr(predicate, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code else ""
    result, error = last
    outcome = f"last raised {error!r}" if error else f"last returned {result!r}"
    text = f"timed out after {timeout}s waiting for {name}{where}; {outcome}"
    if message is not None:
        text += ": " + (message() if callable(message) else message)
    return text


# -- signing --------------------------------------------------------------------------


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack signs a request with (v0 HMAC-SHA256 of ``v0:ts:body``)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def new_trigger_id() -> str:
    """A fresh trigger id shaped like Slack's (``<seconds>.<number>.<hex>``)."""
    return f"{int(time.time())}.{next(_trigger_counter)}.{secrets.token_hex(16)}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def _user(user_id: str, team_id: str) -> dict[str, str]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str) -> dict[str, str]:
    return {"id": team_id, "domain": TEAM_DOMAIN}


def _interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


# -- slash commands -------------------------------------------------------------------


def slash_command_payload(
    command: str,
    text: str = "",
    *,
    user_id: str = "U123",
    channel_id: str = "C123",
    team_id: str = TEAM_ID,
    response_url: str = UNUSED_RESPONSE_URL,
    trigger_id: str | None = None,
    channel_name: str | None = None,
    api_app_id: str = API_APP_ID,
) -> dict[str, str]:
    """The fields of a slash command invocation, in Slack's order (all strings)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name or channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def slash_command_body(command: str, text: str = "", **kw: Any) -> bytes:
    """A slash command as Slack posts it (application/x-www-form-urlencoded)."""
    return urlencode(slash_command_payload(command, text, **kw)).encode()


# -- block_actions --------------------------------------------------------------------

SELECTS = {"static_select", "external_select", "radio_buttons", "overflow"}


def block_actions_payload(
    action_id: str,
    value: str,
    *,
    user_id: str = "U123",
    channel_id: str = "C123",
    message_ts: str = "1700000000.000100",
    response_url: str = UNUSED_RESPONSE_URL,
    block_id: str = "actions",
    message: dict[str, Any] | None = None,
    action_type: str = "button",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    is_ephemeral: bool = False,
    state_values: dict[str, Any] | None = None,
    api_app_id: str = API_APP_ID,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on ``action_id`` in a message.

    Pass the fake's stored message (``fake.messages[(channel, ts)]``) as ``message`` to
    carry its real blocks; by default a minimal bot message with that ts is sent. Select
    types carry ``selected_option`` instead of ``value``.
    """
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": _action_ts(),
    }
    if action_type in SELECTS:
        option = {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
        action["selected_option"] = option
    else:
        action["value"] = value
        action["text"] = {"type": "plain_text", "text": action_id, "emoji": True}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": is_ephemeral,
        },
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(team_id),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "state": {"values": state_values or {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not is_ephemeral:  # Slack leaves the message out for clicks in ephemeral messages
        payload["message"] = _public_message(message, message_ts, team_id)
    return payload


def block_actions_body(action_id: str, value: str, **kw: Any) -> bytes:
    """A ``block_actions`` interaction as Slack posts it (form field ``payload=``)."""
    return _interaction_body(block_actions_payload(action_id, value, **kw))


def _public_message(message: dict[str, Any] | None, ts: str, team_id: str) -> dict[str, Any]:
    if message is None:
        return {
            "type": "message",
            "subtype": "bot_message",
            "ts": ts,
            "user": BOT_USER_ID,
            "bot_id": "BFAKE0001",
            "team": team_id,
            "text": "",
            "blocks": [],
        }
    # A message as the fake stores it has bookkeeping fields Slack would not send.
    return {k: v for k, v in message.items() if k not in ("channel", "edits") and v is not None}


# -- view_submission ------------------------------------------------------------------


def view_submission_payload(
    callback_id: str,
    values: dict[str, dict[str, Any]] | None = None,
    private_metadata: str = "",
    user_id: str = "U123",
    *,
    view: dict[str, Any] | None = None,
    view_id: str | None = None,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    api_app_id: str = API_APP_ID,
) -> dict[str, Any]:
    """A ``view_submission`` payload.

    ``values`` is ``{block_id: {action_id: state}}`` as in ``view.state.values``; a plain
    string state is shorthand for a ``plain_text_input`` with that value. Pass the fake's
    stored ``view`` (``fake.views[id]``) to submit exactly what was opened.
    """
    state = {
        block_id: {
            action_id: (
                {"type": "plain_text_input", "value": entry} if isinstance(entry, str) else entry
            )
            for action_id, entry in actions.items()
        }
        for block_id, actions in (values or {}).items()
    }
    base = dict(view or {})
    the_id = view_id or base.get("id") or f"V{secrets.token_hex(5).upper()}"
    submitted = {
        "id": the_id,
        "team_id": team_id,
        "type": "modal",
        "blocks": [],
        "title": {"type": "plain_text", "text": "Form", "emoji": True},
        "submit": {"type": "plain_text", "text": "Submit", "emoji": True},
        "close": None,
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": the_id,
        "external_id": "",
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "app_id": api_app_id,
        "app_installed_team_id": team_id,
        "bot_id": "BFAKE0001",
        **base,
        "callback_id": callback_id,
        "private_metadata": private_metadata or base.get("private_metadata", ""),
        "state": {"values": state},
    }
    return {
        "type": "view_submission",
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def view_submission_body(
    callback_id: str,
    values: dict[str, dict[str, Any]] | None = None,
    private_metadata: str = "",
    user_id: str = "U123",
    **kw: Any,
) -> bytes:
    """A ``view_submission`` as Slack posts it (form field ``payload=``)."""
    payload = view_submission_payload(callback_id, values, private_metadata, user_id, **kw)
    return _interaction_body(payload)


# -- message shortcuts ----------------------------------------------------------------


def message_shortcut_payload(
    callback_id: str,
    message: dict[str, Any] | None = None,
    channel_id: str = "C123",
    user_id: str = "U123",
    trigger_id: str | None = None,
    response_url: str = UNUSED_RESPONSE_URL,
    *,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """A ``message_action`` (message shortcut) payload on ``message``.

    ``message`` defaults to a user's plain message; its ``ts`` becomes ``message_ts``.
    """
    message = dict(message) if message is not None else {}
    message.setdefault("type", "message")
    message.setdefault("ts", "1700000000.000100")
    message.setdefault("user", "U999")
    message.setdefault("text", "")
    shown = _public_message(message, message["ts"], team_id)
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": _action_ts(),
        "team": _team(team_id),
        "user": _user(user_id, team_id),
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url,
        "message_ts": message["ts"],
        "message": shown,
    }


def message_shortcut_body(
    callback_id: str,
    message: dict[str, Any] | None = None,
    channel_id: str = "C123",
    user_id: str = "U123",
    trigger_id: str | None = None,
    response_url: str = UNUSED_RESPONSE_URL,
    **kw: Any,
) -> bytes:
    """A message shortcut as Slack posts it (form field ``payload=``)."""
    payload = message_shortcut_payload(
        callback_id, message, channel_id, user_id, trigger_id, response_url, **kw
    )
    return _interaction_body(payload)
