"""Buttons on STOMT cards: Show, Delete (confirmed by Slack first) and More."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.errors import VendorError, VendorNotFound
from adapters.stomt import validate_stomt_id, validate_target_id
from handlers.common.policy import Redo, button_permitted, where
from handlers.common.replies import ephemeral, not_configured, vendor_error
from handlers.common.text import escape
from handlers.deps import Deps
from handlers.stomt import blocks
from handlers.stomt.commands import delete, show_list
from handlers.stomt.parsing import KINDS, POLARITIES, Delete, ListStomts, Show

STALE = ":grey_question: This button is out of date."


async def on_show(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if deps.stomt is None:
        await respond(**ephemeral(not_configured(deps.settings.stomt_status())))
        return
    try:
        stomt_id = validate_stomt_id(str(action.get("value") or ""))
        redo = Redo("/stomt", f"show {stomt_id}", Show(stomt_id))
        if not await button_permitted(deps, body, respond, "stomt show", stomt_id, redo=redo):
            return
        stomt = await deps.stomt.get_stomt(stomt_id)
        comments = await deps.stomt.comments(stomt_id) if stomt.amount_comments else []
    except ValueError:
        await respond(**ephemeral(STALE))
        return
    except VendorNotFound:
        await respond(**ephemeral(":mag: That stomt no longer exists."))
        return
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))
        return
    message = blocks.stomt_card(stomt, details=True, comments=comments)
    await respond(
        response_type="ephemeral",
        replace_original=False,
        text=message.text,
        blocks=message.blocks,
    )


async def on_delete(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    """Reached only after the user confirmed Slack's dialog on the Delete button."""
    await ack()
    if deps.stomt is None:
        await respond(**ephemeral(not_configured(deps.settings.stomt_status())))
        return
    user_id, channel_id = where(body)
    try:
        stomt_id = validate_stomt_id(str(action.get("value") or ""))
        # A `confirm` rule holds the click; once confirmed, `/stomt delete` deletes at once.
        redo = Redo("/stomt", f"delete {stomt_id}", Delete(stomt_id))
        if not await button_permitted(deps, body, respond, "stomt delete", stomt_id, redo=redo):
            return
        stomt = await delete(deps, stomt_id, user_id=user_id, channel_id=channel_id)
    except ValueError:
        await respond(**ephemeral(STALE))
        return
    except VendorNotFound:
        await respond(**ephemeral(":mag: That stomt was already deleted."))
        return
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))
        return
    message = blocks.stomt_card(stomt, deleted_by=user_id)
    # The card the button was on now says who deleted the stomt.
    await respond(replace_original=True, text=message.text, blocks=message.blocks)


async def on_more(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if deps.stomt is None:
        await respond(**ephemeral(not_configured(deps.settings.stomt_status())))
        return
    try:
        page = json.loads(str(action.get("value") or ""))
        request = ListStomts(
            target=validate_target_id(str(page["t"])),
            kind=page["k"] if page["k"] in KINDS else "received",
            polarity=page["p"] if page.get("p") in POLARITIES else None,
            offset=max(0, min(int(page["o"]), 100_000)),
        )
    except (ValueError, KeyError, TypeError):
        await respond(**ephemeral(STALE))
        return
    if not await button_permitted(deps, body, respond, "stomt list", request.target):
        return
    try:
        await show_list(deps, request, respond, replace=True)
    except VendorError as exc:
        await respond(**ephemeral(f"{vendor_error(exc)} ({escape(request.target or '')})"))
