"""The product's one rule for keeping secrets out of text, and its one placeholder.

Here, in adapters/, because both sides need it and adapters import nothing of ours but
adapters/: the vendor clients scrub their credentials from vendor messages before they
become a ``VendorError``'s text, and the app (bot/logs.py, Slack messages, the audit log,
``chatops check``) scrubs every configured secret from what it writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# Shorter values are not redacted: they would match ordinary words and numbers.
MIN_SECRET_LENGTH = 6
# Secrets no setting holds, recognised by their shape: a Workflow Builder step's function
# token (xwfp-…) comes with each step's event, and is redacted wherever it would appear.
TOKEN_PATTERNS = (r"xwfp-[A-Za-z0-9][A-Za-z0-9-]*",)

# Characters that end a line for some reader (str.splitlines, terminals, JSON-lines tools),
# or that drive a terminal: C0 and C1 controls (except tab), DEL, U+2028 and U+2029.
_LINE_BREAKING = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_SIMPLE_ESCAPES = {"\n": "\\n", "\r": "\\r"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    return _SIMPLE_ESCAPES.get(char) or (
        f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
    )


def one_line(text: str) -> str:
    """``text`` with every line-breaking or control character escaped (``\\n``, ``\\x1b``…)."""
    return _LINE_BREAKING.sub(_escape_char, text)


class SecretRedactor:
    """Replaces each secret, also as a JSON string or a one-line escape would spell it,
    and every token of a shape in TOKEN_PATTERNS."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = {s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_LENGTH}
        spellings = set()
        for value in values:
            spellings |= {
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
            }
            spellings.add(one_line(value))
        # Longest first, so a secret that contains another is replaced whole.
        ordered = sorted(spellings, key=len, reverse=True)
        alternatives = [*map(re.escape, ordered), *TOKEN_PATTERNS]
        self._pattern = re.compile("|".join(alternatives)) if alternatives else None

    def __call__(self, text: str) -> str:
        return self._pattern.sub(REDACTED, text) if self._pattern else text
