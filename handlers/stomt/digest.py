"""The STOMT digest: stomts the target received since the channel's last digest. A
subscription is about one target (``--target``, else STOMT_TARGET), kept in its options."""

from __future__ import annotations

from adapters.stomt import Stomt, StomtClient
from bot.digests import DigestKind
from bot.messages import Message
from bot.store.digests import Subscription
from handlers.common.digest import DigestCommand, run_digest
from handlers.common.interaction import Interaction
from handlers.common.replies import ephemeral
from handlers.deps import Deps
from handlers.stomt import blocks

KEY = "stomt"
NO_TARGET = (
    ":information_source: Say which target the digest is about: "
    "`/stomt digest daily --target SLUG` (the slug of a STOMT page), or ask an admin to "
    "set STOMT_TARGET as the default."
)


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

    return DigestKind(
        KEY, title, target_of, fetch, render, subject=lambda sub: f"target {target_of(sub)}"
    )


async def run(deps: Deps, x: Interaction, command: DigestCommand, target: str | None) -> None:
    """``/stomt digest …`` about ``target`` (``--target``, else STOMT_TARGET). With
    neither, a new schedule or ``now`` is about the target the channel's digest already
    has; a channel with no digest is told how to name one."""
    target = target or None  # STOMT_TARGET set empty is not set
    if target is None and (command.subscribes or command.action == "now"):
        existing = await deps.digests.subscription(KEY, x.channel)
        kept = existing.options.get("target") if existing is not None else None
        if not isinstance(kept, str):
            await x.respond(**ephemeral(NO_TARGET))
            return
        target = kept
    options = {"target": target} if target is not None else None
    await run_digest(deps, x, command, vendor=KEY, options=options)
