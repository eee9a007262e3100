"""Building the command text a Workflow Builder step counts as, from its string inputs."""

from __future__ import annotations

import shlex
from typing import Any


def field(inputs: dict[str, Any], name: str) -> str:
    """An input as text, trimmed ("" when absent; Workflow Builder may send null)."""
    value = inputs.get(name)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def words(*parts: str) -> str:
    """Words quoted the way the parsers split them (like a shell), blanks left out."""
    return shlex.join(part for part in parts if part)


def lines(text: str) -> list[str]:
    """The non-blank lines of a multi-line input."""
    return [line.strip() for line in text.splitlines() if line.strip()]
