"""The Video form: ``/mindstamp video`` typed bare. A video picked by typeahead over the
account's videos, by title (or id), then shown as ``/mindstamp video ID`` shows it.

Mindstamp has no search (its document lists ``GET /videos`` with paging only), so the
picker filters a list read from it: at most ``LISTED`` videos (newest first, pages of
100), read on behalf of the user typing (their share of the rate limiter's budget), kept
``FRESH`` seconds and shared by every picker of the process. A keystroke while the list
is being read waits for that same read instead of starting another. When the account has
more videos than that, an id typed in full is offered too."""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from dataclasses import dataclass
from typing import Any

from adapters.mindstamp import MAX_LIMIT, MindstampClient, Video, acting_for, validate_id
from handlers.common import forms
from handlers.common.interaction import Interaction
from handlers.common.text import UsageError
from handlers.deps import Deps
from handlers.mindstamp.parsing import VideoRequest

CALLBACK = "mindstamp_video_form"
VIDEOS = "mindstamp_form_video"  # the video picker's action id (its options listener)
VIDEO = "video"  # block id
SHOWN = 25  # videos offered per query: type more to find another
LISTED = 300  # videos read for the picker at most: 3 calls of Mindstamp's budget
FRESH = 60.0  # seconds a list read serves the pickers before Mindstamp is asked again
POLICY_NAME = "mindstamp video"


@dataclass(frozen=True)
class Listing:
    videos: tuple[Video, ...]
    complete: bool  # every video of the account is in ``videos``
    until: float  # monotonic time after which it is read again


# Per client (a test's app, or a replaced client, starts with nothing known): the list
# last read, and the read under way.
_listed: weakref.WeakKeyDictionary[MindstampClient, Listing] = weakref.WeakKeyDictionary()
_reading: weakref.WeakKeyDictionary[MindstampClient, asyncio.Task[Listing]] = (
    weakref.WeakKeyDictionary()
)


def view(channel_id: str) -> dict[str, Any]:
    blocks = [
        forms.typeahead(
            VIDEO,
            "Video",
            VIDEOS,
            hint="Type part of a video's title, or its id (listed by /mindstamp videos).",
            placeholder="Type part of a title",
        )
    ]
    return forms.modal(CALLBACK, "Show a video", blocks, channel_id, submit="Show")


async def video_options(deps: Deps, x: Interaction, query: str) -> list[dict[str, Any]]:
    """The account's videos whose title or id holds ``query`` (any case), newest first;
    only those the access policy lets this user see where the form was opened."""
    assert deps.mindstamp is not None
    listing = await _listing(deps, x.user)
    wanted = query.casefold()
    found = [
        (video.key, video.name)
        for video in listing.videos
        if video.key
        and (wanted in (video.title or "").casefold() or wanted in video.key.casefold())
    ]
    if query and not found and not listing.complete:
        with contextlib.suppress(ValueError):
            found.append((validate_id(query), f"Video id {query}"))
    offered: list[dict[str, Any]] = []
    for key, name in found:
        if len(offered) == SHOWN:
            break
        if forms.may_pick(deps, x, POLICY_NAME, key):
            offered.append(forms.option(key, name))
    return offered


async def _listing(deps: Deps, user: str) -> Listing:
    """The list the pickers filter: the one read less than ``FRESH`` s ago, the one being
    read now, or a new read on ``user``'s behalf."""
    client = deps.mindstamp
    assert client is not None
    listed = _listed.get(client)
    if listed is not None and listed.until > time.monotonic():
        return listed
    task = _reading.get(client)
    if task is None:
        with acting_for(user):  # the task copies this context: its calls are the user's
            task = asyncio.create_task(_read(client), name="mindstamp-video-list")
        _reading[client] = task
        task.add_done_callback(lambda done: _finished(client, done))
        # A read that outlives this keystroke's options request (Slack waits 3 s) goes
        # on for the next keystroke, and is waited for at shutdown like any work.
        deps.work.adopt(task, user)
    return await asyncio.shield(task)


def _finished(client: MindstampClient, task: asyncio.Task[Listing]) -> None:
    if _reading.get(client) is task:
        del _reading[client]
    if not task.cancelled() and task.exception() is None:
        _listed[client] = task.result()


async def _read(client: MindstampClient) -> Listing:
    videos: list[Video] = []
    offset, complete = 0, False
    while len(videos) < LISTED:
        page = await client.videos(offset=offset, limit=min(MAX_LIMIT, LISTED - len(videos)))
        videos += page.items
        if not page.has_more:
            complete = True
            break
        offset = page.next_offset
    return Listing(tuple(videos), complete, time.monotonic() + FRESH)


open_blank = forms.blank(view)


def read(x: Interaction) -> tuple[VideoRequest, str]:
    fields = forms.Fields(x)
    chosen = fields.picked(VIDEO, VIDEOS, "Choose a video.", _video_id)
    fields.done()
    video_id = _video_id(chosen)
    return VideoRequest(video_id), f"video {video_id}"


def _video_id(chosen: str) -> str:
    """The id as ``/mindstamp video`` reads it, and its message when it is none."""
    try:
        return validate_id(chosen)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
