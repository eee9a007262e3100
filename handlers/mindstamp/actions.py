"""Buttons on Mindstamp cards: More (the next page of videos) and Details (one video)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from adapters.errors import VendorError, VendorNotFound
from adapters.mindstamp import acting_for, validate_id
from handlers.common.policy import Redo, button_permitted
from handlers.common.replies import ephemeral, not_configured, vendor_error
from handlers.deps import Deps
from handlers.mindstamp.commands import show_video, show_videos
from handlers.mindstamp.parsing import VideoRequest

STALE = ":grey_question: This button is out of date."
MAX_OFFSET = 100_000


async def on_show(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if deps.mindstamp is None:
        await respond(**ephemeral(not_configured(deps.settings.mindstamp_status())))
        return
    try:
        video_id = validate_id(str(action.get("value") or ""))
    except ValueError:
        await respond(**ephemeral(STALE))
        return
    redo = Redo("/mindstamp", f"video {video_id}", VideoRequest(video_id))
    if not await button_permitted(deps, body, respond, "mindstamp video", video_id, redo=redo):
        return
    try:
        with acting_for(body["user"]["id"]):  # held to the clicker's share of the budget
            await show_video(deps, video_id, respond)
    except VendorNotFound:
        await respond(**ephemeral(":mag: That video no longer exists."))
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))


async def on_more(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    *,
    deps: Deps,
):
    await ack()
    if deps.mindstamp is None:
        await respond(**ephemeral(not_configured(deps.settings.mindstamp_status())))
        return
    try:
        page = json.loads(str(action.get("value") or ""))
        offset = max(0, min(int(page["o"]), MAX_OFFSET))
    except (ValueError, KeyError, TypeError):
        await respond(**ephemeral(STALE))
        return
    if not await button_permitted(deps, body, respond, "mindstamp videos", None):
        return
    try:
        with acting_for(body["user"]["id"]):  # held to the clicker's share of the budget
            await show_videos(deps, offset, respond, replace=True)
    except VendorError as exc:
        await respond(**ephemeral(vendor_error(exc)))
