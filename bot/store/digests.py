"""Digest subscriptions: one row per (vendor, channel), leased while an occurrence posts."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import upsert
from bot.store.schema import digest_subscriptions as subs


@dataclass
class Subscription:
    id: str
    vendor: str
    channel_id: str
    frequency: str
    at_time: str
    timezone: str
    created_by: str
    created_at: float
    next_run_at: float
    options: dict[str, Any] = field(default_factory=dict)
    cursor: dict[str, Any] | None = None
    last_run_at: float | None = None
    lease_owner: str | None = None
    lease_until: float | None = None


_COLUMNS = {c.name for c in subs.columns}


def _row(row: sa.RowMapping) -> Subscription:
    return Subscription(**{k: row[k] for k in _COLUMNS})


class DigestStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def save(
        self,
        *,
        vendor: str,
        channel_id: str,
        frequency: str,
        at_time: str,
        timezone: str,
        options: dict[str, Any],
        created_by: str,
        next_run_at: float,
    ) -> Subscription:
        """Create the channel's subscription, or change its schedule (keeping its cursor)."""
        values = {
            "id": uuid.uuid4().hex,
            "vendor": vendor,
            "channel_id": channel_id,
            "frequency": frequency,
            "at_time": at_time,
            "timezone": timezone,
            "options": options,
            "created_by": created_by,
            "created_at": time.time(),
            "next_run_at": next_run_at,
        }
        update = ["frequency", "at_time", "timezone", "options", "next_run_at"]
        async with self.engine.begin() as conn:
            await conn.execute(
                upsert(conn.dialect.name, subs, ["vendor", "channel_id"], values, update)
            )
        found = await self.get(vendor, channel_id)
        assert found is not None
        return found

    async def get(self, vendor: str, channel_id: str) -> Subscription | None:
        async with self.engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(subs).where(
                            subs.c.vendor == vendor, subs.c.channel_id == channel_id
                        )
                    )
                )
                .mappings()
                .first()
            )
        return _row(row) if row else None

    async def delete(self, vendor: str, channel_id: str) -> bool:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                subs.delete().where(subs.c.vendor == vendor, subs.c.channel_id == channel_id)
            )
        return result.rowcount > 0

    async def for_channel(self, channel_id: str) -> list[Subscription]:
        query = sa.select(subs).where(subs.c.channel_id == channel_id).order_by(subs.c.vendor)
        return await self._select(query)

    async def created_by(self, user_id: str) -> list[Subscription]:
        """The subscriptions ``user_id`` made (still theirs when another changed the schedule)."""
        query = (
            sa.select(subs)
            .where(subs.c.created_by == user_id)
            .order_by(subs.c.vendor, subs.c.channel_id)
        )
        return await self._select(query)

    async def _select(self, query: sa.Select) -> list[Subscription]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_row(r) for r in rows]

    async def claim_due(
        self, owner: str, *, lease_seconds: float, limit: int, now: float | None = None
    ) -> list[Subscription]:
        """Lease due subscriptions in one statement (see JobStore.claim_due)."""
        now = time.time() if now is None else now
        due = (
            sa.select(subs.c.id)
            .where(
                subs.c.next_run_at <= now,
                sa.or_(subs.c.lease_until.is_(None), subs.c.lease_until < now),
            )
            .order_by(subs.c.next_run_at)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            subs.update()
            .where(
                subs.c.id.in_(due.scalar_subquery()),
                sa.or_(subs.c.lease_until.is_(None), subs.c.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=now + lease_seconds)
            .returning(*subs.columns)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_row(r) for r in rows]

    async def update(self, sub_id: str, *, owner: str | None = None, **values: Any) -> bool:
        stmt = subs.update().where(subs.c.id == sub_id).values(**values)
        if owner is not None:
            stmt = stmt.where(subs.c.lease_owner == owner)
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1
