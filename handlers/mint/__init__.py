"""The Signicat Mint vertical's Slack side: ``/mint``, its buttons and modals, tracked
executions and the faulted/cancelled digest."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.common.binding import bind
from handlers.deps import Deps
from handlers.mint import actions, blocks, commands
from handlers.mint.jobs import digest_kind, job_kind

COMMAND = "/mint"


def register(app: AsyncApp, deps: Deps) -> None:
    if deps.mint is not None:
        deps.tracker.register(job_kind(deps.mint))
        deps.digests.register(digest_kind(deps.mint))
    app.command(COMMAND)(bind(commands.mint_command, deps))
    for action_id, listener in (
        (blocks.EXECUTE, actions.on_execute),
        (blocks.PUBLISH, actions.on_publish),
        (blocks.UNPUBLISH, actions.on_unpublish),
        (blocks.INSTANCES, actions.on_instances),
        (blocks.MORE, actions.on_more),
        (blocks.REFRESH, actions.on_refresh),
        (blocks.NOTE, actions.on_note),
        (blocks.REPORT, actions.on_report),
    ):
        app.action(action_id)(bind(listener, deps))
    app.view(actions.EXECUTE_MODAL)(bind(actions.on_execute_submit, deps))
    app.view(actions.NOTE_MODAL)(bind(actions.on_note_submit, deps))
