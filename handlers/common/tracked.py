"""Buttons on a tracked job's card: finding the job a button names, and Refresh."""

from __future__ import annotations

import re

from bot.tracking import TrackedJob
from handlers.common.interaction import Interaction
from handlers.common.replies import ephemeral
from handlers.common.vertical import Stale
from handlers.deps import Deps

_TRACKED_ID = re.compile(r"[0-9a-f]{32}")


async def tracked_job(deps: Deps, value: str, vendor: str, stale: str) -> TrackedJob:
    """The ``vendor`` job a card's button value names; ``Stale(stale)`` when there is none."""
    job = await deps.store.jobs.get(value) if _TRACKED_ID.fullmatch(value) else None
    if job is None or job.vendor != vendor:
        raise Stale(stale)
    return job


async def refresh(
    deps: Deps, x: Interaction, job: TrackedJob, *, noun: str, never_sent: str, done: str
) -> None:
    """Refresh a job's card now if it is still followed; else say why there is nothing to do."""
    if job.in_progress:
        if await deps.tracker.refresh(job.id) is None:
            await x.respond(**ephemeral(f":hourglass: This {noun} is being updated right now."))
        return
    if job.vendor_job_id is None:
        await x.respond(**ephemeral(never_sent))
        return
    await x.respond(**ephemeral(done))
