"""The ``flint_run`` Workflow Builder step: ``/flint run`` with its inputs, tracked like
the command's run; the step completes when the run ends (``jobs.step_outputs``)."""

from __future__ import annotations

from typing import Any

from handlers.common.step_text import field, lines
from handlers.common.text import json_object
from handlers.common.vertical import Parameter, Step, starts_job
from handlers.flint.actions import as_command_text
from handlers.flint.commands import start_run
from handlers.flint.parsing import RunRequest, flintbit_ref, input_pair


def request(inputs: dict[str, Any]) -> RunRequest:
    """Inputs is one JSON object, or ``key=value`` lines: each line is one input, whatever
    it holds (a line is never an option such as ``--sync``)."""
    flintbit = flintbit_ref(field(inputs, "flintbit"))
    given = field(inputs, "inputs")
    if given.startswith("{"):
        values: dict[str, Any] = json_object(given)
    else:
        values = dict(input_pair(line) for line in lines(given))
    return RunRequest(flintbit, values)


RUN = Step(
    callback_id="flint_run",
    title="Run a Flint flintbit",
    description="Runs a flintbit and waits for it to finish; outputs its status and output.",
    inputs=(
        Parameter("flintbit", "string", "Flintbit", "BOX:BIT, e.g. demo:hello.rb", required=True),
        Parameter(
            "inputs",
            "string",
            "Inputs",
            "A JSON object, or key=value lines",
            multiline=True,
        ),
    ),
    outputs=(
        Parameter("job_id", "string", "Job id", "Flint's job id (empty when Flint gave none)"),
        Parameter(
            "status", "string", "Status", "success, failure, aborted or timeout", required=True
        ),
        Parameter(
            "output",
            "string",
            "Output",
            "The flintbit's output (at most 4,000 characters; empty when it gave none)",
        ),
        Parameter(
            "exit_code",
            "integer",
            "Exit code",
            "The flintbit's exit code (-1 when Flint gave none)",
            required=True,
        ),
    ),
    request=request,
    show=as_command_text,
    counts_as=lambda _inputs: "run",
    run=starts_job(start_run),
)
