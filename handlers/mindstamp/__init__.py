"""The Mindstamp vertical's Slack side: ``/mindstamp``, its buttons, the digest."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.common.binding import bind
from handlers.deps import Deps
from handlers.mindstamp import actions, blocks, commands
from handlers.mindstamp.digest import digest_kind

COMMAND = "/mindstamp"


def register(app: AsyncApp, deps: Deps) -> None:
    if deps.mindstamp is not None:
        deps.digests.register(digest_kind(deps.mindstamp))
    app.command(COMMAND)(bind(commands.mindstamp_command, deps))
    app.action(blocks.SHOW)(bind(actions.on_show, deps))
    app.action(blocks.MORE)(bind(actions.on_more, deps))
