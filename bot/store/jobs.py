"""Durable records of vendor jobs, and the atomic claims that let several processes share them."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import jobs

# Job states, in the order a job passes through them.
STARTING = "starting"  # row written, vendor call under way
ACTIVE = "active"  # vendor accepted it; polled until final
NOTIFYING = "notifying"  # final result known; completion notice being delivered
DONE = "done"  # notice delivered (or the job could not be started: see outcome)
STATES = (STARTING, ACTIVE, NOTIFYING, DONE)

# Outcomes, set when a job leaves ACTIVE.
SUCCEEDED = "succeeded"
FAILED = "failed"
TIMED_OUT = "timed_out"
NOT_STARTED = "not_started"
UNKNOWN = "unknown"  # the process died between calling the vendor and recording the answer
_ENDED_WITHOUT_ANSWER = {NOT_STARTED: "not started", TIMED_OUT: "timed out", UNKNOWN: "unknown"}
# Jobs are kept for good: a picker's suggestions look at this many of the newest only.
RECENT_SCAN = 1000


@dataclass
class TrackedJob:
    id: str
    vendor: str
    target: str
    params: dict[str, Any]
    channel_id: str
    user_id: str
    state: str
    created_at: float
    updated_at: float
    deadline_at: float
    message_ts: str | None = None
    thread_ts: str | None = None
    vendor_job_id: str | None = None
    vendor_status: str | None = None
    outcome: str | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    finished_at: float | None = None
    next_poll_at: float | None = None
    poll_count: int = 0
    notice_step: int = 0
    lease_owner: str | None = None
    lease_until: float | None = None
    notified_at: float | None = None
    step_execution_id: str | None = None  # a Workflow Builder step waits for this job

    @property
    def final(self) -> bool:
        return self.outcome is not None

    @property
    def succeeded(self) -> bool:
        return self.outcome == SUCCEEDED

    @property
    def ended_without_answer(self) -> str | None:
        """How following the job ended when the vendor never gave its final word, in a
        card's words: "not started", "timed out" or "unknown"; None otherwise."""
        return _ENDED_WITHOUT_ANSWER.get(self.outcome or "")

    @property
    def in_progress(self) -> bool:
        """Accepted by the vendor and not yet reported in Slack: polling may update it."""
        return self.state in (ACTIVE, NOTIFYING)

    def elapsed(self, now: float | None = None) -> float:
        end = self.finished_at if self.finished_at is not None else (now or time.time())
        return max(0.0, end - self.created_at)


@dataclass
class NewJob:
    vendor: str
    target: str
    channel_id: str
    user_id: str
    params: dict[str, Any] = field(default_factory=dict)
    thread_ts: str | None = None
    step_execution_id: str | None = None  # a Workflow Builder step completes when it ends


_COLUMNS = {c.name for c in jobs.columns}


def _row_to_job(row: sa.RowMapping) -> TrackedJob:
    return TrackedJob(**{k: row[k] for k in _COLUMNS if k in row})


class JobStore:
    """All job reads and writes. Writes that follow a claim are fenced on the lease owner,
    so a process whose lease expired (it stalled, or was presumed dead) cannot overwrite
    the work of the process that took over."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    async def create(self, new: NewJob, *, deadline_at: float, start_grace: float) -> TrackedJob:
        now = time.time()
        # Column values, and the job's fields: TrackedJob(**values) checks them at run time.
        values: dict[str, Any] = {
            "id": uuid.uuid4().hex,
            "vendor": new.vendor,
            "target": new.target,
            "params": new.params,
            "channel_id": new.channel_id,
            "thread_ts": new.thread_ts,
            "step_execution_id": new.step_execution_id,
            "user_id": new.user_id,
            "state": STARTING,
            "created_at": now,
            "updated_at": now,
            "deadline_at": deadline_at,
            # If the process dies during the vendor call, the poller picks the row up once
            # this has passed and tells the channel what is known.
            "next_poll_at": now + start_grace,
            "poll_count": 0,
            "notice_step": 0,
        }
        async with self.engine.begin() as conn:
            await conn.execute(jobs.insert().values(**values))
        return TrackedJob(**values)

    async def get(self, job_id: str) -> TrackedJob | None:
        async with self.engine.connect() as conn:
            row = (
                (await conn.execute(sa.select(jobs).where(jobs.c.id == job_id))).mappings().first()
            )
        return _row_to_job(row) if row else None

    async def recent_for_user(self, user_id: str, limit: int) -> list[TrackedJob]:
        """The user's newest jobs first (``ix_jobs_user_created``), any vendor and state."""
        stmt = (
            sa.select(jobs)
            .where(jobs.c.user_id == user_id)
            .order_by(jobs.c.created_at.desc())
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_row_to_job(r) for r in rows]

    async def recent_targets(
        self, vendor: str, *, since: float, query: str = "", limit: int, scan: int = RECENT_SCAN
    ) -> list[str]:
        """The distinct targets of ``vendor``'s jobs created after ``since``, the most
        recently used first, those containing ``query`` (any case) when given.

        Only the newest ``scan`` such jobs are looked at (a picker's suggestions, not a
        report), so the work stays bounded however many jobs the table keeps."""
        if limit <= 0:
            return []
        newest = (
            sa.select(jobs.c.target, jobs.c.created_at)
            .where(jobs.c.vendor == vendor, jobs.c.created_at > since)
            .order_by(jobs.c.created_at.desc())
            .limit(scan)
            .subquery()
        )
        last = sa.func.max(newest.c.created_at).label("last")
        stmt = sa.select(newest.c.target, last)
        if query:
            found = sa.func.lower(newest.c.target).contains(query.lower(), autoescape=True)
            stmt = stmt.where(found)
        stmt = stmt.group_by(newest.c.target).order_by(last.desc()).limit(limit)
        async with self.engine.connect() as conn:
            return [row.target for row in await conn.execute(stmt)]

    async def update(
        self,
        job_id: str,
        *,
        owner: str | None = None,
        in_state: str | None = None,
        **values: Any,
    ) -> bool:
        """Change a job; with ``owner``, only while that owner still holds its lease; with
        ``in_state``, only while the job is still in that state."""
        values["updated_at"] = time.time()
        stmt = jobs.update().where(jobs.c.id == job_id).values(**values)
        if owner is not None:
            stmt = stmt.where(jobs.c.lease_owner == owner)
        if in_state is not None:
            stmt = stmt.where(jobs.c.state == in_state)
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def claim(
        self,
        job_id: str,
        owner: str,
        *,
        lease_seconds: float,
        states: tuple[str, ...],
        **values: Any,
    ) -> TrackedJob | None:
        """Take one job now (a button press, a synchronous answer) if nobody holds it."""
        now = time.time()
        stmt = (
            jobs.update()
            .where(
                jobs.c.id == job_id,
                jobs.c.state.in_(states),
                sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=now + lease_seconds, updated_at=now, **values)
            .returning(*jobs.columns)
        )
        async with self.engine.begin() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _row_to_job(row) if row else None

    async def claim_due(
        self, owner: str, *, lease_seconds: float, limit: int, now: float | None = None
    ) -> list[TrackedJob]:
        """Atomically lease up to ``limit`` due jobs in one statement.

        On PostgreSQL the candidate rows are locked with SKIP LOCKED, so concurrent
        claimers never wait on each other and never take the same row; on SQLite the
        single UPDATE runs under the database write lock, which gives the same guarantee.
        """
        if limit <= 0:
            return []
        now = time.time() if now is None else now
        due = (
            sa.select(jobs.c.id)
            .where(
                jobs.c.state.in_((STARTING, ACTIVE, NOTIFYING)),
                jobs.c.next_poll_at <= now,
                sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now),
            )
            .order_by(jobs.c.next_poll_at)
            .limit(limit)
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True)
        stmt = (
            jobs.update()
            .where(
                jobs.c.id.in_(due.scalar_subquery()),
                sa.or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=now + lease_seconds)
            .returning(*jobs.columns)
        )
        async with self.engine.begin() as conn:
            rows = (await conn.execute(stmt)).mappings().all()
        return [_row_to_job(r) for r in rows]

    async def release_all(self, owner: str) -> int:
        """Give back every lease this process holds (clean shutdown), so others resume now."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                jobs.update()
                .where(jobs.c.lease_owner == owner)
                .values(lease_owner=None, lease_until=None)
            )
        return result.rowcount

    async def count_by_state(self) -> dict[str, int]:
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)
            )
            counts = {state: 0 for state in STATES}
            counts.update({state: n for state, n in rows})
        return counts
