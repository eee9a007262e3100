"""The ``stint_post`` Workflow Builder step: ``/stint post``, tracked like the command's
request; the step completes when the flow has answered (``jobs.step_outputs``)."""

from __future__ import annotations

from typing import Any

from adapters.stintmint import Descriptor, infer_descriptor
from handlers.common.step_text import field, lines, words
from handlers.common.vertical import Parameter, Step, starts_job
from handlers.stintmint.commands import post
from handlers.stintmint.parsing import PostRequest, batch_id, post_request, urgency_code


def request(inputs: dict[str, Any]) -> PostRequest:
    """Each Descriptors line is one ``name=value`` pair, whatever it holds (a line is never
    an option such as ``--batch``)."""
    batch, urgency = field(inputs, "batch_id"), field(inputs, "urgency")
    return post_request(
        field(inputs, "sf_id"),
        field(inputs, "identifier"),
        lines(field(inputs, "descriptors")),
        batch_id(batch) if batch else None,
        urgency_code(urgency) if urgency else None,
    )


def show(request: PostRequest) -> str:
    return words(
        "post",
        request.sf_id,
        request.identifier,
        *(_pair(descriptor) for descriptor in request.descriptors),
        *(("--batch", request.batch_id) if request.batch_id else ()),
        *(("--urgency", request.urgency) if request.urgency else ()),
    )


def _pair(descriptor: Descriptor) -> str:
    """``name=value``, with ``:TYPE`` when the value alone would be read as another type."""
    inferred = infer_descriptor(descriptor.name, descriptor.info).type
    typed = "" if inferred == descriptor.type else f":{descriptor.type.value}"
    return f"{descriptor.name}{typed}={descriptor.info}"


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
        Parameter("status", "string", "Status", "Stintmint's final status", required=True),
        Parameter(
            "cost",
            "number",
            "Cost",
            "What the request cost (0 when Stintmint gave no cost, or none that is a finite "
            "number)",
            required=True,
        ),
        Parameter("responses", "string", "Responses", "The responses, as JSON", required=True),
    ),
    request=request,
    show=show,
    counts_as=lambda _inputs: "post",
    run=starts_job(post),
)
