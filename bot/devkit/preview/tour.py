"""Run a scripted tour exactly as ``chatops console --script`` runs it, and keep what
Slack would show: every message (its final version), every modal the app opened, the
files it uploaded and your Home tab."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from bot.devkit.console.app_logs import app_logs
from bot.devkit.console.errors import ConsoleError
from bot.devkit.console.render import Names, plain
from bot.devkit.console.screen import Screen, Shown
from bot.devkit.console.session import Session
from bot.devkit.console.stack import Stack
from bot.devkit.console.workspace import CHANNEL_ID, CHANNEL_NAME, USER_ID

USER_NAME = "ada"  # "you" in the tour: a fixed name, so the pictures do not depend on who ran it
BOT_NAME = "chatops-hub"
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF8")
SNIPPET_LINES = 12
# `# shot NAME KIND` before a step: picture NAME is the step's first item of KIND.
SHOT = re.compile(r"#\s*shot\s+([a-z0-9][a-z0-9-]*)\s+(message|modal|home|file|step)\s*$")
KINDS = ("message", "modal", "home", "file")
CONVERSATION_PREFIXES = ("C", "D", "G")  # Slack's ids of channels, DMs and group DMs

DEFAULT_TOUR = """\
# The default tour of `chatops preview`: every vertical's cards, forms and the Home page.
# `click LABEL` presses the newest button with that label (the console takes `click N`).
# shot job-running message
/flint run demo:slow.rb seconds=120
# shot job-finished message
/flint run demo:hello.rb name=Ada
/flint run demo:fail.rb
/flint run demo:big.rb lines=300
/flint run demo:echo.rb note="<script>window.pwned = 1</script> & <b>not bold</b>"
/flint help
/flint run demo:echo.rb =value
/flint run
cancel
/mint flows
click Execute
field input={"email": "ada@example.com"}
submit
# shot form modal
/mint execute
field flow=KYC
field input=[1,2]
submit
cancel
/stint post demo order-1 note="check the address" site=https://example.com
/stint post
cancel
/stomt wish the gallery showed every card --label preview
/stomt list
shortcut stomt Could the digest come on Monday mornings?
submit
/mindstamp summary
/mindstamp videos
/mindstamp digest weekly 09:00
/mindstamp digest now
/mindstamp digest now
# shot digest step
/mindstamp digest now
/mint digest now
/stomt digest now
wait 1
# shot home home
home
click Run a Flint flintbit
"""


class PreviewError(Exception):
    """The tour cannot go on; the message says why."""


@dataclass
class Item:
    """One thing Slack would show, as it stood when the tour ended."""

    id: str
    kind: str  # message, modal, home or file
    caption: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""
    title: str = ""
    submit: str = ""
    close: str = ""
    ephemeral: bool = False
    deleted: bool = False
    sender: str = BOT_NAME
    # A form's fields as the person left them: block id → {"value": …, "error": …}.
    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    file: str | None = None  # its copy, relative to the gallery
    image: bool = False
    snippet: str | None = None


@dataclass
class Step:
    line: str
    items: list[Item] = field(default_factory=list)
    shot: tuple[str, str] | None = None  # (picture name, kind)


@dataclass
class Tour:
    steps: list[Step]
    users: dict[str, str]
    channels: dict[str, str]
    files: dict[str, str]  # uploaded file id → its copy, relative to the gallery
    app_error: str | None = None

    def items(self) -> list[Item]:
        return [item for step in self.steps for item in step.items]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Seen:
    """Which step first showed each message, modal and file (their final versions are
    taken at the end)."""

    messages: dict[int, int] = field(default_factory=dict)
    views: dict[str, int] = field(default_factory=dict)
    files: int = 0
    file_steps: list[int] = field(default_factory=list)
    home: int | None = None
    forms: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


def resolve_click(line: str, screen: Screen) -> str:
    """``click LABEL`` → ``click N`` for the newest button labelled LABEL still shown."""
    word, _, rest = line.strip().partition(" ")
    wanted = rest.strip()
    if word.lower() != "click" or not wanted or wanted.split()[0].isdigit():
        return line
    for number in sorted(screen.buttons, reverse=True):
        try:
            _shown, button = screen.current_button(number)
        except ConsoleError:
            continue
        if button.label.strip().lower() == wanted.lower():
            return f"click {number}"
    raise PreviewError(f"“{line.strip()}”: no button labelled “{wanted}” is shown now")


async def run_tour(script: str, *, workdir: Path, out: Path, transcript: Console) -> Tour:
    """Start the console's stack, run ``script`` line by line as the console does, and
    return what Slack would show; uploaded files are copied into ``out / "files"``."""
    with app_logs(out / "app.log") as first_error:
        stack = Stack(workdir, user_name=USER_NAME)
        users = {USER_ID: USER_NAME, stack.fake.bot_user_id: BOT_NAME}
        screen = Screen(transcript, Names(users=dict(users)))
        try:
            await stack.start()
        except Exception as exc:
            await stack.stop()
            reason = first_error.reason()
            raise PreviewError(f"the app could not start: {reason or exc}") from exc
        # The console's own copies of uploaded files go with the rest of the run's state.
        session = Session(
            stack,
            screen,
            user_name=USER_NAME,
            log_path=out / "app.log",
            files_dir=workdir / "files",
        )
        unsubscribe = stack.fake.on_event(session.on_event)
        try:
            steps, seen = await _play(script, session)
            tour = _collect(session, steps, seen, users, out)
        finally:
            unsubscribe()
            await session.close()
            await stack.stop()
        tour.app_error = first_error.reason()
    return tour


async def _play(script: str, session: Session) -> tuple[list[Step], _Seen]:
    steps: list[Step] = []
    seen = _Seen()
    shot: tuple[str, str] | None = None
    for raw in script.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = SHOT.fullmatch(line)
            if match:
                shot = (match.group(1), match.group(2))
            continue
        session.screen.print(Text(f"> {line}", "bold"))
        keep = await session.execute(resolve_click(line, session.screen))
        if not keep:
            break
        await session.settle(quiet=0.3, limit=5)
        steps.append(Step(line, shot=shot))
        shot = None
        _note(session, seen, len(steps) - 1)
    # Notices of jobs about to finish get a moment to arrive, as in the console.
    await session.settle(quiet=0.5, limit=5)
    if steps:
        _note(session, seen, len(steps) - 1)
    return steps, seen


def _note(session: Session, seen: _Seen, step: int) -> None:
    for number, shown in session.screen.messages.items():
        # The console also numbers your Home tab and open forms as if they were messages;
        # only conversations (channels, DMs, groups) hold messages.
        if shown.channel.startswith(CONVERSATION_PREFIXES):
            seen.messages.setdefault(number, step)
    for form in session.forms.stack:
        seen.forms[form.id] = {
            entry.name: {"value": entry.shown_value(session.screen.names), "error": entry.error}
            for entry in form.fields
        }
    fake = session.stack.fake
    for view_id in fake.views:
        seen.views.setdefault(view_id, step)
    seen.file_steps += [step] * (len(fake.files) - seen.files)
    seen.files = len(fake.files)
    if seen.home is None and USER_ID in fake.home_views:
        seen.home = step


def _collect(
    session: Session, steps: list[Step], seen: _Seen, users: dict[str, str], out: Path
) -> Tour:
    fake = session.stack.fake
    screen = session.screen
    files_dir = out / "files"
    files_dir.mkdir(parents=True, exist_ok=True)
    copies: dict[str, str] = {}

    def in_thread(thread: Shown | None, at: int) -> int:
        """Replies go with their thread's first message, as Slack shows them: a notice
        that arrived during a later step is not that step's doing."""
        return seen.messages.get(thread.number, at) if thread is not None else at

    for index, (record, at) in enumerate(zip(fake.files, seen.file_steps, strict=True)):
        item = _file_item(record, index, files_dir, screen)
        if item.file is not None:
            copies[str(record.get("id"))] = item.file
        thread = screen.find(record.get("channel_id"), record.get("thread_ts"))
        steps[in_thread(thread, at)].items.append(item)
    for number, at in sorted(seen.messages.items()):
        shown = screen.messages[number]
        steps[in_thread(screen.thread_of(shown), at)].items.append(_message_item(shown, screen))
    for view_id, at in seen.views.items():
        steps[at].items.append(_view_item(fake.views[view_id], seen.forms.get(view_id, {})))
    if seen.home is not None:
        home = fake.home_views[USER_ID]
        steps[seen.home].items.append(
            Item("home", "home", "your App Home", blocks=list(home.get("blocks") or []))
        )
    order = {kind: rank for rank, kind in enumerate(KINDS)}
    for step in steps:
        step.items.sort(key=lambda item: order[item.kind])
    return Tour(steps, users, {CHANNEL_ID: CHANNEL_NAME}, copies)


def _message_item(shown: Shown, screen: Screen) -> Item:
    where = []
    if shown.ephemeral:
        where.append("only visible to you")
    elif shown.channel != CHANNEL_ID:
        where.append(f"in {shown.channel}")
    thread = screen.thread_of(shown)
    if thread is not None:
        where.append(f"in the thread of #{thread.number}")
    if shown.deleted:
        where.append("deleted")
    caption = f"message #{shown.number}" + (f" — {', '.join(where)}" if where else "")
    return Item(
        f"m{shown.number}",
        "message",
        caption,
        blocks=list(shown.blocks),
        text=shown.text,
        ephemeral=shown.ephemeral,
        deleted=shown.deleted,
        sender=USER_NAME if shown.user == USER_ID else BOT_NAME,
    )


def _view_item(view: dict[str, Any], fields: dict[str, dict[str, str]]) -> Item:
    return Item(
        f"v-{view['id']}",
        "modal",
        f"a form the app opened ({view.get('callback_id') or 'no callback id'})",
        blocks=list(view.get("blocks") or []),
        title=plain(view.get("title")),
        submit=plain(view.get("submit")),
        close=plain(view.get("close")) or "Cancel",
        fields=fields,
    )


def _file_item(record: dict[str, Any], index: int, files_dir: Path, screen: Screen) -> Item:
    content = record.get("content") or b""
    if isinstance(content, str):
        content = content.encode("utf-8")
    name = re.sub(r"[^A-Za-z0-9._-]", "_", str(record.get("filename") or "file"))[:80]
    path = files_dir / f"{index + 1:02d}-{name.lstrip('.') or 'file'}"
    path.write_bytes(content)
    image = content.startswith(IMAGE_MAGIC)
    snippet = None
    if not image:
        lines = content.decode("utf-8", "replace").splitlines()
        snippet = "\n".join(lines[:SNIPPET_LINES])
        if len(lines) > SNIPPET_LINES:
            snippet += f"\n… {len(lines) - SNIPPET_LINES:,} more lines"
    thread = screen.find(record.get("channel_id"), record.get("thread_ts"))
    where = f" in the thread of #{thread.number}" if thread is not None else ""
    return Item(
        f"f{index + 1}",
        "file",
        f"a file the app uploaded{where}",
        text=str(record.get("initial_comment") or ""),
        title=str(record.get("title") or record.get("filename") or "file"),
        file=f"files/{path.name}",
        image=image,
        snippet=snippet,
    )
