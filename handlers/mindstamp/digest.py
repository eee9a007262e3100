"""The Mindstamp digest: the views summary of the past seven days, the change since the
channel's previous digest, and the week's top videos.

Every channel gets the same figures, so every subscription is in one group ("all"): one
occurrence costs one set of Mindstamp calls however many channels are subscribed. What
each channel saw last time is its own: ``advance`` keeps the figures in the channel's
cursor and ``render`` compares with them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from adapters.mindstamp import (
    MindstampClient,
    VideoCount,
    acting_for,
    numeric_fields,
    total_views,
)
from bot.digests import DigestKind
from bot.messages import Message
from bot.store.digests import Subscription
from handlers.mindstamp import blocks

KEY = "mindstamp"
GROUP = "all"
TOP = 5
HISTORY = 12  # digests whose total views the chart shows


@dataclass(frozen=True)
class DigestData:
    numbers: list[tuple[str, int | float]]
    top: list[VideoCount]
    views: int  # the past 7 days' total views
    read_at: float


def history_of(sub: Subscription) -> list[tuple[float, int]]:
    """(when, total views) of the channel's last digests, oldest first; a cursor from
    before charts, or one that is not what we wrote, is no history."""
    kept = (sub.cursor or {}).get("history")
    if not isinstance(kept, list):
        return []
    points = []
    for point in kept[-HISTORY:]:
        if (
            isinstance(point, list)
            and len(point) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in point)
        ):
            points.append((float(point[0]), int(point[1])))
    return points


def history_after(sub: Subscription, data: DigestData) -> list[tuple[float, int]]:
    """The history with this digest's total added, the oldest left out past ``HISTORY``."""
    return [*history_of(sub), (data.read_at, data.views)][-HISTORY:]


def previous_of(sub: Subscription) -> dict[str, Any] | None:
    previous = (sub.cursor or {}).get("previous")
    return previous if isinstance(previous, dict) else None


def digest_kind(client: MindstampClient, title: str) -> DigestKind:
    def group_key(sub: Subscription) -> str:
        return GROUP

    async def fetch(sub: Subscription, since: float) -> DigestData:
        # Background work, on nobody's behalf, even for `digest now`: it may use the part
        # of Mindstamp's budget kept from interactive callers.
        with acting_for(None):
            summary = await client.summary("week")
            top = await client.top_videos("week", TOP)
        return DigestData(numeric_fields(summary), top.videos, total_views(summary), time.time())

    def render(sub: Subscription, data: DigestData, since: float, forced: bool) -> Message | None:
        previous = previous_of(sub)
        if not forced and previous is not None and dict(data.numbers) == previous:
            return None  # nothing moved since the last digest
        return blocks.digest(
            data.numbers,
            previous,
            data.top,
            since=since,
            history=history_after(sub, data),
            timezone=sub.timezone,
            # `digest now` in a channel without a subscription: one not stored (no id),
            # so nothing of this run is kept for a next one.
            subscribed=bool(sub.id),
        )

    def advance(sub: Subscription, data: DigestData, now: float) -> dict[str, Any]:
        history = [[when, views] for when, views in history_after(sub, data)]
        return {"since": now, "previous": dict(data.numbers), "history": history}

    return DigestKind(KEY, title, group_key, fetch, render, advance)
