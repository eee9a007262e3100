"""Shared HTTP plumbing for adapters: one place that sends a vendor request, reads its
answer (never more than a cap) and maps HTTP outcomes to VendorError."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from adapters.errors import (
    AnswerTooLarge,
    VendorAuthError,
    VendorError,
    VendorNotFound,
    VendorRateLimited,
    VendorRejected,
    VendorResponseInvalid,
    VendorUnavailable,
    http_context,
)
from adapters.retries import Retries, parse_retry_after
from adapters.retries import call as retried

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Enough for thousands of concurrent long vendor calls without per-request clients.
DEFAULT_LIMITS = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
# The most we read of one vendor answer, decoded. Every answer we use is far smaller; a
# bigger one (a runaway flintbit's output, a misbehaving proxy) is refused once this much
# has arrived, instead of being held whole in memory and parsed. An adapter whose answers
# may legitimately be larger (Mint's reports) passes its own ``max_bytes`` to ``send``.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
_MIB = 1024 * 1024


def byte_size(count: int) -> str:
    """``8 MiB``, ``64 KiB``, ``1,500 bytes``: a size as people read it."""
    if count >= _MIB:
        return f"{count // _MIB:,} MiB" if count % _MIB == 0 else f"{count / _MIB:,.1f} MiB"
    if count >= 1024 and count % 1024 == 0:
        return f"{count // 1024:,} KiB"
    return f"{count:,} bytes"


def error_for_status(
    vendor: str,
    response: httpx.Response,
    message: str | None = None,
) -> VendorError:
    """The VendorError subclass for an unsuccessful response.

    ``message`` is the vendor's own explanation when the adapter could extract one.
    """
    code = response.status_code
    detail = f"{message} (HTTP {code})" if message else f"HTTP {code}"
    kw = http_context(response)
    if code == 429 or (code == 503 and "retry-after" in response.headers):
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return VendorRateLimited(
            vendor, f"{vendor} is rate limiting us: {detail}", retry_after=retry_after, **kw
        )
    if code >= 500:
        return VendorUnavailable(vendor, f"{vendor} had an internal problem: {detail}", **kw)
    if code in (401, 403):
        return VendorAuthError(vendor, f"{vendor} rejected our credentials: {detail}", **kw)
    if code == 404:
        return VendorNotFound(vendor, f"{vendor} could not find it: {detail}", **kw)
    return VendorRejected(vendor, f"{vendor} refused the request: {detail}", **kw)


def transport_error(vendor: str, exc: httpx.HTTPError) -> VendorUnavailable:
    """Map httpx transport failures (connect, timeout, protocol) to VendorUnavailable."""
    request = getattr(exc, "_request", None)
    if isinstance(exc, httpx.TimeoutException):
        reason = "timed out"
    elif isinstance(exc, httpx.ConnectError):
        reason = "connection refused or host unreachable"
    else:
        reason = type(exc).__name__
    return VendorUnavailable(vendor, f"{vendor} is not reachable ({reason})", request=request)


async def send(
    vendor: str,
    http: httpx.AsyncClient,
    request: httpx.Request,
    *,
    auth: httpx.Auth | None = None,
    max_bytes: int = MAX_ANSWER_BYTES,
    retries: Retries | None = None,
    read: bool = False,
    what: str = "a call",
    before: Callable[[], Awaitable[None]] | None = None,
) -> httpx.Response:
    """Send ``request`` and read its answer, at most ``max_bytes`` of it (more is
    ``AnswerTooLarge``), turning transport failures into VendorUnavailable; with
    ``retries``, try it again as adapters/retries.py allows for a read or a write.
    ``before`` is awaited ahead of every attempt, the first and each retry: a client-side
    rate limiter waits for (or refuses) each call the vendor will count.

    The returned response is fully read (``.content`` works) and closed. Status codes
    are left to the adapter, which knows how its vendor explains errors.
    """
    chosen_auth = httpx.USE_CLIENT_DEFAULT if auth is None else auth

    async def once() -> httpx.Response:
        if before is not None:
            await before()
        try:
            # Streamed, so nothing past the cap is ever read; the body is read inside the
            # attempt, so a connection dropped mid-answer is retried like one dropped before.
            response = await http.send(request, auth=chosen_auth, stream=True)
            await read_capped(vendor, response, max_bytes)
            return response
        except httpx.HTTPError as exc:
            raise transport_error(vendor, exc) from exc

    if retries is None or retries.attempts <= 1:
        return await once()
    return await retried(vendor, what, once, read=read, retries=retries)


def _too_large(vendor: str, response: httpx.Response, limit: int) -> AnswerTooLarge:
    message = f"{vendor} answered more than {byte_size(limit)}"
    return AnswerTooLarge(vendor, message, limit=limit, request=response.request, response=response)


async def read_capped(vendor: str, response: httpx.Response, limit: int) -> bytes:
    """Read a streamed answer's body, decoded, up to ``limit`` bytes; past that, close the
    connection (the rest is never read) and raise AnswerTooLarge.

    Also for answers an ``httpx.Auth`` flow reads (a login, a token): read them with this
    before httpx would read them whole.
    """
    if _declared_length(response) > limit:
        await response.aclose()
        raise _too_large(vendor, response, limit)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > limit:
                raise _too_large(vendor, response, limit)
            chunks.append(chunk)
    except BaseException:
        await response.aclose()
        raise
    # Where httpx keeps a read body: ``.content`` and ``.text`` work, and httpx's own
    # ``aread()`` (an auth flow's next step) finds it read and reads nothing more.
    response._content = content = b"".join(chunks)
    return content


def _declared_length(response: httpx.Response) -> int:
    """The Content-Length of an answer that is not compressed (0 when not known): a body
    that says up front it is too large is refused before any of it is read."""
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    length = response.headers.get("content-length", "").strip()
    if encoding != "identity" or not length.isdigit():
        return 0
    return int(length)


def printable(text: str, limit: int = 60) -> str:
    """Vendor text made safe to quote in an error: printable, and cut at ``limit``."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text if len(text) <= limit else text[:limit] + "…"


def invalid_response(vendor: str, response: httpx.Response, why: str) -> VendorResponseInvalid:
    return VendorResponseInvalid(
        vendor,
        f"{vendor} answered something we could not understand: {why} (HTTP {response.status_code})",
        request=response.request,
        response=response,
    )
