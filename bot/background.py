"""Counts work that runs after ``ack()``, so a clean shutdown can wait for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator


class BackgroundWork:
    def __init__(self) -> None:
        self._running = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self.accepting = True

    @property
    def running(self) -> int:
        return self._running

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._running += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._running -= 1
            if self._running == 0:
                self._idle.set()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Stop accepting new work and wait for what runs; False if some was still running."""
        self.accepting = False
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
