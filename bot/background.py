"""The work that runs after ``ack()``: counted, bounded, and waited for at shutdown."""

from __future__ import annotations

import asyncio


class BackgroundWork:
    """Every listener's task is adopted here. ``has_room`` turns new commands away (in
    the ack, with a clear answer) once ``limit`` are in flight, so under overload the app
    refuses work it could not finish instead of accepting it and failing later."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self._tasks: set[asyncio.Task] = set()
        self._idle: asyncio.Event | None = None
        self.accepting = True

    @property
    def running(self) -> int:
        return len(self._tasks)

    @property
    def has_room(self) -> bool:
        # The task asking is already adopted, hence <=.
        return len(self._tasks) <= self.limit

    def adopt(self, task: asyncio.Task) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not self._tasks and self._idle is not None:
            self._idle.set()

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109
        """Stop accepting new work and wait for what runs; False if some was still running."""
        self.accepting = False
        if not self._tasks:
            return True
        self._idle = asyncio.Event()
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
        except TimeoutError:
            return False
        return True
