"""Slack mrkdwn and text objects → rich text, readable in a terminal."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from bot.devkit.console.workspace import CHANNEL_ID, CHANNEL_NAME

CODE_LINES = 15  # lines of a code block shown before "… N more lines"

_ENTITIES = re.compile(r"&(lt|gt|amp);")
_ENTITY_VALUES = {"lt": "<", "gt": ">", "amp": "&"}
_INLINE = re.compile(
    r"`(?P<code>[^`\n]+)`"
    r"|<(?P<link>[^<>\n]+)>"
    r"|(?<![\w*])\*(?P<bold>[^*\n]+?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<italic>[^_\n]+?)_(?![\w_])"
    r"|(?<![\w~])~(?P<strike>[^~\n]+?)~(?![\w~])"
)


def unescape(text: str) -> str:
    """Slack's three escapes, undone for display (``&amp;lt;`` stays ``&lt;``)."""
    return _ENTITIES.sub(lambda m: _ENTITY_VALUES[m.group(1)], text)


@dataclass
class Names:
    """How ids in mentions are shown: your own id as your name, channels by name."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=lambda: {CHANNEL_ID: CHANNEL_NAME})

    def link(self, inner: str) -> tuple[str, str]:
        """``<…>`` → (shown text, style)."""
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            return "@" + (label or self.users.get(target[1:], target[1:])), "bold magenta"
        if target.startswith("#"):
            return "#" + (label or self.channels.get(target[1:], target[1:])), "bold magenta"
        if target.startswith("!"):
            special = target[1:]
            if special.startswith(("subteam^", "date^")):
                return unescape(label or special), "bold magenta"
            return "@" + special, "bold magenta"
        url = unescape(target)
        if label and unescape(label) != url:
            return f"{unescape(label)} ({url})", "underline blue"
        return url, "underline blue"


def inline(text: str, names: Names, style: str = "") -> Text:
    """One stretch of mrkdwn without code blocks → styled text."""
    out = Text(style=style)
    pos = 0
    for match in _INLINE.finditer(text):
        out.append(unescape(text[pos : match.start()]))
        kind = match.lastgroup
        if kind is None:
            raise ValueError(f"_INLINE matched {match[0]!r} outside its named groups")
        value = match.group(kind)
        if kind == "code":
            out.append(unescape(value), style="bold cyan")
        elif kind == "link":
            shown, link_style = names.link(value)
            out.append(shown, style=link_style)
        elif kind == "bold":
            out.append_text(inline(value, names, "bold"))
        elif kind == "italic":
            out.append_text(inline(value, names, "italic"))
        else:
            out.append_text(inline(value, names, "strike"))
        pos = match.end()
    out.append(unescape(text[pos:]))
    return out


def mrkdwn(
    text: str, names: Names, *, full: bool = False, style: str = "", more: str = ""
) -> RenderableType:
    """Slack mrkdwn → a renderable: inline styles, and code blocks as indented text."""
    parts = text.split("```")
    if len(parts) % 2 == 0:  # an unclosed fence is shown as typed
        parts = [text]
    items: list[RenderableType] = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            stripped = part.strip("\n")
            if stripped:
                items.append(inline(stripped, names, style))
            continue
        code = unescape(part.strip("\n")).replace("\u200b", "")
        lines = code.splitlines() or [""]
        hidden = 0
        if not full and len(lines) > CODE_LINES:
            hidden = len(lines) - CODE_LINES
            lines = lines[:CODE_LINES]
        block = Text("\n".join(lines), style="cyan", no_wrap=False)
        if hidden:
            block.append(f"\n… {hidden:,} more lines{more}", style="dim italic")
        items.append(Padding(block, (0, 0, 0, 4)))
    if len(items) == 1:
        return items[0]
    return Group(*items)


def plain(obj: Any) -> str:
    """A text object's text, whatever its type."""
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    return "" if obj is None else str(obj)


def text_object(
    obj: Any, names: Names, *, full: bool = False, style: str = "", more: str = ""
) -> RenderableType:
    if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), names, full=full, style=style, more=more)
    return Text(plain(obj), style=style)


def rich_text(block: dict[str, Any]) -> str:
    """A ``rich_text`` block's words as plain text (mentions as ``@id``, emoji as ``:name:``)."""

    def walk(node: Any) -> str:
        if isinstance(node, list):
            return "".join(walk(n) for n in node)
        if not isinstance(node, dict):
            return ""
        if node.get("type") == "text":
            return str(node.get("text", ""))
        if node.get("type") == "user":
            return f"@{node.get('user_id', '')}"
        if node.get("type") == "link":
            return str(node.get("text") or node.get("url", ""))
        if node.get("type") == "emoji":
            return f":{node.get('name', '')}:"
        return walk(node.get("elements") or [])

    return walk(block.get("elements") or [])
