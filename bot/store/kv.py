"""Named values kept across restarts and shared by every process on the database."""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import insert_ignore
from bot.store.schema import kv


class KeyValueStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def get(self, key: str) -> str | None:
        async with self.engine.connect() as conn:
            return (await conn.execute(sa.select(kv.c.value).where(kv.c.key == key))).scalar()

    async def get_or_create(self, key: str, make: Callable[[], str]) -> str:
        """The value under ``key``; the first caller anywhere creates it, and everyone
        (other processes included) then reads the same one."""
        existing = await self.get(key)
        if existing is not None:
            return existing
        async with self.engine.begin() as conn:
            await conn.execute(
                insert_ignore(conn.dialect.name, kv, ["key"]).values(
                    key=key, value=make(), updated_at=time.time()
                )
            )
        value = await self.get(key)
        assert value is not None
        return value

    async def compare_and_set(self, key: str, expected: str | None, value: str) -> bool:
        """Set ``key`` to ``value`` only if it still holds ``expected`` (None: absent), in
        one statement: of several processes racing from the same read, exactly one wins."""
        async with self.engine.begin() as conn:
            if expected is None:
                stmt = insert_ignore(conn.dialect.name, kv, ["key"]).values(
                    key=key, value=value, updated_at=time.time()
                )
            else:
                stmt = (
                    kv.update()
                    .where(kv.c.key == key, kv.c.value == expected)
                    .values(value=value, updated_at=time.time())
                )
            result = await conn.execute(stmt)
        return result.rowcount == 1
