"""The door of ``POST /slack/events``: nothing from outside reaches Bolt unverified.

Bolt parses a body before it checks the signature (a ``payload=%7B`` is a 500 and a
traceback), its verifier raises on a timestamp that is not a number (and the error
handler then answers the unverified body's ``response_url``), and it reads and logs a
body of any size. So every request is taken here first:

1. at most ``MAX_BODY`` bytes (413 as soon as more is announced or arrives, without
   reading the rest), all of it within ``BODY_DEADLINE`` seconds (else 408);
2. Slack's v0 signature over the raw bytes, with a timestamp of digits at most five
   minutes away;
3. a UTF-8 body shaped the way Slack sends one: form fields, a ``payload`` field holding
   a JSON object, or a JSON object (Events API), within the JSON bounds of
   ``bot.bounded_json``.

Anything else is refused with 401 (413, 408) and causes nothing: no outbound call, no
listener, and at most one WARNING line a minute summing up what was refused. Bolt then
gets the body already parsed, so it never parses it again (its own parser also drops a
slash command whose text contains the word "payload").
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp, AsyncBoltRequest
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from bot import bounded_json

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # bytes (CONTRACT.md, "Limits on what comes in")
BODY_DEADLINE = 10.0  # seconds for the whole body to arrive
# Slack's own envelopes (a message with rich-text blocks inside a payload) nest about a
# dozen levels; user-typed JSON has the tighter bounded_json.MAX_INPUT_DEPTH.
MAX_ENVELOPE_DEPTH = 64
MAX_CLOCK_SKEW = 300  # seconds, as Slack documents
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
FORM = "application/x-www-form-urlencoded"


class Refused(Exception):
    """The request is turned away with ``status``; ``reason`` is for the log only."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class RefusalLog:
    """One WARNING line at most every ``every`` seconds, counting what was refused since the
    last one, so a flood of forged requests cannot flood the log."""

    def __init__(self, every: float = 60.0) -> None:
        self.every = every
        self._counts: Counter[str] = Counter()
        self._next = 0.0

    def __call__(self, reason: str) -> None:
        self._counts[reason] += 1
        now = time.monotonic()
        if now < self._next:
            return
        total = sum(self._counts.values())
        summary = ", ".join(f"{count} {why}" for why, count in self._counts.most_common(5))
        log.warning("refused %d request(s) to /slack/events: %s", total, summary)
        self._counts.clear()
        self._next = now + self.every


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refused as soon as it is known to be over ``limit`` bytes."""
    announced = request.headers.get("content-length")
    if announced is not None:
        if not announced.isdigit():
            raise Refused(400, "malformed Content-Length")
        if int(announced) > limit:
            raise Refused(413, f"body over {limit:,} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_DEADLINE):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Refused(413, f"body over {limit:,} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise Refused(408, "body too slow") from None
    except ClientDisconnect:
        raise Refused(400, "client went away") from None
    return b"".join(chunks)


def verify(secret: bytes, headers: Any, body: bytes) -> None:
    """Slack's v0 signature over the raw bytes (slack_sdk's verifier decodes the body as
    UTF-8 first, and raises on one that is not): ``Refused(401)`` unless right and recent."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refused(401, "missing or malformed timestamp")
    if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
        raise Refused(401, "stale timestamp")
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest()
    if not _SIGNATURE.fullmatch(signature) or not hmac.compare_digest(expected, signature):
        raise Refused(401, "bad signature")


def parse(body: bytes, content_type: str) -> dict[str, Any]:
    """A verified body as Slack sends it, or ``Refused(401)``: it is not one of Slack's."""
    try:
        text = body.decode("utf-8")
        if content_type == "application/json" or text.startswith("{"):
            value = bounded_json.loads(text, max_depth=MAX_ENVELOPE_DEPTH)
        else:
            fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text)))
            raw = fields.get("payload")
            value = fields if raw is None else bounded_json.loads(raw, max_depth=MAX_ENVELOPE_DEPTH)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError, JsonLimitError too
        raise Refused(401, f"body does not decode ({type(exc).__name__})") from None
    if not isinstance(value, dict):
        raise Refused(401, "body is not an object")
    return value


def slack_endpoint(app: AsyncApp, signing_secret: str) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint for ``POST /slack/events`` in front of ``app``."""
    secret = signing_secret.encode()
    note = RefusalLog()

    async def endpoint(request: Request) -> Response:
        try:
            body = await read_body(request)
            verify(secret, request.headers, body)
            content_type = request.headers.get("content-type", FORM).split(";")[0].strip()
            payload = parse(body, content_type.lower())
        except Refused as exc:
            note(exc.reason)
            return Response(status_code=exc.status)
        # Already parsed: Bolt takes a dict body only in its "socket_mode" mode, which
        # otherwise differs just by skipping the verification done above.
        bolt_request = AsyncBoltRequest(
            body=payload,
            query=dict(request.query_params),
            headers={k: v for k, v in request.headers.items()},
            mode="socket_mode",
        )
        return to_starlette_response(await app.async_dispatch(bolt_request))

    return endpoint
