"""Durable tracking of vendor jobs started from Slack, vendor-agnostic.

A vendor's handlers register a ``JobKind`` (how to poll a job, how to render its card and
its failure notice). The tracker writes every job to the store before the caller is told
it started, polls due jobs with back-off, and delivers each completion notice once:

* every poll cycle leases due rows in one atomic statement (``JobStore.claim_due``), so
  several processes sharing a database never handle the same job at once;
* every write after a claim is fenced on the lease owner;
* the notice is delivered in steps recorded in ``notice_step``: the card update is
  idempotent (repeating it after a crash changes nothing visible), and the thread reply
  for a failure is marked before it is sent, so it is never sent twice;
* while a job runs, each poll may refresh its card (elapsed time, the vendor's status) at
  the pace ``bot.pacing`` allows across every job and replica; its final card is never
  skipped, only held while Slack's ``Retry-After`` runs.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import FileUpload, Message
from bot.metrics import Metrics
from bot.pacing import Pacer, paced_call, retry_after
from bot.store.jobs import (
    ACTIVE,
    DONE,
    FAILED,
    NOT_STARTED,
    NOTIFYING,
    STARTING,
    SUCCEEDED,
    TIMED_OUT,
    UNKNOWN,
    JobStore,
    NewJob,
    TrackedJob,
)
from bot.store.kv import KeyValueStore

log = logging.getLogger(__name__)

# Slack errors after which retrying the same call cannot help.
_MESSAGE_GONE = {"message_not_found", "cant_update_message", "edit_window_closed"}
_CHANNEL_GONE = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "restricted_action",
}
# How long after a job finished we keep trying to tell Slack before giving up.
NOTICE_GIVE_UP_AFTER = 24 * 3600.0


@dataclass(frozen=True)
class PollResult:
    """What a vendor says about a job now. ``outcome`` stays None until the job is final."""

    status: str
    outcome: str | None = None
    vendor_job_id: str | None = None
    result: dict | None = None


@dataclass(frozen=True)
class JobKind:
    vendor: str
    poll: Callable[[TrackedJob], Awaitable[PollResult]]
    card: Callable[[TrackedJob], Message]
    # A reply in the card's thread when the job ends (None: no reply), e.g. a failure
    # mentioning whoever started it.
    thread_notice: Callable[[TrackedJob], Message | None]
    # Files for the thread when the job ends (e.g. an output too long for the card); may
    # be a coroutine function, to read what the store does not keep from the vendor.
    attachments: Callable[[TrackedJob], list[FileUpload] | Awaitable[list[FileUpload]]] = field(
        default=lambda job: []
    )
    # True for jobs the vendor will call back about: polling is then only a safety net,
    # at the longest interval.
    callback_backed: Callable[[TrackedJob], bool] = field(default=lambda job: False)
    # The outputs of the Workflow Builder step that started a job, once the job has ended
    # (failed included). None: the job ended without an answer to give (it never started,
    # or its vendor never said how it ended), and the step ends with an error instead.
    step_outputs: Callable[[TrackedJob], dict[str, Any] | None] = field(default=lambda job: None)


class RetryLater(Exception):
    """A finisher could not do its work now (Slack rate-limited or unreachable): the
    tracker keeps the job and runs its finishers again after ``after`` seconds."""

    def __init__(self, after: float) -> None:
        super().__init__(after)
        self.after = after


# Work that must follow the end of every job, after its card and thread notice (e.g.
# completing the Workflow Builder step that started it, refreshing its user's App Home).
# Runs at least once: again after a crash or a RetryLater, so it must be idempotent.
Finisher = Callable[[TrackedJob], Awaitable[None]]


class CardNotPosted(Exception):
    """The job card could not be posted in the channel (so the job was not started)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _Retry(Exception):
    def __init__(self, after: float) -> None:
        super().__init__(after)
        self.after = after


class Tracker:
    def __init__(
        self,
        store: JobStore,
        slack: AsyncWebClient,
        *,
        poll_interval: float = 5.0,
        max_interval: float = 60.0,
        job_timeout: float = 24 * 3600.0,
        # A lease outlives any one poll or delivery (vendor and Slack calls time out well
        # before it), so a crashed process's jobs are taken over within half a minute.
        lease_seconds: float = 30.0,
        # How long a vendor call that starts a job may take before a crash is presumed.
        start_grace: float = 30.0,
        max_inflight: int = 50,
        metrics: Metrics | None = None,
        owner: str | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        self.store = store
        self.slack = slack
        self.poll_interval = poll_interval
        self.max_interval = max(max_interval, poll_interval)
        self.job_timeout = job_timeout
        self.lease_seconds = lease_seconds
        self.start_grace = start_grace
        self.max_inflight = max_inflight
        self.metrics = metrics
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.pacer = pacer or Pacer(KeyValueStore(store.engine), metrics=metrics)
        # Any chat.update made through this client that Slack answers 429 pauses the
        # refreshes of every replica, a button's card update included: the limit is the
        # app's, per method and workspace.
        self.pacer.watch(slack)
        self._kinds: dict[str, JobKind] = {}
        self._finishers: list[Finisher] = []
        self._inflight: set[asyncio.Task] = set()
        self._closing = False
        self._ticking = asyncio.Lock()
        self._gauges_at = 0.0

    # -- registration -------------------------------------------------------------------

    def register(self, kind: JobKind) -> None:
        self._kinds[kind.vendor] = kind

    def kind(self, vendor: str) -> JobKind:
        return self._kinds[vendor]

    def add_finisher(self, finisher: Finisher) -> None:
        self._finishers.append(finisher)

    # -- the life of a job, as handlers drive it ----------------------------------------

    async def begin(self, new: NewJob, *, expected_seconds: float = 0.0) -> TrackedJob:
        """Record the job and post its card, before any vendor call. A job without a channel
        (a Workflow Builder step given none) has no card: only its finishers tell.

        ``expected_seconds`` is how long the vendor call itself may take (a synchronous
        run), so the poller does not mistake a long call for a dead process.
        """
        now = time.time()
        job = await self.store.create(
            new,
            deadline_at=now + self.job_timeout,
            start_grace=self.start_grace + expected_seconds,
        )
        if not new.channel_id:
            return job
        try:
            await self._post_card(job, self._kinds[new.vendor].card(job))
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown_error"))
            await self.store.update(job.id, state=DONE, outcome=NOT_STARTED, error=error)
            raise CardNotPosted(error) from exc
        await self.store.update(job.id, message_ts=job.message_ts)
        return job

    async def started(self, job_id: str, poll: PollResult) -> TrackedJob | None:
        """The vendor accepted the job (or, for a synchronous call, already finished it)."""
        now = time.time()
        if poll.outcome is not None:
            job = await self.store.claim(
                job_id,
                self.owner,
                lease_seconds=self.lease_seconds,
                states=(STARTING,),
                **self._final_values(poll, now),
            )
            if job is not None:
                await self._deliver(job)
            return await self.store.get(job_id)
        moved = await self.store.update(
            job_id,
            in_state=STARTING,  # a vendor callback may already have finished it
            state=ACTIVE,
            vendor_job_id=poll.vendor_job_id,
            vendor_status=poll.status,
            result=poll.result,
            next_poll_at=now + self.poll_interval,
        )
        job = await self.store.get(job_id)
        if job is not None and moved:
            # In the background: the card's refresh waits its turn in the shared budget,
            # and the request that started the job (counted against its user) is done.
            self._spawn(self._show_progress(job, changed=True))
        return job

    async def finish_external(self, job_id: str, poll: PollResult) -> str:
        """A vendor told us (a callback) that a job reached a final state.

        Returns "accepted" (the notice is on its way), "duplicate" (already known: a
        repeated callback notifies nobody again) or "unknown". Safe to call from a request
        handler: the notice is delivered in the background, so the vendor gets its 200 fast.
        """
        job = await self.store.claim(
            job_id,
            self.owner,
            lease_seconds=self.lease_seconds,
            states=(STARTING, ACTIVE),
            **self._final_values(poll, time.time()),
        )
        if job is not None:
            self._spawn(self._deliver_guarded(job))
            return "accepted"
        current = await self.store.get(job_id)
        if current is None:
            return "unknown"
        if current.state in (STARTING, ACTIVE):
            # Another process is polling it this very moment: make it due again, so the
            # next poll (which will see the final state) follows at once.
            await self.store.update(job_id, next_poll_at=time.time())
            return "accepted"
        return "duplicate"

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _deliver_guarded(self, job: TrackedJob) -> None:
        try:
            await self._deliver(job)
        except Exception:
            log.exception("error while delivering the notice of job %s", job.id)

    async def could_not_start(self, job_id: str, error: str) -> None:
        """The vendor refused or could not be reached: the card says so, nothing is tracked.

        The job ends as a notice does (``_deliver``): leased and ``NOTIFYING`` until its
        card is updated and its finishers have run, so that a process dying (or Slack
        asking to wait) before then leaves it to the poller, rather than ``DONE`` with
        them never done. A refusal gets no thread reply: whoever asked is told already."""
        now = time.time()
        job = await self.store.claim(
            job_id,
            self.owner,
            lease_seconds=self.lease_seconds,
            states=(STARTING,),
            state=NOTIFYING,
            outcome=NOT_STARTED,
            error=error,
            finished_at=now,
            notice_step=0,
            next_poll_at=now,
        )
        if job is None:
            # The poller took it for a process that died while starting it: it ends there.
            log.warning("job %s was taken over before it could be marked not started", job_id)
            return
        await self._deliver(job)

    async def refresh(self, job_id: str) -> TrackedJob | None:
        """Poll one job now (a Refresh button). None if another process is on it or it
        is no longer tracked."""
        job = await self.store.claim(
            job_id, self.owner, lease_seconds=self.lease_seconds, states=(ACTIVE, NOTIFYING)
        )
        if job is None:
            return None
        await self._process(job, force_card=True)
        return await self.store.get(job_id)

    # -- the poller ---------------------------------------------------------------------

    async def tick(self) -> int:
        """One poll cycle: lease due jobs in one query and work on them concurrently."""
        if self._closing:
            return 0
        await self._refresh_gauges()
        # Under the lock stop_claiming takes: a claim under way spawns its work before
        # shutdown drains it, so no job is left leased with nobody working on it.
        async with self._ticking:
            if self._closing:
                return 0
            free = self.max_inflight - len(self._inflight)
            jobs = await self.store.claim_due(
                self.owner, lease_seconds=self.lease_seconds, limit=free
            )
            for job in jobs:
                self._spawn(self._process_guarded(job))
        return len(jobs)

    async def stop_claiming(self) -> None:
        """No new claims from now on; a claim under way finishes and spawns its work first."""
        async with self._ticking:
            self._closing = True

    async def settled(self) -> None:
        """Until the work this process started in the background (card refreshes,
        notices of callbacks) is done."""
        while self._inflight:
            await asyncio.wait(set(self._inflight))

    async def drain(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109
        """Stop claiming, let in-flight work finish, and hand back what is left."""
        await self.stop_claiming()
        if self._inflight:
            _done, pending = await asyncio.wait(set(self._inflight), timeout=timeout)
            for task in pending:
                task.cancel()
        released = await self.store.release_all(self.owner)
        if released:
            log.info("released %d job lease(s) for other processes", released)

    async def _process_guarded(self, job: TrackedJob) -> None:
        try:
            async with asyncio.timeout(self.lease_seconds * 0.8):
                await self._process(job)
        except Exception:
            # The lease expires and another cycle retries; the job is never dropped.
            log.exception("error while handling job %s (%s)", job.id, job.vendor)

    async def _process(self, job: TrackedJob, *, force_card: bool = False) -> None:
        now = time.time()
        kind = self._kinds.get(job.vendor)
        if kind is None:
            log.warning("no handler registered for %s jobs; job %s waits", job.vendor, job.id)
            await self._release(job, next_poll_at=now + self.max_interval)
            return
        if job.state == STARTING:
            # The process that called the vendor died before recording the answer.
            await self._finish(job, PollResult(status="unknown", outcome=UNKNOWN), now)
            return
        if job.state == ACTIVE:
            if now >= job.deadline_at:
                await self._finish(job, PollResult(status="timed out", outcome=TIMED_OUT), now)
                return
            try:
                poll = await kind.poll(job)
            except Exception as exc:  # vendor errors: keep the job, try again later
                log.warning("polling %s job %s failed: %s", job.vendor, job.id, exc)
                await self._release(
                    job, next_poll_at=now + self._delay(job, now), poll_count=job.poll_count + 1
                )
                return
            if poll.outcome is not None:
                await self._finish(job, poll, now)
                return
            changed = poll.status != job.vendor_status
            await self._release(
                job,
                vendor_status=poll.status,
                result=poll.result if poll.result is not None else job.result,
                next_poll_at=now + self._delay(job, now),
                poll_count=job.poll_count + 1,
            )
            job.vendor_status = poll.status
            if poll.result is not None:
                job.result = poll.result
            # Every poll may refresh the card, not only a new status: the elapsed time
            # moves on (the pacer says whether this card is due and the budget allows).
            await self._show_progress(job, changed=changed, forced=force_card)
            return
        if job.state == NOTIFYING:
            await self._deliver(job)

    def _delay(self, job: TrackedJob, now: float) -> float:
        kind = self._kinds.get(job.vendor)
        if kind is not None and kind.callback_backed(job):
            return self.max_interval
        # The base interval for the first minute, then growing with the job's age.
        age = now - job.created_at
        return min(self.poll_interval * max(1.0, age / 60.0), self.max_interval)

    def _final_values(self, poll: PollResult, now: float) -> dict[str, Any]:
        values: dict[str, Any] = {
            "state": NOTIFYING,
            "outcome": poll.outcome,
            "vendor_status": poll.status,
            "finished_at": now,
            "notice_step": 0,
        }
        if poll.vendor_job_id is not None:
            values["vendor_job_id"] = poll.vendor_job_id
        if poll.result is not None:
            values["result"] = poll.result
        return values

    async def _finish(self, job: TrackedJob, poll: PollResult, now: float) -> None:
        values = self._final_values(poll, now)
        if not await self.store.update(job.id, owner=self.owner, **values):
            return  # lost the lease: another process owns the job now
        for key, value in values.items():
            setattr(job, key, value)
        await self._deliver(job)

    async def _release(self, job: TrackedJob, **values) -> None:
        await self.store.update(
            job.id, owner=self.owner, lease_owner=None, lease_until=None, **values
        )

    # -- talking to Slack ---------------------------------------------------------------

    async def _show_progress(
        self, job: TrackedJob, *, changed: bool = False, forced: bool = False
    ) -> None:
        """Best-effort refresh of a running job's card, when the pacer grants it."""
        if not job.message_ts or not job.channel_id:
            return
        if not await self.pacer.progress(job, changed=changed, forced=forced):
            return
        try:
            await self._paced_update(job, self._kinds[job.vendor].card(job))
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            if isinstance(exc, SlackApiError) and _rate_limited(exc):
                await self.pacer.pause(self._retry_after(exc))
            log.info("could not refresh the card of job %s: %s", job.id, _slack_error(exc))

    async def _deliver(self, job: TrackedJob) -> None:
        kind = self._kinds[job.vendor]
        now = time.time()
        try:
            if job.notice_step < 1 and job.channel_id:
                # Never skipped: held only for Slack's Retry-After and its channel's turn.
                wait, go = await self.pacer.final(job)
                if not go:
                    # Waiting its turn is not Slack refusing the notice: never a reason to
                    # give up on it, however long ago the job ended (the app down for a
                    # day, then every card owed at once).
                    await self._release(job, next_poll_at=time.time() + wait)
                    return
                await asyncio.sleep(wait)
                await self._update_card(job, kind.card(job))
                if not await self.store.update(
                    job.id, owner=self.owner, notice_step=1, message_ts=job.message_ts
                ):
                    return
                job.notice_step = 1
            if job.notice_step < 2:
                # Marked before sending: a crash here loses the thread reply (the card
                # already shows the outcome) rather than ever sending it twice.
                if not await self.store.update(job.id, owner=self.owner, notice_step=2):
                    return
                job.notice_step = 2
                if job.channel_id and job.outcome != NOT_STARTED:
                    await self._post_followups(job, kind)
            after = await self._run_finishers(job)
            if after is not None:
                raise _Retry(after)
        except _Retry as retry:
            if job.finished_at and now - job.finished_at > NOTICE_GIVE_UP_AFTER:
                await self._give_up(job, "Slack did not accept the notice for a day")
            else:
                await self._release(job, next_poll_at=now + retry.after)
            return
        except SlackApiError as exc:
            await self._give_up(job, _slack_error(exc))
            return
        await self.store.update(
            job.id,
            owner=self.owner,
            state=DONE,
            notified_at=time.time(),
            lease_owner=None,
            lease_until=None,
        )
        if self.metrics is not None:
            self.metrics.notices.labels(job.vendor, job.outcome or "unknown").inc()

    async def _run_finishers(self, job: TrackedJob) -> float | None:
        """Run every finisher; the delay before running them again when one asks to."""
        again: float | None = None
        for finisher in self._finishers:
            try:
                await finisher(job)
            except RetryLater as later:
                again = max(again or 0.0, later.after)
            except Exception:
                # E.g. the database unreachable for a moment: run at least once means
                # again, not never (for up to NOTICE_GIVE_UP_AFTER, like a notice).
                log.exception("a finisher of job %s failed; it runs again", job.id)
                again = max(again or 0.0, self.poll_interval)
        return again

    async def _paced_update(self, job: TrackedJob, message: Message) -> None:
        """The card's chat.update, a 429 coming back at once (the pacer decides when next)."""
        assert job.message_ts is not None  # callers update a card that was posted
        with paced_call():
            await self.slack.chat_update(
                channel=job.channel_id, ts=job.message_ts, text=message.text, blocks=message.blocks
            )

    async def _update_card(self, job: TrackedJob, message: Message) -> None:
        try:
            if job.message_ts:
                try:
                    await self._paced_update(job, message)
                    return
                except SlackApiError as exc:
                    if exc.response.get("error") not in _MESSAGE_GONE:
                        raise
            # The card was deleted (or never posted): the notice becomes a new message.
            await self._post_card(job, message)
        except SlackApiError as exc:
            if _rate_limited(exc):
                await self.pacer.pause(self._retry_after(exc))
            raise self._retry_or_fatal(exc) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retry(self.poll_interval) from exc

    async def _post_card(self, job: TrackedJob, message: Message) -> None:
        response = await self.slack.chat_postMessage(
            channel=job.channel_id,
            thread_ts=job.thread_ts,
            text=message.text,
            blocks=message.blocks,
            unfurl_links=False,
            unfurl_media=False,
        )
        job.message_ts = response["ts"]

    async def _post_followups(self, job: TrackedJob, kind: JobKind) -> None:
        try:
            notice = kind.thread_notice(job)
            if notice is not None:
                await self.slack.chat_postMessage(
                    channel=job.channel_id,
                    thread_ts=job.message_ts,
                    text=notice.text,
                    blocks=notice.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            uploads = kind.attachments(job)
            if inspect.isawaitable(uploads):
                uploads = await uploads
            for upload in uploads:
                await self.slack.files_upload_v2(
                    channel=job.channel_id,
                    thread_ts=job.message_ts,
                    filename=upload.filename,
                    title=upload.title,
                    content=upload.content,
                )
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            # Already marked as sent (see _deliver): log, never repeat.
            log.warning("follow-up for job %s not delivered: %s", job.id, _slack_error(exc))

    def _retry_or_fatal(self, exc: SlackApiError) -> Exception:
        error = exc.response.get("error")
        if error in _CHANNEL_GONE:
            return exc
        return _Retry(self._retry_after(exc))

    def _retry_after(self, exc: SlackApiError) -> float:
        return retry_after(exc.response.headers, default=self.poll_interval)

    async def _give_up(self, job: TrackedJob, reason: str) -> None:
        log.error("completion notice for job %s not delivered: %s", job.id, reason)
        await self.store.update(
            job.id,
            owner=self.owner,
            state=DONE,
            error=f"notice not delivered: {reason}",
            lease_owner=None,
            lease_until=None,
        )
        # The job still ended: what follows its end is owed all the same, once (a finisher
        # asking to be run again is left to its own sweep, e.g. the steps').
        await self._run_finishers(job)

    async def _refresh_gauges(self) -> None:
        if self.metrics is None or time.monotonic() - self._gauges_at < 15:
            return
        self._gauges_at = time.monotonic()
        for state, count in (await self.store.count_by_state()).items():
            self.metrics.tracked_jobs.labels(state).set(count)


def _rate_limited(exc: SlackApiError) -> bool:
    return exc.response.status_code == 429 or exc.response.get("error") == "ratelimited"


def _slack_error(exc: BaseException) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown_error"))
    return type(exc).__name__


__all__ = [
    "FAILED",
    "SUCCEEDED",
    "TIMED_OUT",
    "UNKNOWN",
    "CardNotPosted",
    "Finisher",
    "JobKind",
    "NewJob",
    "PollResult",
    "RetryLater",
    "TrackedJob",
    "Tracker",
]
