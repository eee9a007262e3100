"""What every slash command does before its vendor work: parse, then acknowledge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck

from bot.config import VendorStatus
from handlers.common.replies import BUSY, RESTARTING, ephemeral, not_configured, usage
from handlers.common.text import UsageError
from handlers.deps import Deps


@dataclass(frozen=True)
class Help:
    """What a parser returns for `help`, an empty command, `-h` or `--help`."""


async def acknowledge(
    ack: AsyncAck,
    deps: Deps,
    text: str | None,
    *,
    parse: Callable[[str | None], Any],
    usage_text: str,
    client: object | None,
    status: Callable[[], VendorStatus],
) -> Any | None:
    """Parse ``text`` and ``ack()``; return the request to carry out, or None when the ack
    itself was the whole answer (usage, help, not configured, shutting down).

    Only pure parsing runs before ``ack()``: nothing here waits on a vendor.
    """
    try:
        request = parse(text)
    except UsageError as exc:
        await ack(**usage(usage_text, str(exc)))
        return None
    if isinstance(request, Help):
        await ack(**usage(usage_text))
        return None
    if client is None:
        await ack(**ephemeral(not_configured(status())))
        return None
    if not deps.work.accepting:
        await ack(**ephemeral(RESTARTING))
        return None
    if not deps.work.has_room:
        await ack(**ephemeral(BUSY))
        return None
    await ack()
    return request
