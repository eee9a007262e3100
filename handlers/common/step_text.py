"""A Workflow Builder step's string inputs, read field by field into the typed request
(``Step.request``), and that request shown as the command it stands for (``Step.show``).

No input is ever joined into command text for a parser to split again: each one is given
to the vertical parser's own validator for its field, so an input cannot become an option
or reach another field, and text arrives exactly as given."""

from __future__ import annotations

import shlex
from typing import Any

from handlers.common.text import MAX_COMMAND_TEXT, UsageError


def field(inputs: dict[str, Any], name: str) -> str:
    """An input as text, trimmed ("" when absent; Workflow Builder may send null)."""
    value = inputs.get(name)
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value)


def lines(text: str) -> list[str]:
    """The non-blank lines of a multi-line input (each line one ``name=value``), within
    the bound the command puts on the text it splits."""
    if len(text) > MAX_COMMAND_TEXT:
        raise UsageError(f"That is {len(text):,} characters; the limit is {MAX_COMMAND_TEXT:,}.")
    return [line.strip() for line in text.splitlines() if line.strip()]


def words(*parts: str) -> str:
    """Words quoted the way a shell (and the parsers that split like one) reads them,
    blanks left out: how a request's values are shown as command text."""
    return shlex.join(part for part in parts if part)
