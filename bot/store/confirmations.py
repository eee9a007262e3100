"""Requests held by the access policy until their user confirms them."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.schema import confirmations


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
        if row is None:
            return None
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
        )

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

    async def prune(self, older_than: float) -> int:
        async with self.engine.begin() as conn:
            result = await conn.execute(
                confirmations.delete().where(confirmations.c.created_at < older_than)
            )
        return result.rowcount or 0
