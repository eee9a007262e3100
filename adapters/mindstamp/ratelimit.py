"""Keep to Mindstamp's documented rate limits on our side: 100 calls a minute, 1,000 an hour.

One ``RateLimiter`` holds a sliding-window log per rate: the send times of the last N
calls. A call may go at the earliest moment when, for every rate, fewer than N calls were
sent in the ``period`` seconds before it. That is strictly within any window the vendor
might count in (fixed clock minutes or sliding ones), unlike a leaky bucket that lets a
full burst through at the start of each window.

Each ``acquire()`` reserves its slot and then sleeps (asyncio) until the slot comes, so
concurrent callers share one budget and never overtake each other. A limiter belongs to
the one event loop its process calls Mindstamp from (the app's: handlers, digests and the
scheduler all run on it), and reserving does not await, so no other task can come between
looking at the logs and writing to them: no lock is needed. When the slot is further away
than ``max_wait`` seconds (the minute budget needs more than a short wait, or the hour
budget is spent) nothing is reserved and ``VendorRateLimited`` is raised at once with
``retry_after`` saying when a call could go: a Slack user learns it now instead of a job
hanging for up to an hour.

Fair shares. Each call is made on behalf of a *caller*: an opaque key (the handlers use the
Slack user id), or None for background work such as digests. The calls made on behalf of
any one caller may take at most ``CALLER_SHARE`` (25 %) of each rate, and all callers
together at most what is left after ``RESERVE_SHARE`` (20 %), which stays for background
work: with the document's rates, 25 a minute and 250 an hour per caller, 80 a minute and
800 an hour for callers together, and the whole 100 and 1,000 for background work. A
caller over their share, or callers over theirs together, are refused at once with
``retry_after`` (never queued: a queued call would hold up everyone behind it). The caller
is set around the calls with ``acting_for(key)``, a ``ContextVar`` that the client reads,
so this adapter knows nothing of Slack and no method takes an extra argument.

The limits hold for everything that shares one ``RateLimiter``: the wiring builds one per
process and gives it to the process's Mindstamp client (bot/wiring/vendors.py); tests give
theirs, with fast rates such as 5 a second.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Unpack

from adapters.errors import HttpContext, VendorRateLimited

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

# One caller may use at most this share of each rate, so one user's burst leaves the rest
# of the budget to everyone else (25 of 100 a minute, 250 of 1,000 an hour).
CALLER_SHARE = 0.25
# This share of each rate is kept for background work (caller None: digests), which
# interactive callers together cannot touch (20 of 100 a minute, 200 of 1,000 an hour).
RESERVE_SHARE = 0.20

_CALLER: ContextVar[str | None] = ContextVar("mindstamp_caller", default=None)


@contextmanager
def acting_for(caller: str | None) -> Iterator[None]:
    """Make the Mindstamp calls inside the block on behalf of ``caller``: an opaque key
    (e.g. a Slack user id) whose calls are held to its share, or None for background work,
    which may use the reserve."""
    token = _CALLER.set(caller)
    try:
        yield
    finally:
        _CALLER.reset(token)


def current_caller() -> str | None:
    """On whose behalf a Mindstamp call made here is made (None: background work)."""
    return _CALLER.get()


@dataclass(frozen=True)
class Shares:
    """How one rate's calls are shared out (see the module docstring)."""

    caller: float = CALLER_SHARE
    reserve: float = RESERVE_SHARE

    def __post_init__(self) -> None:
        if not 0 < self.caller <= 1:
            raise ValueError("A caller's share is more than 0 and at most 1")
        if not 0 <= self.reserve < 1:
            raise ValueError("The reserve is at least 0 and less than 1")

    # The epsilons keep float rounding (100 * 0.29 is 28.999…) from moving a call.

    def interactive_calls(self, rate: Rate) -> int:
        """How many of ``rate``'s calls all callers together may make (at least 1)."""
        return max(1, rate.calls - math.ceil(rate.calls * self.reserve - 1e-9))

    def caller_calls(self, rate: Rate) -> int:
        """How many of ``rate``'s calls one caller may make (at least 1)."""
        own = math.floor(rate.calls * self.caller + 1e-9)
        return max(1, min(own, self.interactive_calls(rate)))


def rate_limited(
    retry_after: float, why: str | None = None, **kw: Unpack[HttpContext]
) -> VendorRateLimited:
    """The plain error a user sees: "Mindstamp's rate limit is reached; try again in N s"."""
    seconds = max(1, math.ceil(retry_after))
    reason = why or f"{VENDOR}'s rate limit is reached"
    return VendorRateLimited(
        VENDOR,
        f"{reason}; try again in {seconds} s",
        retry_after=float(seconds),
        **kw,
    )


def _log(sizes: Iterable[int]) -> tuple[deque[float], ...]:
    """Per rate, the send times (past, or reserved in the future) of the last calls it
    counts, oldest first: at most as many as it allows in one period."""
    return tuple(deque(maxlen=size) for size in sizes)


def _full_until(rates: tuple[Rate, ...], log: tuple[deque[float], ...]) -> float:
    """When ``log`` next has room for a call under every rate (any time ≤ now: it has)."""
    at = -math.inf
    for rate, sent in zip(rates, log, strict=True):
        if len(sent) == sent.maxlen:
            # The call ``maxlen`` back must be a full period before the next one.
            at = max(at, sent[0] + rate.period)
    return at


class RateLimiter:
    """Client-side limits shared by every client that holds this instance."""

    def __init__(
        self,
        rates: Iterable[Rate] = DEFAULT_RATES,
        *,
        shares: Shares | None = None,
        max_wait: float = MAX_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rates = tuple(rates)
        if not self.rates or not all(isinstance(rate, Rate) for rate in self.rates):
            raise ValueError("A RateLimiter needs at least one Rate")
        if not max_wait >= 0:
            raise ValueError("max_wait is a number of seconds, at least 0")
        self.shares = shares if shares is not None else Shares()
        self.max_wait = float(max_wait)
        self._clock = clock
        # Every call; the calls of all callers (not background work); each caller's calls.
        self._sent = _log(rate.calls for rate in self.rates)
        self._interactive = _log(map(self.shares.interactive_calls, self.rates))
        self._callers: dict[str, tuple[deque[float], ...]] = {}

    def __repr__(self) -> str:
        rates = ", ".join(f"{rate.calls}/{rate.period:g}s" for rate in self.rates)
        return (
            f"RateLimiter({rates}, caller share {self.shares.caller:g}, "
            f"reserve {self.shares.reserve:g}, max_wait={self.max_wait:g}s)"
        )

    def _slot(self, now: float) -> float:
        """The earliest time at or after ``now`` and the last reservation a call may go."""
        at = max(now, _full_until(self.rates, self._sent))
        for sent in self._sent:
            if sent:
                at = max(at, sent[-1])
        return at

    def _caller_log(self, caller: str) -> tuple[deque[float], ...]:
        log = self._callers.get(caller)
        if log is None:
            log = _log(map(self.shares.caller_calls, self.rates))
            self._callers[caller] = log
        return log

    def _share_refusal(self, caller: str, now: float) -> tuple[float, str] | None:
        """(seconds, why) when ``caller`` or all callers together have used their share."""
        log = self._callers.get(caller)
        own = _full_until(self.rates, log) if log is not None else -math.inf
        if own > now:
            return own - now, f"Your share of {VENDOR} calls is used up for now"
        everyone = _full_until(self.rates, self._interactive)
        if everyone > now:
            return everyone - now, f"The rest of {VENDOR}'s budget is kept for background work"
        return None

    def _forget_idle(self, now: float) -> None:
        """Drop callers none of whose calls count any more, so the table stays small."""
        idle = [
            caller
            for caller, log in self._callers.items()
            if all(
                not sent or sent[-1] + rate.period <= now
                for rate, sent in zip(self.rates, log, strict=True)
            )
        ]
        for caller in idle:
            del self._callers[caller]

    @property
    def callers(self) -> int:
        """How many callers have calls that still count (idle ones are forgotten)."""
        return len(self._callers)

    def delay(self, caller: str | None = None) -> float:
        """Seconds until a call on behalf of ``caller`` could go now (0 when it could go at
        once); reserves nothing."""
        now = self._clock()
        wait = self._slot(now) - now
        if caller is not None:
            refusal = self._share_refusal(caller, now)
            if refusal is not None:
                wait = max(wait, refusal[0])
        return wait

    async def acquire(self, caller: str | None = None) -> None:
        """Wait for a slot (at most ``max_wait`` seconds), or raise VendorRateLimited.

        ``caller`` (an opaque key, or None for background work) is held to its share;
        over it, the call is refused at once with when to try again.
        """
        # No await until the slot is written down: no other task can take it meanwhile.
        now = self._clock()
        self._forget_idle(now)
        if caller is not None:
            refusal = self._share_refusal(caller, now)
            if refusal is not None:
                raise rate_limited(*refusal)
        at = self._slot(now)
        wait = at - now
        if wait > self.max_wait:
            raise rate_limited(wait)
        logs = [self._sent]
        if caller is not None:
            logs += [self._interactive, self._caller_log(caller)]
        for log in logs:
            for sent in log:
                sent.append(at)
        if wait > 0:
            # Cancelled while waiting, the slot stays taken: erring on the safe side.
            await asyncio.sleep(wait)

    def reset(self) -> None:
        """Forget every call so far (for tests and a fresh console session)."""
        for sent in (*self._sent, *self._interactive):
            sent.clear()
        self._callers.clear()
