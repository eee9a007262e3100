"""How often job cards may be refreshed (``chat.update``), across every job and replica.

What Slack allows (https://docs.slack.dev/apis/web-api/rate-limits and the method's page,
https://docs.slack.dev/reference/methods/chat.update): limits apply "per API method per
workspace per app", and ``chat.update`` is a Tier 3 method, "50+ per minute", where
"sporadic bursts are welcome". Posting is further held to about one message per second
per channel. Over a limit Slack answers HTTP 429, ``"error": "ratelimited"``, with a
``Retry-After`` header giving the seconds to wait before calling again.

So a running job's card is refreshed (its elapsed time, the vendor's latest status) from one
budget that every replica shares through the state store: a single ``kv`` row, changed by
compare-and-set, so SQLite and PostgreSQL behave alike and no schema change is needed. The
row keeps the ``chat.update`` calls of the last window (time, channel), when each card was
last refreshed and with which status, and until when Slack asked everyone to wait.

* A progress refresh is best effort: it is skipped, not queued, when the card is not due
  yet, its channel had a call less than a second ago, progress refreshes are closer than
  ``window / per_window`` apart, or the window's budget is spent (a status change may use
  the whole budget, an elapsed-time tick only ``elapsed_share`` of it). The next poll asks
  again; a card whose status changed stays due until it shows that status.
* A final card is never skipped: it takes the next free second of its channel after any
  pause, within Tier 3's 50 a minute, waiting for it if that is near, else rescheduled
  (by the tracker) for then. Either way the slot is recorded under the job's id: many
  cards ending at once queue in distinct slots, each woken once for its own, rather than
  all waking together to be held again.
* An elapsed-time tick (no status change, no button) is mostly "no": not due, or no
  budget. Each replica remembers what it last read of the row, and answers such a tick
  without reading it again when that alone already says no (nobody else's writes can turn
  it into a yes), so 1,000 running jobs do not cost a read of the row per poll.
* A 429 on ``chat.update``, from the tracker or from anyone else on the same client
  (``RateLimitWatch``), pauses every replica's card refreshes until its ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.metrics import Metrics
from bot.store.jobs import TrackedJob
from bot.store.kv import KeyValueStore

log = logging.getLogger(__name__)

KV_ROW = "card_pacing"  # the kv row every replica shares (one per Slack workspace)
# A Retry-After Slack did not give (or gave unreadable): wait this long, as slack_sdk does.
DEFAULT_RETRY_AFTER = 1.0

T = TypeVar("T")

# Set while the tracker makes a paced call: a 429 then comes back to it at once (it
# reschedules the card) instead of being slept on and retried inside the client.
_PACED: ContextVar[bool] = ContextVar("chatops_paced_call", default=False)


@contextmanager
def paced_call() -> Iterator[None]:
    token = _PACED.set(True)
    try:
        yield
    finally:
        _PACED.reset(token)


@dataclass(frozen=True)
class Pace:
    # Progress refreshes stay under Tier 3's "50+ per minute": what is left is for final
    # cards and for the cards handlers update when someone presses a button.
    per_window: int = 40
    # Final cards wait rather than go past Tier 3's floor (with everything else counted).
    slack_per_window: int = 50
    window: float = 60.0
    channel_spacing: float = 1.0
    # A card shows its elapsed time to the second only while that matters: every
    # ``first_interval`` for its first minute, then less often as it ages, up to the cap.
    first_interval: float = 10.0
    max_interval: float = 60.0
    elapsed_share: float = 0.75
    # The longest a final card waits in line for its channel before it is rescheduled.
    final_wait: float = 2.0

    @classmethod
    def per_minute(cls, calls: int) -> Pace:
        """The pace for a budget of ``calls`` chat.update a minute (Slack's Tier 3: 50):
        four fifths of it for progress refreshes, and a channel's turn no longer than the
        budget's own spacing."""
        return cls(
            per_window=max(1, calls * 4 // 5),
            slack_per_window=calls,
            channel_spacing=min(1.0, 60.0 / calls),
        )

    def card_interval(self, age: float) -> float:
        grown = self.first_interval * max(1.0, age / (6 * self.first_interval))
        return min(grown, self.max_interval)

    def due(self, last: float, created: float, now: float) -> bool:
        """Whether a card last refreshed at ``last`` is due for its elapsed time."""
        # A little early rather than a whole poll late.
        return now - last >= 0.9 * self.card_interval(now - created)

    @property
    def spread(self) -> float:
        return self.window / self.per_window

    def budget(self, stale: bool) -> int:
        """Progress refreshes a window allows: all of them for a status not shown yet."""
        return self.per_window if stale else int(self.per_window * self.elapsed_share)


@dataclass
class _State:
    # [at, channel, kind] of each chat.update in the window; kind "p" is a progress
    # refresh, "f" any other (a Refresh button), and [at, channel, "f", job id] a final
    # card's slot, which may lie ahead.
    calls: list[list[Any]] = field(default_factory=list)
    # job id -> [refreshed at, status shown]
    cards: dict[str, list[Any]] = field(default_factory=dict)
    paused_until: float = 0.0

    @classmethod
    def load(cls, raw: str | None) -> _State:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(data["calls"], data["cards"], float(data["paused_until"]))
        except (ValueError, KeyError, TypeError):
            log.warning("card pacing state unreadable; starting afresh")
            return cls()

    def dump(self) -> str:
        data = {"calls": self.calls, "cards": self.cards, "paused_until": self.paused_until}
        return json.dumps(data, separators=(",", ":"))

    def prune(self, now: float, pace: Pace) -> None:
        self.calls = [c for c in self.calls if c[0] > now - pace.window]
        # A card not refreshed for this long is due whatever it showed.
        horizon = now - 2 * pace.max_interval
        self.cards = {job: seen for job, seen in self.cards.items() if seen[0] > horizon}

    def channel_free_at(self, channel: str, pace: Pace) -> float | None:
        last = [c[0] for c in self.calls if c[1] == channel]
        return max(last) + pace.channel_spacing if last else None

    def slot_of(self, job_id: str) -> list[Any] | None:
        return next((c for c in self.calls if len(c) > 3 and c[3] == job_id), None)

    def progress_free_at(self, pace: Pace, budget: int) -> float:
        """The earliest moment a progress refresh within ``budget`` may be granted,
        whatever the job: what others write can only make it later (calls are added,
        never taken back early)."""
        if budget <= 0:
            # A budget too small to spare elapsed-time ticks any share (1 or 2 a minute).
            return math.inf
        free = self.paused_until
        progress = [c[0] for c in self.calls if c[2] == "p"]
        if progress:
            free = max(free, max(progress) + pace.spread)
        if len(self.calls) >= budget:
            times = sorted(c[0] for c in self.calls)
            free = max(free, times[len(times) - budget] + pace.window)
        return free


class Pacer:
    def __init__(
        self,
        kv: KeyValueStore,
        pace: Pace | None = None,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        attempts: int = 8,
        row: str = KV_ROW,
    ) -> None:
        self.kv = kv
        self.row = row
        self.pace = pace or Pace()
        self.metrics = metrics
        self.clock = clock
        self.attempts = attempts
        # What this replica last read of the row, for elapsed-time ticks (``_tick_refused``):
        # no progress refresh before ``_free_at`` (of a card stale or not), Slack's pause
        # until ``_paused_until``, and per job the card's last refresh (or the job's
        # creation), the status it showed (None: the row has no entry) and the job's
        # ``poll_count`` at its next poll if nobody else polls it in between.
        self._free_at = {False: 0.0, True: 0.0}
        self._paused_until = 0.0
        self._seen: dict[str, tuple[float, str | None, int]] = {}
        # One decision at a time per replica: a storm of cards ending races the row with
        # the other replicas only, not with itself.
        self._deciding = asyncio.Lock()

    async def progress(self, job: TrackedJob, *, changed: bool, forced: bool = False) -> bool:
        """May the card of this running job be refreshed now? Yes is recorded as made.

        ``changed``: the vendor's status just changed. ``forced``: someone asked (a Refresh
        button), so only Slack's pause holds it back."""
        pace = self.pace

        def refused(now: float) -> str | None:
            return None if changed or forced else self._tick_refused(job, now)

        def decide(state: _State, now: float) -> tuple[str, bool]:
            shown = state.cards.get(job.id)
            # Its next poll comes with the count one up, unless someone else polls it first.
            if shown is not None:
                self._seen[job.id] = (shown[0], shown[1], job.poll_count + 1)
            else:
                self._seen[job.id] = (job.created_at, None, job.poll_count + 1)
            if state.paused_until > now:
                return "paused", False
            stale = changed or (shown is not None and shown[1] != job.vendor_status)
            if not forced:
                last = shown[0] if shown is not None else job.created_at
                if not stale and not pace.due(last, job.created_at, now):
                    return "not_due", False
                free_at = state.channel_free_at(job.channel_id, pace)
                if free_at is not None and now < free_at:
                    return "skipped", False
                if now < state.progress_free_at(pace, pace.budget(stale)):
                    return "skipped", False
            state.calls.append([now, job.channel_id, "f" if forced else "p"])
            state.cards[job.id] = [now, job.vendor_status]
            self._seen[job.id] = (now, job.vendor_status, job.poll_count + 1)
            return "made", True

        try:
            outcome = await self._change(decide, "skipped", refused)
        except Exception:
            # The database away for a moment: a progress refresh is not worth waiting for.
            log.warning("card pacing state not reachable; refresh of job %s skipped", job.id)
            outcome = "skipped"
        if outcome != "not_due":
            self._count(outcome)
        return outcome == "made"

    async def final(self, job: TrackedJob) -> tuple[float, bool]:
        """A slot for a job's final card: ``(wait, True)`` to send it after ``wait`` seconds,
        ``(wait, False)`` to reschedule it that far ahead (Slack's Retry-After, its
        channel's queue or the window's budget, runs past ``final_wait``). The slot is
        recorded either way, under the job's id: asked again (woken for it, or after a
        crash), the job gets the same slot back."""
        pace = self.pace
        self._seen.pop(job.id, None)

        def decide(state: _State, now: float) -> tuple[tuple[float, bool], bool]:
            slot = state.slot_of(job.id)
            if slot is not None and slot[0] >= state.paused_until:
                return (max(0.0, slot[0] - now), slot[0] - now <= pace.final_wait), False
            if slot is not None:
                # Slack asked to wait past it: the slot is void, the job queues again.
                state.calls.remove(slot)
            free_at = state.channel_free_at(job.channel_id, pace)
            at = max(now, state.paused_until, free_at if free_at is not None else now)
            times = sorted(c[0] for c in state.calls)
            if len(times) >= pace.slack_per_window:
                # When enough of the window's calls have left it to make room.
                at = max(at, times[len(times) - pace.slack_per_window] + pace.window)
            state.calls.append([at, job.channel_id, "f", job.id])
            state.cards.pop(job.id, None)
            return (at - now, at - now <= pace.final_wait), True

        # Losing every race for the row (a storm of writers) must not hold a final card back.
        wait, go = await self._change(decide, (0.0, True))
        self._count("final" if go else "final_held")
        return wait, go

    async def pause(self, seconds: float) -> None:
        """Slack said 429 to a ``chat.update``: every replica holds its cards that long."""
        if self.metrics is not None:
            self.metrics.card_refreshes.labels("rate_limited").inc()

        def decide(state: _State, now: float) -> tuple[None, bool]:
            until = now + seconds
            if until <= state.paused_until:
                return None, False
            state.paused_until = until
            return None, True

        try:
            await self._change(decide, None)
        except Exception:
            log.exception("could not record Slack's Retry-After of %.1f s", seconds)

    async def paused_for(self) -> float:
        """Seconds left of Slack's last Retry-After (0: none)."""
        state = _State.load(await self.kv.get(self.row))
        return max(0.0, state.paused_until - self.clock())

    def watch(self, client: Any) -> None:
        """Have ``client`` (a slack_sdk AsyncWebClient) tell this pacer of every 429 it
        gets from ``chat.update``."""
        handlers = getattr(client, "retry_handlers", None)
        if handlers is None or any(isinstance(h, RateLimitWatch) for h in handlers):
            return
        client.retry_handlers = [RateLimitWatch(self), *handlers]

    def _tick_refused(self, job: TrackedJob, now: float) -> str | None:
        """Why an elapsed-time tick of ``job`` cannot be granted, from what this replica
        last read (None: only the row can tell). The row would say the same: its pause and
        its calls only grow, and another replica can have refreshed this card only by
        polling the job, which moves its ``poll_count`` past what was remembered."""
        if self._paused_until > now:
            return "paused"
        seen = self._seen.get(job.id)
        # Without a memory of this card (or one another poll made stale), it may be stale.
        stale = True
        if seen is not None and seen[2] == job.poll_count:
            last, shown, _ = seen
            # Still true at its next poll, if nobody else polls it in between.
            self._seen[job.id] = (last, shown, job.poll_count + 1)
            stale = shown is not None and shown != job.vendor_status
            if not stale and not self.pace.due(last, job.created_at, now):
                return "not_due"
        if self._free_at[stale] > now:
            return "skipped"
        return None

    def _remember(self, state: _State, now: float) -> None:
        self._paused_until = state.paused_until
        self._free_at = {
            stale: state.progress_free_at(self.pace, self.pace.budget(stale))
            for stale in (False, True)
        }
        # A job polled elsewhere since, or ended elsewhere, is forgotten once its card
        # would be due anyway.
        horizon = now - self.pace.max_interval
        self._seen = {job: seen for job, seen in self._seen.items() if seen[0] > horizon}

    async def _change(
        self,
        decide: Callable[[_State, float], tuple[T, bool]],
        contended: T,
        known: Callable[[float], T | None] = lambda now: None,
    ) -> T:
        """Read the shared row, let ``decide`` answer (and change the state when it says
        so), write it back only if nobody else wrote in between; otherwise decide again on
        what they wrote. ``contended``: the answer when every attempt lost the race.
        ``known``: the answer without reading the row, if what this replica last read
        (decisions just before this one included) already gives it."""
        async with self._deciding:
            answer = known(self.clock())
            if answer is not None:
                return answer
            for _ in range(self.attempts):
                raw = await self.kv.get(self.row)
                state = _State.load(raw)
                now = self.clock()
                state.prune(now, self.pace)
                answer, write = decide(state, now)
                self._remember(state, now)
                if not write or await self.kv.compare_and_set(self.row, raw, state.dump()):
                    return answer
        log.warning("card pacing state contended %d times in a row", self.attempts)
        return contended

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.card_refreshes.labels(outcome).inc()


class RateLimitWatch(AsyncRetryHandler):
    """First among a Slack client's retry handlers: every 429 from ``chat.update`` becomes
    a shared pause. A paced call (the tracker's) gets the 429 back at once; anyone else's
    call goes on to the client's next handler (Slack's own retry after ``Retry-After``)."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__(max_retry_count=sys.maxsize)
        self.pacer = pacer

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        if not request.url.rstrip("/").endswith("/chat.update"):
            return False
        if _PACED.get():
            return True  # the tracker records the pause itself, with the error in hand
        await self.pacer.pause(retry_after(response.headers))
        return False

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        """No next attempt: the 429 goes back to the tracker, which reschedules."""


def retry_after(headers: Mapping[str, Any] | None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Slack's ``Retry-After`` in seconds, from any casing of the header (a list, as
    slack_sdk's retry handlers see headers, or a plain value)."""
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            if isinstance(value, list):
                value = value[0] if value else None
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return default
    return default
