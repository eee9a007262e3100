"""One console run: start the stack, read lines from the prompt or a script, stop."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
import os
import re
import signal
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.text import Text

from bot.devkit.console.app_logs import app_logs
from bot.devkit.console.errors import StartupError
from bot.devkit.console.render import Names
from bot.devkit.console.screen import Screen
from bot.devkit.console.session import Session
from bot.devkit.console.stack import Stack
from bot.devkit.console.workspace import CHANNEL_NAME, USER_ID

log = logging.getLogger(__name__)

PROMPT = "> "

T = TypeVar("T")


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

    def __init__(
        self,
        out: Console,
        *,
        script_text: str | None,
        interactive: bool,
        policy: str | None = None,
    ) -> None:
        self.out = out
        self.policy = policy
        self.script_text = script_text
        self.interactive = interactive
        self.user_name = _user_name()
        self.current: asyncio.Task | None = None
        self.prompt: Any = None  # the PromptSession, in interactive mode
        self.quitting = False

    async def run(self, workdir: Path) -> int:
        log_path = workdir / "console.log"
        with app_logs(log_path) as first_error:
            stack = Stack(workdir, user_name=self.user_name, policy=self.policy)
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
                if line.strip().startswith(("/", "click", "home", "shortcut", "submit")):
                    await session.settle(quiet=0.15, limit=2)
                # A form the app opened (or sent back with errors) is asked for at once.
                await self._run(session.prompt_forms())

    async def _step(self, session: Session, line: str) -> bool:
        """Run one command as its own task, so Ctrl-C interrupts the command only."""
        done = await self._run(session.execute(line))
        return not self.quitting if done is None else done

    async def _run(self, work: Coroutine[Any, Any, T]) -> T | None:
        """``work`` as its own task; None when Ctrl-C interrupted it."""
        self.current = asyncio.create_task(work)
        try:
            return await self.current
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            self.out.print(Text("(interrupted)", "yellow"))
            return None
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


def _user_name() -> str:
    try:
        name = getpass.getuser()
    except Exception:  # no user name in this environment (containers, odd platforms)
        name = ""
    name = re.sub(r"[^a-z0-9._-]", "", name.lower())
    return name or "you"


def _is_tty(stream: Any) -> bool:
    return stream is not None and hasattr(stream, "isatty") and stream.isatty()


def loopback_without_proxy() -> None:
    """Everything the console (and the preview) talks to is on 127.0.0.1: never send it
    through a proxy."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [p for p in os.environ.get(name, "").split(",") if p.strip()]
        for host in ("127.0.0.1", "localhost"):
            if host not in current:
                current.append(host)
        os.environ[name] = ",".join(current)


def main(script: str | None = None, policy: str | None = None) -> int:
    """``chatops console [--script FILE|-] [--policy FILE]``: 0 on a normal exit."""
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
    loopback_without_proxy()
    if policy is not None:
        policy = str(Path(policy).resolve())
    runner = ConsoleRun(out, script_text=script_text, interactive=interactive, policy=policy)
    try:
        with tempfile.TemporaryDirectory(prefix="chatops-console-") as workdir:
            return asyncio.run(runner.run(Path(workdir)))
    except KeyboardInterrupt:
        return 130
