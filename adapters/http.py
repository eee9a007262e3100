"""Shared HTTP plumbing for adapters: one place that maps HTTP outcomes to VendorError."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Awaitable, Callable

import httpx

from adapters.errors import (
    VendorAuthError,
    VendorError,
    VendorNotFound,
    VendorRateLimited,
    VendorRejected,
    VendorResponseInvalid,
    VendorUnavailable,
)
from adapters.retries import Retries
from adapters.retries import call as retried

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
# Enough for thousands of concurrent long vendor calls without per-request clients.
DEFAULT_LIMITS = httpx.Limits(max_connections=2000, max_keepalive_connections=200)


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


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
    kw = {"request": response.request, "response": response}
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
    call: Callable[[], Awaitable[httpx.Response]],
    *,
    retries: Retries | None = None,
    read: bool = False,
    what: str = "a call",
) -> httpx.Response:
    """Run an HTTP call, turning transport failures into VendorUnavailable; with
    ``retries``, try it again as adapters/retries.py allows for a read or a write.

    Status codes are left to the adapter, which knows how its vendor explains errors.
    """

    async def once() -> httpx.Response:
        try:
            return await call()
        except httpx.HTTPError as exc:
            raise transport_error(vendor, exc) from exc

    if retries is None or retries.attempts <= 1:
        return await once()
    return await retried(vendor, what, once, read=read, retries=retries)


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
