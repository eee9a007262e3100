"""Slack text in and out: splitting what users type, escaping what vendors say."""

from __future__ import annotations

import html
import json
import re
import shlex
from collections.abc import Callable
from typing import Any, TypeVar

from bot import bounded_json

_SMART_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
# Not \b: "@here" followed by a letter-like symbol (U+02CB, from code()) is broken up too.
_BROADCASTS = re.compile(r"@(channel|here|everyone)(?![A-Za-z0-9_])", re.IGNORECASE)
_BACKTICK_RUN = re.compile(r"`(?=`)")
MAX_COMMAND_TEXT = 8000

T = TypeVar("T")


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


def first_word(text: str) -> tuple[str, str]:
    """The first word of ``text`` and the rest, for free text that split_args would spoil
    (``it's``). Any whitespace ends the word: users type Shift+Enter after a subcommand as
    often as a space. The rest keeps its own lines."""
    parts = text.split(maxsplit=1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) == 2 else ""


def one_of(value: object, choices: tuple[T, ...]) -> T | None:
    """The choice equal to ``value``, typed as the choices are (e.g. a vendor's Literal),
    or None when there is none."""
    return next((choice for choice in choices if choice == value), None)


def split_trailing_json(text: str) -> tuple[str, dict[str, Any] | None]:
    """Separate a trailing JSON object (``… {"a": 1}``) from the arguments before it.

    JSON cannot go through shell splitting (its quotes would be eaten), so it is taken
    from the first ``{`` that starts an argument to the end of the text. Quotes are read
    as split_args reads them: an apostrophe inside double quotes (``"it's"``) opens
    nothing, and a backslash escapes the next character except inside single quotes.
    """
    quote: str | None = None
    escaped = False
    argument_starts = True
    for index, char in enumerate(text):
        if escaped:
            escaped = False
        elif quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"':
                escaped = True
        elif char.isspace():
            argument_starts = True
            continue
        elif char == "{" and argument_starts:
            value = json_object(text[index:], what="The object at the end")
            return text[:index].rstrip(), value
        elif char == "\\":
            escaped = True
        elif char in "'\"":
            quote = char
        argument_starts = False
    return text, None


def json_object(text: str, *, what: str = "The JSON") -> dict[str, Any]:
    """A JSON object typed by a user, within the app's bounds (bot/bounded_json.py), or a
    UsageError saying what is wrong with it."""
    try:
        value = bounded_json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{what} is not valid JSON: {exc.msg} (at character {exc.pos + 1})."
        ) from exc
    except bounded_json.JsonLimitError as exc:
        raise UsageError(f"{what} is refused: {exc}.") from exc
    if not isinstance(value, dict):
        raise UsageError(f'{what} must be an object, like {{"key": "value"}}.')
    return value


def slack_escaped(text: str) -> str:
    """``text`` with &, < and > escaped, as Slack sends what users type."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_unescaped(text: str) -> str:
    """Slack's three escapes (``&lt;``, ``&gt;``, ``&amp;``) back to what they stand for."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def escape(text: Any) -> str:
    """Make vendor text inert in Slack mrkdwn: no mentions, broadcasts or links, and no
    code fence that would open (or close) a code block around the text after it."""
    value = slack_escaped(str(text))
    # A zero-width space between backticks: ``` shows as typed but is no fence.
    value = _BACKTICK_RUN.sub("`\u200b", value)
    # A zero-width joiner keeps "@channel" readable but stops it from notifying anyone.
    return _BROADCASTS.sub("@\u2060\\1", value)


_SAFE_URL = re.compile(r"https?://[^\s<>|]+")


def link(url: str | None, label: str) -> str:
    """A Slack link to a vendor URL, or just the label when the URL is not a plain http(s)
    one (so a vendor cannot smuggle in a mention or another link)."""
    if url and _SAFE_URL.fullmatch(url):
        return f"<{url}|{escape(label)}>"
    return escape(label)


def code(text: Any) -> str:
    """``text`` as inline code (`` `…` ``), escaped. A backtick would end the span early and
    turn the rest into live mrkdwn, so backticks become the look-alike U+02CB; a newline
    (which Slack does not keep inside inline code) becomes a space."""
    inner = escape(str(text).replace("`", "\u02cb")).replace("\r", " ").replace("\n", " ")
    return f"`{inner or ' '}`"


def code_block(text: str) -> str:
    """``text`` as a Slack code block, escaped, without letting it close the block early:
    no two backticks stay next to each other (escape() sees to that, so no ``` fence can
    form inside), and none touches the fences."""
    inner = escape(text)
    if inner.startswith("`"):
        inner = "\u200b" + inner
    if inner.endswith("`"):
        inner += "\u200b"
    return "```" + inner + "```"


_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")
_PARTIAL_LINK = re.compile(r"<[^<>]*$")
# escape() leaves "@everyoneish" alone, as no broadcast; cut after "@everyone" it is one.
_CUT_BROADCAST = re.compile(r"@(channel|here|everyone)$", re.IGNORECASE)


def clip(mrkdwn: str, limit: int) -> str:
    """Already-rendered mrkdwn cut to at most ``limit`` characters, never inside an escape
    (``&am``) or a ``<…>`` link or mention, nor where the cut makes a broadcast of a longer
    word (``@hereby`` cut to ``@here``), with … when something was cut."""
    if len(mrkdwn) <= limit:
        return mrkdwn
    cut = mrkdwn[: max(0, limit - 1)]
    cut = _PARTIAL_LINK.sub("", _PARTIAL_ENTITY.sub("", cut))
    return _CUT_BROADCAST.sub("", cut) + "…"


def fit(text: str, limit: int, render: Callable[[str], str] = escape) -> tuple[str, bool]:
    """``render(truncate(text, n))`` for an ``n`` that keeps the result within ``limit``
    characters: escaping lengthens text (``<`` is ``&lt;``), so cutting the raw text to
    ``limit`` is not enough. Returns the rendered text and whether anything was cut."""
    size = limit
    while True:
        shown, cut = truncate(text, size)
        rendered = render(shown)
        if len(rendered) <= limit or size <= 1:
            return clip(rendered, limit), cut or len(rendered) > limit
        base = min(size, len(text))
        size = max(1, min(base - 1, base * limit // len(rendered)))


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
