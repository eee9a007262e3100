"""The session: what the person types becomes signed Slack requests to the app, and what
the app sends to "Slack" is drawn on the screen."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shlex
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.text import Text

from bot.devkit.console.errors import ConsoleError
from bot.devkit.console.forms import (
    REQUIRED,
    SYNTAX,
    Field,
    Form,
    Forms,
    as_console,
    numbered,
    options_from,
    submission_payload,
    suggestion_payload,
    view_click_payload,
)
from bot.devkit.console.home import HomeTab, opened_body
from bot.devkit.console.render import plain
from bot.devkit.console.screen import Button, Screen, Shown, with_block_ids
from bot.devkit.console.stack import Stack
from bot.devkit.console.workspace import (
    APP_ID,
    CHANNEL_ID,
    CHANNEL_NAME,
    TEAM_DOMAIN,
    TEAM_ID,
    USER_ID,
    VERIFICATION_TOKEN,
)
from bot.devkit.slack_requests import (
    block_actions_payload,
    event_callback_body,
    interaction_body,
    message_shortcut_payload,
    sign,
    slash_command_body,
)
from bot.store.jobs import ACTIVE, NOTIFYING, STARTING
from handlers import COMMANDS, VERTICALS

STEPS = {step.callback_id: step for vertical in VERTICALS for step in vertical.steps}
# `shortcut stomt …`: a vertical's message shortcut by its command's name (or callback id).
SHORTCUTS = {
    name: shortcut.callback_id
    for vertical in VERTICALS
    for shortcut in vertical.shortcuts
    for name in (vertical.slash.lstrip("/"), shortcut.callback_id)
}

log = logging.getLogger(__name__)

ACK_LIMIT = 3.0  # Slack gives up on an acknowledgement after 3 seconds
MAX_WAIT = 600.0

HELP = """\
Type slash commands as in Slack; the real app answers, through a Slack fake.

  /flint run demo:hello.rb name=Ada     run a flintbit in the background
  /flint run demo:slow.rb seconds=5     a longer job: watch its card change
  /flint run demo:fail.rb               a failing job and its failure notice
  /flint run demo:big.rb                long output, attached as a file
  /flint run demo:hello.rb --sync       wait for the result before answering
  /flint result JOB_ID                  a job's status and output
  /flint help                           the command's own usage

  step ID name=value …
                    run a Workflow Builder step as a workflow would, with you as its
                    user and #console as its channel, and show its outputs, e.g.
                    step flint_run flintbit=demo:hello.rb inputs="name=Ada"
                    (\\n in a value is a line break; channel_id= runs it with no card)
  home              open your Home tab (recent jobs, digests, vendors, quick actions)
  shortcut stomt TEXT
                    write TEXT in #console and use the message shortcut "Send to STOMT
                    as a wish" on it (shortcut stomt #N: on message #N instead)
  click N           press button [N] (on the current version of its message or form)

  Forms (modals) the app opens are drawn with numbered, named fields:
  field NAME=VALUE  fill in a field (NAME or its number): text as typed (\\n a line
                    break); an option by its value, label or number; #channel; @user
                    or me; several options comma-separated; nothing after = empties it.
                    A searched field (external_select) asks the app's options with VALUE.
  submit            send the form; errors the app finds are shown on their fields
  cancel            close the form (a stacked one goes back to the one below)
  form              show the open form again
  In a terminal the console asks for each field in turn (Enter keeps a value).
  show N            show message #N again, in full
  wait SECONDS      let notices arrive (useful in scripts)
  log [LINES]       the last lines of the app's own log
  help              this text
  quit              leave (also exit, or Ctrl-D)

Demo flintbits in the Flint sandbox: hello.rb, slow.rb, fail.rb, echo.rb, big.rb, abort.rb."""


@dataclass
class _Origin:
    """What a response_url we handed out belongs to."""

    number: int | None  # the message it may replace
    bound: bool  # the fake applies replace/delete itself (public messages)


class Session:
    """Turns what the person types into Slack requests, and what Slack shows into text."""

    def __init__(
        self,
        stack: Stack,
        screen: Screen,
        *,
        user_name: str,
        log_path: Path,
        files_dir: Path | None = None,
    ) -> None:
        self.stack = stack
        self.screen = screen
        self.user_name = user_name
        self.log_path = log_path
        self.http = httpx.AsyncClient(timeout=30, trust_env=False)
        self.origins: dict[str, _Origin] = {}
        self.last_activity = time.monotonic()
        self.confirm: Callable[[str], Any] | None = None
        self.home = HomeTab(screen)
        self.forms = Forms(screen)
        # Uploaded files (charts) are kept after the console exits, to be opened.
        self.files_dir = files_dir
        self.files_saved = 0
        self._told_syntax = False

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
            found = screen.find(data.get("channel"), data.get("ts"))
            if found is None:
                self._on_event("posted", data)
                return
            found.text = str(data.get("text") or "")
            found.blocks = with_block_ids(data.get("blocks") or [])
            screen.show(found, f"updated message #{found.number}")
        elif kind == "deleted":
            found = screen.find(data.get("channel"), data.get("ts"))
            if found is not None:
                found.deleted = True
                screen.note(f"message #{found.number} was deleted")
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
            self._show_file(data)
        elif kind in ("function_completed", "function_failed"):
            self._show_step_end(str(data.get("execution_id")))
        elif kind == "home_published":
            self.home.published(data)
        elif kind in ("view_opened", "view_pushed"):
            if self.forms.opened(data, push=kind == "view_pushed").fields:
                self._tell_syntax()
        elif kind == "view_updated":
            self.forms.updated(data)

    def _tell_syntax(self) -> None:
        if not self._told_syntax:
            self._told_syntax = True
            self.screen.note(SYNTAX)

    def _show_file(self, data: dict[str, Any]) -> None:
        raw = data.get("content")
        content = bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw or "").encode()
        filename = str(data.get("filename") or "")
        saved = self._save_file(filename or str(data.get("id") or "file"), content)
        text: str | None = None
        if b"\0" not in content:
            try:
                text = content.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        thread = self.screen.find(data.get("channel_id"), data.get("thread_ts"))
        self.screen.file(
            str(data.get("title") or ""),
            filename,
            text,
            thread,
            saved=saved,
            size=len(content),
            alt=str(data.get("alt_txt") or ""),
        )

    def _save_file(self, filename: str, content: bytes) -> Path:
        if self.files_dir is None:
            self.files_dir = Path(tempfile.mkdtemp(prefix="chatops-console-files-"))
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.files_saved += 1
        safe = re.sub(r"[^\w.-]+", "_", Path(filename).name).lstrip(".") or "file"
        path = self.files_dir / f"{self.files_saved:02d}-{safe}"
        path.write_bytes(content)
        return path

    def _show_step_end(self, execution_id: str) -> None:
        run = self.stack.fake.executions.get(execution_id)
        if run is None:
            return
        if run.state == "failed":
            self.screen.note(f"step {run.callback_id} failed: {run.error}", "red")
            return
        lines = [f"step {run.callback_id} completed; its outputs:"]
        for name, value in (run.outputs or {}).items():
            shown = value if isinstance(value, str) else json.dumps(value)
            lines.append(f"  {name} = {_clip(shown.replace(chr(10), ' '), 200)}")
        self.screen.print(Text("\n".join(lines), "green"))

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
            target.blocks = with_block_ids(data.get("blocks") or [])
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
            elif word == "home":
                await self.open_home()
            elif word == "step":
                await self.step(rest)
            elif word == "shortcut":
                await self.shortcut(rest)
            elif word == "field":
                await self.field(rest)
            elif word == "submit":
                await self.submit()
            elif word == "cancel":
                self.cancel()
            elif word == "form":
                form = self.forms.require()
                self.forms.draw(form, "open")
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
        response_url = self.stack.fake.response_url(self.stack.slack_url)
        origin = _Origin(number=None, bound=False)
        self.origins[_token(response_url)] = origin
        body = slash_command(
            command.lower(),
            _slack_escape(text.strip()),
            user_name=self.user_name,
            response_url=response_url,
        )
        response = await self._send(command, body)
        if response is None:
            return
        shown = self._show_ack(response)
        if shown is not None:
            origin.number = shown.number

    async def step(self, rest: str) -> None:
        """A workflow reaches one of the app's steps, with you as "Person who used this
        workflow"; its outputs are shown when the app completes it."""
        try:
            words = shlex.split(rest)
        except ValueError as exc:
            raise ConsoleError(f"Could not read that: {exc}.") from None
        known = ", ".join(sorted(STEPS))
        if not words or words[0] not in STEPS:
            raise ConsoleError(f"Say which step: step ID key=value … (steps: {known}).")
        inputs: dict[str, Any] = {"user_id": USER_ID, "channel_id": CHANNEL_ID}
        names = {"user_id", "channel_id", *(p.name for p in STEPS[words[0]].inputs)}
        for word in words[1:]:
            name, equals, value = word.partition("=")
            if not equals or name not in names:
                raise ConsoleError(
                    f"“{_clip(word)}” is not an input of {words[0]} "
                    f"(inputs: {', '.join(sorted(names))}; write name=value)."
                )
            inputs[name] = value.replace("\\n", "\n")
        if not inputs["channel_id"]:
            del inputs["channel_id"]
        event = self.stack.fake.execute_function(words[0], inputs)
        body = event_callback_body(
            event, team_id=TEAM_ID, api_app_id=APP_ID, token=VERIFICATION_TOKEN
        )
        self.screen.note(f"(a workflow ran the step {words[0]})")
        await self._send(f"step {words[0]}", body, content_type="application/json")

    async def click(self, rest: str) -> None:
        args = rest.replace("[", " ").replace("]", " ").replace("#", " ").split()
        if not args or not args[0].isdigit():
            raise ConsoleError("Say which button: click N (the number in [N]).")
        shown, button = self.screen.current_button(int(args[0]))
        if not await self._confirmed(button, args[1:]):
            self.screen.note("Not clicked.")
            return
        if self.home.owns(shown):
            await self._click_home(button)
            return
        if self.forms.owns(shown):
            await self._click_form(shown, button)
            return
        if shown.ephemeral or (shown.channel, shown.ts) not in self.stack.fake.messages:
            # Ephemeral, or posted in the channel through a response_url: the fake keeps
            # no such message, so the console itself applies replace_original and
            # delete_original to what it shows.
            response_url = self.stack.fake.response_url(self.stack.slack_url)
            self.origins[_token(response_url)] = _Origin(shown.number, bound=False)
        else:
            response_url = self.stack.fake.response_url(
                self.stack.slack_url, channel_id=shown.channel, message_ts=shown.ts
            )
            self.origins[_token(response_url)] = _Origin(shown.number, bound=True)
        payload = click_payload(shown, button, user_name=self.user_name, response_url=response_url)
        self.screen.note(f"(clicked [{button.number}] {button.label} on message #{shown.number})")
        body = interaction_body(payload)
        await self._send(f"button “{button.label}”", body)

    async def open_home(self) -> None:
        """You click the app's Home tab: the app publishes your page, drawn when it comes."""
        self.home.wanted = True
        await self._send("opening the Home tab", opened_body(), content_type="application/json")

    async def _click_home(self, button: Button) -> None:
        payload = self.home.click_payload(button, user_name=self.user_name)
        self.screen.note(f"(clicked [{button.number}] {button.label} on your Home tab)")
        await self._send(f"button “{button.label}”", interaction_body(payload))

    # -- message shortcuts and forms ----------------------------------------------------

    async def shortcut(self, rest: str) -> None:
        """You write a message in #console (or pick message #N) and use one of the app's
        message shortcuts on it: Slack sends ``message_action``; the app opens its form."""
        name, _, text = rest.strip().partition(" ")
        callback_id = SHORTCUTS.get(name.lower())
        if callback_id is None:
            known = ", ".join(sorted(n for n in SHORTCUTS if n != SHORTCUTS[n])) or "none"
            raise ConsoleError(f"Say which shortcut: shortcut NAME TEXT (shortcuts: {known}).")
        text = text.strip()
        if not text:
            raise ConsoleError(f"Say the message to use it on: shortcut {name} TEXT.")
        picked = re.fullmatch(r"#(\d+)", text)
        if picked and int(picked[1]) in self.screen.messages:
            shown = self.screen.messages[int(picked[1])]
        else:
            shown = self.screen.add(
                channel=CHANNEL_ID, ts=None, text=_slack_escape(text), blocks=None, user=USER_ID
            )
            self.screen.show(shown, f"#{shown.number}  @{self.user_name} (you)")
        message: dict[str, Any] = {
            "type": "message",
            "ts": shown.ts,
            "text": shown.text,
            "user": shown.user or self.stack.fake.bot_user_id,
        }
        if shown.blocks:
            message["blocks"] = shown.blocks
        if shown.thread_ts:
            message["thread_ts"] = shown.thread_ts
        response_url = self.stack.fake.response_url(self.stack.slack_url)
        self.origins[_token(response_url)] = _Origin(None, bound=False)
        payload = as_console(
            message_shortcut_payload(
                callback_id,
                message,
                channel_id=shown.channel,
                user_id=USER_ID,
                response_url=response_url,
                team_id=TEAM_ID,
            ),
            self.user_name,
        )
        payload["channel"] = {
            "id": shown.channel,
            "name": self.screen.names.channels.get(shown.channel, shown.channel),
        }
        self.screen.note(f"(used the shortcut {callback_id} on message #{shown.number})")
        await self._send(f"the shortcut {name}", interaction_body(payload))

    async def field(self, rest: str) -> None:
        """``field NAME=VALUE``: fill in a field of the open form."""
        form = self.forms.require()
        name, equals, value = rest.partition("=")
        if not equals or not name.strip():
            raise ConsoleError(f"Write field NAME=VALUE. {_fields(form)}")
        entry = form.field(name.strip())
        await self._choose(form, entry, value)
        self.screen.note(f"{entry.name} = {entry.shown_value(self.screen.names) or '(empty)'}")

    async def _choose(self, form: Form, entry: Field, value: str) -> list[dict[str, Any]] | None:
        """Set ``entry``; a searched field asks the app's options listener first. Returns
        the options the app offered (None for a field with options of its own)."""
        offered = await self._offered(form, entry, value.strip()) if entry.external else None
        if offered is not None and not value.strip():
            offered = None  # emptying a searched field needs no options
        entry.choose(value, self.screen.names, offered)
        return offered

    async def _offered(self, form: Form, entry: Field, query: str) -> list[dict[str, Any]]:
        """What Slack shows as you type ``query``: the app's options listener's answer."""
        least = entry.element.get("min_query_length", 3)
        if isinstance(least, int) and len(query) < least:
            raise ConsoleError(
                f"{entry.label}: Slack asks the app for options once {least} characters are typed."
            )
        payload = suggestion_payload(form, entry, query, user_name=self.user_name)
        response = await self._send(f"the options of “{entry.label}”", interaction_body(payload))
        if response is None:
            raise ConsoleError(f"Slack would show no options for {entry.label}.")
        try:
            body = response.json()
        except ValueError:
            body = None
        return options_from(body)

    async def submit(self) -> None:
        """Send the open form as Slack does, and show what the app answered."""
        form = self.forms.require()
        if not form.submittable:
            raise ConsoleError(
                f"Form #{form.shown.number} “{form.title}” has no submit button, only "
                "Close: `cancel` closes it."
            )
        missing = form.missing()
        if missing:
            for entry in missing:
                entry.error = REQUIRED
            form.prompted = False
            self.forms.draw(form, "not sent")
            raise ConsoleError("Slack would not send the form: fill in the fields marked ✗.")
        for entry in form.fields:
            entry.error = ""
        self.screen.note(f"(submitted form #{form.shown.number} “{form.title}”)")
        payload = submission_payload(form, user_name=self.user_name)
        response = await self._send(f"the form “{form.title}”", interaction_body(payload))
        if response is None:
            return
        try:
            answer = response.json() if response.content.strip() else {}
        except ValueError:
            answer = {}
        self._answered(form, answer if isinstance(answer, dict) else {})

    def _answered(self, form: Form, answer: dict[str, Any]) -> None:
        """The app's acknowledgement of a submission: ``response_action`` decides."""
        action = answer.get("response_action")
        if action == "errors":
            named = answer.get("errors")
            errors: dict[str, Any] = named if isinstance(named, dict) else {}
            for entry in form.fields:
                entry.error = str(errors.get(entry.name) or "")
            form.prompted = False
            self.forms.draw(form, "sent back with errors")
            strays = sorted(set(errors) - {f.name for f in form.fields})
            if strays:
                self.screen.note(
                    "Slack would refuse this answer: errors for blocks the form has no input "
                    f"named {', '.join(strays)}.",
                    "red",
                )
            self.screen.note("Fix the fields marked ✗ and `submit` again (or `cancel`).")
        elif action in ("update", "push") and isinstance(answer.get("view"), dict):
            if action == "update":
                self.forms.updated({**answer["view"], "id": form.id})
            else:
                # Slack gives a pushed view its own id; the fake never saw this one.
                view_id = f"V{secrets.token_hex(5).upper()}"
                self.forms.opened({**answer["view"], "id": view_id}, push=True)
        elif action == "clear":
            self.forms.closed(everything=True)
            self.screen.note("(the app closed every open form)")
        else:
            self.forms.closed()
            self.screen.note(f"(form #{form.shown.number} “{form.title}” closed)")
            if self.forms.current is not None:
                self.forms.draw(self.forms.current, "back on top")

    def cancel(self) -> None:
        form = self.forms.require()
        self.forms.closed()
        self.screen.note(f"(form #{form.shown.number} “{form.title}” cancelled)")
        if self.forms.current is not None:
            self.forms.draw(self.forms.current, "back on top")

    async def _click_form(self, shown: Shown, button: Button) -> None:
        form = next((f for f in self.forms.stack if f.shown is shown), None)
        if form is None:
            raise ConsoleError(f"Form #{shown.number} is closed.")
        payload = view_click_payload(
            form, button.element, button.block_id, user_name=self.user_name
        )
        self.screen.note(f"(clicked [{button.number}] {button.label} on form #{shown.number})")
        await self._send(f"button “{button.label}”", interaction_body(payload))

    async def prompt_forms(self) -> None:
        """Interactive mode: ask for the fields of a form the app just opened (or sent
        back with errors: those fields only), then submit it unless the person says no."""
        ask = self.confirm
        while ask is not None and (form := self.forms.current) is not None and not form.prompted:
            form.prompted = True
            if not form.submittable:
                # Only shown, as a job's full output is: nothing to fill in or send.
                self.screen.note("`cancel` closes it.")
                return
            wanted = [f for f in form.fields if f.error] or form.fields
            self.screen.note("Fill in the form: Enter keeps a value, - empties it.")
            try:
                for entry in wanted:
                    await self._prompt_field(form, entry, ask)
                reply = await ask(f"Submit “{form.submit_label}”? [Y/n] ")
            except (KeyboardInterrupt, EOFError):
                reply = "n"
            if str(reply).strip().lower() in ("n", "no"):
                self.screen.note("The form stays open: `field NAME=VALUE`, `submit`, `cancel`.")
                return
            try:
                await self.submit()
            except ConsoleError as exc:
                self.screen.note(str(exc), "yellow")

    async def _prompt_field(self, form: Form, entry: Field, ask: Callable[[str], Any]) -> None:
        names = self.screen.names
        if entry.error:
            self.screen.note(f"✗ {entry.error}", "bold red")
        while True:
            current = entry.shown_value(names).replace("\n", "\\n")
            optional = ", optional" if entry.optional else ""
            typed = str(await ask(f"{entry.label} ({entry.name}{optional}) [{current}]: "))
            if not typed.strip():
                return
            value = "" if typed.strip() == "-" else typed
            try:
                if not entry.external or not value.strip():
                    entry.choose(value, names)
                    return
                offered = await self._offered(form, entry, value.strip())
                try:
                    entry.choose(value, names, offered)
                    return
                except ConsoleError:
                    if not offered:
                        raise
                self.screen.note(numbered(offered))
                entry.choose(str(await ask("Which one? ")), names, offered)
                return
            except ConsoleError as exc:
                self.screen.note(str(exc), "yellow")

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

    async def _send(
        self, what: str, body: bytes, content_type: str = "application/x-www-form-urlencoded"
    ) -> httpx.Response | None:
        """Post ``body`` to the app as Slack does, saying what Slack would if the app fails
        or is slow to acknowledge ``what``; the response, or None if it failed."""
        response, seconds = await self._post(body, content_type)
        if response.status_code != 200:
            self._failed(what, response)
            return None
        self._slow(what, seconds)
        return response

    async def _post(
        self, body: bytes, content_type: str = "application/x-www-form-urlencoded"
    ) -> tuple[httpx.Response, float]:
        assert self.stack.app is not None
        headers = sign(body, self.stack.signing_secret)
        headers["Content-Type"] = content_type
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


def slash_command(command: str, text: str, *, user_name: str, response_url: str) -> bytes:
    """A slash command typed by you in #console, as Slack posts it to the app."""
    return slash_command_body(
        command,
        text,
        user_id=USER_ID,
        user_name=user_name,
        channel_id=CHANNEL_ID,
        channel_name=CHANNEL_NAME,
        team_id=TEAM_ID,
        team_domain=TEAM_DOMAIN,
        api_app_id=APP_ID,
        token=VERIFICATION_TOKEN,
        response_url=response_url,
    )


def click_payload(
    shown: Shown, button: Button, *, user_name: str, response_url: str
) -> dict[str, Any]:
    """Your click on ``button`` as Slack sends it: with the current version of its message
    (unless ephemeral) and the button's own text and style."""
    element = button.element
    message = {
        "type": "message",
        "ts": shown.ts,
        "text": shown.text,
        "blocks": shown.blocks,
        "user": shown.user,
        "team": TEAM_ID,
    }
    return block_actions_payload(
        button.action_id,
        button.value,
        block_id=button.block_id,
        text=element.get("text") or {"type": "plain_text", "text": button.label},
        style=element.get("style"),
        message=message,
        message_ts=shown.ts,
        thread_ts=shown.thread_ts,
        is_ephemeral=shown.ephemeral,
        channel_id=shown.channel,
        channel_name=CHANNEL_NAME,
        user_id=USER_ID,
        user_name=user_name,
        team_id=TEAM_ID,
        team_domain=TEAM_DOMAIN,
        api_app_id=APP_ID,
        token=VERIFICATION_TOKEN,
        response_url=response_url,
    )


def _fields(form: Form) -> str:
    return "Fields: " + ", ".join(f.name for f in form.fields) + "." if form.fields else ""


def _token(response_url: str) -> str:
    return response_url.rstrip("/").rsplit("/", 1)[-1]


def _slack_escape(text: str) -> str:
    """Slack sends &, < and > in command text as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
