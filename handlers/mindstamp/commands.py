"""``/mindstamp`` subcommands, once admitted: talk to Mindstamp."""

from __future__ import annotations

from adapters.mindstamp import Summary, acting_for, numeric_fields
from handlers.common.digest import run_digest
from handlers.common.interaction import Answer, Interaction
from handlers.deps import Deps
from handlers.mindstamp import blocks
from handlers.mindstamp.digest import KEY
from handlers.mindstamp.parsing import DigestRequest, SummaryRequest, VideoRequest, VideosRequest

# On the user's behalf: their calls are held to a share of Mindstamp's budget (a digest,
# even `digest now`, is background work: see digest.py).


async def summary(deps: Deps, x: Interaction, request: SummaryRequest) -> None:
    figures = await read_summary(deps, request, user_id=x.user)
    message = blocks.summary(request.period, numeric_fields(figures))
    await x.respond(response_type="ephemeral", text=message.text, blocks=message.blocks)


async def read_summary(deps: Deps, request: SummaryRequest, *, user_id: str) -> Summary:
    """The summary the request asks for, read on ``user_id``'s share of the budget."""
    assert deps.mindstamp is not None
    with acting_for(user_id):
        return await deps.mindstamp.summary(request.period)


async def videos(deps: Deps, x: Interaction, request: VideosRequest) -> None:
    with acting_for(x.user):
        await show_videos(deps, request.offset, x.respond)


async def video(deps: Deps, x: Interaction, request: VideoRequest) -> None:
    with acting_for(x.user):
        await show_video(deps, request.video_id, x.respond)


async def digest(deps: Deps, x: Interaction, request: DigestRequest) -> None:
    await run_digest(deps, x, request.command, vendor=KEY)


async def show_videos(deps: Deps, offset: int, respond: Answer, *, replace: bool = False) -> None:
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


async def show_video(deps: Deps, video_id: str, respond: Answer) -> None:
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
