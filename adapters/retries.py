"""When to call a vendor again, and how long to wait first (tenacity).

Two kinds of call:

* **reads** (GET, and POSTs that only read, such as Stintmint's ``/fetch`` or an OAuth
  token): tried again after a transport failure (connection refused, timeout), a 502,
  503 or 504, and a 429 — a few times, with exponential back-off and jitter;
* **writes** (run a flintbit, post a stomt, execute a flow, send a Stintmint request …):
  tried again only when the vendor said it did not do it — 429, or 503 with
  ``Retry-After``. Never after a timeout, a dropped connection or a plain 5xx, when the
  vendor may have done it: a retry could run it twice.

A ``Retry-After`` is honoured (waited exactly); one longer than ``max_wait`` is not waited
for: the answer goes back at once and the adapter turns it into ``VendorRateLimited``
with ``retry_after``, so the user is told when to try again. A refusal by our own
client-side limiter (a ``VendorRateLimited`` with no answer: Mindstamp's, awaited before
each attempt) is not tried again: it already says when.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt

from adapters.errors import VendorRateLimited, VendorUnavailable

log = logging.getLogger(__name__)

# Statuses a read may be tried again after; a write only with Retry-After (or 429).
_TRANSIENT = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Retries:
    attempts: int = 3  # in all, the first one included
    backoff: float = 0.2  # seconds before the second attempt; doubles after that
    max_wait: float = 10.0  # a longer Retry-After is reported instead of waited for

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.backoff < 0 or self.max_wait < 0:
            raise ValueError("attempts ≥ 1, backoff ≥ 0 and max_wait ≥ 0")


NO_RETRIES = Retries(attempts=1)
DEFAULT_RETRIES = Retries()


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


def retry_after(response: httpx.Response) -> float | None:
    """The seconds ``response``'s Retry-After asks us to wait, if it says."""
    return parse_retry_after(response.headers.get("retry-after"))


def _should_retry(response: httpx.Response, *, read: bool, max_wait: float) -> bool:
    code = response.status_code
    if code not in _TRANSIENT:
        return False
    wait = retry_after(response)
    if wait is not None and wait > max_wait:
        return False  # too long to hold the user's request: say when instead
    if code == 429 or (code == 503 and wait is not None):
        return True  # the vendor says it did not do it
    return read


async def call(
    vendor: str,
    what: str,
    attempt: Callable[[], Awaitable[httpx.Response]],
    *,
    read: bool,
    retries: Retries,
) -> httpx.Response:
    """Run ``attempt`` (one HTTP call; transport failures already raised as
    ``VendorUnavailable``) as often as ``retries`` allows for a read or a write, and
    return the last response (or raise the last failure)."""

    def retry_on(state: RetryCallState) -> bool:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            error = outcome.exception()
            if isinstance(error, VendorRateLimited):
                # Without an answer it is our own limiter's refusal, which already says
                # when to try again; asking again at once would only be refused again.
                from_vendor = error.response is not None
                return read and from_vendor and (error.retry_after or 0) <= retries.max_wait
            return read and isinstance(error, VendorUnavailable)
        return _should_retry(outcome.result(), read=read, max_wait=retries.max_wait)

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        assert outcome is not None
        if not outcome.failed:
            told = retry_after(outcome.result())
            if told is not None:
                return told
        base = retries.backoff * 2 ** (state.attempt_number - 1)
        return base * random.uniform(1.0, 1.25)

    def before_sleep(state: RetryCallState) -> None:
        outcome = state.outcome
        assert outcome is not None and state.next_action is not None
        why = (
            type(outcome.exception()).__name__
            if outcome.failed
            else f"HTTP {outcome.result().status_code}"
        )
        log.warning(
            "%s: %s answered %s; trying again in %.2f s (attempt %d of %d)",
            vendor,
            what,
            why,
            state.next_action.sleep,
            state.attempt_number + 1,
            retries.attempts,
        )

    previous: list[httpx.Response] = []

    async def one_attempt() -> httpx.Response:
        if previous:
            await previous.pop().aclose()  # an answer we will not use: free its connection
        response = await attempt()
        previous.append(response)
        return response

    def last_answer(state: RetryCallState) -> httpx.Response:
        outcome = state.outcome
        assert outcome is not None
        return outcome.result()

    retrying = AsyncRetrying(
        stop=stop_after_attempt(retries.attempts),
        retry=retry_on,
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
        # Out of attempts on a retryable answer: hand that answer back to the adapter.
        retry_error_callback=last_answer,
    )
    return await retrying(one_attempt)


__all__ = ["DEFAULT_RETRIES", "NO_RETRIES", "Retries", "call", "parse_retry_after", "retry_after"]
