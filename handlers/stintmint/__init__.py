"""The Stintmint vertical's Slack side: ``/stint``, Fetch now, and result callbacks."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from starlette.routing import BaseRoute

from handlers.common.binding import bind
from handlers.deps import Deps
from handlers.stintmint import actions, blocks, callback, commands
from handlers.stintmint.jobs import job_kind

COMMAND = "/stint"


def register(app: AsyncApp, deps: Deps) -> list[BaseRoute]:
    if deps.stintmint is not None:
        deps.tracker.register(job_kind(deps.stintmint))
    app.command(COMMAND)(bind(commands.stint_command, deps))
    app.action(blocks.FETCH)(bind(actions.on_fetch, deps))
    return [callback.route(deps)]
