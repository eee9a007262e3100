"""Workflow Builder step runs: one row per function execution, from its event to the one
completion that ends it.

A run moves ``received`` → (``held`` →) ``running`` → ``completing`` → ``completed``;
every move is a compare-and-set, so of two processes (or a Confirm click and an expiry)
only one moves it. ``completing`` is a completion decided and stored before Slack is told
(``settle``): the first decision wins, and whoever finds it there (the same process after
a refusal, another after a crash, the sweep) sends that one, never another.

``created_at`` is the clock the sweeps read: when the run was received, taken on again
once held, or settled. The execution's token is kept only while the run may still need it,
and never logged; its ``inputs`` only until its completion is decided: from then on the
column holds what is left to send instead (the outputs, the failed tries, when to try
again), and nothing once completed.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.approvals import OPEN
from bot.store.confirmations import step_of
from bot.store.dialect import insert_ignore
from bot.store.jobs import DONE, NOTIFYING
from bot.store.schema import approvals, confirmations, jobs, step_runs

RECEIVED = "received"  # stored before anything else happens; being admitted
HELD = "held"  # waiting for the requester's Confirm or the approvers
RUNNING = "running"  # carried out now (its vendor call, or a tracked job's start)
COMPLETING = "completing"  # its completion is decided and stored; Slack not told yet
COMPLETED = "completed"  # functions.completeSuccess or completeError went through
UNFINISHED = (RECEIVED, HELD, RUNNING)  # no completion decided yet
SUCCESS = "success"
ERROR = "error"
CONFIRMATION = "confirmation"
APPROVAL = "approval"


@dataclass(frozen=True)
class StepRun:
    execution_id: str
    callback_id: str
    token: str = field(repr=False)  # the execution's own token: never in a repr or a log
    user_id: str
    channel_id: str
    inputs: dict[str, Any] = field(repr=False)  # may hold secrets
    state: str
    created_at: float
    job_id: str | None = None
    outcome: str | None = None  # once completing: the completion decided
    error: str | None = None
    completed_at: float | None = None

    @property
    def place(self) -> str:
        """Where the access policy sees the step run: its channel, or the user's own space."""
        return self.channel_id or self.user_id

    @property
    def outputs(self) -> dict[str, Any]:
        """While completing with success: the outputs to send."""
        outputs = self.inputs.get("outputs") if self.state == COMPLETING else None
        return outputs if isinstance(outputs, dict) else {}

    @property
    def tries(self) -> int:
        """While completing: the sends Slack did not take so far."""
        return int(self.inputs.get("tries") or 0) if self.state == COMPLETING else 0

    @property
    def retry_at(self) -> float:
        """While completing: when the sweep sends it (again)."""
        return float(self.inputs.get("retry_at") or 0.0) if self.state == COMPLETING else 0.0


@dataclass(frozen=True)
class Holder:
    """A confirmation or a request for approval that holds a run (its origin)."""

    kind: str  # CONFIRMATION or APPROVAL
    id: str
    state: str  # an approval's state; a confirmation's is "open" or "used"
    ended_at: float | None  # when it was used, or closed (approved too); None while open
    requester: str
    channel_id: str


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
        return await self._update(execution_id, from_states, values)

    async def settle(
        self,
        execution_id: str,
        *,
        outputs: dict[str, Any] | None,
        error: str | None,
        retry_at: float,
        job_id: str | None = None,
        from_states: tuple[str, ...] = UNFINISHED,
    ) -> bool:
        """Decide how the run ends: with ``outputs``, else with ``error``. True for the one
        caller that decided; a run completing or completed already keeps its decision.
        Its inputs are not kept past this point; the sweep sends it from ``retry_at`` on
        if its sender has not by then."""
        values: dict[str, Any] = {
            "state": COMPLETING,
            "outcome": SUCCESS if outputs is not None else ERROR,
            "error": None if outputs is not None else error,
            "inputs": {"outputs": outputs, "retry_at": retry_at}
            if outputs is not None
            else {"retry_at": retry_at},
            "created_at": time.time(),
        }
        if job_id is not None:
            values["job_id"] = job_id
        return await self._update(execution_id, from_states, values)

    async def outputs_refused(self, execution_id: str, error: str) -> StepRun | None:
        """Slack will not take the outputs: the run ends with ``error`` instead."""
        await self._update(
            execution_id,
            (COMPLETING,),
            {"outcome": ERROR, "error": error, "inputs": {"retry_at": time.time()}},
        )
        return await self.get(execution_id)

    async def retry_later(self, run: StepRun, *, tries: int, retry_at: float) -> None:
        """One more send Slack did not take; the next is due at ``retry_at``."""
        await self._update(
            run.execution_id,
            (COMPLETING,),
            {"inputs": {**run.inputs, "tries": tries, "retry_at": retry_at}},
        )

    async def complete(self, execution_id: str, *, outcome: str, error: str | None) -> bool:
        """Mark the run completed (once); its token and what it sent are not kept."""
        values: dict[str, Any] = {
            "state": COMPLETED,
            "outcome": outcome,
            "error": error,
            "token": "",
            "inputs": {},
            "completed_at": time.time(),
        }
        return await self._update(execution_id, (COMPLETING,), values)

    async def _update(
        self, execution_id: str, from_states: tuple[str, ...], values: dict[str, Any]
    ) -> bool:
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

    async def stranded(self, older_than: float) -> list[tuple[StepRun, str | None]]:
        """Runs taken on (received, or resumed once held) before ``older_than`` with no
        completion decided and no job still followed: the process carrying them out died
        mid-way, or the job ended without completing them. Each with its ended job's id,
        if it started one."""
        followed = sa.select(jobs.c.id).where(
            jobs.c.step_execution_id == step_runs.c.execution_id, jobs.c.state != DONE
        )
        ended = (
            sa.select(sa.func.max(jobs.c.id))
            .where(jobs.c.step_execution_id == step_runs.c.execution_id)
            .scalar_subquery()
        )
        query = sa.select(step_runs, ended.label("ended_job")).where(
            step_runs.c.state.in_((RECEIVED, RUNNING)),
            step_runs.c.created_at < older_than,
            ~sa.exists(followed),
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [(_row_to_run(row), row["ended_job"]) for row in rows]

    async def completing(self, now: float) -> list[StepRun]:
        """Runs whose decided completion is due to be sent (again), unless their job's
        finishers are being run (the tracker runs them again itself)."""
        followed = sa.select(jobs.c.id).where(
            jobs.c.step_execution_id == step_runs.c.execution_id, jobs.c.state == NOTIFYING
        )
        query = sa.select(step_runs).where(step_runs.c.state == COMPLETING, ~sa.exists(followed))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [run for run in map(_row_to_run, rows) if run.retry_at <= now]

    async def held(self, older_than: float) -> list[StepRun]:
        """Runs held since before ``older_than``."""
        query = sa.select(step_runs).where(
            step_runs.c.state == HELD, step_runs.c.created_at < older_than
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_row_to_run(row) for row in rows]

    async def holders(self, runs: Iterable[StepRun]) -> dict[str, list[Holder]]:
        """The confirmations and requests for approval holding each of ``runs`` (asked
        for since the run was received), oldest first."""
        wanted = {run.execution_id: run.created_at for run in runs}
        found: dict[str, list[Holder]] = {execution_id: [] for execution_id in wanted}
        if not wanted:
            return found
        since = min(wanted.values())
        asked = sa.select(
            confirmations.c.id,
            confirmations.c.origin,
            confirmations.c.used_at,
            confirmations.c.user_id,
            confirmations.c.channel_id,
            confirmations.c.created_at,
        ).where(confirmations.c.origin.is_not(None), confirmations.c.created_at >= since)
        held = sa.select(
            approvals.c.id,
            approvals.c.origin,
            approvals.c.state,
            approvals.c.closed_at,
            approvals.c.requester,
            approvals.c.channel_id,
            approvals.c.created_at,
        ).where(approvals.c.origin.is_not(None), approvals.c.created_at >= since)
        async with self.engine.connect() as conn:
            asked_rows = (await conn.execute(asked)).mappings().all()
            held_rows = (await conn.execute(held)).mappings().all()
        rows: list[tuple[float, str, Holder]] = []
        for row in asked_rows:
            holder = Holder(
                CONFIRMATION,
                row["id"],
                "open" if row["used_at"] is None else "used",
                row["used_at"],
                row["user_id"],
                row["channel_id"],
            )
            rows.append((row["created_at"], step_of(row["origin"]) or "", holder))
        for row in held_rows:
            ended = None if row["state"] == OPEN else row["closed_at"] or row["created_at"]
            holder = Holder(
                APPROVAL, row["id"], row["state"], ended, row["requester"], row["channel_id"]
            )
            rows.append((row["created_at"], step_of(row["origin"]) or "", holder))
        for _created, step, holder in sorted(rows, key=lambda row: row[0]):
            if step in found:
                found[step].append(holder)
        return found

    async def prune(self, older_than: float) -> int:
        """Forget completed runs that ended before ``older_than``."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                step_runs.delete().where(
                    step_runs.c.state == COMPLETED, step_runs.c.completed_at < older_than
                )
            )
        return result.rowcount or 0
