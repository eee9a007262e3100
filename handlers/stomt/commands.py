"""``/stomt`` subcommands, once admitted: talk to STOMT."""

from __future__ import annotations

from adapters.stomt import Stomt
from handlers.common.audited import audited
from handlers.common.interaction import Answer, Interaction
from handlers.common.replies import ephemeral
from handlers.deps import Deps
from handlers.stomt import blocks
from handlers.stomt import digest as stomt_digest
from handlers.stomt.parsing import (
    DeleteRequest,
    DigestRequest,
    ListRequest,
    PostRequest,
    ShowRequest,
)

NO_TARGET = (
    ":information_source: Say which target (the slug of a STOMT page), or ask an admin to "
    "set STOMT_TARGET as the default."
)


async def post(deps: Deps, x: Interaction, request: PostRequest) -> None:
    stomt = await create_stomt(deps, request, user_id=x.user, channel_id=x.channel)
    message = blocks.stomt_card(stomt, posted_by=x.user)
    # in_channel through the response URL: works in any conversation the command was
    # typed in, even one the bot has not joined.
    await x.respond(response_type="in_channel", text=message.text, blocks=message.blocks)


async def list_stomts(deps: Deps, x: Interaction, request: ListRequest) -> None:
    if not (request.target or deps.settings.stomt_target):
        await x.respond(**ephemeral(NO_TARGET))
        return
    await show_list(deps, request, x.respond)


async def show(deps: Deps, x: Interaction, request: ShowRequest) -> None:
    assert deps.stomt is not None
    stomt = await deps.stomt.get_stomt(request.stomt_id)
    comments = await deps.stomt.comments(request.stomt_id) if stomt.amount_comments else []
    message = blocks.stomt_card(stomt, details=True, comments=comments)
    await x.respond(response_type="ephemeral", text=message.text, blocks=message.blocks)


async def delete(deps: Deps, x: Interaction, request: DeleteRequest) -> None:
    """Typed, it shows the stomt with a Delete button (which Slack confirms); carried out
    from the access policy's Confirm button, the user has said yes already: it deletes."""
    assert deps.stomt is not None
    if not x.confirmed:
        stomt = await deps.stomt.get_stomt(request.stomt_id)
        message = blocks.delete_prompt(stomt)
    else:
        stomt = await delete_stomt(deps, request.stomt_id, user_id=x.user, channel_id=x.channel)
        message = blocks.stomt_card(stomt, deleted_by=x.user)
    await x.respond(response_type="ephemeral", text=message.text, blocks=message.blocks)


async def digest(deps: Deps, x: Interaction, request: DigestRequest) -> None:
    await stomt_digest.run(deps, x, request.command, request.target)


async def create_stomt(deps: Deps, request: PostRequest, *, user_id: str, channel_id: str) -> Stomt:
    """Post the wish or like (audited); returns it as STOMT created it."""
    assert deps.stomt is not None
    target = request.target or deps.settings.stomt_target
    async with audited(
        deps,
        user_id=user_id,
        channel_id=channel_id,
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
    return stomt


async def delete_stomt(deps: Deps, stomt_id: str, *, user_id: str, channel_id: str) -> Stomt:
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
    deps: Deps, request: ListRequest, respond: Answer, *, replace: bool = False
) -> None:
    assert deps.stomt is not None
    target = request.target or str(deps.settings.stomt_target)
    stomts = await deps.stomt.target_stomts(
        target,
        request.kind,
        request.polarity,
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
