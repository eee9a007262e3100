"""Ending Workflow Builder step runs: ``functions.completeSuccess`` or ``completeError``
with the execution's own token: exactly once, and always in the end.

Slack accepts one completion per execution and refuses any other
(``execution_not_in_running_state``). So a completion is first decided and stored
(``StepRunStore.settle``: the first decision wins), then sent; whoever finds it stored
and unsent sends that same one: the sender again after Slack could not take it, a tracker
finisher run again, or the sweep (handlers/common/steps.py) after a crash. Slack's refusal
of a repeat means an earlier send (ours, before a crash or in another process) went
through. Slack being busy, failing or unreachable is waited out with growing pauses for
up to a day; only a refused token (or arguments) ends the trying early, and the run then
records why it was not completed.

A step that started a tracked job is completed by a tracker finisher (``finisher``),
which runs under the job's lease and again after a crash, with the outputs its vendor's
``JobKind.step_outputs`` draws from the job.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pacing import retry_after
from bot.store.jobs import NOT_STARTED, TIMED_OUT, UNKNOWN, TrackedJob
from bot.store.steps import COMPLETING, ERROR, SUCCESS, UNFINISHED, StepRun, StepRunStore
from bot.tracking import Finisher, RetryLater, Tracker

log = logging.getLogger(__name__)

# Slack's answers meaning the execution is no longer running: it was completed already
# (ours went through before a crash, or another process's did), or Slack ended it.
ALREADY_ENDED = frozenset({"execution_not_in_running_state", "function_execution_not_found"})
# Slack's answers for outputs (or an error) it will not take, however often it is asked.
OUTPUTS_REFUSED = frozenset({"parameter_validation_failed", "invalid_arguments"})
# Slack's answers for a token it no longer takes. Slack revokes an execution's token once
# the execution has ended, so after a send that may have gone through, this means it did.
TOKEN_REFUSED = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "access_denied",
    }
)
RETRY_AFTER = 5.0  # seconds before the first retry when Slack gave no Retry-After
MAX_RETRY_AFTER = 600.0  # the longest pause between two sends
GIVE_UP_AFTER = 24 * 3600.0  # a completion Slack has not taken this long after is dropped
# A completion just decided is left to its sender this long before the sweep sends it.
SEND_GRACE = 60.0
MAX_ERROR = 1_000  # characters of a completeError reason
# A short step's completion that Slack cannot take now is tried this many times at once
# before it is left to the sweep; a tracked job's is retried by the tracker.
ATTEMPTS = 3


class _Transient(Exception):
    """Slack could not take the call now (``after``: its Retry-After, if it gave one)."""

    def __init__(self, code: str, after: float | None) -> None:
        super().__init__(code)
        self.code = code
        self.after = after


class StepCompleter:
    """Completes step runs with their stored token, through ``slack`` (the app's client:
    the token is passed per call, so it never sits in a shared client)."""

    def __init__(self, runs: StepRunStore, slack: AsyncWebClient) -> None:
        self.runs = runs
        self.slack = slack

    async def succeed(self, execution_id: str, outputs: dict[str, Any]) -> None:
        """Complete with ``outputs``, waiting a little if Slack cannot take it now (then
        the sweep sends it later: never raises ``RetryLater``)."""
        await self._patiently(execution_id, outputs, None, UNFINISHED)

    async def fail(
        self, execution_id: str, error: str, *, from_states: tuple[str, ...] = UNFINISHED
    ) -> None:
        """Complete with ``error``, as ``succeed``; only a run in ``from_states`` takes it
        (one completing already keeps its own)."""
        await self._patiently(execution_id, None, error, from_states)

    def finisher(self, tracker: Tracker) -> Finisher:
        """The tracker finisher that completes the step a job was started for."""

        async def finish(job: TrackedJob) -> None:
            await self.for_job(job, tracker)

        return finish

    async def for_job(self, job: TrackedJob, tracker: Tracker) -> None:
        """Complete the step ``job`` (ended) was started for, with what the job gave."""
        if not job.step_execution_id:
            return
        outputs = tracker.kind(job.vendor).step_outputs(job)
        error = None if outputs is not None else ended_without_answer(job)
        await self.complete(job.step_execution_id, outputs, error, job_id=job.id)

    async def _patiently(
        self,
        execution_id: str,
        outputs: dict[str, Any] | None,
        error: str | None,
        from_states: tuple[str, ...],
    ) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                if attempt == 1:
                    await self.complete(execution_id, outputs, error, from_states=from_states)
                else:
                    await self.resend(execution_id)
                return
            except RetryLater as later:
                if attempt == ATTEMPTS:
                    log.warning("step %s not completed yet: left to the sweep", execution_id)
                    return
                await asyncio.sleep(min(later.after, 10.0))

    async def complete(
        self,
        execution_id: str,
        outputs: dict[str, Any] | None,
        error: str | None,
        *,
        job_id: str | None = None,
        from_states: tuple[str, ...] = UNFINISHED,
    ) -> None:
        """Decide completeSuccess with ``outputs`` (or completeError with ``error``) unless
        a completion was decided already, and send the one decided. Raises ``RetryLater``
        when Slack cannot take it now (it is stored, and sent again later)."""
        reason = None if outputs is not None else (error or "The step could not be carried out.")
        decided = await self.runs.settle(
            execution_id,
            outputs=outputs,
            error=reason[:MAX_ERROR] if reason is not None else None,
            job_id=job_id,
            from_states=from_states,
            retry_at=time.time() + SEND_GRACE,
        )
        await self._send(execution_id, first=decided)

    async def resend(self, execution_id: str) -> None:
        """Send the completion decided for the run, if it is not completed yet. Raises
        ``RetryLater`` when Slack cannot take it now."""
        await self._send(execution_id, first=False)

    async def _send(self, execution_id: str, *, first: bool) -> None:
        """``first``: no send of this completion can have happened before this one."""
        run = await self.runs.get(execution_id)
        if run is None or run.state != COMPLETING:
            return
        try:
            refused = await self._call(run)
            if refused in OUTPUTS_REFUSED and run.outcome == SUCCESS:
                log.warning("step %s: Slack refused its outputs (%s)", execution_id, refused)
                error = f"Slack did not accept the step's outputs ({refused})."
                changed = await self.runs.outputs_refused(execution_id, error)
                if changed is None or changed.state != COMPLETING:
                    return
                run = changed
                refused = await self._call(run)
        except _Transient as exc:
            await self._later(run, exc)
            return
        if refused is None:
            await self.runs.complete(execution_id, outcome=run.outcome or ERROR, error=run.error)
        elif refused in TOKEN_REFUSED and not first:
            log.info(
                "step %s: Slack no longer takes its token (%s): an earlier completion went through",
                execution_id,
                refused,
            )
            await self.runs.complete(execution_id, outcome=run.outcome or ERROR, error=run.error)
        elif refused in TOKEN_REFUSED or refused in OUTPUTS_REFUSED:
            await self._give_up(run, f"Slack answered {refused}")
        else:
            await self._later(run, _Transient(refused, None))

    async def _later(self, run: StepRun, exc: _Transient) -> None:
        """Slack could not take it: try again after a pause that grows with each refusal
        (or Slack's Retry-After), for up to a day after it was decided."""
        if time.time() - run.created_at > GIVE_UP_AFTER:
            await self._give_up(run, f"Slack did not take it for a day (last: {exc.code})")
            return
        after = exc.after if exc.after is not None else RETRY_AFTER * 2**run.tries
        after = min(max(after, 1.0), MAX_RETRY_AFTER)
        log.info(
            "step %s: Slack answered %s; trying again in %.0f s", run.execution_id, exc.code, after
        )
        await self.runs.retry_later(run, tries=run.tries + 1, retry_at=time.time() + after)
        raise RetryLater(after)

    async def _give_up(self, run: StepRun, why: str) -> None:
        """Slack will not take the completion: the run ends here, saying why."""
        log.error("step %s could not be completed: %s", run.execution_id, why)
        done = " (its work was done)" if run.outcome == SUCCESS else ""
        await self.runs.complete(
            run.execution_id, outcome=ERROR, error=f"not completed{done}: {why}"
        )

    async def _call(self, run: StepRun) -> str | None:
        """Send the run's completion: None when it went through (now, or before), else
        Slack's refusal. Raises ``_Transient`` when Slack is rate limiting, failing or
        cannot be reached."""
        try:
            if run.outcome == SUCCESS:
                await self.slack.functions_completeSuccess(
                    token=run.token, function_execution_id=run.execution_id, outputs=run.outputs
                )
            else:
                await self.slack.functions_completeError(
                    token=run.token,
                    function_execution_id=run.execution_id,
                    error=run.error or "The step could not be carried out.",
                )
        except SlackApiError as exc:
            code = str(exc.response.get("error") or "unknown_error")
            if code in ALREADY_ENDED:
                log.info("step %s was already completed (%s)", run.execution_id, code)
                return None
            if exc.response.status_code == 429 or code == "ratelimited":
                raise _Transient(
                    "ratelimited", retry_after(exc.response.headers, default=RETRY_AFTER)
                ) from None
            if exc.response.status_code >= 500:
                raise _Transient(f"{code} (HTTP {exc.response.status_code})", None) from None
            return code
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Transient(type(exc).__name__, None) from None
        return None


def ended_without_answer(job: TrackedJob) -> str:
    """Why a step's job gives no outputs, for the workflow's error."""
    what = f"{job.vendor} job for {job.target}"
    if job.outcome == NOT_STARTED:
        return f"The {what} was not started: {job.error or 'the vendor refused it'}"
    if job.outcome == TIMED_OUT:
        return f"The {what} did not finish in time; the app stopped following it."
    if job.outcome == UNKNOWN:
        return (
            f"The app stopped while starting the {what}, so whether it ran is unknown. "
            "Check before running it again."
        )
    return f"The {what} ended without a result."
