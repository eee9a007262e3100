"""What the app sends to Slack: never a configured secret, never to a stranger's host.

A vendor that echoes the app's own credentials (a Flint 400 saying ``password=…``) must
not have them shown on a public card. Every string bound for Slack passes the same
redactor the logs use (``bot.logs.SecretRedactor``), at the three ways out:

* ``RedactingWebClient``: every Web API call (messages, updates, modals, uploads);
* ``Outbound.middleware``: the request's ``respond`` (its response_url), which also
  sends nothing to a response_url whose host is not allowed;
* ``redact_message``: the arguments of an ``ack`` (handlers/common/listeners.py).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)

Redact = Callable[[str], str]


def redact_deep(value: Any, redact: Redact) -> Any:
    """``value`` with ``redact`` applied to every string in it (dicts, lists, tuples)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: redact_deep(item, redact) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_deep(item, redact) for item in value]
    return value


def redact_message(args: tuple[Any, ...], kw: dict[str, Any], redact: Redact):
    """The positional and keyword arguments of ``ack``/``respond``, redacted."""
    return tuple(redact_deep(a, redact) for a in args), redact_deep(kw, redact)


class RedactingWebClient(AsyncWebClient):
    """Slack's Web API client, redacting every string it sends."""

    def __init__(self, *args: Any, redact: Redact, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._redact = redact

    async def api_call(self, api_method: str, **kw: Any) -> Any:
        for part in ("json", "data", "params"):
            if isinstance(kw.get(part), dict):
                # A method's own credential (apps.connections.open's app token) is sent as
                # given: it is the one string here that is meant to be a secret.
                own = {k: v for k, v in kw[part].items() if k == "token"}
                kw[part] = {**redact_deep(kw[part], self._redact), **own}
        return await super().api_call(api_method, **kw)

    async def files_upload_v2(self, **kw: Any) -> Any:
        # The file's bytes go to an upload URL, not through api_call.
        # Text is redacted whichever argument carries it; binary bytes (a PNG chart) are
        # passed untouched, since decoding them as text would corrupt them.
        for part in ("content", "file"):
            data = kw.get(part)
            if isinstance(data, bytes):
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    continue
                kw[part] = self._redact(text).encode()
            elif isinstance(data, str) and part == "content":
                kw[part] = self._redact(data)
        for part in ("title", "initial_comment", "filename"):
            if isinstance(kw.get(part), str):
                kw[part] = self._redact(kw[part])
        return await super().files_upload_v2(**kw)


class Outbound:
    """Bolt middleware for the request's ``respond``: answers go to a response_url only on
    an allowed host (Slack's, and the Slack API URL's host, where local fakes serve both),
    and every string in them is redacted. A request naming another host keeps working, but
    its ``respond`` sends nothing, so no body can aim the app at an internal address."""

    def __init__(self, hosts: Iterable[str], redact: Redact) -> None:
        self.hosts = frozenset(hosts)
        self.redact = redact

    def allowed(self, url: str | None) -> bool:
        if not url:
            return True  # nothing to send to
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        return parts.scheme in ("https", "http") and (parts.hostname or "") in self.hosts

    async def middleware(self, context: Any, next: Callable[[], Awaitable[Any]]) -> Any:
        if not self.allowed(context.response_url):
            log.warning("response_url on a host that is not allowed: answers to it are dropped")
            context["response_url"] = None
            context["respond"] = _drop
        elif context.response_url:
            context["respond"] = _Redacted(context.respond, self.redact)
        return await next()


class _Redacted:
    """A ``respond`` that redacts what it is given before sending it."""

    def __init__(self, respond: Callable[..., Awaitable[Any]], redact: Redact) -> None:
        self._respond = respond
        self._redact = redact
        self.response_url = getattr(respond, "response_url", None)

    async def __call__(self, *args: Any, **kw: Any) -> Any:
        args, kw = redact_message(args, kw, self._redact)
        return await self._respond(*args, **kw)


async def _drop(*_args: Any, **_kw: Any) -> None:
    """``respond`` for a request whose response_url is not allowed: sends nothing."""
