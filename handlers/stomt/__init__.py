"""The STOMT vertical: ``/stomt``, its buttons, the message shortcut and the digest."""

from __future__ import annotations

from handlers.common.digest import USAGE_LINE
from handlers.common.vertical import Button, Form, Shortcut, Subcommand, Vertical
from handlers.stomt import actions, blocks, commands, shortcut
from handlers.stomt.digest import KEY, digest_kind
from handlers.stomt.parsing import complete, parse, policy_view
from handlers.stomt.steps import POST as STEP

NAME = "STOMT"  # in its messages and on its digests

VERTICAL = Vertical(
    key=KEY,
    slash="/stomt",
    name=NAME,
    summary="wishes and likes for your product's feedback page",
    parse=parse,
    policy_view=policy_view,
    subcommands=(
        Subcommand(
            "like",
            '`/stomt like TEXT [--target SLUG] [--label NAME …]` — post "I like …"',
            commands.post,
            changes=True,
            examples=("/stomt like that help shows examples --label docs",),
        ),
        Subcommand(
            "wish",
            '`/stomt wish TEXT [--target SLUG] [--label NAME …]` — post "I wish …", or use '
            "the message shortcut *Send to STOMT as a wish* on any message",
            commands.post,
            changes=True,
            examples=("/stomt wish the export had a CSV option --label export",),
        ),
        Subcommand(
            "list",
            "`/stomt list [TARGET] [received|created|top] [positive|negative]` — browse stomts",
            commands.list_stomts,
            examples=("/stomt list", "/stomt list stomt top"),
        ),
        Subcommand(
            "show",
            "`/stomt show STOMT_ID` — a stomt with its comments (ids are on `/stomt list`)",
            commands.show,
            examples=("/stomt show i-like-that-the-bot-answers-within-a-second",),
        ),
        Subcommand(
            "delete",
            "`/stomt delete STOMT_ID` — delete one (asks first)",
            commands.delete,
            changes=True,
            examples=("/stomt delete i-wish-i-could-delete-stomts-from-a-thread",),
        ),
        Subcommand(
            "digest",
            "`/stomt digest … [--target SLUG]` — new stomts of a target posted here on a "
            f"schedule: {USAGE_LINE}",
            commands.digest,
            examples=("/stomt digest daily 09:00",),
        ),
    ),
    client=lambda deps: deps.stomt,
    complete=complete,
    status=lambda settings: settings.stomt_status(),
    buttons=(
        Button(blocks.SHOW, actions.on_show),
        Button(blocks.DELETE, actions.on_delete),
        Button(blocks.MORE, actions.on_more),
    ),
    forms=(Form(shortcut.MODAL, shortcut.on_submit),),
    shortcuts=(Shortcut(shortcut.SHORTCUT, shortcut.on_shortcut),),
    digest=lambda client, settings: digest_kind(client, settings.stomt_target, NAME),
    steps=(STEP,),
)
