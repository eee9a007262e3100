"""The ``mint_execute`` Workflow Builder step: ``/mint execute``, tracked like the
command's execution; the step completes when the instance ends (``jobs.step_outputs``)."""

from __future__ import annotations

from typing import Any

from handlers.common.step_text import field, words
from handlers.common.vertical import Parameter, Step, starts_job
from handlers.mint.commands import start_execution


def text(inputs: dict[str, Any]) -> str:
    given = field(inputs, "input")
    return f"{words('execute', field(inputs, 'definition_id'))} {given}".strip()


EXECUTE = Step(
    callback_id="mint_execute",
    title="Execute a Signicat Mint flow",
    description="Executes a Mint flow and waits for the instance to end; outputs its status.",
    inputs=(
        Parameter("definition_id", "string", "Flow id", "The flow's definition id", required=True),
        Parameter("input", "string", "Input", "A JSON object", multiline=True),
    ),
    outputs=(
        Parameter("instance_id", "string", "Instance id", "The flow instance's id"),
        Parameter("status", "string", "Status", "Finished, Faulted, Cancelled or Suspended"),
        Parameter("failed_step", "string", "Failed step", "Empty unless Faulted"),
    ),
    text=text,
    run=starts_job(start_execution),
)
