"""What is on screen: messages and buttons numbered as they arrive, drawn with rich."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from bot.devkit.console.errors import ConsoleError
from bot.devkit.console.render import Names, mrkdwn, plain, rich_text, text_object

FILE_LINES = 8


@dataclass
class Button:
    number: int
    message: int  # the message's number
    action_id: str
    value: str | None
    label: str
    block_id: str = ""
    element: dict[str, Any] = field(default_factory=dict)


@dataclass
class Shown:
    """A message as the person has seen it (its current version)."""

    number: int
    channel: str
    ts: str
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: bool = False
    thread_ts: str | None = None
    user: str | None = None
    response_urls: set[str] = field(default_factory=set)
    deleted: bool = False


class Screen:
    """Numbers messages and buttons, and draws Block Kit with rich."""

    def __init__(self, console: Console, names: Names) -> None:
        self.console = console
        self.names = names
        self.messages: dict[int, Shown] = {}
        self.by_ts: dict[tuple[str, str], int] = {}
        self.buttons: dict[int, Button] = {}
        self._button_keys: dict[tuple[int, str, str | None], int] = {}
        self._next_message = 1
        self._next_button = 1
        self._ephemeral_ts = 0

    # -- numbering ----------------------------------------------------------------------

    def add(
        self,
        *,
        channel: str,
        ts: str | None,
        text: str,
        blocks: list[dict[str, Any]] | None,
        ephemeral: bool = False,
        thread_ts: str | None = None,
        user: str | None = None,
    ) -> Shown:
        if ts is None:
            # Ephemeral messages have no ts Slack shows anyone; give them one for clicks.
            self._ephemeral_ts += 1
            ts = f"{time.time():.0f}.{self._ephemeral_ts:06d}"
        shown = Shown(
            number=self._next_message,
            channel=channel,
            ts=ts,
            text=text,
            blocks=with_block_ids(blocks or []),
            ephemeral=ephemeral,
            thread_ts=thread_ts if thread_ts != ts else None,
            user=user,
        )
        self._next_message += 1
        self.messages[shown.number] = shown
        self.by_ts[(channel, ts)] = shown.number
        return shown

    def find(self, channel: str | None, ts: str | None) -> Shown | None:
        if ts is None:
            return None
        if channel is not None and (channel, ts) in self.by_ts:
            return self.messages[self.by_ts[(channel, ts)]]
        for (_channel, known_ts), number in self.by_ts.items():
            if known_ts == ts:
                return self.messages[number]
        return None

    def thread_of(self, shown: Shown) -> Shown | None:
        return self.find(shown.channel, shown.thread_ts) if shown.thread_ts else None

    def _button(self, shown: Shown, block_id: str, element: dict[str, Any]) -> Button:
        action_id = str(element.get("action_id", ""))
        value = element.get("value")
        key = (shown.number, action_id, value)
        number = self._button_keys.get(key)
        if number is None:
            number = self._next_button
            self._next_button += 1
            self._button_keys[key] = number
        button = Button(
            number=number,
            message=shown.number,
            action_id=action_id,
            value=value,
            label=plain(element.get("text")),
            block_id=block_id,
            element=element,
        )
        self.buttons[number] = button
        return button

    def current_button(self, number: int) -> tuple[Shown, Button]:
        """Button [number] as it is on its message now; ConsoleError if it is gone."""
        button = self.buttons.get(number)
        if button is None:
            known = sorted(self.buttons)
            hint = f" Buttons so far: {_numbers(known)}." if known else " No buttons yet."
            raise ConsoleError(f"There is no button [{number}].{hint}")
        shown = self.messages[button.message]
        if shown.deleted:
            raise ConsoleError(f"Button [{number}] was on message #{shown.number}, now deleted.")
        for block_id, element in _button_elements(shown.blocks):
            if (
                element.get("action_id") == button.action_id
                and element.get("value") == button.value
            ):
                return shown, self._button(shown, block_id, element)
        # Numbered from the message as it is now: buttons an update removed are not offered.
        current = _button_elements(shown.blocks)
        now = [self._button(shown, block_id, element).number for block_id, element in current]
        raise ConsoleError(
            f"Button [{number}] is no longer on message #{shown.number}."
            + (f" Its buttons now: {_numbers(now)}." if now else "")
        )

    # -- drawing ------------------------------------------------------------------------

    def print(self, renderable: RenderableType) -> None:
        self.console.print(renderable)

    def note(self, text: str, style: str = "dim") -> None:
        self.console.print(Text(text, style=style))

    def show(self, shown: Shown, title: str, *, full: bool = False) -> None:
        body = self.render(shown, full=full)
        if shown.ephemeral:
            subtitle = "(only visible to you)"
            border = "grey50"
        else:
            subtitle = None
            border = "blue"
        self.console.print(
            Panel(
                body,
                title=Text(title, style="bold"),
                title_align="left",
                subtitle=subtitle,
                subtitle_align="right",
                border_style=border,
                box=box.ROUNDED,
                padding=(0, 1),
            )
        )

    def render(self, shown: Shown, *, full: bool = False) -> RenderableType:
        if not shown.blocks:
            return mrkdwn(shown.text or "(empty message)", self.names, full=full)
        parts: list[RenderableType] = []
        for block in shown.blocks:
            rendered = self.render_block(shown, block, full=full)
            if rendered is not None:
                parts.append(rendered)
        return Group(*parts) if parts else Text(shown.text or "(empty message)")

    def render_block(
        self, shown: Shown, block: dict[str, Any], *, full: bool = False
    ) -> RenderableType | None:
        kind = block.get("type")
        block_id = str(block.get("block_id", ""))
        if kind == "section":
            parts: list[RenderableType] = []
            if block.get("text"):
                more = f" (type `show {shown.number}` to see them)"
                parts.append(text_object(block["text"], self.names, full=full, more=more))
            if block.get("fields"):
                parts.append(self._fields(block["fields"], full=full))
            accessory = block.get("accessory")
            if isinstance(accessory, dict):
                parts.append(self._elements(shown, block_id, [accessory]))
            return Group(*parts) if parts else None
        if kind == "header":
            return Text(plain(block.get("text")), style="bold underline")
        if kind == "divider":
            return Rule(style="dim")
        if kind == "context":
            line = Text(style="dim")
            for element in block.get("elements") or []:
                if line:
                    line.append("  ")
                if isinstance(element, dict) and element.get("type") == "image":
                    line.append(f"[{element.get('alt_text', 'image')}]")
                else:
                    rendered = text_object(element, self.names, full=full, style="dim")
                    line.append_text(
                        rendered if isinstance(rendered, Text) else Text(plain(element))
                    )
            return line
        if kind == "actions":
            return self._elements(shown, block_id, block.get("elements") or [])
        if kind == "image":
            title = plain(block.get("title"))
            return Text(f"[image: {block.get('alt_text') or title or 'image'}]", style="italic")
        if kind == "rich_text":
            return Text(rich_text(block), style="")
        if kind == "input":
            return Text(
                f"[input: {plain(block.get('label'))} (only a form's inputs are filled in here)]",
                style="italic",
            )
        if kind == "video":
            return Text(f"[video: {plain(block.get('title'))}]", style="italic")
        if kind == "file":
            return Text(f"[file {block.get('external_id', '')}]", style="italic")
        return Text(f"[{kind} block]", style="italic dim")

    def _fields(self, fields: list[Any], *, full: bool) -> Table:
        grid = Table.grid(padding=(0, 4))
        grid.add_column(overflow="fold")
        grid.add_column(overflow="fold")
        cells = [text_object(f, self.names, full=full) for f in fields]
        for i in range(0, len(cells), 2):
            pair = cells[i : i + 2]
            if len(pair) == 1:
                pair.append(Text(""))
            grid.add_row(*pair)
        return grid

    def _elements(self, shown: Shown, block_id: str, elements: list[Any]) -> Text:
        line = Text()
        for element in elements:
            if not isinstance(element, dict):
                continue
            if line:
                line.append("  ")
            kind = element.get("type")
            if kind == "button":
                button = self._button(shown, block_id, element)
                style = {"primary": "bold green", "danger": "bold red"}.get(
                    str(element.get("style")), "bold"
                )
                line.append(f"[{button.number}] {button.label}", style=style)
                if element.get("url"):
                    line.append(f" ({element['url']})", style="dim")
            elif kind == "image":
                line.append(f"[image: {element.get('alt_text', '')}]", style="italic")
            else:
                label = plain(element.get("placeholder")) or str(kind)
                line.append(f"({kind}: {label}, not clickable here)", style="dim")
        return line

    def file(
        self,
        title: str,
        filename: str,
        content: str | None,
        thread: Shown | None,
        *,
        saved: Path | None = None,
        size: int = 0,
        alt: str = "",
    ) -> None:
        """A file the app uploaded: its first lines when it is text, and where the console
        saved it (``saved``) so an image (a chart) can be opened."""
        head = Text()
        head.append(title or filename or "file", style="bold")
        if filename and filename != title:
            head.append(f"  ({filename})", style="dim")
        parts: list[RenderableType] = [head]
        if alt:
            parts.append(Text(f"[image: {alt}]", style="italic"))
        if saved is not None:
            line = Text("saved to ", style="dim")
            line.append(str(saved), style="bold")
            line.append(f" ({size:,} bytes)", style="dim")
            parts.append(line)
        if content is not None:
            lines = content.splitlines()
            body = Text("\n".join(lines[:FILE_LINES]), style="cyan")
            if len(lines) > FILE_LINES:
                body.append(
                    f"\n… {len(lines) - FILE_LINES:,} more lines ({len(content):,} characters)",
                    style="dim italic",
                )
            parts.append(Padding(body, (0, 0, 0, 4)))
        where = f" in the thread of #{thread.number}" if thread else ""
        self.console.print(
            Panel(
                Group(*parts),
                title=Text(f"file uploaded{where}", style="bold"),
                title_align="left",
                border_style="blue",
                box=box.ROUNDED,
                padding=(0, 1),
            )
        )


def _numbers(numbers: list[int]) -> str:
    return " ".join(f"[{n}]" for n in numbers)


def with_block_ids(blocks: list[Any]) -> list[dict[str, Any]]:
    """Slack gives every block a block_id when the app sets none; so do we."""
    out = []
    for index, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        if "block_id" not in block:
            block = {**block, "block_id": f"b{index}"}
        out.append(block)
    return out


def _button_elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in blocks:
        block_id = str(block.get("block_id", ""))
        if block.get("type") == "actions":
            for element in block.get("elements") or []:
                if isinstance(element, dict) and element.get("type") == "button":
                    yield block_id, element
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            yield block_id, accessory
