"""The Signicat Mint vertical: ``/mint``, its buttons and modals, tracked executions and
the faulted/cancelled digest."""

from __future__ import annotations

from handlers.common.digest import USAGE_LINE
from handlers.common.vertical import BlankForm, Button, Form, Options, Subcommand, Vertical
from handlers.mint import actions, blocks, commands, forms
from handlers.mint.jobs import KEY, digest_kind, job_kind
from handlers.mint.parsing import STATUSES, parse, policy_view
from handlers.mint.steps import EXECUTE as STEP

NAME = "Signicat Mint"  # in its messages and on its digests

VERTICAL = Vertical(
    key=KEY,
    slash="/mint",
    name=NAME,
    summary="no-code flows from Slack",
    parse=parse,
    policy_view=policy_view,
    subcommands=(
        Subcommand(
            "flows",
            "`/mint flows [SEARCH]` — flows with Execute, Publish/Unpublish and Instances buttons",
            commands.flows,
            examples=("/mint flows", "/mint flows onboard"),
        ),
        Subcommand(
            "execute",
            "`/mint execute DEFINITION_ID [JSON object]` — start a flow (its id is on its "
            "`/mint flows` card); this channel sees it finish",
            commands.execute,
            changes=True,
            examples=(
                '/mint execute 0b1e1a5e-0000-4000-8000-000000000001 {"email": "ada@example.com"}',
            ),
        ),
        Subcommand(
            "instances",
            f"`/mint instances DEFINITION_ID [{'|'.join(STATUSES)}]` — a flow's instances",
            commands.instances,
            examples=("/mint instances 0b1e1a5e-0000-4000-8000-000000000002 Faulted",),
        ),
        Subcommand(
            "instance",
            "`/mint instance INSTANCE_ID` — status, timings and execution log (instance ids "
            "are on `/mint instances`' cards)",
            commands.instance,
        ),
        Subcommand(
            "publish",
            "`/mint publish DEFINITION_ID` · `/mint unpublish DEFINITION_ID`",
            commands.publish,
            changes=True,
            examples=("/mint publish 0b1e1a5e-0000-4000-8000-000000000003",),
        ),
        Subcommand(
            "unpublish",
            "",
            commands.publish,
            changes=True,
            examples=("/mint unpublish 0b1e1a5e-0000-4000-8000-000000000003",),
        ),
        Subcommand(
            "note",
            "`/mint note INSTANCE_ID TEXT` — add a note to an instance",
            commands.note,
            changes=True,
        ),
        Subcommand(
            "digest",
            "`/mint digest …` — faulted and cancelled instances, posted here on a schedule: "
            + USAGE_LINE,
            commands.digest,
            examples=("/mint digest daily 08:00", "/mint digest"),
        ),
    ),
    client=lambda deps: deps.mint,
    status=lambda settings: settings.mint_status(),
    buttons=(
        Button(blocks.EXECUTE, actions.on_execute),
        Button(blocks.PUBLISH, actions.on_publish),
        Button(blocks.UNPUBLISH, actions.on_unpublish),
        Button(blocks.INSTANCES, actions.on_instances),
        Button(blocks.MORE, actions.on_more),
        Button(blocks.REFRESH, actions.on_refresh),
        Button(blocks.NOTE, actions.on_note),
        Button(blocks.REPORT, actions.on_report),
        Button(blocks.RERUN, actions.on_rerun, reruns="execute"),
        Button(blocks.FULL_LOG, actions.on_full_log),
        Button(forms.RERUN_EDIT, forms.on_rerun_edit),
    ),
    forms=(
        Form(actions.EXECUTE_MODAL, actions.on_execute_submit),
        Form(actions.NOTE_MODAL, actions.on_note_submit),
    ),
    blank_forms=(BlankForm("execute", forms.open_blank, forms.CALLBACK, forms.read),),
    options=(Options(forms.FLOWS, forms.flow_options, "execute"),),
    jobs=job_kind,
    digest=lambda client, _settings: digest_kind(client, NAME),
    steps=(STEP,),
)
