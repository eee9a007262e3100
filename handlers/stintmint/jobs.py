"""How the tracker follows a Stintmint request: fetch it, render its card and notices."""

from __future__ import annotations

from adapters.stintmint import FlowResponse, StintmintClient
from bot.tracking import SUCCEEDED, JobKind, PollResult, TrackedJob
from handlers.stintmint import blocks

KEY = "stintmint"


def to_poll(flow: FlowResponse) -> PollResult:
    return PollResult(
        status=(flow.status or "PENDING").lower(),
        outcome=SUCCEEDED if flow.is_complete else None,
        vendor_job_id=flow.identifier,
        result=flow.as_dict(),
    )


def job_kind(client: StintmintClient) -> JobKind:
    async def poll(job: TrackedJob) -> PollResult:
        return to_poll(await client.fetch(job.params["sf_id"], job.params["identifier"]))

    return JobKind(
        vendor=KEY,
        poll=poll,
        card=blocks.job_card,
        thread_notice=blocks.thread_notice,
        callback_backed=lambda job: bool((job.params or {}).get("callback")),
    )
