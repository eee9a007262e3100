"""Keep to Mindstamp's documented rate limits on our side: 100 calls a minute, 1,000 an hour.

One ``RateLimiter`` holds a sliding-window log per rate: the send times of the last N
calls. A call may go at the earliest moment when, for every rate, fewer than N calls were
sent in the ``period`` seconds before it. That is strictly within any window the vendor
might count in (fixed clock minutes or sliding ones), unlike a leaky bucket that lets a
full burst through at the start of each window.

Each ``acquire()`` reserves its slot under a thread lock and then sleeps (asyncio) until
the slot comes, so concurrent callers on any event loop and thread share one budget and
never overtake each other. When the slot is further away than ``max_wait`` seconds (the
minute budget needs more than a short wait, or the hour budget is spent) nothing is
reserved and ``VendorRateLimited`` is raised at once with ``retry_after`` saying when a
call could go: a Slack user learns it now instead of a job hanging for up to an hour.

``DEFAULT_LIMITER`` is the one instance every ``MindstampClient`` in the process shares
unless it is given its own (tests give theirs, with fast rates such as 5 a second).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapters.errors import VendorRateLimited

VENDOR = "Mindstamp"

# Waiting this long for a slot is fine in background work (Slack was acknowledged long
# before); a longer wait is reported to the user as "try again in N s" instead.
MAX_WAIT_S = 10.0


@dataclass(frozen=True)
class Rate:
    """At most ``calls`` calls in any ``period`` seconds."""

    calls: int
    period: float

    def __post_init__(self) -> None:
        if isinstance(self.calls, bool) or not isinstance(self.calls, int) or self.calls < 1:
            raise ValueError("A rate allows at least 1 call")
        if not isinstance(self.period, int | float) or not self.period > 0:
            raise ValueError("A rate's period is a positive number of seconds")


# "1,000 Calls Per Hour", "100 Calls Per Minute" (the document, for enterprise customers).
PER_MINUTE = Rate(100, 60.0)
PER_HOUR = Rate(1000, 3600.0)
DEFAULT_RATES: tuple[Rate, ...] = (PER_MINUTE, PER_HOUR)


def rate_limited(retry_after: float, **kw: object) -> VendorRateLimited:
    """The plain error a user sees: "Mindstamp's rate limit is reached; try again in N s"."""
    seconds = max(1, math.ceil(retry_after))
    return VendorRateLimited(
        VENDOR,
        f"{VENDOR}'s rate limit is reached; try again in {seconds} s",
        retry_after=float(seconds),
        **kw,  # type: ignore[arg-type]
    )


class RateLimiter:
    """Client-side limits shared by every client that holds this instance."""

    def __init__(
        self,
        rates: Iterable[Rate] = DEFAULT_RATES,
        *,
        max_wait: float = MAX_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = tuple(rates)
        if not self.rates or not all(isinstance(rate, Rate) for rate in self.rates):
            raise ValueError("A RateLimiter needs at least one Rate")
        if not max_wait >= 0:
            raise ValueError("max_wait is a number of seconds, at least 0")
        self.max_wait = float(max_wait)
        self._clock = clock
        self._lock = threading.Lock()
        # Per rate, the send times (past, or reserved in the future) of its last ``calls``
        # calls, oldest first.
        self._sent: tuple[deque[float], ...] = tuple(
            deque(maxlen=rate.calls) for rate in self.rates
        )

    def __repr__(self) -> str:
        rates = ", ".join(f"{rate.calls}/{rate.period:g}s" for rate in self.rates)
        return f"RateLimiter({rates}, max_wait={self.max_wait:g}s)"

    def _slot(self, now: float) -> float:
        """The earliest time at or after ``now`` and the last reservation a call may go."""
        at = now
        for rate, sent in zip(self.rates, self._sent, strict=True):
            if sent:
                at = max(at, sent[-1])
            if len(sent) == rate.calls:
                # The call ``calls`` back must be a full period before this one.
                at = max(at, sent[0] + rate.period)
        return at

    def delay(self) -> float:
        """Seconds until a call could go now (0 when it could go at once); reserves nothing."""
        with self._lock:
            now = self._clock()
            return self._slot(now) - now

    async def acquire(self) -> None:
        """Wait for a slot (at most ``max_wait`` seconds), or raise VendorRateLimited."""
        with self._lock:
            now = self._clock()
            at = self._slot(now)
            wait = at - now
            if wait > self.max_wait:
                raise rate_limited(wait)
            for sent in self._sent:
                sent.append(at)
        if wait > 0:
            # Cancelled while waiting, the slot stays taken: erring on the safe side.
            await asyncio.sleep(wait)

    def reset(self) -> None:
        """Forget every call so far (for tests and a fresh console session)."""
        with self._lock:
            for sent in self._sent:
                sent.clear()


DEFAULT_LIMITER = RateLimiter()
