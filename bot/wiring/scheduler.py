"""APScheduler 3 on the app's event loop: stable job ids, no overlapping runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, timezone: ZoneInfo) -> None:
        self._scheduler = AsyncIOScheduler(timezone=timezone)

    def every(self, seconds: float, func: Callable[[], Awaitable[object]], job_id: str) -> None:
        """Run ``func`` every ``seconds``; a run still going when the next is due is not
        doubled, and missed runs collapse into one."""
        self._scheduler.add_job(
            func,
            "interval",
            seconds=seconds,
            id=job_id,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=max(1, int(seconds * 4)),
        )

    def start(self) -> None:
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            # wait=False: in-flight runs are drained by their owners (Tracker.drain).
            self._scheduler.shutdown(wait=False)
