"""The ``stint_post`` Workflow Builder step: ``/stint post``, tracked like the command's
request; the step completes when the flow has answered (``jobs.step_outputs``)."""

from __future__ import annotations

from typing import Any

from handlers.common.step_text import field, lines, words
from handlers.common.vertical import Parameter, Step, starts_job
from handlers.stintmint.commands import post


def text(inputs: dict[str, Any]) -> str:
    batch, urgency = field(inputs, "batch_id"), field(inputs, "urgency")
    return words(
        "post",
        field(inputs, "sf_id"),
        field(inputs, "identifier"),
        *lines(field(inputs, "descriptors")),
        *(("--batch", batch) if batch else ()),
        *(("--urgency", urgency) if urgency else ()),
    )


POST = Step(
    callback_id="stint_post",
    title="Send data to a Stintmint flow",
    description="Posts data to a StintFlow and waits for its responses.",
    inputs=(
        Parameter("sf_id", "string", "StintFlow id", "The StintFlow's id", required=True),
        Parameter("identifier", "string", "Identifier", "Your id for this request", required=True),
        Parameter(
            "descriptors", "string", "Descriptors", "name=value lines, at most 10", multiline=True
        ),
        Parameter("batch_id", "string", "Batch id", "Groups requests into a batch"),
        Parameter("urgency", "string", "Urgency", "Stintmint's urgency code"),
    ),
    outputs=(
        Parameter("status", "string", "Status", "Stintmint's final status"),
        Parameter("cost", "number", "Cost", "What the request cost (0 when Stintmint said not)"),
        Parameter("responses", "string", "Responses", "The responses, as JSON"),
    ),
    text=text,
    run=starts_job(post),
)
