"""``chatops audit``: print the audit log, newest last."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.store import AuditEntry, Store
from bot.wiring import tables

_RELATIVE = re.compile(r"(\d+)\s*([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_since(value: str, now: datetime | None = None) -> float:
    """``7d``, ``12h``, ``30m``, ``2026-11-01`` or an ISO date-time (UTC unless it says)."""
    now = now or datetime.now(UTC)
    text = value.strip().lower()
    match = _RELATIVE.fullmatch(text)
    if match:
        return (now - timedelta(**{_UNITS[match[2]]: int(match[1])})).timestamp()
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"--since {value!r}: use 7d, 12h, 30m, a date (2026-11-01) or an ISO date-time"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


async def read(settings: Settings, since: float | None, user: str | None, limit: int):
    store = Store(settings.database_url)
    try:
        await store.start()
        return await store.audit.entries(since=since, user_id=user, limit=limit)
    finally:
        await store.close()


def main(
    settings: Settings,
    *,
    since: str | None = None,
    user: str | None = None,
    limit: int = 1000,
    as_json: bool = False,
) -> int:
    try:
        since_ts = parse_since(since) if since else None
    except ValueError as exc:
        print(f"chatops audit: {exc}", file=sys.stderr)
        return 2
    if limit < 1:
        print("chatops audit: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        entries = asyncio.run(read(settings, since_ts, user, limit))
    except Exception as exc:  # the database is down, or the URL is wrong
        print(
            f"chatops audit: cannot read the audit log from DATABASE_URL ({type(exc).__name__})",
            file=sys.stderr,
        )
        return 1
    if as_json:
        for entry in entries:
            sys.stdout.write(json.dumps(_as_dict(entry), ensure_ascii=False) + "\n")
        return 0
    if not entries:
        print("The audit log has no entries" + (" matching." if since or user else "."))
        return 0
    headers = (
        "Time",
        "User",
        "Channel",
        "Command",
        "Target",
        "Outcome",
        "Vendor ids",
        "Parameters / detail",
    )
    rows = []
    for entry in entries:
        row = _as_dict(entry)
        extra = json.dumps(entry.params, ensure_ascii=False) if entry.params else ""
        if entry.detail:
            extra = f"{extra} {entry.detail}".strip()
        cells = (
            row["time"],
            entry.user_id,
            entry.channel_id,
            entry.command,
            entry.target,
            entry.outcome,
            " ".join(f"{k}={v}" for k, v in entry.vendor_ids.items()),
            extra,
        )
        rows.append(cells)
    tables.show(f"chatops-hub audit log ({len(entries)} entries, times UTC)", headers, rows)
    if len(entries) == limit:
        print(f"(the newest {limit} entries; use --limit or --since to see others)")
    return 0


def _as_dict(entry: AuditEntry) -> dict:
    return {
        "time": datetime.fromtimestamp(entry.at, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        "user": entry.user_id,
        "channel": entry.channel_id,
        "command": entry.command,
        "target": entry.target,
        "outcome": entry.outcome,
        "vendor_ids": entry.vendor_ids,
        "params": entry.params,
        "detail": entry.detail,
    }
