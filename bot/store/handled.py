"""Slack requests already taken on, shared by every process on the database."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import insert_ignore
from bot.store.schema import handled_requests


class HandledRequests:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def first(self, key: str) -> bool:
        """True the first time ``key`` is seen (in any process), False ever after."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                insert_ignore(conn.dialect.name, handled_requests, ["key"]).values(
                    key=key[:200], at=time.time()
                )
            )
        return result.rowcount == 1

    async def prune(self, older_than: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                handled_requests.delete().where(handled_requests.c.at < older_than)
            )
        return result.rowcount or 0
