"""The ``mindstamp_summary`` Workflow Builder step: ``/mindstamp summary``, completed as
soon as Mindstamp has answered."""

from __future__ import annotations

import json
from typing import Any

from adapters.mindstamp import numeric_fields, numeric_values, total_views
from handlers.common.step_text import field, words
from handlers.common.steps import post_card
from handlers.common.vertical import Parameter, Step, StepCall
from handlers.deps import Deps
from handlers.mindstamp import blocks
from handlers.mindstamp.commands import read_summary
from handlers.mindstamp.parsing import SummaryRequest, summary_period


def request(inputs: dict[str, Any]) -> SummaryRequest:
    period = field(inputs, "period")
    return SummaryRequest("all" if period.lower() in ("", "all") else summary_period(period))


def show(request: SummaryRequest) -> str:
    return words("summary", "" if request.period == "all" else request.period)


async def run(deps: Deps, call: StepCall, request: SummaryRequest) -> dict[str, Any]:
    figures = await read_summary(deps, request, user_id=call.user_id)
    await post_card(deps, call, blocks.summary(request.period, numeric_fields(figures)))
    return {"views": total_views(figures), "summary": json.dumps(numeric_values(figures))}


SUMMARY = Step(
    callback_id="mindstamp_summary",
    title="Mindstamp views summary",
    description="Reads Mindstamp's views summary: overall, or for the last week or month.",
    inputs=(
        Parameter(
            "period",
            "string",
            "Period",
            "all, week or month",
            choices=("all", "week", "month"),
            default="all",
        ),
    ),
    outputs=(
        Parameter(
            "views",
            "integer",
            "Views",
            "Total views in the period (0 when Mindstamp gave no finite number of them)",
            required=True,
        ),
        Parameter(
            "summary",
            "string",
            "Summary",
            "Every numeric field by its name, as a JSON object (numbers beyond range, "
            "which JSON cannot hold, left out)",
            required=True,
        ),
    ),
    request=request,
    show=show,
    counts_as=lambda _inputs: "summary",
    run=run,
)
