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
from handlers.mindstamp.parsing import SummaryRequest


def text(inputs: dict[str, Any]) -> str:
    period = field(inputs, "period").lower() or "all"
    return words("summary", "" if period == "all" else period)


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
        Parameter("views", "integer", "Views", "Total views in the period"),
        Parameter(
            "summary", "string", "Summary", "Every numeric field by its name, as a JSON object"
        ),
    ),
    text=text,
    run=run,
)
