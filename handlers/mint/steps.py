"""The ``mint_execute`` Workflow Builder step: ``/mint execute``, tracked like the
command's execution; the step completes when the instance ends (``jobs.step_outputs``)."""

from __future__ import annotations

import json
from typing import Any

from handlers.common.step_text import field, words
from handlers.common.text import json_object
from handlers.common.vertical import Parameter, Step, starts_job
from handlers.mint.commands import start_execution
from handlers.mint.parsing import ExecuteRequest, execute_request


def request(inputs: dict[str, Any]) -> ExecuteRequest:
    given = field(inputs, "input")
    return execute_request(field(inputs, "definition_id"), json_object(given) if given else None)


def show(request: ExecuteRequest) -> str:
    shown = words("execute", request.definition_id)
    return f"{shown} {json.dumps(request.input, ensure_ascii=False)}" if request.input else shown


EXECUTE = Step(
    callback_id="mint_execute",
    title="Execute a Signicat Mint flow",
    description="Executes a Mint flow and waits for the instance to end; outputs its status.",
    inputs=(
        Parameter("definition_id", "string", "Flow id", "The flow's definition id", required=True),
        Parameter("input", "string", "Input", "A JSON object", multiline=True),
    ),
    outputs=(
        Parameter("instance_id", "string", "Instance id", "The flow instance's id", required=True),
        Parameter(
            "status",
            "string",
            "Status",
            "Finished, Faulted, Cancelled or Suspended",
            required=True,
        ),
        Parameter("failed_step", "string", "Failed step", "Empty unless Faulted"),
    ),
    request=request,
    show=show,
    counts_as=lambda _inputs: "execute",
    run=starts_job(start_execution),
)
