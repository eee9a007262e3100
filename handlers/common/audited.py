"""Writing a vendor call that changes something to the audit log, however it ends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from adapters.errors import VendorError
from handlers.deps import Deps


@dataclass
class Outcome:
    """What the body of ``audited`` learnt: the vendor's ids for what it created."""

    vendor_ids: dict[str, Any] = field(default_factory=dict)


@asynccontextmanager
async def audited(
    deps: Deps,
    *,
    user_id: str,
    channel_id: str,
    command: str,
    target: str,
    params: dict[str, Any] | None = None,
) -> AsyncIterator[Outcome]:
    outcome = Outcome()
    where = {"user_id": user_id, "channel_id": channel_id, "command": command, "target": target}
    try:
        yield outcome
    except VendorError as exc:
        await deps.audit.record(
            **where,
            outcome="failed",
            params=params,
            detail=exc.message,
            vendor_ids=outcome.vendor_ids,
        )
        raise
    await deps.audit.record(**where, outcome="ok", params=params, vendor_ids=outcome.vendor_ids)
