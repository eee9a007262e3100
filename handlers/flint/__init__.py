"""The Flint vertical's Slack side: ``/flint``, its buttons and its tracked jobs."""

from __future__ import annotations

import functools

from slack_bolt.async_app import AsyncApp

from handlers.deps import Deps
from handlers.flint import actions, blocks, commands
from handlers.flint.jobs import job_kind

COMMAND = "/flint"


def register(app: AsyncApp, deps: Deps) -> None:
    if deps.flint is not None:
        deps.tracker.register(job_kind(deps.flint))
    app.command(COMMAND)(_bind(commands.flint_command, deps))
    app.action(blocks.RERUN)(_bind(actions.on_rerun, deps))
    app.action(blocks.REFRESH)(_bind(actions.on_refresh, deps))


def _bind(listener, deps: Deps):
    """Bolt injects positional parameters by name (following __wrapped__); ``deps`` is
    keyword-only in our listeners, so Bolt ignores it and we supply it here."""
    """Bolt injects arguments by parameter name; ``deps`` is ours, so bind it and keep
    the rest of the signature visible to Bolt."""

    @functools.wraps(listener)
    async def bound(**kwargs):
        return await listener(deps=deps, **kwargs)

    return bound
