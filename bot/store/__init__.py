"""The state store: SQLAlchemy 2 async over SQLite (default) or PostgreSQL."""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.approvals import Approval, ApprovalStore
from bot.store.audit import AuditEntry, AuditStore
from bot.store.confirmations import Confirmation, ConfirmationStore
from bot.store.engine import create_engine, migrate
from bot.store.handled import HandledRequests
from bot.store.jobs import JobStore, NewJob, TrackedJob
from bot.store.steps import StepRun, StepRunStore

__all__ = [
    "Approval",
    "ApprovalStore",
    "AuditEntry",
    "AuditStore",
    "Confirmation",
    "ConfirmationStore",
    "HandledRequests",
    "JobStore",
    "NewJob",
    "StepRun",
    "StepRunStore",
    "Store",
    "TrackedJob",
]


class Store:
    """Owns the engine; ``start()`` migrates the schema, ``close()`` disposes the pool."""

    def __init__(self, database_url: str) -> None:
        self.engine: AsyncEngine = create_engine(database_url)
        self.jobs = JobStore(self.engine)
        self.audit = AuditStore(self.engine)
        self.confirmations = ConfirmationStore(self.engine)
        self.approvals = ApprovalStore(self.engine)
        self.handled = HandledRequests(self.engine)
        self.steps = StepRunStore(self.engine)

    async def start(self) -> None:
        await migrate(self.engine)

    async def ping(self, within: float = 2.0) -> bool:
        """True when the database answers within ``within`` seconds."""
        try:
            async with asyncio.timeout(within):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def close(self) -> None:
        await self.handled.finish()
        await self.engine.dispose()
