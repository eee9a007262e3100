"""The Mindstamp digest: the views summary of the past seven days, the change since the
channel's previous digest, and the week's top videos.

Every channel gets the same figures, so every subscription is in one group ("all"): one
occurrence costs one set of Mindstamp calls however many channels are subscribed. What
each channel saw last time is its own: ``advance`` keeps the figures in the channel's
cursor and ``render`` compares with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.mindstamp import MindstampClient, VideoCount, acting_for, numeric_fields
from bot.digests import DigestKind
from bot.messages import Message
from bot.store.digests import Subscription
from handlers.mindstamp import blocks

KEY = "mindstamp"
GROUP = "all"
TOP = 5


@dataclass(frozen=True)
class DigestData:
    numbers: list[tuple[str, int | float]]
    top: list[VideoCount]


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
        return DigestData(numeric_fields(summary), top.videos)

    def render(sub: Subscription, data: DigestData, since: float, forced: bool) -> Message | None:
        previous = previous_of(sub)
        if not forced and previous is not None and dict(data.numbers) == previous:
            return None  # nothing moved since the last digest
        return blocks.digest(data.numbers, previous, data.top, since=since)

    def advance(sub: Subscription, data: DigestData, now: float) -> dict[str, Any]:
        return {"since": now, "previous": dict(data.numbers)}

    return DigestKind(KEY, title, group_key, fetch, render, advance)
