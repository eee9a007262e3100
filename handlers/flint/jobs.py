"""How the tracker follows a Flint job: poll its result, render its card and notices."""

from __future__ import annotations

from adapters.flint import FlintClient, FlintResult
from bot.store.jobs import FAILED, SUCCEEDED, TrackedJob
from bot.tracking import JobKind, PollResult
from handlers.flint import blocks

VENDOR = "flint"


def to_poll(result: FlintResult) -> PollResult:
    outcome = None
    if result.is_final:
        outcome = SUCCEEDED if result.succeeded else FAILED
    return PollResult(
        status=result.meta.status_text or "unknown",
        outcome=outcome,
        vendor_job_id=result.job_id,
        result=result.as_dict(),
    )


def job_kind(flint: FlintClient) -> JobKind:
    async def poll(job: TrackedJob) -> PollResult:
        assert job.vendor_job_id, "an active Flint job always has its job id"
        return to_poll(await flint.result(job.vendor_job_id))

    return JobKind(
        vendor=VENDOR,
        poll=poll,
        card=blocks.job_card,
        thread_notice=blocks.thread_notice,
        attachments=blocks.full_output,
    )
