"""The Flint vertical: ``/flint``, its buttons and its tracked jobs."""

from __future__ import annotations

from handlers.common.vertical import BlankForm, Button, Options, Subcommand, Vertical
from handlers.flint import actions, blocks, commands, forms
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
            "(implies `--sync`).",
            commands.run,
            changes=True,
            examples=(
                "/flint run demo:hello.rb name=Ada",
                '/flint run demo:echo.rb who=me {"items": [1, 2]}',
                "/flint run demo:hello.rb --sync",
            ),
        ),
        Subcommand(
            "result",
            "`/flint result JOB_ID` — show a job's status and output (the job id is on the "
            "run's card)",
            commands.result,
        ),
    ),
    client=lambda deps: deps.flint,
    status=lambda settings: settings.flint_status(),
    buttons=(
        Button(blocks.RERUN, actions.on_rerun, reruns="run"),
        Button(blocks.REFRESH, actions.on_refresh),
        Button(forms.RERUN_EDIT, forms.on_rerun_edit),
        Button(blocks.FULL_OUTPUT, actions.on_full_output),
    ),
    blank_forms=(BlankForm("run", forms.open_blank, forms.CALLBACK, forms.read),),
    options=(Options(forms.FLINTBITS, forms.flintbit_options, "run"),),
    jobs=job_kind,
    steps=(STEP,),
)
