"""``chatops console``: type slash commands and click buttons in a terminal, no Slack needed.

Everything runs in one asyncio event loop, each part a real uvicorn server on a free
loopback port: the vendor sandboxes, a Slack Web API fake and the real app (HTTP mode,
lifespan on). What the person types becomes a correctly signed Slack request to the app's
``POST /slack/events``; everything the app sends to "Slack" arrives at the fake and is
drawn here as it arrives. State lives in a temporary SQLite file, removed at exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import signal
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from adapters import sandboxes
from bot.app import Runtime
from bot.config import Settings
from bot.server import create_server
from bot.slack_fake import SlackFake
from bot.store.jobs import ACTIVE, NOTIFYING, STARTING
from handlers import COMMANDS

log = logging.getLogger(__name__)

# Who "you" are in the console's pretend workspace.
TEAM_ID = "T0CONSOLE"
TEAM_DOMAIN = "chatops-console"
CHANNEL_ID = "C0CONSOLE"
CHANNEL_NAME = "console"
USER_ID = "U0CONSOLE"
APP_ID = "A0CONSOLE"
VERIFICATION_TOKEN = "console-verification-token"  # noqa: S105 - deprecated field, not a secret

SANDBOX_SPEED = 1.0  # demo durations as written: hello.rb takes about a second
ACK_LIMIT = 3.0  # Slack gives up on an acknowledgement after 3 seconds
MAX_WAIT = 600.0
CODE_LINES = 15  # lines of a code block shown before "… N more lines"
FILE_LINES = 8
PROMPT = "> "

HELP = """\
Type slash commands as in Slack; the real app answers, through a Slack fake.

  /flint run demo:hello.rb name=Ada     run a flintbit in the background
  /flint run demo:slow.rb seconds=5     a longer job: watch its card change
  /flint run demo:fail.rb               a failing job and its failure notice
  /flint run demo:big.rb                long output, attached as a file
  /flint run demo:hello.rb --sync       wait for the result before answering
  /flint result JOB_ID                  a job's status and output
  /flint help                           the command's own usage

  click N           press button [N] (on the current version of its message)
  show N            show message #N again, in full
  wait SECONDS      let notices arrive (useful in scripts)
  log [LINES]       the last lines of the app's own log
  help              this text
  quit              leave (also exit, or Ctrl-D)

Demo flintbits in the Flint sandbox: hello.rb, slow.rb, fail.rb, echo.rb, big.rb, abort.rb."""


class ConsoleError(Exception):
    """Something the person typed cannot be done; the message says what would work."""


# -- Slack requests, exactly as Slack sends them --------------------------------------------


def sign(body: bytes, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack adds to every request (checked by slack_sdk's SignatureVerifier)."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**12):012d}.{secrets.token_hex(16)}"


def action_ts() -> str:
    return f"{time.time():.6f}"


def slash_command_form(
    command: str, text: str, *, user_name: str, response_url: str
) -> dict[str, str]:
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": CHANNEL_ID,
        "channel_name": CHANNEL_NAME,
        "user_id": USER_ID,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id(),
    }


def block_actions_payload(
    message: Shown, button: Button, *, user_name: str, response_url: str
) -> dict[str, Any]:
    element = button.element
    action = {
        "type": element.get("type", "button"),
        "action_id": element.get("action_id", ""),
        "block_id": button.block_id,
        "text": element.get("text") or {"type": "plain_text", "text": button.label},
        "action_ts": action_ts(),
    }
    if "value" in element:
        action["value"] = element["value"]
    if element.get("style"):
        action["style"] = element["style"]
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": message.channel,
        "is_ephemeral": message.ephemeral,
    }
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": USER_ID, "username": user_name, "name": user_name, "team_id": TEAM_ID},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message.channel, "name": CHANNEL_NAME},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if not message.ephemeral:
        # Slack sends the message itself only for messages everyone can see.
        payload["message"] = {
            "type": "message",
            "ts": message.ts,
            "text": message.text,
            "blocks": message.blocks,
            "user": message.user,
            "team": TEAM_ID,
        }
        if message.thread_ts:
            payload["message"]["thread_ts"] = message.thread_ts
            payload["container"]["thread_ts"] = message.thread_ts
    return payload


# -- Slack mrkdwn → rich text ---------------------------------------------------------------

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


# -- what is on screen ----------------------------------------------------------------------


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
            blocks=_with_block_ids(blocks or []),
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
        now = [n for n, b in self.buttons.items() if b.message == shown.number]
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
            rendered = self._block(shown, block, full=full)
            if rendered is not None:
                parts.append(rendered)
        return Group(*parts) if parts else Text(shown.text or "(empty message)")

    def _block(self, shown: Shown, block: dict[str, Any], *, full: bool) -> RenderableType | None:
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
            return Text(_rich_text(block), style="")
        if kind == "input":
            return Text(
                f"[input: {plain(block.get('label'))} (forms are not supported here)]",
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

    def file(self, title: str, filename: str, content: str | None, thread: Shown | None) -> None:
        head = Text()
        head.append(title or filename or "file", style="bold")
        if filename and filename != title:
            head.append(f"  ({filename})", style="dim")
        parts: list[RenderableType] = [head]
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


def _with_block_ids(blocks: list[Any]) -> list[dict[str, Any]]:
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


def _rich_text(block: dict[str, Any]) -> str:
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


# -- the servers, in this event loop --------------------------------------------------------


class StartupError(Exception):
    """A part of the console's stack did not start; the message names it."""


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals alone: the console handles Ctrl-C itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Running:
    name: str
    server: _Server
    task: asyncio.Task
    url: str

    async def stop(self, timeout: float) -> None:  # noqa: ASYNC109
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        except TimeoutError:
            log.warning("%s did not stop within %.0f s; forcing it", self.name, timeout)
            self.server.force_exit = True
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self.task, 5)


async def serve(name: str, app: Any, *, lifespan: str = "off", grace: float = 5) -> Running:
    """Serve ``app`` on a free loopback port as a task of this loop; return once it listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan=lifespan,
        log_config=None,
        log_level="info",
        access_log=False,
        timeout_graceful_shutdown=grace,
    )
    server = _Server(config)

    async def run() -> None:
        try:
            await server.serve(sockets=[sock])
        except SystemExit:  # uvicorn's way of saying that startup failed
            log.error("%s: startup failed", name)
        finally:
            sock.close()

    task = asyncio.create_task(run(), name=f"console-{name}")
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            server.should_exit = True
            raise StartupError(f"The {name} did not start.")
        await asyncio.sleep(0.02)
    return Running(name, server, task, f"http://127.0.0.1:{port}")


class _ConsoleSettings(Settings):
    """Settings from the arguments only: no .env file, no environment variables."""

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        return (init_settings,)


def console_settings(*, slack_api_url: str, sandbox_url: str, database_url: str) -> Settings:
    vendors: dict[str, str] = {}
    for env in sandboxes.environment(sandbox_url):
        vendors.update({key.lower(): value for key, value in env.variables.items()})
    return _ConsoleSettings(
        slack_bot_token="xoxb-console",  # noqa: S106 - the fake's token, not a secret
        slack_signing_secret=secrets.token_hex(16),
        slack_api_url=slack_api_url,
        database_url=database_url,
        chatops_poll_interval=1,
        chatops_poll_max_interval=5,
        **vendors,
    )


class Stack:
    """The sandboxes, the Slack fake and the real app, started and stopped in order."""

    def __init__(self, workdir: Path, *, user_name: str) -> None:
        self.workdir = workdir
        self.fake = SlackFake(
            team_id=TEAM_ID,
            team_domain=TEAM_DOMAIN,
            app_id=APP_ID,
            users={USER_ID: {"name": user_name, "real_name": user_name}},
        )
        self.runtime: Runtime | None = None
        self.settings: Settings | None = None
        self.sandboxes: Running | None = None
        self.slack: Running | None = None
        self.app: Running | None = None

    @property
    def signing_secret(self) -> str:
        assert self.settings is not None and self.settings.slack_signing_secret is not None
        return self.settings.slack_signing_secret.get_secret_value()

    async def start(self) -> None:
        self.sandboxes = await serve("vendor sandboxes", sandboxes.create_app(speed=SANDBOX_SPEED))
        self.slack = await serve("Slack fake", self.fake.app)
        self.settings = console_settings(
            slack_api_url=self.slack.url + "/api/",
            sandbox_url=self.sandboxes.url,
            database_url=f"sqlite:///{self.workdir / 'console.db'}",
        )
        self.runtime = Runtime(self.settings)
        self.app = await serve(
            "chatops-hub app", create_server(self.runtime), lifespan="on", grace=10
        )

    async def stop(self) -> None:
        # The app first (its lifespan shutdown runs Runtime.stop), then what it talks to.
        for running, timeout in ((self.app, 40), (self.slack, 10), (self.sandboxes, 10)):
            if running is not None:
                await running.stop(timeout)


# -- the session ----------------------------------------------------------------------------


@dataclass
class _Origin:
    """What a response_url we handed out belongs to."""

    number: int | None  # the message it may replace
    bound: bool  # the fake applies replace/delete itself (public messages)


class Session:
    """Turns what the person types into Slack requests, and what Slack shows into text."""

    def __init__(self, stack: Stack, screen: Screen, *, user_name: str, log_path: Path) -> None:
        self.stack = stack
        self.screen = screen
        self.user_name = user_name
        self.log_path = log_path
        self.http = httpx.AsyncClient(timeout=30, trust_env=False)
        self.origins: dict[str, _Origin] = {}
        self.last_activity = time.monotonic()
        self.confirm: Callable[[str], Any] | None = None

    async def close(self) -> None:
        await self.http.aclose()

    # -- what the app shows -------------------------------------------------------------

    def on_event(self, event: Any) -> None:
        self.last_activity = time.monotonic()
        try:
            self._on_event(event.kind, event.data)
        except Exception:
            log.exception("could not show a %s event", event.kind)
            self.screen.note(f"(could not show a {event.kind} event; see `log`)", "yellow")

    def _on_event(self, kind: str, data: dict[str, Any]) -> None:
        screen = self.screen
        if kind == "posted":
            shown = screen.add(
                channel=str(data.get("channel")),
                ts=str(data.get("ts")),
                text=str(data.get("text") or ""),
                blocks=data.get("blocks"),
                thread_ts=data.get("thread_ts"),
                user=data.get("user"),
            )
            screen.show(shown, self._title(shown))
        elif kind == "updated":
            shown = screen.find(data.get("channel"), data.get("ts"))
            if shown is None:
                self._on_event("posted", data)
                return
            shown.text = str(data.get("text") or "")
            shown.blocks = _with_block_ids(data.get("blocks") or [])
            screen.show(shown, f"updated message #{shown.number}")
        elif kind == "deleted":
            shown = screen.find(data.get("channel"), data.get("ts"))
            if shown is not None:
                shown.deleted = True
                screen.note(f"message #{shown.number} was deleted")
        elif kind == "ephemeral":
            shown = screen.add(
                channel=str(data.get("channel")),
                ts=str(data.get("ts")),
                text=str(data.get("text") or ""),
                blocks=data.get("blocks"),
                ephemeral=True,
                thread_ts=data.get("thread_ts"),
            )
            if data.get("user") not in (None, USER_ID):
                screen.note(f"(an ephemeral message for <@{data['user']}>, not you)")
            screen.show(shown, self._title(shown))
        elif kind == "response":
            self._on_response(data)
        elif kind == "file":
            content = data.get("content")
            if isinstance(content, bytes | bytearray):
                content = bytes(content).decode("utf-8", "replace")
            thread = screen.find(data.get("channel_id"), data.get("thread_ts"))
            screen.file(
                str(data.get("title") or ""), str(data.get("filename") or ""), content, thread
            )
        elif kind in ("view_opened", "view_pushed", "view_updated"):
            title = plain(data.get("title")) or "untitled"
            screen.note(
                f"The app opened a dialog “{title}”; dialogs (modals) are not shown in "
                "the console.",
                "yellow",
            )

    def _on_response(self, data: dict[str, Any]) -> None:
        origin = self.origins.get(str(data.get("token")))
        target = self.screen.messages.get(origin.number) if origin and origin.number else None
        if data.get("delete_original"):
            if origin is not None and origin.bound:
                return  # the fake deletes the message and says so
            if target is not None:
                target.deleted = True
                self.screen.note(f"message #{target.number} was deleted")
            return
        if data.get("replace_original") and target is not None:
            if origin is not None and origin.bound:
                return  # the fake updates the message and says so
            target.text = str(data.get("text") or "")
            target.blocks = _with_block_ids(data.get("blocks") or [])
            self.screen.show(target, f"updated message #{target.number}")
            return
        in_channel = data.get("response_type") == "in_channel"
        shown = self.screen.add(
            channel=target.channel if target else CHANNEL_ID,
            ts=None,
            text=str(data.get("text") or ""),
            blocks=data.get("blocks"),
            ephemeral=not in_channel,
            thread_ts=data.get("thread_ts"),
        )
        if origin is not None and not origin.bound and target is None:
            origin.number = shown.number  # a later replace_original replaces this one
        self.screen.show(shown, self._title(shown))

    def _title(self, shown: Shown) -> str:
        title = f"#{shown.number}  chatops-hub"
        if shown.channel != CHANNEL_ID:
            title += f" in #{self.screen.names.channels.get(shown.channel, shown.channel)}"
        thread = self.screen.thread_of(shown)
        if thread is not None:
            title += f", in the thread of #{thread.number}"
        elif shown.thread_ts:
            title += ", in a thread"
        return title

    # -- what the person types ----------------------------------------------------------

    async def execute(self, line: str) -> bool:
        """Run one line; False when the person wants to leave."""
        line = line.strip()
        if not line or line.startswith("#"):
            return True
        word, _, rest = line.partition(" ")
        word = word.lower()
        try:
            if line.startswith("/"):
                await self.slash(line)
            elif word in ("quit", "exit", "q", ":q"):
                return False
            elif word in ("help", "?", "h"):
                self.screen.print(Text(HELP))
            elif word == "click":
                await self.click(rest)
            elif word == "wait":
                await self.wait(rest)
            elif word == "show":
                self.show(rest)
            elif word in ("log", "logs"):
                self.show_log(rest)
            else:
                raise ConsoleError(self._hint(line, word))
        except ConsoleError as exc:
            self.screen.note(str(exc), "yellow")
        except httpx.HTTPError as exc:
            self.screen.note(f"Could not reach the app: {type(exc).__name__}: {exc}", "red")
        return True

    def _hint(self, line: str, word: str) -> str:
        if "/" + word in COMMANDS:
            return f"Slash commands start with a slash: /{line}"
        return f"Unknown command “{_clip(line)}”. Type `help`, or a slash command like /flint help."

    async def slash(self, line: str) -> None:
        command, _, text = line.partition(" ")
        if not re.fullmatch(r"/[\w.-]{1,31}", command):
            raise ConsoleError(f"“{_clip(command)}” is not a slash command name.")
        response_url = self.stack.fake.response_url(self.stack.slack.url)
        origin = _Origin(number=None, bound=False)
        self.origins[_token(response_url)] = origin
        form = slash_command_form(
            command.lower(),
            _slack_escape(text.strip()),
            user_name=self.user_name,
            response_url=response_url,
        )
        response, seconds = await self._post(urllib.parse.urlencode(form).encode())
        if response.status_code != 200:
            self._failed(command, response)
            return
        self._slow(command, seconds)
        shown = self._show_ack(response)
        if shown is not None:
            origin.number = shown.number

    async def click(self, rest: str) -> None:
        args = rest.replace("[", " ").replace("]", " ").replace("#", " ").split()
        if not args or not args[0].isdigit():
            raise ConsoleError("Say which button: click N (the number in [N]).")
        shown, button = self.screen.current_button(int(args[0]))
        if not await self._confirmed(button, args[1:]):
            self.screen.note("Not clicked.")
            return
        if shown.ephemeral:
            response_url = self.stack.fake.response_url(self.stack.slack.url)
            self.origins[_token(response_url)] = _Origin(shown.number, bound=False)
        else:
            response_url = self.stack.fake.response_url(
                self.stack.slack.url, channel_id=shown.channel, message_ts=shown.ts
            )
            self.origins[_token(response_url)] = _Origin(shown.number, bound=True)
        payload = block_actions_payload(
            shown, button, user_name=self.user_name, response_url=response_url
        )
        self.screen.note(f"(clicked [{button.number}] {button.label} on message #{shown.number})")
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        response, seconds = await self._post(body)
        if response.status_code != 200:
            self._failed(f"button “{button.label}”", response)
            return
        self._slow(f"button “{button.label}”", seconds)

    async def _confirmed(self, button: Button, answer: list[str]) -> bool:
        dialog = button.element.get("confirm")
        if not isinstance(dialog, dict):
            return True
        question = " — ".join(
            part for part in (plain(dialog.get("title")), plain(dialog.get("text"))) if part
        )
        self.screen.note(f"{question or 'Are you sure?'}", "bold")
        yes = plain(dialog.get("confirm")) or "Yes"
        if answer:
            return answer[0].lower() in ("y", "yes", "confirm", yes.lower())
        if self.confirm is not None:
            reply = await self.confirm(f"{yes}? [y/N] ")
            return str(reply).strip().lower() in ("y", "yes")
        self.screen.note(f"(confirmed with “{yes}”; write `click {button.number} no` to cancel)")
        return True

    async def wait(self, rest: str) -> None:
        try:
            seconds = float(rest.strip() or "1")
        except ValueError:
            raise ConsoleError("wait takes a number of seconds, e.g. wait 3") from None
        if not 0 <= seconds <= MAX_WAIT:
            raise ConsoleError(f"wait takes 0 to {MAX_WAIT:.0f} seconds.")
        await asyncio.sleep(seconds)

    def show(self, rest: str) -> None:
        number = rest.strip().lstrip("#")
        if not number.isdigit() or int(number) not in self.screen.messages:
            known = sorted(self.screen.messages)
            span = f" (messages so far: #1 to #{known[-1]})" if known else " (none yet)"
            raise ConsoleError(f"Say which message: show N{span}.")
        shown = self.screen.messages[int(number)]
        suffix = " (deleted)" if shown.deleted else ""
        self.screen.show(shown, f"message #{shown.number}{suffix}", full=True)

    def show_log(self, rest: str) -> None:
        count = int(rest) if rest.strip().isdigit() else 20
        try:
            lines = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            lines = []
        self.screen.print(Text(f"the app's log ({self.log_path}), last {count} lines:", "dim"))
        self.screen.print(Text("\n".join(lines[-count:]) or "(empty)"))

    # -- HTTP to the app ----------------------------------------------------------------

    async def _post(self, body: bytes) -> tuple[httpx.Response, float]:
        assert self.stack.app is not None
        headers = sign(body, self.stack.signing_secret)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.monotonic()
        try:
            response = await self.http.post(
                self.stack.app.url + "/slack/events", content=body, headers=headers
            )
        finally:
            self.last_activity = time.monotonic()
        return response, time.monotonic() - started

    def _failed(self, what: str, response: httpx.Response) -> None:
        error = (
            "dispatch_failed" if response.status_code != 404 else "dispatch_failed (no listener)"
        )
        self.screen.note(
            f"Slack would say: {what} failed with the error “{error}” "
            f"(the app answered HTTP {response.status_code}).",
            "red",
        )

    def _slow(self, what: str, seconds: float) -> None:
        if seconds > ACK_LIMIT:
            self.screen.note(
                f"The app took {seconds:.1f} s to acknowledge {what}; Slack gives up after "
                f"{ACK_LIMIT:.0f} s and shows “operation_timeout”.",
                "red",
            )

    def _show_ack(self, response: httpx.Response) -> Shown | None:
        """The body of the acknowledgement: Slack shows it as a reply (usually ephemeral)."""
        if not response.content.strip():
            return None
        try:
            body = response.json()
        except ValueError:
            body = {"text": response.text}
        if not isinstance(body, dict) or not (body.get("text") or body.get("blocks")):
            return None
        shown = self.screen.add(
            channel=CHANNEL_ID,
            ts=None,
            text=str(body.get("text") or ""),
            blocks=body.get("blocks"),
            ephemeral=body.get("response_type") != "in_channel",
        )
        self.screen.show(shown, self._title(shown))
        return shown

    async def report_running_jobs(self) -> None:
        assert self.stack.runtime is not None
        counts = await self.stack.runtime.store.jobs.count_by_state()
        running = sum(counts.get(state, 0) for state in (STARTING, ACTIVE, NOTIFYING))
        if running:
            self.screen.note(
                f"{running} job(s) still running; the console stops following them now."
            )

    async def settle(self, *, quiet: float, limit: float, jobs: bool = False) -> None:
        """Wait until the app has no request in flight (and, with ``jobs``, no tracked job
        still running) and Slack has been quiet a moment; at most ``limit`` seconds."""
        runtime = self.stack.runtime
        assert runtime is not None
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            busy = runtime.work.running > 0
            if not busy and jobs:
                counts = await runtime.store.jobs.count_by_state()
                busy = any(counts.get(state, 0) for state in (STARTING, ACTIVE, NOTIFYING))
            if not busy and time.monotonic() - self.last_activity >= quiet:
                return
            await asyncio.sleep(0.05)


def _token(response_url: str) -> str:
    return response_url.rstrip("/").rsplit("/", 1)[-1]


def _slack_escape(text: str) -> str:
    """Slack sends &, < and > in command text as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


# -- input ----------------------------------------------------------------------------------


async def _stdin_lines() -> AsyncIterator[str]:
    """Lines of stdin, read in a daemon thread so a blocked read never holds up the exit."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        try:
            for line in sys.stdin:
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError, TypeError, RuntimeError):
            pass  # stdin closed or missing: the script simply ends
        with contextlib.suppress(RuntimeError):  # the loop may be closed already
            loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="console-stdin", daemon=True).start()
    while (line := await queue.get()) is not None:
        yield line


async def _file_lines(text: str) -> AsyncIterator[str]:
    for line in text.splitlines():
        yield line


# -- main -----------------------------------------------------------------------------------


class ConsoleRun:
    """One console run: start the stack, read commands, stop everything."""

    def __init__(self, out: Console, *, script_text: str | None, interactive: bool) -> None:
        self.out = out
        self.script_text = script_text
        self.interactive = interactive
        self.user_name = _user_name()
        self.current: asyncio.Task | None = None
        self.prompt: Any = None  # the PromptSession, in interactive mode
        self.quitting = False

    async def run(self, workdir: Path) -> int:
        log_path = workdir / "console.log"
        with _app_logs(log_path) as first_error:
            stack = Stack(workdir, user_name=self.user_name)
            names = Names(users={USER_ID: self.user_name, stack.fake.bot_user_id: "chatops-hub"})
            screen = Screen(self.out, names)
            self.out.print(Text("Starting the vendor sandboxes, a Slack fake and the app…", "dim"))
            try:
                await stack.start()
            except Exception as exc:
                if not isinstance(exc, StartupError):
                    log.exception("the console could not start")
                await stack.stop()
                self.out.print(Text(f"The console could not start: {exc}", "red"))
                reason = first_error.reason()
                if reason:
                    self.out.print(Text(f"Reason: {reason}"))
                return 1
            session = Session(
                stack,
                screen,
                user_name=self.user_name,
                log_path=log_path,
            )
            unsubscribe = stack.fake.on_event(session.on_event)
            self._handle_signals()
            try:
                self.out.print(_banner(self.user_name, self.interactive))
                if self.interactive:
                    await self._interactive(session)
                else:
                    await self._script(session)
                self.out.print(Text("Stopping the app…", "dim"))
            finally:
                self._restore_signals()
                unsubscribe()
                await session.close()
                await stack.stop()
        return 0

    async def _script(self, session: Session) -> None:
        lines = _file_lines(self.script_text) if self.script_text is not None else _stdin_lines()
        async for raw in lines:
            line = raw.strip()
            if not line:
                continue
            self.out.print(Text(f"> {line}", "bold"))
            keep = await self._step(session, line)
            if not keep or self.quitting:
                break
            if not line.startswith("#"):
                await session.settle(quiet=0.3, limit=5)
        if not self.quitting:
            # Jobs about to finish get a moment to deliver their notices.
            await session.settle(quiet=0.5, limit=5, jobs=True)
        await session.report_running_jobs()

    async def _interactive(self, session: Session) -> None:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
        from prompt_toolkit.history import InMemoryHistory
        from prompt_toolkit.patch_stdout import patch_stdout

        prompt: PromptSession[str] = PromptSession(
            history=InMemoryHistory(), auto_suggest=AutoSuggestFromHistory()
        )
        self.prompt = prompt

        async def ask(question: str) -> str:
            return await prompt.prompt_async(
                question, set_exception_handler=False, handle_sigint=False
            )

        session.confirm = ask
        with patch_stdout(raw=True):
            while not self.quitting:
                try:
                    line = await prompt.prompt_async(
                        PROMPT, set_exception_handler=False, handle_sigint=False
                    )
                except KeyboardInterrupt:
                    continue  # Ctrl-C clears the line, like a shell
                except EOFError:
                    break  # Ctrl-D
                if not await self._step(session, line):
                    break
                if line.strip().startswith("/") or line.strip().startswith("click"):
                    await session.settle(quiet=0.15, limit=2)

    async def _step(self, session: Session, line: str) -> bool:
        """Run one command as its own task, so Ctrl-C interrupts the command only."""
        self.current = asyncio.create_task(session.execute(line))
        try:
            return await self.current
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            self.out.print(Text("(interrupted)", "yellow"))
            return not self.quitting
        finally:
            self.current = None

    def _handle_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGINT, self._interrupt)
            loop.add_signal_handler(signal.SIGTERM, self._terminate)

    def _restore_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)

    def _interrupt(self) -> None:
        if not self.interactive:
            self.quitting = True
        if self.current is not None and not self.current.done():
            self.current.cancel()

    def _terminate(self) -> None:
        self.quitting = True
        if self.current is not None and not self.current.done():
            self.current.cancel()
        elif self.prompt is not None and self.prompt.app.is_running:
            self.prompt.app.exit(exception=EOFError())


def _banner(user_name: str, interactive: bool) -> Text:
    text = Text()
    text.append("chatops console", style="bold")
    text.append(
        f": the real app, a Slack fake and the vendor sandboxes, all on this machine. "
        f"You are @{user_name} in #{CHANNEL_NAME}."
    )
    if interactive:
        text.append(" Type ")
        text.append("help", style="bold")
        text.append(" for commands, ")
        text.append("quit", style="bold")
        text.append(" (or Ctrl-D) to leave.")
    return text


class _FirstError(logging.Handler):
    """Keeps the first error logged, to say why the app did not start."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.record: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.record is None:
            self.record = record

    def reason(self) -> str | None:
        if self.record is None:
            return None
        exc = self.record.exc_info[1] if self.record.exc_info else None
        if exc is None:
            return _exception_line(self.record.getMessage())
        while exc.__cause__ is not None or (
            exc.__context__ is not None and not exc.__suppress_context__
        ):
            exc = exc.__cause__ or exc.__context__
        return f"{type(exc).__name__}: {exc}"


def _user_name() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # no user name in this environment (containers, odd platforms)
        name = ""
    name = re.sub(r"[^a-z0-9._-]", "", name.lower())
    return name or "you"


def _exception_line(message: str) -> str:
    """A formatted traceback (as uvicorn logs a failed lifespan) → its exception line."""
    lines = message.strip().splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("Traceback (")]
    if not headers:
        return message.strip()
    for line in lines[headers[-1] + 1 :]:
        if line and not line[0].isspace():
            return line
    return lines[-1]


@contextlib.contextmanager
def _app_logs(path: Path) -> Iterator[_FirstError]:
    """Every log line of the app (and of uvicorn) goes to ``path``, none to the terminal."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    first_error = _FirstError()
    for old in saved_handlers:
        root.removeHandler(old)
    root.addHandler(handler)
    root.addHandler(first_error)
    root.setLevel(logging.INFO)
    noisy = ("apscheduler", "alembic", "httpx", "httpcore", "slack_bolt", "slack_sdk")
    saved_noisy = {name: logging.getLogger(name).level for name in noisy}
    for name in noisy:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    try:
        yield first_error
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.removeHandler(first_error)
        handler.close()
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
        for name, level in saved_noisy.items():
            logging.getLogger(name).setLevel(level)


def _is_tty(stream: Any) -> bool:
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def _loopback_without_proxy() -> None:
    """Everything the console talks to is on 127.0.0.1: never send it through a proxy."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [p for p in os.environ.get(name, "").split(",") if p.strip()]
        for host in ("127.0.0.1", "localhost"):
            if host not in current:
                current.append(host)
        os.environ[name] = ",".join(current)


def main(script: str | None = None) -> int:
    """``chatops console [--script FILE|-]``: 0 on a normal exit."""
    script_text: str | None = None
    if script is not None and script != "-":
        try:
            script_text = Path(script).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"chatops console: cannot read {script}: {exc}", file=sys.stderr)
            return 2
    interactive = script is None and _is_tty(sys.stdin) and _is_tty(sys.stdout)
    out = Console(
        force_terminal=None if _is_tty(sys.stdout) else False,
        highlight=False,
        emoji=False,
    )
    _loopback_without_proxy()
    runner = ConsoleRun(out, script_text=script_text, interactive=interactive)
    try:
        with tempfile.TemporaryDirectory(prefix="chatops-console-") as workdir:
            return asyncio.run(runner.run(Path(workdir)))
    except KeyboardInterrupt:
        return 130
