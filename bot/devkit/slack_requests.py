"""Requests built and signed exactly the way Slack builds them, for the console and tests.

``*_payload`` functions return what Slack sends (a dict); ``*_body`` functions return the
HTTP body Slack posts to the app's Request URL (form-encoded; interactions as a
``payload=`` JSON field). Over Socket Mode the payload dict is the envelope's ``payload``.
``sign`` gives the headers that go with a body. Everything here is pure: no I/O.

The defaults describe a pretend workspace (``TEAM_ID``, ``TEAM_DOMAIN``, ``API_APP_ID``);
the keyword arguments let a caller (the console) describe its own.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T00000001"
TEAM_DOMAIN = "chatops-fake"
API_APP_ID = "A0001"
VERIFICATION_TOKEN = "fake-verification-token"  # noqa: S105 - the deprecated field Slack still sends
BOT_USER_ID = "UBOTFAKE"
# Port 9 (discard) refuses connections: an app that responds without a real
# response_url fails fast instead of reaching the internet.
UNUSED_RESPONSE_URL = "http://127.0.0.1:9/respond/unset"

_trigger_counter = itertools.count(1)


# -- signing --------------------------------------------------------------------------


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack signs a request with (v0 HMAC-SHA256 of ``v0:ts:body``)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def new_trigger_id() -> str:
    """A fresh trigger id shaped like Slack's (``<seconds>.<number>.<hex>``)."""
    return f"{int(time.time())}.{next(_trigger_counter)}.{secrets.token_hex(16)}"


def action_ts() -> str:
    """The moment of an action, as Slack writes it (``<seconds>.<microseconds>``)."""
    return f"{time.time():.6f}"


def interaction_body(payload: dict[str, Any]) -> bytes:
    """An interaction payload as Slack posts it (form field ``payload=``, JSON)."""
    return urlencode({"payload": json.dumps(payload)}).encode()


def _user(user_id: str, team_id: str, user_name: str | None = None) -> dict[str, str]:
    name = user_name or user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _team(team_id: str, team_domain: str = TEAM_DOMAIN) -> dict[str, str]:
    return {"id": team_id, "domain": team_domain}


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
    user_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, str]:
    """The fields of a slash command invocation, in Slack's order (all strings)."""
    return {
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name or channel_id.lower(),
        "user_id": user_id,
        "user_name": user_name or user_id.lower(),
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
    value: str | None,
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
    text: dict[str, Any] | None = None,
    style: str | None = None,
    thread_ts: str | None = None,
    user_name: str | None = None,
    channel_name: str | None = None,
    team_domain: str = TEAM_DOMAIN,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """A ``block_actions`` payload for a click on ``action_id`` in a message.

    Pass the fake's stored message (``fake.messages[(channel, ts)]``) as ``message`` to
    carry its real blocks; by default a minimal bot message with that ts is sent. Select
    types carry ``selected_option`` instead of ``value``. A button echoes its ``text``
    (by default its action id as plain text), its ``style`` if it has one, and its
    ``value`` unless that is None. ``thread_ts`` names the thread the message is in.
    """
    action: dict[str, Any] = {
        "type": action_type,
        "action_id": action_id,
        "block_id": block_id,
        "action_ts": action_ts(),
    }
    if action_type in SELECTS:
        option = {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
        action["selected_option"] = option
    else:
        if value is not None:
            action["value"] = value
        action["text"] = text or {"type": "plain_text", "text": action_id, "emoji": True}
        if style:
            action["style"] = style
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": is_ephemeral,
    }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id, user_name),
        "api_app_id": api_app_id,
        "token": token,
        "container": container,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": _team(team_id, team_domain),
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name or channel_id.lower()},
        "state": {"values": state_values or {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not is_ephemeral:  # Slack leaves the message out for clicks in ephemeral messages
        payload["message"] = _public_message(message, message_ts, team_id)
        if thread_ts:
            payload["message"]["thread_ts"] = thread_ts
            container["thread_ts"] = thread_ts
    return payload


def view_block_actions_payload(
    view: dict[str, Any],
    element: dict[str, Any],
    *,
    block_id: str,
    user_id: str = "U123",
    **kw: Any,
) -> dict[str, Any]:
    """A click on ``element`` (a button of ``view``, e.g. a published Home tab) as Slack
    sends it: a ``block_actions`` whose container is the view, with the view itself, and
    no channel, message or response URL."""
    payload = block_actions_payload(
        str(element.get("action_id", "")),
        element.get("value"),
        block_id=block_id,
        text=element.get("text"),
        style=element.get("style"),
        user_id=user_id,
        **kw,
    )
    for key in ("channel", "message", "response_url", "state"):
        payload.pop(key, None)
    payload["container"] = {"type": "view", "view_id": view.get("id", "")}
    payload["view"] = view
    return payload


def block_actions_body(action_id: str, value: str | None, **kw: Any) -> bytes:
    """A ``block_actions`` interaction as Slack posts it (form field ``payload=``)."""
    return interaction_body(block_actions_payload(action_id, value, **kw))


def block_suggestion_payload(
    action_id: str,
    value: str,
    *,
    block_id: str,
    view: dict[str, Any] | None = None,
    user_id: str = "U123",
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
) -> dict[str, Any]:
    """What Slack sends for an ``external_select`` while its user types (``value``, the
    text typed so far): a ``block_suggestion``. In a modal it carries the ``view`` (the
    fake's stored one, ``fake.views[id]``) and no channel, trigger or response URL."""
    payload: dict[str, Any] = {
        "type": "block_suggestion",
        "user": _user(user_id, team_id),
        "team": _team(team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "action_ts": action_ts(),
        "container": {"type": "view", "view_id": (view or {}).get("id", "")},
        "is_enterprise_install": False,
        "enterprise": None,
    }
    if view is not None:
        payload["view"] = view
    return payload


def block_suggestion_body(action_id: str, value: str, **kw: Any) -> bytes:
    """A ``block_suggestion`` as Slack posts it (form field ``payload=``); the app answers
    in the HTTP response with ``{"options": [...]}``."""
    return interaction_body(block_suggestion_payload(action_id, value, **kw))


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
    return interaction_body(payload)


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
        "action_ts": action_ts(),
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
    return interaction_body(payload)


# -- Events API -----------------------------------------------------------------------

_event_counter = itertools.count(1)


def event_callback_payload(
    event: dict[str, Any],
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = API_APP_ID,
    bot_user_id: str = BOT_USER_ID,
    event_id: str | None = None,
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event`` (Slack posts it as JSON;
    over Socket Mode it is the ``events_api`` envelope's payload)."""
    return {
        "token": token,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{int(time.time())}{next(_event_counter):06d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }


def event_callback_body(event: dict[str, Any], **kw: Any) -> bytes:
    """An Events API request body as Slack posts it (application/json)."""
    return json.dumps(event_callback_payload(event, **kw)).encode()


def function_executed_event(
    callback_id: str,
    inputs: dict[str, Any],
    *,
    execution_id: str | None = None,
    bot_access_token: str | None = None,
    api_app_id: str = API_APP_ID,
) -> dict[str, Any]:
    """A ``function_executed`` event: a workflow reached one of the app's custom steps.
    ``bot_access_token`` is the execution's own token (``xwfp-…``), valid until the step
    completes; it is the token ``functions.completeSuccess|completeError`` need."""
    now = time.time()
    return {
        "type": "function_executed",
        "function": {
            "id": f"Fn{secrets.token_hex(5).upper()}",
            "callback_id": callback_id,
            "title": callback_id,
            "description": "",
            "type": "app",
            "input_parameters": [],
            "output_parameters": [],
            "app_id": api_app_id,
            "date_created": int(now),
            "date_updated": int(now),
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id or f"Fx{secrets.token_hex(6).upper()}",
        "workflow_execution_id": f"Wx{secrets.token_hex(6).upper()}",
        "event_ts": f"{now:.6f}",
        "bot_access_token": bot_access_token or f"xwfp-{secrets.token_hex(12)}",
    }


def app_home_opened_event(
    user_id: str, *, channel_id: str | None = None, tab: str = "home"
) -> dict[str, Any]:
    """An ``app_home_opened`` event: ``user_id`` opened the app's Home (or Messages) tab."""
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id or f"D{user_id[1:]}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
