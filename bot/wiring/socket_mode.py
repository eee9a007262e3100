"""Socket Mode: the one connection to Slack, opened in the background and kept open.

What a deployment sees (README, "Socket Mode that cannot connect"):

* ``chatops serve`` asks Slack once, before it starts, whether it takes SLACK_APP_TOKEN
  (``verify_app_token``). A token Slack refuses (revoked, mistyped, a bot token:
  ``invalid_auth``, ``not_allowed_token_type`` …) stops it at once with the reason, since
  no retry can fix that.
* Anything else (Slack not reachable, a WebSocket that does not open, a rate limit) never
  holds up start-up: ``SocketModeLink`` connects in the background, trying again with
  exponential back-off (1 s doubling to 60 s, with jitter), while ``/healthz`` answers 503
  with the reason. SIGTERM stops the process at any point of that.
* Once connected, slack_sdk's client keeps the connection: it reconnects after Slack's
  ``disconnect`` messages and after a dropped socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 60.0
# One apps.connections.open call, and one WebSocket opening. The second stays below the
# client's ping interval (Bolt: 10 s), after which slack_sdk would retry on its own with
# the same single-use URL. Whole seconds: slack_sdk's Web API client takes an int.
OPEN_TIMEOUT = 10
CONNECT_TIMEOUT = 8.0

# apps.connections.open errors that say "try again later"; any other error code is about
# the token or the app, and trying again will not change Slack's answer.
_TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
}
# What an admin should do about the common refusals.
_HINTS = {
    "invalid_auth": (
        "Slack does not know this token (revoked, mistyped or from another app); "
        "create one under Basic Information → App-Level Tokens"
    ),
    "not_authed": "the token is empty",
    "not_allowed_token_type": (
        "this is not an app-level token; SLACK_APP_TOKEN takes an xapp-… token "
        "(Basic Information → App-Level Tokens)"
    ),
    "token_revoked": "the token was revoked; create a new app-level token",
    "token_expired": "the token expired; create a new app-level token",
    "missing_scope": "the app-level token lacks the connections:write scope",
    "account_inactive": "the app or its workspace is no longer active",
}


class SocketModeError(Exception):
    """Socket Mode could not connect; ``str()`` says why, without the token.

    ``refused``: Slack answered that it does not take the token (no retry will help).
    """

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.refused = refused


async def open_connection_url(client: AsyncWebClient, app_token: str) -> str:
    """A fresh ``wss://`` URL from ``apps.connections.open``, or SocketModeError."""
    try:
        async with asyncio.timeout(OPEN_TIMEOUT):
            answer = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        raise _refusal(exc) from None
    except TimeoutError:
        raise SocketModeError(f"Slack did not answer within {OPEN_TIMEOUT:.0f} s") from None
    except Exception as exc:  # transport failures of any kind
        raise SocketModeError(f"Slack API not reachable ({type(exc).__name__})") from None
    url = answer.get("url")
    if not isinstance(url, str) or not url:
        raise SocketModeError("apps.connections.open gave no URL")
    return url


def _refusal(exc: SlackApiError) -> SocketModeError:
    status = getattr(exc.response, "status_code", 200)
    data = getattr(exc.response, "data", None)  # not a dict when a proxy answered
    error = str((data.get("error") if isinstance(data, dict) else None) or f"HTTP {status}")
    transient = error in _TRANSIENT or status == 429 or status >= 500
    hint = _HINTS.get(error)
    reason = f"apps.connections.open said {error}" + (f": {hint}" if hint else "")
    return SocketModeError(reason, refused=not transient)


async def verify_app_token(slack_api_url: str, app_token: str) -> None:
    """Ask Slack whether it takes ``app_token`` (for ``serve`` before it starts, and
    ``check``); SocketModeError says why not. The URL Slack hands out is left unused."""
    client = AsyncWebClient(base_url=slack_api_url, timeout=OPEN_TIMEOUT)
    await open_connection_url(client, app_token)


class _SdkLog(logging.LoggerAdapter):
    """slack_sdk's Socket Mode logger. Its client retries a WebSocket that will not open
    on its own, for ever, every 10 s with the same single-use URL, logging a traceback
    each time: here such a failure while we connect ends that attempt instead, so that our
    back-off, our one log line and our reason on ``/healthz`` apply. Everything else it
    logs passes through unchanged."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("slack_sdk.socket_mode"), {})
        self.failure: asyncio.Future[str] | None = None

    def exception(self, msg: object, *args: object, **kw: Any) -> None:
        text = str(msg) % args if args else str(msg)
        if text.startswith("Failed to connect") and self.failure is not None:
            if not self.failure.done():
                # "Failed to connect (error: …); Retrying..." → "…"
                reason = text.removesuffix("; Retrying...").removeprefix("Failed to connect")
                self.failure.set_result(reason.strip().removeprefix("(error: ").removesuffix(")"))
            return  # SocketModeLink logs it, with what happens next
        super().exception(msg, *args, **kw)


class SocketModeLink:
    """``start()`` connects in the background; ``status()`` is None once connected."""

    def __init__(self, bolt: AsyncApp, app_token: str) -> None:
        # Bolt's handler hands each envelope to the app and acks it. Its own Web API client
        # (at SLACK_API_URL) only ever calls apps.connections.open, whose token argument
        # must reach Slack as it is: not the app's client, which redacts secrets from
        # everything it sends.
        self._sdk_log = _SdkLog()
        self.handler = AsyncSocketModeHandler(
            bolt,
            app_token,
            logger=self._sdk_log,  # type: ignore[arg-type]  # needs only methods adapters have
            web_client=AsyncWebClient(base_url=bolt.client.base_url, timeout=OPEN_TIMEOUT),
        )
        self.problem: str | None = "connecting to Slack"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._connect(), name="socket-mode-connect")

    async def status(self) -> str | None:
        """None while connected; otherwise why not, in words for ``/healthz``."""
        if self._task is None or not self._task.done():
            return self.problem
        if await self.handler.client.is_connected():
            return None
        return "connection lost; reconnecting"

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.handler.close_async()

    async def _connect(self) -> None:
        delay = FIRST_DELAY
        while True:
            try:
                await self._connect_once()
            except SocketModeError as exc:
                self.problem = f"{exc}; trying again in {delay:.0f} s"
                level = logging.ERROR if exc.refused else logging.WARNING
                log.log(level, "Socket Mode not connected: %s", self.problem)
            else:
                self.problem = None
                log.info("Socket Mode connected")
                return
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, MAX_DELAY)

    async def _connect_once(self) -> None:
        client = self.handler.client
        # A new URL for each attempt: Slack's URLs are single-use tickets.
        client.wss_uri = await open_connection_url(client.web_client, client.app_token)
        failure = self._sdk_log.failure = asyncio.get_running_loop().create_future()
        connecting = asyncio.ensure_future(client.connect())
        try:
            done, _ = await asyncio.wait(
                {connecting, failure}, timeout=CONNECT_TIMEOUT, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            self._sdk_log.failure = None
            if not connecting.done():
                connecting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await connecting
        if connecting in done:
            connecting.result()
            return
        if failure in done:
            raise SocketModeError(f"the Socket Mode WebSocket did not open ({failure.result()})")
        raise SocketModeError(
            f"the Socket Mode WebSocket did not open within {CONNECT_TIMEOUT:.0f} s"
        )
