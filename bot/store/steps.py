"""Workflow Builder step runs: one row per function execution, from its event to the one
completion that ends it.

A run moves ``received`` → (``held`` →) ``running`` → ``completed``; every move is a
compare-and-set, so of two processes (or a Confirm click and an expiry) only one moves it.
The execution's token is kept only while the run may still need it, and never logged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import insert_ignore
from bot.store.schema import jobs, step_runs

RECEIVED = "received"  # stored before anything else happens; being admitted
HELD = "held"  # waiting for the requester's Confirm or the approvers
RUNNING = "running"  # carried out now (its vendor call, or a tracked job's start)
COMPLETED = "completed"  # functions.completeSuccess or completeError went through
SUCCESS = "success"
ERROR = "error"


@dataclass(frozen=True)
class StepRun:
    execution_id: str
    callback_id: str
    token: str = field(repr=False)  # the execution's own token: never in a repr or a log
    user_id: str
    channel_id: str
    inputs: dict[str, Any]
    state: str
    created_at: float
    job_id: str | None = None
    outcome: str | None = None
    error: str | None = None
    completed_at: float | None = None

    @property
    def place(self) -> str:
        """Where the access policy sees the step run: its channel, or the user's own space."""
        return self.channel_id or self.user_id


def _row_to_run(row: sa.RowMapping) -> StepRun:
    return StepRun(**{column.name: row[column.name] for column in step_runs.columns})


class StepRunStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self,
        *,
        execution_id: str,
        callback_id: str,
        token: str,
        user_id: str,
        channel_id: str,
        inputs: dict[str, Any],
    ) -> bool:
        """Record a new run; False when this execution is known already (a redelivery)."""
        async with self.engine.begin() as conn:
            statement = (
                insert_ignore(conn.dialect.name, step_runs, ["execution_id"])
                .values(
                    execution_id=execution_id[:64],
                    callback_id=callback_id[:64],
                    token=token,
                    user_id=user_id[:64],
                    channel_id=channel_id[:64],
                    inputs=inputs,
                    state=RECEIVED,
                    created_at=time.time(),
                )
                .returning(step_runs.c.execution_id)
            )
            return (await conn.execute(statement)).first() is not None

    async def get(self, execution_id: str) -> StepRun | None:
        query = sa.select(step_runs).where(step_runs.c.execution_id == execution_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _row_to_run(row) if row else None

    async def move(self, execution_id: str, *, from_states: tuple[str, ...], to: str) -> bool:
        """``from_states`` → ``to``; True for exactly one caller, however many try at once.
        A held run taken on again restarts the clock ``stranded`` reads (``created_at``)."""
        values: dict[str, Any] = {"state": to}
        if HELD in from_states and to == RUNNING:
            values["created_at"] = time.time()
        async with self.engine.begin() as conn:
            result = await conn.execute(
                step_runs.update()
                .where(
                    step_runs.c.execution_id == execution_id,
                    step_runs.c.state.in_(from_states),
                )
                .values(**values)
            )
        return result.rowcount == 1

    async def complete(
        self,
        execution_id: str,
        *,
        outcome: str,
        error: str | None = None,
        job_id: str | None = None,
    ) -> bool:
        """Mark the run completed (once); its token is not kept past this point."""
        values: dict[str, Any] = {
            "state": COMPLETED,
            "outcome": outcome,
            "error": error,
            "token": "",
            "completed_at": time.time(),
        }
        if job_id is not None:
            values["job_id"] = job_id
        async with self.engine.begin() as conn:
            result = await conn.execute(
                step_runs.update()
                .where(
                    step_runs.c.execution_id == execution_id,
                    step_runs.c.state != COMPLETED,
                )
                .values(**values)
            )
        return result.rowcount == 1

    async def stranded(self, older_than: float) -> list[StepRun]:
        """Runs taken on (received, or resumed once held) before ``older_than`` that are
        neither held, nor followed by a tracked job, nor completed: the process carrying
        them out died mid-way."""
        followed = sa.select(jobs.c.id).where(jobs.c.step_execution_id == step_runs.c.execution_id)
        query = sa.select(step_runs).where(
            step_runs.c.state.in_((RECEIVED, RUNNING)),
            step_runs.c.created_at < older_than,
            ~sa.exists(followed),
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_row_to_run(row) for row in rows]

    async def prune(self, older_than: float) -> int:
        """Forget completed runs that ended before ``older_than``."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                step_runs.delete().where(
                    step_runs.c.state == COMPLETED, step_runs.c.completed_at < older_than
                )
            )
        return result.rowcount or 0
