"""Requests held by the access policy until enough approvers approve them.

Every change is a compare-and-set on the row's ``version`` (or on its state), so when
several processes take clicks on the same request at once each approver counts once, and
the request leaves each state exactly once. The one caller whose write moved it is the one
that acts on it.

The states, and who moves a request on from each:

* ``open``: waiting for approvers (``decide``); leaves as ``approved``, ``rejected``,
  ``cancelled`` or ``expired`` (``close``: the expiry sweep, or a card never posted).
* ``approved``: enough approvals, not started yet. The process whose click approved it
  moves it on at once (``settle``). Still ``approved`` a while after ``closed_at`` (the
  approvals sweep's grace period) means that process stopped before starting it.
* ``running``: written just before the request is handed to its run (the command, or
  the waiting step's ``resume``), at most once: it is never run again, whatever happens
  next. The run tells the requester how it went (its card, its answer, the step's
  completion); a process dying during the run is the run's own matter.
* ``no room``, ``not run``, ``interrupted``: approved, and never run. ``no room``: the
  requester had too much running at that moment; ``not run``: it could no longer run as
  held (the policy now denies it, its vendor is no longer configured, or this version of
  the app cannot read it), the requester was told why; ``interrupted``: the app stopped
  between the approval and the start, and the sweep closed it after the grace period.
* ``rejected``, ``cancelled``, ``expired``: closed unapproved, never run.

So a step waiting on an approval (``origin`` {"step": id}) goes on only after ``running``;
in every other state but ``open`` and a recent ``approved`` it is never resumed.
The held request is not kept once the request leaves ``open``: it may carry a user's
parameters, and nothing runs it again from the row.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import approvals

OPEN = "open"
APPROVED = "approved"  # enough approvals; not started yet
RUNNING = "running"  # handed to its run, at most once
NO_ROOM = "no room"  # approved, not run: the requester had too much running
NOT_RUN = "not run"  # approved, not run: it could no longer run as held
INTERRUPTED = "interrupted"  # approved, not run: the app stopped before starting it
REJECTED = "rejected"  # by an approver
CANCELLED = "cancelled"  # withdrawn by the requester, or never posted
EXPIRED = "expired"
# Where an approved request may go from ``approved`` (``settle``).
SETTLED = frozenset({RUNNING, NO_ROOM, NOT_RUN, INTERRUPTED})

# What one person did, as kept in ``decisions``.
APPROVE = "approve"
REJECT = "reject"
WITHDRAW = "withdraw"


@dataclass(frozen=True)
class Decided:
    user: str
    decision: str  # APPROVE, REJECT or WITHDRAW
    at: float


@dataclass(frozen=True)
class Approval:
    id: str
    requester: str
    channel_id: str
    command: str  # the slash command, e.g. "/flint"
    text: str  # what followed it, as shown on the card
    action: str  # as the access policy names it, e.g. "flint run"
    target: str
    request: dict[str, Any]  # the parsed request (handlers/common/held.py); {} once closed
    origin: dict[str, Any] | None  # None: a command, button or form; {"step": id}: a step
    users: tuple[str, ...]  # approvers by user id
    usergroups: tuple[str, ...]  # approvers by user group
    needed: int
    decisions: tuple[Decided, ...]
    state: str
    message_ts: str | None
    created_at: float
    expires_at: float
    closed_at: float | None
    version: int

    @property
    def approved_by(self) -> tuple[str, ...]:
        """The distinct users who approved, in the order they did."""
        return tuple(dict.fromkeys(d.user for d in self.decisions if d.decision == APPROVE))

    def decision_of(self, user: str) -> Decided | None:
        return next((d for d in self.decisions if d.user == user), None)


def _approval(row: sa.RowMapping) -> Approval:
    who = row["approvers"] or {}
    return Approval(
        id=row["id"],
        requester=row["requester"],
        channel_id=row["channel_id"],
        command=row["command"],
        text=row["text"],
        action=row["action"],
        target=row["target"],
        request=row["request"] or {},
        origin=row["origin"],
        users=tuple(who.get("users") or ()),
        usergroups=tuple(who.get("usergroups") or ()),
        needed=row["needed"],
        decisions=tuple(
            Decided(str(d["user"]), str(d["decision"]), float(d["at"]))
            for d in row["decisions"] or ()
        ),
        state=row["state"],
        message_ts=row["message_ts"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        closed_at=row["closed_at"],
        version=row["version"],
    )


class ApprovalStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self,
        *,
        requester: str,
        channel_id: str,
        command: str,
        text: str,
        action: str,
        target: str,
        request: dict[str, Any],
        origin: dict[str, Any] | None,
        users: frozenset[str] | tuple[str, ...],
        usergroups: frozenset[str] | tuple[str, ...],
        needed: int,
        ttl: float,
    ) -> Approval:
        now = time.time()
        approval_id = secrets.token_hex(16)
        async with self.engine.begin() as conn:
            await conn.execute(
                approvals.insert().values(
                    id=approval_id,
                    requester=requester,
                    channel_id=channel_id,
                    command=command,
                    text=text,
                    action=action[:64],
                    target=target[:300],
                    request=request,
                    origin=origin,
                    approvers={"users": sorted(users), "usergroups": sorted(usergroups)},
                    needed=needed,
                    decisions=[],
                    state=OPEN,
                    created_at=now,
                    expires_at=now + ttl,
                    version=0,
                )
            )
        found = await self.get(approval_id)
        assert found is not None
        return found

    async def get(self, approval_id: str) -> Approval | None:
        query = sa.select(approvals).where(approvals.c.id == approval_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _approval(row) if row is not None else None

    async def decide(
        self, approval: Approval, user: str, decision: str, *, close: str | None = None
    ) -> Approval | None:
        """Add ``user``'s ``decision`` to ``approval`` as it was read, and close it as
        ``close`` in the same write. None when the row changed since it was read (someone
        else decided meanwhile: read it again), is no longer open, or has expired."""
        now = time.time()
        decisions = [
            {"user": d.user, "decision": d.decision, "at": d.at} for d in approval.decisions
        ]
        decisions.append({"user": user, "decision": decision, "at": now})
        values: dict[str, Any] = {"decisions": decisions, "version": approval.version + 1}
        if close is not None:
            # The held request may carry a user's parameters: not kept once it is decided.
            values.update(state=close, closed_at=now, request={})
        stmt = (
            approvals.update()
            .where(
                approvals.c.id == approval.id,
                approvals.c.version == approval.version,
                approvals.c.state == OPEN,
                approvals.c.expires_at > now,
            )
            .values(**values)
            .returning(*approvals.columns)
        )
        return await self._write(stmt)

    async def close(self, approval_id: str, state: str) -> Approval | None:
        """Close an open request as ``state`` with no one's decision (expiry, a card that
        could not be posted); the closed row for exactly one caller, None for the rest."""
        now = time.time()
        stmt = (
            approvals.update()
            .where(approvals.c.id == approval_id, approvals.c.state == OPEN)
            .values(state=state, closed_at=now, request={}, version=approvals.c.version + 1)
            .returning(*approvals.columns)
        )
        return await self._write(stmt)

    async def settle(self, approval_id: str, state: str) -> Approval | None:
        """Move an ``approved`` request on to ``state`` (one of ``SETTLED``): the row as
        moved for exactly one caller, None for the rest (someone moved it first)."""
        if state not in SETTLED:
            raise ValueError(f"an approved request cannot become {state!r}")
        stmt = (
            approvals.update()
            .where(approvals.c.id == approval_id, approvals.c.state == APPROVED)
            .values(state=state, version=approvals.c.version + 1)
            .returning(*approvals.columns)
        )
        return await self._write(stmt)

    async def waiting(self, requester: str, now: float | None = None) -> int:
        """How many of ``requester``'s requests are open and not yet expired."""
        now = time.time() if now is None else now
        query = (
            sa.select(sa.func.count())
            .select_from(approvals)
            .where(
                approvals.c.state == OPEN,
                approvals.c.requester == requester,
                approvals.c.expires_at > now,
            )
        )
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def set_message(self, approval_id: str, message_ts: str) -> None:
        """Where its card is (the ts of the message in its channel)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                approvals.update()
                .where(approvals.c.id == approval_id)
                .values(message_ts=message_ts)
            )

    async def expired(self, now: float | None = None, limit: int = 100) -> list[Approval]:
        """Open requests past their expiry, oldest first."""
        now = time.time() if now is None else now
        query = (
            sa.select(approvals)
            .where(approvals.c.state == OPEN, approvals.c.expires_at <= now)
            .order_by(approvals.c.expires_at)
            .limit(limit)
        )
        return await self._select(query)

    async def unstarted(self, older_than: float, limit: int = 100) -> list[Approval]:
        """Requests approved before ``older_than`` and still neither started nor settled
        otherwise, oldest first."""
        query = (
            sa.select(approvals)
            .where(approvals.c.state == APPROVED, approvals.c.closed_at <= older_than)
            .order_by(approvals.c.closed_at)
            .limit(limit)
        )
        return await self._select(query)

    async def _write(self, stmt: sa.Update) -> Approval | None:
        """Run a compare-and-set ``stmt`` (returning the row): the row as written, None
        when it matched nothing."""
        async with self.engine.begin() as conn:
            row = (await conn.execute(stmt)).mappings().first()
        return _approval(row) if row is not None else None

    async def _select(self, query: sa.Select) -> list[Approval]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_approval(row) for row in rows]

    async def prune(self, older_than: float) -> int:
        """Forget requests closed before ``older_than`` (their cards say how they ended);
        never one still open or approved and not yet moved on."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                approvals.delete().where(
                    approvals.c.state.not_in((OPEN, APPROVED)),
                    approvals.c.closed_at < older_than,
                )
            )
        return result.rowcount or 0
