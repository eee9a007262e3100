"""Reading the many ways vendors write a moment in time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 text, or unix seconds or milliseconds (number or text), as an aware
    datetime (naive means UTC); ``None`` when unreadable or empty."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        if value > 100_000_000_000:  # milliseconds, not seconds
            value = value / 1000
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        text = value.strip()
        if not text or text.startswith("0001-01-01"):  # .NET's DateTime.MinValue: no time
            return None
        if re.fullmatch(r"\d{1,13}(\.\d+)?", text):
            return parse_time(float(text))
        # .NET writes up to seven fractional digits; Python reads at most six.
        text = re.sub(r"(\.\d{6})\d+", r"\1", text)
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None
