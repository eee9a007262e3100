"""The work that runs after ``ack()``: counted, bounded, and waited for at shutdown."""

from __future__ import annotations

import asyncio
from collections import Counter

# Why new work is turned away (``BackgroundWork.why_not``); handlers say it in words.
CLOSING = "closing"  # shutting down: another replica (or this one, restarted) will take it
FULL = "full"  # the process has ``limit`` requests in flight
USER_FULL = "user full"  # this user has ``per_user`` requests in flight


class BackgroundWork:
    """Every listener's task is adopted here, with the user it works for. ``why_not``
    turns new work away (in the ack, with a clear answer) once ``limit`` tasks are in
    flight, or ``per_user`` of one user's, so under overload the app refuses work it could
    not finish instead of accepting it and failing later, and no single user can take
    every slot."""

    def __init__(self, limit: int = 200, per_user: int = 20) -> None:
        self.limit = limit
        self.per_user = per_user
        self._tasks: set[asyncio.Task] = set()
        self._owners: dict[asyncio.Task, str] = {}
        self._by_user: Counter[str] = Counter()
        self._idle: asyncio.Event | None = None
        self.accepting = True

    @property
    def running(self) -> int:
        return len(self._tasks)

    def running_for(self, user: str) -> int:
        return self._by_user[user]

    @property
    def has_room(self) -> bool:
        # The task asking is already adopted, hence <=.
        return len(self._tasks) <= self.limit

    def why_not(self, user: str | None) -> str | None:
        """None when new work for ``user`` may start now, else CLOSING, FULL or USER_FULL.
        Asked from within an adopted task, which counts itself (hence <=)."""
        if not self.accepting:
            return CLOSING
        if not self.has_room:
            return FULL
        if user and self._by_user[user] > self.per_user:
            return USER_FULL
        return None

    def adopt(self, task: asyncio.Task, user: str | None = None) -> None:
        self._tasks.add(task)
        if user:
            self._owners[task] = user
            self._by_user[user] += 1
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        user = self._owners.pop(task, None)
        if user is not None:
            self._by_user[user] -= 1
            if not self._by_user[user]:
                del self._by_user[user]
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
