"""Requests held by the access policy until their user confirms them."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import confirmations


def step_of(origin: Any) -> str | None:
    """The Workflow Builder step run an ``origin`` ({"step": execution_id}) names, if any."""
    step = origin.get("step") if isinstance(origin, dict) else None
    return step if isinstance(step, str) and step else None


@dataclass(frozen=True)
class Confirmation:
    id: str
    user_id: str
    channel_id: str
    command: str  # the slash command, e.g. "/flint"
    text: str  # what followed it, as shown to the user
    created_at: float
    action: str = ""  # as the access policy names it, e.g. "flint run"
    target: str = ""
    request: dict[str, Any] | None = None  # the parsed request itself: what runs
    # Where it came from when not a command or a click: {"step": execution_id}.
    origin: dict[str, Any] | None = None

    @property
    def step(self) -> str | None:
        """The Workflow Builder step run this holds, if it holds one."""
        return step_of(self.origin)


class ConfirmationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self,
        *,
        user_id: str,
        channel_id: str,
        command: str,
        text: str,
        action: str = "",
        target: str = "",
        request: dict[str, Any] | None = None,
        origin: dict[str, Any] | None = None,
    ) -> str:
        confirmation_id = secrets.token_hex(16)
        async with self.engine.begin() as conn:
            await conn.execute(
                confirmations.insert().values(
                    id=confirmation_id,
                    user_id=user_id,
                    channel_id=channel_id,
                    command=command,
                    text=text,
                    action=action[:64],
                    target=target[:300],
                    created_at=time.time(),
                    request=request,
                    # Left out rather than None, which JSON stores as "null", not as SQL NULL.
                    **({"origin": origin} if origin is not None else {}),
                )
            )
        return confirmation_id

    async def get(self, confirmation_id: str) -> Confirmation | None:
        """The confirmation if it exists and was not used yet."""
        query = sa.select(confirmations).where(
            confirmations.c.id == confirmation_id, confirmations.c.used_at.is_(None)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _row_to_confirmation(row) if row is not None else None

    async def use(self, confirmation_id: str) -> bool:
        """Mark it used; True for exactly one caller, however many click at once. The held
        text and request (which may hold a user's parameters) are not kept once used."""
        async with self.engine.begin() as conn:
            result = await conn.execute(
                confirmations.update()
                .where(confirmations.c.id == confirmation_id, confirmations.c.used_at.is_(None))
                .values(used_at=time.time(), text="", request=None)
            )
        return result.rowcount == 1

    async def held_steps(self, older_than: float) -> list[Confirmation]:
        """Unused confirmations holding a workflow step, asked for before ``older_than``:
        nobody clicks an expired one, so the step would wait for ever."""
        query = sa.select(confirmations).where(
            confirmations.c.used_at.is_(None),
            confirmations.c.origin.is_not(None),
            confirmations.c.created_at < older_than,
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        found = [_row_to_confirmation(row) for row in rows]
        return [held for held in found if held.step]

    async def prune(self, older_than: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                confirmations.delete().where(confirmations.c.created_at < older_than)
            )
        return result.rowcount or 0


def _row_to_confirmation(row: sa.RowMapping) -> Confirmation:
    return Confirmation(
        id=row["id"],
        user_id=row["user_id"],
        channel_id=row["channel_id"],
        command=row["command"],
        text=row["text"],
        created_at=row["created_at"],
        action=row["action"],
        target=row["target"],
        request=row["request"],
        origin=row["origin"],
    )
