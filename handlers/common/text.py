"""Slack text in and out: splitting what users type, escaping what vendors say."""

from __future__ import annotations

import html
import json
import re
import shlex
from typing import Any

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_BROADCASTS = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
MAX_COMMAND_TEXT = 8000


class UsageError(ValueError):
    """What the user typed cannot be understood; the message says what would be right."""


def normalize(text: str | None) -> str:
    """Slack escapes &, < and > in command text, and clients turn quotes curly."""
    text = html.unescape(text or "").translate(_SMART_QUOTES)
    return text.strip()


def split_args(text: str) -> list[str]:
    """Split like a shell: ``name="two words"`` is one argument."""
    if len(text) > MAX_COMMAND_TEXT:
        raise UsageError(f"That is {len(text):,} characters; the limit is {MAX_COMMAND_TEXT:,}.")
    try:
        return shlex.split(text)
    except ValueError as exc:  # unbalanced quotes
        raise UsageError(f"Could not split the arguments ({exc}). Check your quotes.") from exc


def split_trailing_json(text: str) -> tuple[str, dict[str, Any] | None]:
    """Separate a trailing JSON object (``… {"a": 1}``) from the arguments before it.

    JSON cannot go through shell splitting (its quotes would be eaten), so it is taken
    from the first ``{`` that starts an argument to the end of the text.
    """
    for match in re.finditer(r"(?:^|\s)\{", text):
        start = match.end() - 1
        candidate = text[start:]
        try:
            value = json.loads(candidate)
        except json.JSONDecodeError as exc:
            before = text[:start]
            if before.count('"') % 2 or before.count("'") % 2:
                continue  # the brace is inside a quoted argument
            raise UsageError(
                f"The JSON at the end is not valid: {exc.msg} (at character {exc.pos + 1})."
            ) from exc
        if not isinstance(value, dict):
            raise UsageError('The JSON must be an object, like {"key": "value"}.')
        return text[:start].rstrip(), value
    return text, None


def escape(text: Any) -> str:
    """Make vendor text inert in Slack mrkdwn: no mentions, broadcasts or links."""
    value = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A zero-width joiner keeps "@channel" readable but stops it from notifying anyone.
    return _BROADCASTS.sub("@\u2060\\1", value)


_SAFE_URL = re.compile(r"^https?://[^\s<>|]+$")


def link(url: str | None, label: str) -> str:
    """A Slack link to a vendor URL, or just the label when the URL is not a plain http(s)
    one (so a vendor cannot smuggle in a mention or another link)."""
    if url and _SAFE_URL.match(url):
        return f"<{url}|{escape(label)}>"
    return escape(label)


def code_block(text: str) -> str:
    """``text`` as a Slack code block, escaped, without letting it close the block early."""
    return "```" + escape(text).replace("```", "`\u200b``") + "```"


def truncate(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    cut = text[:limit]
    newline = cut.rfind("\n")
    if newline > limit * 0.6:
        cut = cut[:newline]
    return cut + "\n…", True


def duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
