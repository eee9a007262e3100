"""``/stomt``: parse, acknowledge at once, then talk to STOMT."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.errors import VendorError, VendorNotFound
from handlers.common.audited import audited
from handlers.common.commands import acknowledge
from handlers.common.digest import run_digest
from handlers.common.policy import Confirmed
from handlers.common.replies import ephemeral, vendor_error
from handlers.common.text import UsageError, escape
from handlers.deps import Deps
from handlers.stomt import blocks
from handlers.stomt.digest import VENDOR
from handlers.stomt.parsing import (
    USAGE,
    Delete,
    Digest,
    ListStomts,
    Post,
    Show,
    action,
    parse,
)

NO_TARGET = (
    "Say which target (the slug of a STOMT page), or ask an admin to set STOMT_TARGET "
    "as the default."
)


async def stomt_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, *, deps: Deps
):
    request = await acknowledge(
        ack,
        deps,
        command,
        respond,
        parse=lambda text: _with_target(parse(text), deps),
        usage_text=USAGE,
        client=deps.stomt,
        status=deps.settings.stomt_status,
        action=lambda request: action(request, deps.settings.stomt_target),
    )
    if request is None:
        return
    try:
        await _run(deps, request, command, respond)
    except VendorNotFound as exc:
        await respond(**ephemeral(f":mag: {escape(exc.message)}"))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


def _with_target(request, deps: Deps):
    """Lists and digests need a target: the one typed, or STOMT_TARGET."""
    if isinstance(request, ListStomts | Digest) and not (
        getattr(request, "target", None) or deps.settings.stomt_target
    ):
        raise UsageError(NO_TARGET)
    return request


async def _run(deps: Deps, request, command: dict[str, Any], respond: AsyncRespond) -> None:
    assert deps.stomt is not None
    user_id, channel_id = command["user_id"], command["channel_id"]
    if isinstance(request, Post):
        target = request.target or deps.settings.stomt_target
        async with audited(
            deps,
            user_id=user_id,
            channel_id=command["channel_id"],
            command="stomt like" if request.positive else "stomt wish",
            target=target or "",
            params={"text": request.text, "labels": list(request.labels)},
        ) as outcome:
            stomt = await deps.stomt.create_stomt(
                request.text,
                positive=request.positive,
                target_id=target,
                labels=list(request.labels) or None,
            )
            outcome.vendor_ids["stomt"] = stomt.id
        message = blocks.stomt_card(stomt, posted_by=user_id)
        # in_channel through the response URL: works in any conversation the command
        # was typed in, even one the bot has not joined.
        await respond(response_type="in_channel", text=message.text, blocks=message.blocks)
    elif isinstance(request, ListStomts):
        await show_list(deps, request, respond)
    elif isinstance(request, Show):
        stomt = await deps.stomt.get_stomt(request.stomt_id)
        comments = await deps.stomt.comments(request.stomt_id) if stomt.amount_comments else []
        message = blocks.stomt_card(stomt, details=True, comments=comments)
        await respond(response_type="ephemeral", text=message.text, blocks=message.blocks)
    elif isinstance(request, Delete) and isinstance(command.get("_confirmed"), Confirmed):
        # Confirmed through the access policy's own button: no second prompt.
        stomt = await delete(deps, request.stomt_id, user_id=user_id, channel_id=channel_id)
        message = blocks.stomt_card(stomt, deleted_by=user_id)
        await respond(response_type="ephemeral", text=message.text, blocks=message.blocks)
    elif isinstance(request, Delete):
        stomt = await deps.stomt.get_stomt(request.stomt_id)
        message = blocks.delete_prompt(stomt)
        await respond(response_type="ephemeral", text=message.text, blocks=message.blocks)
    elif isinstance(request, Digest):
        await run_digest(
            deps,
            request.command,
            vendor=VENDOR,
            title="STOMT",
            channel_id=command["channel_id"],
            user_id=user_id,
            options={"target": deps.settings.stomt_target},
            respond=respond,
        )


async def delete(deps: Deps, stomt_id: str, *, user_id: str, channel_id: str):
    """Delete a stomt (audited); returns it as it was, for the card that says so."""
    assert deps.stomt is not None
    stomt = await deps.stomt.get_stomt(stomt_id)
    async with audited(
        deps, user_id=user_id, channel_id=channel_id, command="stomt delete", target=stomt_id
    ) as outcome:
        await deps.stomt.delete_stomt(stomt_id)
        outcome.vendor_ids["stomt"] = stomt_id
    return stomt


async def show_list(
    deps: Deps, request: ListStomts, respond: AsyncRespond, *, replace: bool = False
) -> None:
    assert deps.stomt is not None
    target = request.target or str(deps.settings.stomt_target)
    stomts = await deps.stomt.target_stomts(
        target,
        request.kind,  # type: ignore[arg-type]
        request.polarity,  # type: ignore[arg-type]
        offset=request.offset,
        limit=blocks.PAGE,
    )
    message = blocks.stomt_list(
        stomts, target=target, kind=request.kind, polarity=request.polarity, offset=request.offset
    )
    await respond(
        response_type="ephemeral",
        text=message.text,
        blocks=message.blocks,
        replace_original=replace,
    )
