"""The Flint vertical's Slack side: ``/flint``, its buttons and its tracked jobs."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.common.binding import bind
from handlers.deps import Deps
from handlers.flint import actions, blocks, commands
from handlers.flint.jobs import job_kind

COMMAND = "/flint"


def register(app: AsyncApp, deps: Deps) -> None:
    if deps.flint is not None:
        deps.tracker.register(job_kind(deps.flint))
    app.command(COMMAND)(bind(commands.flint_command, deps))
    app.action(blocks.RERUN)(bind(actions.on_rerun, deps))
    app.action(blocks.REFRESH)(bind(actions.on_refresh, deps))
