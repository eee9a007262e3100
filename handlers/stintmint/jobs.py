"""How the tracker follows a Stintmint request: fetch it, render its card and notices."""

from __future__ import annotations

import json
import math
from typing import Any

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


def step_outputs(job: TrackedJob) -> dict[str, Any] | None:
    """The ``stint_post`` step's outputs: status, cost (a finite number; 0 when Stintmint
    gave none, or none that is one) and responses (as JSON). None for a request that was
    never answered."""
    if job.ended_without_answer:
        return None
    flow = job.result or {}
    return {
        "status": str(flow.get("status") or job.vendor_status or ""),
        "cost": _cost(flow.get("cost")),
        # The model's JSON-mode dump has already made any number beyond range in a
        # response null: JSON (and so Slack) has no NaN or Infinity.
        "responses": json.dumps(flow.get("responses") or [], ensure_ascii=False),
    }


def _cost(cost: Any) -> int | float:
    if isinstance(cost, str):
        try:
            cost = float(cost)
        except ValueError:
            return 0
    if not isinstance(cost, int | float) or isinstance(cost, bool) or not math.isfinite(cost):
        return 0
    return cost


def job_kind(client: StintmintClient) -> JobKind:
    async def poll(job: TrackedJob) -> PollResult:
        return to_poll(await client.fetch(job.params["sf_id"], job.params["identifier"]))

    return JobKind(
        vendor=KEY,
        poll=poll,
        card=blocks.job_card,
        thread_notice=blocks.thread_notice,
        callback_backed=lambda job: bool((job.params or {}).get("callback")),
        step_outputs=step_outputs,
    )
