"""The Stintmint vertical: ``/stint``, Fetch now, tracked requests and result callbacks."""

from __future__ import annotations

from handlers.common.vertical import BlankForm, Button, Subcommand, Vertical
from handlers.stintmint import actions, blocks, callback, commands, forms
from handlers.stintmint.jobs import KEY, job_kind
from handlers.stintmint.parsing import parse, policy_view
from handlers.stintmint.steps import POST as STEP

VERTICAL = Vertical(
    key=KEY,
    slash="/stint",
    name="Stintmint",
    summary="send data to a StintFlow and get the humans' answers back",
    parse=parse,
    policy_view=policy_view,
    subcommands=(
        Subcommand(
            "post",
            "`/stint post SF_ID IDENTIFIER name=value [name=value …] [--batch ID] "
            "[--urgency CODE]`\n"
            "   send up to 10 descriptors; an http(s) URL becomes HREF, anything else TEXT, "
            "or say the type with `name:IMAGE=https://…` (TEXT, IMAGE, PDF, HREF, AUDIO, "
            "VIDEO). This channel gets the responses when the flow completes.",
            commands.post_command,
            changes=True,
            examples=(
                '/stint post demo order-1042 note="check the address" '
                "photo:IMAGE=https://example.com/p.jpg",
            ),
        ),
        Subcommand(
            "fetch",
            "`/stint fetch SF_ID IDENTIFIER [STATE_ID]` — status, cost and responses so far; "
            "with STATE_ID, that module's",
            commands.fetch_command,
            # order-1041: the sandbox's request posted and answered a day ago.
            examples=("/stint fetch demo order-1041", "/stint fetch demo order-1041 check"),
        ),
    ),
    client=lambda deps: deps.stintmint,
    status=lambda settings: settings.stintmint_status(),
    buttons=(
        Button(blocks.FETCH, actions.on_fetch),
        Button(blocks.RERUN, actions.on_rerun),
        Button(blocks.ALL_RESPONSES, actions.on_all_responses),
        Button(forms.RERUN_EDIT, forms.on_rerun_edit),
        Button(forms.MORE, forms.on_more),
    ),
    blank_forms=(BlankForm("post", forms.open_blank, forms.CALLBACK, forms.read),),
    jobs=job_kind,
    routes=lambda deps: [callback.route(deps)],
    steps=(STEP,),
)
