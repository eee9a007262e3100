"""One error hierarchy for every vendor adapter.

Handlers catch ``VendorError`` in one place and turn it into a friendly message, so every
error carries the vendor's display name and, where there was one, the HTTP request and
response. Messages never contain credentials: adapters build them from status codes and
vendor-provided text only.

    VendorError
    ├── VendorNotConfigured      the settings for this vendor are missing
    ├── VendorUnavailable        transport error, timeout or 5xx
    │   └── VendorRateLimited    429 / 503 rate limit, with retry_after seconds
    ├── VendorAuthError          401 / 403: credentials rejected
    ├── VendorNotFound           404: the thing asked for does not exist
    ├── VendorRejected           other 4xx, with the vendor's own message
    └── VendorResponseInvalid    the answer could not be understood
        └── AnswerTooLarge       the answer was over the size we read (adapters/http.py)
"""

from __future__ import annotations

from typing import TypedDict, Unpack

import httpx


class HttpContext(TypedDict, total=False):
    """The exchange an error carries, as keyword arguments of any VendorError."""

    request: httpx.Request | None
    response: httpx.Response | None


def http_context(response: httpx.Response) -> HttpContext:
    """``**http_context(response)``: the response, and the request it answered."""
    return {"request": response.request, "response": response}


class VendorError(Exception):
    """Base of every vendor failure; ``str(error)`` is safe to show to a user."""

    def __init__(
        self,
        vendor: str,
        message: str,
        *,
        request: httpx.Request | None = None,
        response: httpx.Response | None = None,
    ) -> None:
        super().__init__(message)
        self.vendor = vendor
        self.message = message
        self.request = request
        self.response = response

    @property
    def status_code(self) -> int | None:
        return self.response.status_code if self.response is not None else None


class VendorNotConfigured(VendorError):
    def __init__(self, vendor: str, variables: list[str]) -> None:
        self.variables = variables
        super().__init__(vendor, f"{vendor} is not configured: set {' and '.join(variables)}")


class VendorUnavailable(VendorError):
    """The vendor could not be reached, timed out or answered 5xx."""


class VendorRateLimited(VendorUnavailable):
    def __init__(
        self,
        vendor: str,
        message: str,
        *,
        retry_after: float | None = None,
        **kw: Unpack[HttpContext],
    ) -> None:
        super().__init__(vendor, message, **kw)
        self.retry_after = retry_after


class VendorAuthError(VendorError):
    """The vendor refused our credentials."""


class VendorNotFound(VendorError):
    """The flintbit, job, flow, … asked for does not exist."""


class VendorRejected(VendorError):
    """The vendor refused the request (4xx) and said why."""


class VendorResponseInvalid(VendorError):
    """The vendor answered something we cannot parse or validate."""


class AnswerTooLarge(VendorResponseInvalid):
    """The vendor's answer was longer than ``limit`` bytes: we stopped reading it."""

    def __init__(self, vendor: str, message: str, *, limit: int, **kw: Unpack[HttpContext]) -> None:
        super().__init__(vendor, message, **kw)
        self.limit = limit

    @property
    def is_success(self) -> bool:
        """The vendor answered 2xx: what was asked for happened, its answer is too long."""
        return self.status_code is not None and 200 <= self.status_code < 300
