"""The ``mindstamp_summary`` Workflow Builder step: ``/mindstamp summary``."""

from __future__ import annotations

from typing import Any

from handlers.common.step_text import field, words
from handlers.common.vertical import Parameter, Step


def text(inputs: dict[str, Any]) -> str:
    period = field(inputs, "period").lower() or "all"
    return words("summary", "" if period == "all" else period)


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
        Parameter("summary", "string", "Summary", "Every numeric field, as JSON"),
    ),
    text=text,
)
