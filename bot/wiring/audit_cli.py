"""``chatops audit``: print the audit log, newest last, as wide as the terminal (80
columns when the output is not a terminal and ``COLUMNS`` does not say)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.store import AuditEntry, Store

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
    width = max(MIN_WIDTH, shutil.get_terminal_size((80, 24)).columns)
    print(f"chatops-hub audit log ({len(entries)} entries, times UTC)")
    lines, cut = layout(entries, width)
    print("\n".join(lines))
    if cut:
        print("(long parameters are cut short: --json shows every entry whole)")
    if len(entries) == limit:
        print(f"(the newest {limit} entries; use --limit or --since to see others)")
    return 0


HEADERS = ("Time", "User", "Channel", "Command", "Target", "Outcome")
MIN_WIDTH = 40
DETAIL_LINES = 2  # lines each of detail and of parameters an entry shows; --json has all
INDENT = "    "


def layout(entries: Sequence[AuditEntry], width: int) -> tuple[list[str], bool]:
    """The entries in ``width`` columns, and whether any entry's parameters were cut.

    The short fields (time, ids, command, target, outcome) are never cut: they form a
    table when it fits, else each entry's first lines. What can be long (vendor ids,
    parameters, detail) goes on indented lines below, wrapped; parameters and detail to
    at most ``DETAIL_LINES`` lines, ending in "…"."""
    rows = [_short(entry) for entry in entries]
    widths = [max([len(h), *(len(row[i]) for row in rows)]) for i, h in enumerate(HEADERS)]
    as_table = sum(widths) + 2 * (len(widths) - 1) <= width
    lines: list[str] = []
    if as_table:
        for cells in (HEADERS, ["-" * w for w in widths]):
            lines.append(_row(cells, widths))
    cut = False
    for entry, row in zip(entries, rows, strict=True):
        if as_table:
            lines.append(_row(row, widths))
        else:
            when, user, channel, command, target, outcome = row
            lines += _wrap(f"{when}  {outcome}  {command}  {target}", width, "")
            lines += _wrap(f"by {user} in {channel}", width)
        vendor_ids = " ".join(f"{k}={v}" for k, v in entry.vendor_ids.items())
        if vendor_ids:
            lines += _wrap(vendor_ids, width)
        # The detail (why it failed or was denied) first: long parameters must not push
        # the reason out of the lines an entry shows.
        for extra in (
            entry.detail,
            json.dumps(entry.params, ensure_ascii=False) if entry.params else "",
        ):
            if extra:
                wrapped = _wrap(extra, width)
                if len(wrapped) > DETAIL_LINES:
                    cut = True
                    last = wrapped[DETAIL_LINES - 1]
                    wrapped = [*wrapped[: DETAIL_LINES - 1], last[: width - 1].rstrip() + "…"]
                lines += wrapped
    return lines, cut


def _short(entry: AuditEntry) -> tuple[str, str, str, str, str, str]:
    return (
        _when(entry),
        entry.user_id,
        entry.channel_id,
        entry.command,
        entry.target,
        entry.outcome,
    )


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()


def _wrap(text: str, width: int, indent: str = INDENT) -> list[str]:
    """``text`` wrapped at spaces; a word longer than a whole line (a very long id) is
    the only thing ever broken, so no line is wider than ``width``."""
    return textwrap.wrap(
        text, width, initial_indent=indent, subsequent_indent=INDENT, break_on_hyphens=False
    )


def _when(entry: AuditEntry) -> str:
    return datetime.fromtimestamp(entry.at, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _as_dict(entry: AuditEntry) -> dict:
    return {
        "time": _when(entry),
        "user": entry.user_id,
        "channel": entry.channel_id,
        "command": entry.command,
        "target": entry.target,
        "outcome": entry.outcome,
        "vendor_ids": entry.vendor_ids,
        "params": entry.params,
        "detail": entry.detail,
    }
