"""The Confirm and Cancel buttons of a request the access policy held for confirmation."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from handlers.common.binding import bind
from handlers.common.held import load
from handlers.common.policy import CANCEL, CONFIRM, CONFIRM_WITHIN, Confirmed, age, where
from handlers.common.replies import ephemeral, no_room
from handlers.common.text import code, normalize
from handlers.deps import Deps

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9a-f]{32}")
GONE = ":grey_question: This confirmation was already used, cancelled or is unknown."
CommandListener = Callable[..., Awaitable[Any]]


def register(app: AsyncApp, deps: Deps, commands: dict[str, CommandListener]) -> None:
    async def on_confirm(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        *,
        deps: Deps,
    ) -> None:
        await ack()
        await confirm(deps, body, action, respond, commands)

    app.action(CONFIRM)(bind(on_confirm, deps))
    app.action(CANCEL)(bind(on_cancel, deps))


async def confirm(
    deps: Deps,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    commands: dict[str, CommandListener],
) -> None:
    held = await _held(deps, action)
    if held is None:
        await respond(**ephemeral(GONE))
        return
    clicker, _channel = where(body)
    what = f"{held.command} {normalize(held.text)}".strip()  # as the user typed it
    if clicker != held.user_id:
        await _audit(deps, held, "confirm refused", clicker, f"asked for by {held.user_id}")
        await respond(
            **ephemeral(f":no_entry: Only <@{held.user_id}>, who asked for it, can confirm this."),
            replace_original=False,
        )
        return
    if age(held.created_at) > CONFIRM_WITHIN:
        await deps.store.confirmations.use(held.id)
        await respond(
            text=":hourglass: This confirmation expired after 10 minutes; nothing was run. "
            "Run the command again if you still want it.",
            replace_original=True,
        )
        return
    busy = deps.work.why_not(clicker)
    if busy is not None:
        # Not used up: the same button works again in a moment.
        await respond(**ephemeral(no_room(busy, deps.work)))
        return
    listener = commands.get(held.command)
    request = load(held.request)
    if listener is None or request is None or not await deps.store.confirmations.use(held.id):
        await respond(**ephemeral(GONE))
        return
    await _audit(deps, held, "confirmed", held.user_id)
    await respond(text=f":white_check_mark: Confirmed: {code(what[:1000])}", replace_original=True)

    async def answer(*args: Any, **kw: Any) -> None:
        if kw:  # e.g. the policy changed meanwhile and now denies it
            await respond(**kw, replace_original=False)

    command = {
        "command": held.command,
        "text": held.text,
        "user_id": held.user_id,
        "channel_id": held.channel_id,
        "_confirmed": Confirmed(held.id, request),
    }
    await listener(ack=answer, command=command, respond=respond, deps=deps)


async def on_cancel(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
) -> None:
    await ack()
    held = await _held(deps, action)
    if held is None:
        await respond(**ephemeral(GONE))
        return
    if where(body)[0] != held.user_id:
        await respond(
            **ephemeral(f":no_entry: Only <@{held.user_id}> can cancel this."),
            replace_original=False,
        )
        return
    if await deps.store.confirmations.use(held.id):
        await _audit(deps, held, "cancelled", held.user_id)
        await respond(text=":x: Cancelled; nothing was run.", replace_original=True)


async def _audit(deps: Deps, held, outcome: str, user_id: str, detail: str = "") -> None:
    # The held text is not recorded: the run's own entry has its (redacted) parameters.
    await deps.audit.record(
        user_id=user_id,
        channel_id=held.channel_id,
        command=held.action or held.command.lstrip("/"),
        target=held.target,
        outcome=outcome,
        detail=detail,
    )


async def _held(deps: Deps, action: dict[str, Any]):
    value = str(action.get("value") or "")
    if not _ID.fullmatch(value):
        return None
    return await deps.store.confirmations.get(value)
