"""How the tracker follows a Flint job: poll its result, render its card and notices.

What the state store keeps of a job (``jobs.result``) is capped: Flint's meta with its
texts cut to ``STORED_TEXT`` characters, and the output whole only up to
``STORED_OUTPUT`` characters. A longer output is kept as its first ``STORED_OUTPUT``
characters (as text) and its length (``output_length``): enough for the card, which shows
far less. The file attached in the thread is then made from a fresh read of the job's
result, cut to ``blocks.OUTPUT_FILE_BYTES``, so no row ever holds a runaway output.
"""

from __future__ import annotations

import logging
from typing import Any

from adapters.errors import AnswerTooLarge, VendorError
from adapters.flint import FlintClient, FlintResult
from bot.messages import FileUpload
from bot.tracking import FAILED, SUCCEEDED, TIMED_OUT, JobKind, PollResult, TrackedJob
from handlers.flint import blocks

log = logging.getLogger(__name__)

KEY = "flint"
# Characters of a job's output the state store keeps (the card shows 2,500 of them).
STORED_OUTPUT = 16_000
# Characters of each text in Flint's meta the state store keeps (the card shows 1,000).
STORED_TEXT = 1_000
# The meta fields Flint documents; anything else it sends is not kept.
META_FIELDS = (
    "job-id",
    "exit-code",
    "context",
    "message",
    "timeout",
    "timestamp",
    "status",
    "content-type",
)
TOO_LARGE = "output too large"
# Characters of the output a workflow step gives on (CONTRACT.md: at most 4,000).
STEP_OUTPUT = 4_000
# A step's exit code when Flint gave none for a run that did not succeed.
NO_EXIT_CODE = -1


def to_poll(result: FlintResult) -> PollResult:
    outcome = None
    if result.is_final:
        outcome = SUCCEEDED if result.succeeded else FAILED
    return PollResult(
        status=result.meta.status_text or "unknown",
        outcome=outcome,
        vendor_job_id=result.job_id,
        result=stored(result),
    )


def stored(result: FlintResult) -> dict[str, Any]:
    """What the state store keeps of one answer: its meta and at most STORED_OUTPUT
    characters of its output (then as text, with the whole output's ``output_length``)."""
    meta = result.as_dict()["meta"]
    record: dict[str, Any] = {
        "meta": {key: _clip(meta[key]) for key in META_FIELDS if key in meta},
        "output": result.output,
    }
    text = blocks.readable_output(result.output)
    if len(text) > STORED_OUTPUT:
        record["output"] = text[:STORED_OUTPUT]
        record["output_length"] = len(text)
    return record


def _clip(value: Any) -> Any:
    return value[:STORED_TEXT] if isinstance(value, str) else value


def too_large(job: TrackedJob, error: AnswerTooLarge) -> PollResult:
    """Flint's answer about a job was more than we read: the job has ended (a running
    job has no output yet), but neither its status nor its output can be shown."""
    # A synchronous run's first answer is the one too large: its job id was in it.
    look = f"Look at job {job.vendor_job_id} in Flint." if job.vendor_job_id else "Look in Flint."
    message = f"{error.message}, so its output cannot be shown here. {look}"
    return PollResult(
        status=TOO_LARGE,
        outcome=FAILED,
        vendor_job_id=job.vendor_job_id,
        result={"meta": {"job-id": job.vendor_job_id, "message": message}, "output": None},
    )


def step_outputs(job: TrackedJob) -> dict[str, Any] | None:
    """The ``flint_run`` step's outputs: job_id, status (success, failure, aborted or
    timeout), output and exit_code. None for a run Flint never answered about."""
    if job.ended_without_answer and job.outcome != TIMED_OUT:
        return None
    record = job.result or {}
    meta = record.get("meta") or {}
    if job.succeeded:
        status = "success"
    elif job.outcome == TIMED_OUT:
        status = "timeout"
    elif str(meta.get("status") or job.vendor_status or "").lower() == "aborted":
        status = "aborted"
    else:
        status = "failure"
    exit_code = meta.get("exit-code")
    if not isinstance(exit_code, int) or isinstance(exit_code, bool):
        exit_code = 0 if job.succeeded else NO_EXIT_CODE
    return {
        "job_id": job.vendor_job_id or "",
        "status": status,
        "output": blocks.readable_output(record.get("output"))[:STEP_OUTPUT],
        "exit_code": exit_code,
    }


def job_kind(flint: FlintClient) -> JobKind:
    async def poll(job: TrackedJob) -> PollResult:
        assert job.vendor_job_id, "an active Flint job always has its job id"
        try:
            return to_poll(await flint.result(job.vendor_job_id))
        except AnswerTooLarge as exc:
            if not exc.is_success:
                raise  # a flood that is not the job's answer: try again later
            return too_large(job, exc)

    async def attachments(job: TrackedJob) -> list[FileUpload]:
        return await output_file(flint, job)

    return JobKind(
        vendor=KEY,
        poll=poll,
        card=blocks.job_card,
        thread_notice=blocks.thread_notice,
        attachments=attachments,
        step_outputs=step_outputs,
    )


async def output_file(flint: FlintClient, job: TrackedJob) -> list[FileUpload]:
    """The output as a file for the thread, when the card could not show all of it."""
    record = job.result or {}
    length = record.get("output_length")
    if not isinstance(length, int):
        return blocks.full_output(job)  # the store holds all of it
    try:
        assert job.vendor_job_id
        result = await flint.result(job.vendor_job_id)
    except VendorError as exc:
        # The excerpt the store kept is better than nothing; the title says what it is.
        log.warning("flint job %s: output not read again for its file: %s", job.id, exc.message)
        return blocks.output_file(job, blocks.readable_output(record.get("output")), length)
    return blocks.output_file(job, blocks.readable_output(result.output))
