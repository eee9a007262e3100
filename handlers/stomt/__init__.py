"""The STOMT vertical's Slack side: ``/stomt``, its buttons, the message shortcut, the digest."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.common.binding import bind
from handlers.deps import Deps
from handlers.stomt import actions, blocks, commands, shortcut
from handlers.stomt.digest import digest_kind

COMMAND = "/stomt"
SHORTCUT = shortcut.SHORTCUT


def register(app: AsyncApp, deps: Deps) -> None:
    if deps.stomt is not None:
        deps.digests.register(digest_kind(deps.stomt, deps.settings.stomt_target))
    app.command(COMMAND)(bind(commands.stomt_command, deps))
    app.action(blocks.SHOW)(bind(actions.on_show, deps))
    app.action(blocks.DELETE)(bind(actions.on_delete, deps))
    app.action(blocks.MORE)(bind(actions.on_more, deps))
    app.shortcut(shortcut.SHORTCUT)(bind(shortcut.on_shortcut, deps))
    app.view(shortcut.MODAL)(bind(shortcut.on_submit, deps))
