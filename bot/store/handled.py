"""Slack requests already taken on, shared by every process on the database."""

from __future__ import annotations

import asyncio
import time

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import insert_ignore
from bot.store.schema import handled_requests


class HandledRequests:
    """``first(key)`` claims a request once. Claims that arrive together are written in
    one statement: under a burst, one transaction per request would queue every command
    on the database's write lock (SQLite's especially) before its real work starts."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._waiting: dict[str, list[asyncio.Future[bool]]] = {}
        self._writer: asyncio.Task | None = None

    async def first(self, key: str) -> bool:
        """True the first time ``key`` is seen (in any process), False ever after."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key[:200], []).append(future)
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="claim-requests")
        return await future

    async def _write(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # let the claims of this burst join the batch
            batch, self._waiting = self._waiting, {}
            try:
                new = await self._insert(list(batch))
            except Exception as exc:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(exc)
                continue
            for key, futures in batch.items():
                for index, future in enumerate(futures):
                    if not future.done():  # the same key twice in a batch: the first wins
                        future.set_result(key in new and index == 0)

    async def _insert(self, keys: list[str]) -> set[str]:
        now = time.time()
        async with self.engine.begin() as conn:
            statement = (
                insert_ignore(conn.dialect.name, handled_requests, ["key"])
                .values([{"key": key, "at": now} for key in keys])
                .returning(handled_requests.c.key)
            )
            return set((await conn.execute(statement)).scalars())

    async def finish(self) -> None:
        """Wait for claims being written (before the engine is disposed)."""
        if self._writer is not None and not self._writer.done():
            await asyncio.wait({self._writer}, timeout=5)

    async def prune(self, older_than: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                sa.delete(handled_requests).where(handled_requests.c.at < older_than)
            )
        return result.rowcount or 0
