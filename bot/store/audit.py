"""The audit log: who asked for what, where, and how it went."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import audit_log


@dataclass(frozen=True)
class AuditEntry:
    user_id: str
    channel_id: str
    command: str  # "flint run", "mint publish", …
    target: str
    # "started" (written before a vendor call; a crash leaves it so), "ok", "failed",
    # "denied", "confirm requested", "confirmed", …
    outcome: str
    params: dict[str, Any] = field(default_factory=dict)  # already redacted
    detail: str = ""
    vendor_ids: dict[str, str] = field(default_factory=dict)
    at: float = 0.0


class AuditStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, entry: AuditEntry) -> int:
        """Write ``entry``; returns its id (for ``complete``)."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                audit_log.insert()
                .values(
                    at=entry.at or time.time(),
                    user_id=entry.user_id[:64],
                    channel_id=entry.channel_id[:64],
                    command=entry.command[:64],
                    target=entry.target[:300],
                    params=entry.params,
                    outcome=entry.outcome[:32],
                    detail=entry.detail[:2000],
                    vendor_ids=entry.vendor_ids,
                )
                .returning(audit_log.c.id)
            )
            return int(result.scalar_one())

    async def complete(
        self, entry_id: int, *, outcome: str, detail: str, vendor_ids: dict[str, str]
    ) -> None:
        """Say how the call an entry was written for ended."""
        async with self.engine.begin() as conn:
            await conn.execute(
                audit_log.update()
                .where(audit_log.c.id == entry_id)
                .values(outcome=outcome[:32], detail=detail[:2000], vendor_ids=vendor_ids)
            )

    async def entries(
        self, *, since: float | None = None, user_id: str | None = None, limit: int = 1000
    ) -> list[AuditEntry]:
        """The newest ``limit`` entries matching, oldest first."""
        query = sa.select(audit_log).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
        if since is not None:
            query = query.where(audit_log.c.at >= since)
        if user_id is not None:
            query = query.where(audit_log.c.user_id == user_id)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit))).mappings().all()
        return [
            AuditEntry(
                user_id=row["user_id"],
                channel_id=row["channel_id"],
                command=row["command"],
                target=row["target"],
                outcome=row["outcome"],
                params=row["params"] or {},
                detail=row["detail"],
                vendor_ids=row["vendor_ids"] or {},
                at=row["at"],
            )
            for row in reversed(rows)
        ]

    async def prune(self, older_than: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(audit_log.delete().where(audit_log.c.at < older_than))
        return result.rowcount or 0
