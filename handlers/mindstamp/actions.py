"""Buttons on Mindstamp cards: More (the next page of videos) and Details (one video)."""

from __future__ import annotations

import json

from adapters.errors import VendorNotFound
from adapters.mindstamp import acting_for, validate_id
from handlers.common.interaction import Interaction
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import ephemeral
from handlers.common.vertical import Stale
from handlers.deps import Deps
from handlers.mindstamp.commands import show_video, show_videos
from handlers.mindstamp.parsing import VideoRequest

STALE = ":grey_question: This button is out of date."
MAX_OFFSET = 100_000


async def on_show(deps: Deps, x: Interaction) -> None:
    try:
        video_id = validate_id(x.value)
    except ValueError:
        raise Stale(STALE) from None
    redo = Redo("/mindstamp", f"video {video_id}", VideoRequest(video_id))
    if not await button_permitted(deps, x, "mindstamp video", video_id, redo=redo):
        return
    try:
        with acting_for(x.user):  # held to the clicker's share of the budget
            await show_video(deps, video_id, x.respond)
    except VendorNotFound:
        await x.respond(**ephemeral(":mag: That video no longer exists."))


async def on_more(deps: Deps, x: Interaction) -> None:
    try:
        page = json.loads(x.value)
        offset = max(0, min(int(page["o"]), MAX_OFFSET))
    except (ValueError, KeyError, TypeError):
        raise Stale(STALE) from None
    if not await button_permitted(deps, x, "mindstamp videos", None):
        return
    with acting_for(x.user):  # held to the clicker's share of the budget
        await show_videos(deps, offset, x.respond, replace=True)
