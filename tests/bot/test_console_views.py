"""``chatops console``: a view the app opens only to show something (a job's full output)
has no Submit button in Slack, so the console neither offers nor sends one."""

from __future__ import annotations

import asyncio

import pytest
from rich.console import Console

from bot.devkit.console.errors import ConsoleError
from bot.devkit.console.forms import SYNTAX
from bot.devkit.console.render import Names
from bot.devkit.console.screen import Screen
from bot.devkit.console.session import Session
from bot.devkit.console.stack import Stack
from bot.devkit.console.workspace import USER_ID


async def test_a_view_that_only_shows_the_full_output_is_never_submitted(tmp_path):
    """In a terminal, **Full output** opens the output modal: the console does not ask
    for fields or "Submit?" (it used to, and then sent a submission the app has no
    listener for); `submit` is refused with how to close it, and the fill-in hint is
    not shown for a view with nothing to fill in."""
    stack = Stack(tmp_path, user_name="ada")
    out = Console(width=200, force_terminal=False, color_system=None, record=True)
    screen = Screen(out, Names(users={USER_ID: "ada"}))
    await stack.start()
    session = Session(stack, screen, user_name="ada", log_path=tmp_path / "console.log")
    unsubscribe = stack.fake.on_event(session.on_event)
    asked: list[str] = []

    async def ask(question: str) -> str:
        asked.append(question)
        return "y"

    session.confirm = ask
    try:
        await session.execute("/flint run demo:big.rb --sync")
        for _ in range(150):
            full = [n for n, b in screen.buttons.items() if b.label == "Full output"]
            if full:
                break
            await asyncio.sleep(0.1)
        assert full, out.export_text()
        await session.execute(f"click {full[0]}")
        await session.settle(quiet=0.3, limit=5)
        assert session.forms.current is not None and session.forms.current.title == "Flint output"
        await session.prompt_forms()
        with pytest.raises(ConsoleError, match=r"no submit button.*`cancel` closes it"):
            await session.submit()
    finally:
        unsubscribe()
        await session.close()
        await stack.stop()
    assert asked == []
    text = out.export_text()
    assert "submitted form" not in text and "failed with the error" not in text
    assert SYNTAX.split(" (")[0] not in text
    assert session.forms.current is not None  # still open until `cancel`
