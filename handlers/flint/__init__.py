"""The Flint vertical: ``/flint``, its buttons and its tracked jobs."""

from __future__ import annotations

from handlers.common.vertical import Button, Subcommand, Vertical
from handlers.flint import actions, blocks, commands
from handlers.flint.jobs import KEY, job_kind
from handlers.flint.parsing import parse, policy_view
from handlers.flint.steps import RUN as STEP

VERTICAL = Vertical(
    key=KEY,
    slash="/flint",
    name="Flint",
    summary="run automation from Slack",
    parse=parse,
    policy_view=policy_view,
    subcommands=(
        Subcommand(
            "run",
            "`/flint run BOX:BIT [--sync] [--timeout MS] [key=value …] [JSON object]`\n"
            "   run a flintbit; without `--sync` it runs in the background and this channel "
            "gets the result when it finishes. `--timeout MS` waits at most MS milliseconds "
            "(implies `--sync`).\n"
            "   e.g. `/flint run demo:hello.rb name=Ada` · "
            '`/flint run demo:echo.rb {"items": [1, 2]}`',
            commands.run,
            changes=True,
        ),
        Subcommand(
            "result", "`/flint result JOB_ID` — show a job's status and output", commands.result
        ),
    ),
    client=lambda deps: deps.flint,
    status=lambda settings: settings.flint_status(),
    buttons=(
        Button(blocks.RERUN, actions.on_rerun, reruns="run"),
        Button(blocks.REFRESH, actions.on_refresh),
    ),
    jobs=job_kind,
    steps=(STEP,),
)
