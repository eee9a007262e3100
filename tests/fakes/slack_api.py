"""Test helpers around the Slack side: the Web API fake on a real port and polling.

Requests built and signed exactly the way Slack builds them live in ``bot.devkit.slack_requests``
(the console sends them too); they are re-exported here so tests import one module.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.devkit.slack_fake import SlackFake
from bot.devkit.slack_requests import (
    API_APP_ID,
    BOT_USER_ID,
    SELECTS,
    TEAM_DOMAIN,
    TEAM_ID,
    UNUSED_RESPONSE_URL,
    VERIFICATION_TOKEN,
    block_actions_body,
    block_actions_payload,
    message_shortcut_body,
    message_shortcut_payload,
    new_trigger_id,
    sign,
    slash_command_body,
    slash_command_payload,
    view_submission_body,
    view_submission_payload,
)
from tests.fakes.servers import ThreadedServer

__all__ = [
    "API_APP_ID",
    "BOT_USER_ID",
    "SELECTS",
    "TEAM_DOMAIN",
    "TEAM_ID",
    "UNUSED_RESPONSE_URL",
    "VERIFICATION_TOKEN",
    "RunningSlackFake",
    "block_actions_body",
    "block_actions_payload",
    "message_shortcut_body",
    "message_shortcut_payload",
    "new_trigger_id",
    "running_slack_fake",
    "sign",
    "slash_command_body",
    "slash_command_payload",
    "view_submission_body",
    "view_submission_payload",
    "wait_for",
    "wait_for_async",
]

T = TypeVar("T")


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


def posted_cards(slack: Any) -> list[dict]:
    """The messages the app posted outside threads (its cards), oldest first."""
    found = [m for m in slack.fake.messages.values() if not m.get("thread_ts")]
    return sorted(found, key=lambda m: m["ts"])


def posted_card(slack: Any, n: int = 0) -> dict:
    """The ``n``-th card, once it is there."""
    wait_for(lambda: len(posted_cards(slack)) > n, timeout=10)
    return posted_cards(slack)[n]


def replies_in_thread(slack: Any, ts: str) -> list[dict]:
    """What the app posted in the thread of the message ``ts``."""
    return [
        c.args
        for c in slack.fake.calls_to("chat.postMessage")
        if c.ok and c.args.get("thread_ts") == ts
    ]
