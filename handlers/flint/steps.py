"""The ``flint_run`` Workflow Builder step: ``/flint run`` with its inputs, tracked like
the command's run; the step completes when the run ends (``jobs.step_outputs``)."""

from __future__ import annotations

from typing import Any

from handlers.common.step_text import field, lines, words
from handlers.common.vertical import Parameter, Step, starts_job
from handlers.flint.commands import start_run


def text(inputs: dict[str, Any]) -> str:
    given = field(inputs, "inputs")
    if given.startswith("{"):  # a JSON object goes last, as typed after the command
        return f"{words('run', field(inputs, 'flintbit'))} {given}"
    return words("run", field(inputs, "flintbit"), *lines(given))


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
        Parameter("job_id", "string", "Job id", "Flint's job id"),
        Parameter("status", "string", "Status", "success, failure, aborted or timeout"),
        Parameter("output", "string", "Output", "The flintbit's output (at most 4,000 characters)"),
        Parameter(
            "exit_code",
            "integer",
            "Exit code",
            "The flintbit's exit code (-1 when Flint gave none)",
        ),
    ),
    text=text,
    run=starts_job(start_run),
)
