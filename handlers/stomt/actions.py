"""Buttons on STOMT cards: Show, Delete (confirmed by Slack first) and More."""

from __future__ import annotations

import json

from adapters.errors import VendorError, VendorNotFound
from adapters.stomt import validate_stomt_id, validate_target_id
from handlers.common.interaction import Interaction
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import ephemeral, vendor_error
from handlers.common.text import escape, one_of
from handlers.common.vertical import Stale
from handlers.deps import Deps
from handlers.stomt import blocks
from handlers.stomt.commands import delete_stomt, show_list
from handlers.stomt.parsing import KINDS, POLARITIES, DeleteRequest, ListRequest, ShowRequest

STALE = ":grey_question: This button is out of date."


async def on_show(deps: Deps, x: Interaction) -> None:
    assert deps.stomt is not None
    stomt_id = _stomt_id(x)
    redo = Redo("/stomt", f"show {stomt_id}", ShowRequest(stomt_id))
    if not await button_permitted(deps, x, "stomt show", stomt_id, redo=redo):
        return
    try:
        stomt = await deps.stomt.get_stomt(stomt_id)
        comments = await deps.stomt.comments(stomt_id) if stomt.amount_comments else []
    except VendorNotFound:
        await _gone(x, stomt_id, ":mag: That stomt no longer exists.")
        return
    message = blocks.stomt_card(stomt, details=True, comments=comments)
    await x.respond(
        response_type="ephemeral",
        replace_original=False,
        text=message.text,
        blocks=message.blocks,
    )


async def on_delete(deps: Deps, x: Interaction) -> None:
    """Reached only after the user confirmed Slack's dialog on the Delete button."""
    stomt_id = _stomt_id(x)
    # A `confirm` rule holds the click; once confirmed, `/stomt delete` deletes at once.
    redo = Redo("/stomt", f"delete {stomt_id}", DeleteRequest(stomt_id))
    if not await button_permitted(deps, x, "stomt delete", stomt_id, redo=redo):
        return
    try:
        stomt = await delete_stomt(deps, stomt_id, user_id=x.user, channel_id=x.place)
    except VendorNotFound:
        await _gone(x, stomt_id, ":mag: That stomt was already deleted.")
        return
    message = blocks.stomt_card(stomt, deleted_by=x.user)
    # The card the button was on now says who deleted the stomt.
    await x.respond(replace_original=True, text=message.text, blocks=message.blocks)


async def on_more(deps: Deps, x: Interaction) -> None:
    request = _next_page(x.value)
    if not await button_permitted(deps, x, "stomt list", request.target):
        return
    try:
        await show_list(deps, request, x.respond, replace=True)
    except VendorError as exc:
        await x.respond(**ephemeral(f"{vendor_error(exc)} ({escape(request.target or '')})"))


async def _gone(x: Interaction, stomt_id: str, said: str) -> None:
    """The stomt a button names no longer exists: its card (if the click was on one) says
    so in place of its buttons; a list's Show is answered beside the list."""
    if _clicked_block(x) == blocks.CARD_ACTIONS:
        message = blocks.gone_card(stomt_id)
        await x.respond(replace_original=True, text=message.text, blocks=message.blocks)
    else:
        await x.respond(**ephemeral(said))


def _clicked_block(x: Interaction) -> str:
    actions = x.body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    block_id = first.get("block_id") if isinstance(first, dict) else None
    return block_id if isinstance(block_id, str) else ""


def _stomt_id(x: Interaction) -> str:
    """The stomt a Show or Delete button names; ``Stale`` when it names none."""
    try:
        return validate_stomt_id(x.value)
    except ValueError:
        raise Stale(STALE) from None


def _next_page(value: str) -> ListRequest:
    """The page a More button asks for; ``Stale`` when its value is not one of ours."""
    try:
        page = json.loads(value)
        return ListRequest(
            target=validate_target_id(str(page["t"])),
            kind=one_of(page["k"], KINDS) or "received",
            polarity=one_of(page.get("p"), POLARITIES),
            offset=max(0, min(int(page["o"]), 100_000)),
        )
    except (ValueError, KeyError, TypeError):
        raise Stale(STALE) from None
