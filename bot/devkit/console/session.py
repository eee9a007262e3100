"""The session: what the person types becomes signed Slack requests to the app, and what
the app sends to "Slack" is drawn on the screen."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import shlex
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.text import Text

from bot.devkit.console.errors import ConsoleError
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
    sign,
    slash_command_body,
)
from bot.store.jobs import ACTIVE, NOTIFYING, STARTING
from handlers import COMMANDS, VERTICALS

STEPS = {step.callback_id: step for vertical in VERTICALS for step in vertical.steps}

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
  click N           press button [N] (on the current version of its message)
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

    def __init__(self, stack: Stack, screen: Screen, *, user_name: str, log_path: Path) -> None:
        self.stack = stack
        self.screen = screen
        self.user_name = user_name
        self.log_path = log_path
        self.http = httpx.AsyncClient(timeout=30, trust_env=False)
        self.origins: dict[str, _Origin] = {}
        self.last_activity = time.monotonic()
        self.confirm: Callable[[str], Any] | None = None
        self.home = HomeTab(screen)

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
            content = data.get("content")
            if isinstance(content, bytes | bytearray):
                content = bytes(content).decode("utf-8", "replace")
            thread = screen.find(data.get("channel_id"), data.get("thread_ts"))
            screen.file(
                str(data.get("title") or ""), str(data.get("filename") or ""), content, thread
            )
        elif kind in ("function_completed", "function_failed"):
            self._show_step_end(str(data.get("execution_id")))
        elif kind == "home_published":
            self.home.published(data)
        elif kind in ("view_opened", "view_pushed", "view_updated"):
            title = plain(data.get("title")) or "untitled"
            screen.note(
                f"The app opened a dialog “{title}”; dialogs (modals) are not shown in "
                "the console.",
                "yellow",
            )

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
        response, seconds = await self._post(body)
        if response.status_code != 200:
            self._failed(command, response)
            return
        self._slow(command, seconds)
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
        response, seconds = await self._post(body, content_type="application/json")
        if response.status_code != 200:
            self._failed(f"step {words[0]}", response)
            return
        self._slow(f"step {words[0]}", seconds)

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
        if shown.ephemeral:
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
        response, seconds = await self._post(body)
        if response.status_code != 200:
            self._failed(f"button “{button.label}”", response)
            return
        self._slow(f"button “{button.label}”", seconds)

    async def open_home(self) -> None:
        """You click the app's Home tab: the app publishes your page, drawn when it comes."""
        self.home.wanted = True
        response, seconds = await self._post(opened_body(), content_type="application/json")
        if response.status_code != 200:
            self._failed("opening the Home tab", response)
            return
        self._slow("opening the Home tab", seconds)

    async def _click_home(self, button: Button) -> None:
        payload = self.home.click_payload(button, user_name=self.user_name)
        self.screen.note(f"(clicked [{button.number}] {button.label} on your Home tab)")
        response, seconds = await self._post(interaction_body(payload))
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


def _token(response_url: str) -> str:
    return response_url.rstrip("/").rsplit("/", 1)[-1]


def _slack_escape(text: str) -> str:
    """Slack sends &, < and > in command text as HTML entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
