"""Writing a vendor call that changes something to the audit log: before it is made (no
entry, no call) and completed after, however it ends; and the entries for what the access
policy did with a request (denied, held, confirmed, approved …)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from adapters.errors import VendorError
from bot.audit import AuditUnavailable
from bot.policy import Request
from bot.store.confirmations import Confirmation
from handlers.deps import Deps


class NotAudited(VendorError):
    """The call was not made because its audit entry could not be written. A VendorError
    so that every caller already says "not sent" to the user the way it does for a vendor
    that could not be reached."""


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
    if command not in deps.changing:
        # A call that changes something must be declared so in its vertical's table
        # (``Subcommand(changes=True)``): the table is what readers and the policy trust.
        raise LookupError(f"{command!r} is not declared as changing anything")
    outcome = Outcome()
    try:
        entry = await deps.audit.begin(
            user_id=user_id, channel_id=channel_id, command=command, target=target, params=params
        )
    except AuditUnavailable:
        vendor = deps.vendor_name(command)
        raise NotAudited(
            vendor,
            f"Nothing was sent to {vendor}: the audit log could not be written. "
            "Try again in a moment",
        ) from None
    try:
        yield outcome
    except VendorError as exc:
        await deps.audit.finish(
            entry, outcome="failed", detail=exc.message, vendor_ids=outcome.vendor_ids
        )
        raise
    except BaseException:
        # Cancelled or crashed mid-call: whether the vendor acted is not known.
        await deps.audit.finish(entry, outcome="unknown", vendor_ids=outcome.vendor_ids)
        raise
    await deps.audit.finish(entry, outcome="ok", vendor_ids=outcome.vendor_ids)


async def audit_request(deps: Deps, request: Request, outcome: str, detail: str) -> None:
    """An audit entry for what the policy did with ``request`` (denied, held, …)."""
    await deps.audit.record(
        user_id=request.user_id,
        channel_id=request.channel_id,
        command=request.command,
        target=request.target,
        outcome=outcome,
        detail=detail,
    )


async def audit_held(
    deps: Deps, held: Confirmation, outcome: str, user_id: str, detail: str = ""
) -> None:
    """An audit entry for what became of a request held for confirmation. The held text
    is not recorded: the run's own entry has its (redacted) parameters."""
    await deps.audit.record(
        user_id=user_id,
        channel_id=held.channel_id,
        command=held.action or held.command.lstrip("/"),
        target=held.target,
        outcome=outcome,
        detail=detail,
    )
