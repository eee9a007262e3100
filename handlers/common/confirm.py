"""The Confirm and Cancel buttons of a request the access policy held for confirmation
(a command, a click or a form; or a workflow step, asked in a direct message)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from handlers.common import commands, steps
from handlers.common.audited import audit_held
from handlers.common.held import load
from handlers.common.interaction import Interaction
from handlers.common.policy import CANCEL, CONFIRM, CONFIRM_WITHIN, Confirmed, age
from handlers.common.replies import ephemeral, no_room
from handlers.common.text import code, normalize
from handlers.common.vertical import Click, Vertical
from handlers.deps import Deps

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9a-f]{32}")
GONE = ":grey_question: This confirmation was already used, cancelled or is unknown."


def buttons(verticals: Iterable[Vertical]) -> dict[str, Click]:
    """The Confirm and Cancel buttons' work, by action id."""
    by_slash = {vertical.slash: vertical for vertical in verticals}

    async def on_confirm(deps: Deps, x: Interaction) -> None:
        await x.ack()
        await confirm(deps, x, by_slash)

    return {CONFIRM: on_confirm, CANCEL: on_cancel}


async def confirm(deps: Deps, x: Interaction, by_slash: dict[str, Vertical]) -> None:
    held = await _held(deps, x.value)
    if held is None:
        await x.respond(**ephemeral(GONE))
        return
    what = f"{held.command} {normalize(held.text)}".strip()  # as the user typed it
    if x.user != held.user_id:
        await audit_held(deps, held, "confirm refused", x.user, f"asked for by {held.user_id}")
        await x.beside(
            **ephemeral(f":no_entry: Only <@{held.user_id}>, who asked for it, can confirm this.")
        )
        return
    if age(held.created_at) > CONFIRM_WITHIN:
        if await deps.store.confirmations.use(held.id) and held.step:
            await steps.abandon(deps, held.step, steps.NOT_CONFIRMED)
        await x.respond(
            text=":hourglass: This confirmation expired after 10 minutes; nothing was run. "
            "Run the command again if you still want it.",
            replace_original=True,
        )
        return
    busy = deps.work.why_not(x.user)
    if busy is not None:
        # Not used up: the same button works again in a moment.
        await x.respond(**ephemeral(no_room(busy, deps.work)))
        return
    vertical = by_slash.get(held.command)
    request = load(held.request)
    if vertical is None or request is None or not await deps.store.confirmations.use(held.id):
        await x.respond(**ephemeral(GONE))
        return
    await audit_held(deps, held, "confirmed", held.user_id)
    await x.respond(
        text=f":white_check_mark: Confirmed: {code(what[:1000])}", replace_original=True
    )
    if held.step:  # a workflow step waits on it: it carries on as the step
        await steps.resume(deps, held.step, request, held.user_id)
        return

    async def answer(*args: Any, **kw: Any) -> None:
        if kw:  # e.g. the policy changed meanwhile and now denies it
            await x.beside(**kw)

    # Carried out as the command it was, where it was typed.
    as_typed = replace(x, channel=held.channel_id, value=held.text, ack=answer, confirmed=True)
    confirmed = Confirmed(held.id, request)
    admitted = await commands.admit(deps, as_typed, vertical, confirmed=confirmed)
    if admitted is not None:
        await commands.perform(deps, as_typed, vertical, admitted)


async def on_cancel(deps: Deps, x: Interaction) -> None:
    await x.ack()
    held = await _held(deps, x.value)
    if held is None:
        await x.respond(**ephemeral(GONE))
        return
    if x.user != held.user_id:
        await x.beside(**ephemeral(f":no_entry: Only <@{held.user_id}> can cancel this."))
        return
    if await deps.store.confirmations.use(held.id):
        await audit_held(deps, held, "cancelled", held.user_id)
        await x.respond(text=":x: Cancelled; nothing was run.", replace_original=True)
        if held.step:
            await steps.abandon(deps, held.step, f"Cancelled by {held.user_id}; nothing was run.")


async def _held(deps: Deps, value: str):
    if not _ID.fullmatch(value):
        return None
    return await deps.store.confirmations.get(value)
