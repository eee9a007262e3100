"""Ending Workflow Builder step runs: ``functions.completeSuccess`` or ``completeError``
with the execution's own token, once.

Slack accepts one completion per execution and refuses any other
(``execution_not_in_running_state``), so completing is made safe to repeat: a run marked
completed in the state store is not completed again, and Slack's refusal of a repeat
means the earlier completion (ours, before a crash or in another process) went through.
A step that started a tracked job is completed by a tracker finisher (``finisher``),
which runs under the job's lease and again after a crash, with the outputs its vendor's
``JobKind.step_outputs`` draws from the job.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store.jobs import NOT_STARTED, TIMED_OUT, UNKNOWN, TrackedJob
from bot.store.steps import COMPLETED, ERROR, SUCCESS, StepRunStore
from bot.tracking import Finisher, RetryLater, Tracker

log = logging.getLogger(__name__)

# Slack's answers meaning the execution is no longer running: it was completed already
# (ours went through before a crash, or another process's did), or Slack ended it.
ALREADY_ENDED = frozenset({"execution_not_in_running_state", "function_execution_not_found"})
# Slack's answers for outputs it will not take (the step then ends with an error instead).
OUTPUTS_REFUSED = frozenset({"parameter_validation_failed", "invalid_arguments"})
RETRY_AFTER = 5.0  # seconds, when Slack could not be reached or gave no Retry-After
MAX_ERROR = 1_000  # characters of a completeError reason
# A completion that Slack cannot take now is tried this many times before it is left
# to the sweep (handlers/common/steps.py); a tracked job's is retried by the tracker.
ATTEMPTS = 3


class StepCompleter:
    """Completes step runs with their stored token, through ``slack`` (the app's client:
    the token is passed per call, so it never sits in a shared client)."""

    def __init__(self, runs: StepRunStore, slack: AsyncWebClient) -> None:
        self.runs = runs
        self.slack = slack

    async def succeed(self, execution_id: str, outputs: dict[str, Any]) -> None:
        await self._patiently(execution_id, outputs, None)

    async def fail(self, execution_id: str, error: str) -> None:
        await self._patiently(execution_id, None, error)

    def finisher(self, tracker: Tracker) -> Finisher:
        """The tracker finisher that completes the step a job was started for."""

        async def finish(job: TrackedJob) -> None:
            if not job.step_execution_id:
                return
            outputs = tracker.kind(job.vendor).step_outputs(job)
            error = None if outputs is not None else ended_without_answer(job)
            await self.complete(job.step_execution_id, outputs, error, job_id=job.id)

        return finish

    async def _patiently(
        self, execution_id: str, outputs: dict[str, Any] | None, error: str | None
    ) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                await self.complete(execution_id, outputs, error)
                return
            except RetryLater as later:
                if attempt == ATTEMPTS:
                    log.warning("step %s not completed yet: Slack did not take it", execution_id)
                    return
                await asyncio.sleep(min(later.after, 10.0))

    async def complete(
        self,
        execution_id: str,
        outputs: dict[str, Any] | None,
        error: str | None,
        *,
        job_id: str | None = None,
    ) -> None:
        """completeSuccess with ``outputs`` (or completeError with ``error``), unless the
        run is completed already. Raises ``RetryLater`` when Slack cannot take it now."""
        run = await self.runs.get(execution_id)
        if run is None or run.state == COMPLETED:
            return
        if outputs is not None:
            refused = await self._send(
                "functions.completeSuccess", run.token, execution_id, outputs=outputs
            )
            if refused is None:
                await self.runs.complete(execution_id, outcome=SUCCESS, job_id=job_id)
                return
            if refused not in OUTPUTS_REFUSED:
                await self._given_up(execution_id, refused, job_id)
                return
            log.warning("step %s: Slack refused its outputs (%s)", execution_id, refused)
            error = f"Slack did not accept the step's outputs ({refused})."
        reason = (error or "The step could not be carried out.")[:MAX_ERROR]
        refused = await self._send("functions.completeError", run.token, execution_id, error=reason)
        if refused is not None:
            await self._given_up(execution_id, refused, job_id)
            return
        await self.runs.complete(execution_id, outcome=ERROR, error=reason, job_id=job_id)

    async def _given_up(self, execution_id: str, refused: str, job_id: str | None) -> None:
        """Slack refused the completion for good (e.g. the token was revoked): repeating
        it cannot help, so the run ends here, saying why."""
        log.error("step %s could not be completed: Slack answered %s", execution_id, refused)
        await self.runs.complete(
            execution_id,
            outcome=ERROR,
            error=f"not completed: Slack answered {refused}",
            job_id=job_id,
        )

    async def _send(self, method: str, token: str, execution_id: str, **args: Any) -> str | None:
        """Call ``method``: None when it went through (now, or before), else Slack's error.
        Raises ``RetryLater`` when Slack is rate limiting or cannot be reached."""
        try:
            if method == "functions.completeSuccess":
                await self.slack.functions_completeSuccess(
                    token=token, function_execution_id=execution_id, outputs=args["outputs"]
                )
            else:
                await self.slack.functions_completeError(
                    token=token, function_execution_id=execution_id, error=args["error"]
                )
        except SlackApiError as exc:
            code = str(exc.response.get("error") or "unknown_error")
            if code in ALREADY_ENDED:
                log.info("step %s was already completed (%s)", execution_id, code)
                return None
            if exc.response.status_code == 429 or code == "ratelimited":
                raise RetryLater(_retry_after(exc)) from None
            return code
        except (aiohttp.ClientError, TimeoutError):
            raise RetryLater(RETRY_AFTER) from None
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


def _retry_after(exc: SlackApiError) -> float:
    headers = exc.response.headers or {}
    try:
        return float(headers.get("Retry-After") or RETRY_AFTER)
    except ValueError:
        return RETRY_AFTER
