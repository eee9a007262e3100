"""The STOMT digest: stomts the target received since the channel's last digest."""

from __future__ import annotations

from adapters.stomt import Stomt, StomtClient
from bot.digests import DigestKind
from bot.messages import Message
from bot.store.digests import Subscription
from handlers.stomt import blocks

KEY = "stomt"


def digest_kind(client: StomtClient, default_target: str | None, title: str) -> DigestKind:
    def target_of(sub: Subscription) -> str:
        return str(sub.options.get("target") or default_target)

    async def fetch(sub: Subscription, since: float) -> list[Stomt]:
        return await client.target_stomts(
            target_of(sub), "received", newer_than=int(since), limit=100
        )

    def render(sub: Subscription, data: list[Stomt], since: float, forced: bool) -> Message | None:
        new = [s for s in data if s.created_at is None or s.created_at.timestamp() > since]
        if not new and not forced:
            return None
        return blocks.digest(target_of(sub), new, since=since)

    return DigestKind(KEY, title, target_of, fetch, render)
