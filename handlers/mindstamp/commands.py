"""``/mindstamp``: parse, acknowledge at once, then talk to Mindstamp."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.errors import VendorError, VendorNotFound
from adapters.mindstamp import acting_for, numeric_fields
from handlers.common.commands import acknowledge
from handlers.common.digest import run_digest
from handlers.common.replies import ephemeral, vendor_error
from handlers.common.text import escape
from handlers.deps import Deps
from handlers.mindstamp import blocks
from handlers.mindstamp.digest import VENDOR
from handlers.mindstamp.parsing import (
    USAGE,
    DigestRequest,
    SummaryRequest,
    VideoRequest,
    VideosRequest,
    action,
    parse,
)


async def mindstamp_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, *, deps: Deps
):
    request = await acknowledge(
        ack,
        deps,
        command,
        respond,
        parse=parse,
        usage_text=USAGE,
        client=deps.mindstamp,
        status=deps.settings.mindstamp_status,
        action=action,
    )
    if request is None:
        return
    try:
        # On the user's behalf: their calls are held to a share of Mindstamp's budget (a
        # digest, even `digest now`, is background work: see digest.py).
        with acting_for(command["user_id"]):
            await _run(deps, request, command, respond)
    except VendorNotFound as exc:
        await respond(**ephemeral(f":mag: {escape(exc.message)}"))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


async def _run(deps: Deps, request, command: dict[str, Any], respond: AsyncRespond) -> None:
    assert deps.mindstamp is not None
    if isinstance(request, SummaryRequest):
        summary = await deps.mindstamp.summary(request.period)  # type: ignore[arg-type]
        message = blocks.summary(request.period, numeric_fields(summary))
        await respond(response_type="ephemeral", text=message.text, blocks=message.blocks)
    elif isinstance(request, VideosRequest):
        await show_videos(deps, request.offset, respond)
    elif isinstance(request, VideoRequest):
        await show_video(deps, request.video_id, respond)
    elif isinstance(request, DigestRequest):
        await run_digest(
            deps,
            request.command,
            vendor=VENDOR,
            title="Mindstamp",
            channel_id=command["channel_id"],
            user_id=command["user_id"],
            options={},
            respond=respond,
        )


async def show_videos(
    deps: Deps, offset: int, respond: AsyncRespond, *, replace: bool = False
) -> None:
    """A page of videos; ``replace`` swaps the card the More button was on for the next page."""
    assert deps.mindstamp is not None
    page = await deps.mindstamp.videos(offset=offset, limit=blocks.PAGE)
    message = blocks.videos(page.items, offset=offset, has_more=page.has_more)
    await respond(
        response_type="ephemeral",
        text=message.text,
        blocks=message.blocks,
        replace_original=replace,
    )


async def show_video(deps: Deps, video_id: str, respond: AsyncRespond) -> None:
    """One video with how many views and interactions it has (a new message, not a swap)."""
    assert deps.mindstamp is not None
    video = await deps.mindstamp.video(video_id)
    counts = await deps.mindstamp.video_counts(video.key or video_id)
    message = blocks.video(video, counts.views, counts.interactions)
    await respond(
        response_type="ephemeral",
        text=message.text,
        blocks=message.blocks,
        replace_original=False,
    )
