"""``chatops console``: the whole stack from the command line, and its pieces on their own."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from slack_sdk.signature import SignatureVerifier

from bot.devkit.console import main
from bot.devkit.console.errors import ConsoleError
from bot.devkit.console.render import Names, mrkdwn
from bot.devkit.console.screen import Screen, with_block_ids
from bot.devkit.console.session import click_payload
from bot.devkit.console.workspace import USER_ID
from bot.devkit.slack_requests import sign

REPO = Path(__file__).resolve().parents[2]

SCRIPT = """\
/flint help
/flint run demo:hello.rb name=Ada
wait 3
click 2
wait 2
/flint run demo:fail.rb
wait 3
click 99
frobnicate
wait soon
quit
/flint run demo:hello.rb name=NeverRun
"""


def run_console(tmp_path: Path, script: str, *options: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "session.txt"
    path.write_text(script, encoding="utf-8")
    # A .env and environment that would break the app if the console read them.
    (tmp_path / ".env").write_text("SLACK_APP_TOKEN=xapp-from-dotenv\n", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SLACK_APP_TOKEN": "xapp-from-environment",
        "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/nowhere",
        "FLINT_URL": "http://127.0.0.1:1/flint",
        # Wide enough that no path in tmp_path (longer under pytest-xdist) is folded.
        "COLUMNS": "250",
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "console", "--script", str(path), *options],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_scripted_session_drives_the_real_app_from_the_command_line(tmp_path):
    """A script runs /flint against the real app and shows its cards, buttons and notices."""
    result = run_console(tmp_path, SCRIPT)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "> /flint help" in out
    assert "/flint run BOX:BIT" in out and "/flint result JOB_ID" in out
    assert "(only visible to you)" in out
    assert re.search(r"Flint demo:hello\.rb — complete", out)
    assert "Hello, Ada!" in out
    assert re.search(r"\[1\] Re-run\s+\[2\] Refresh", out)
    assert "updated message #2" in out
    assert "(clicked [2] Refresh on message #2)" in out
    assert re.search(r"Flint demo:fail\.rb — error", out)
    assert re.search(r"in the thread of #\d+", out)
    assert "ended error (exit code 1)" in out
    assert "There is no button [99]" in out
    assert "Unknown command “frobnicate”" in out
    assert "wait takes a number of seconds" in out
    assert "NeverRun" not in out.split("> quit", 1)[1]


STOMT_AND_STINTMINT = """\
/stomt wish the console showed every vendor --label console
/stint post demo order-77 note="check the address" site=https://example.com
wait 6
quit
"""


def test_console_shows_stomt_and_a_stintmint_callback_arriving(tmp_path):
    """STOMT and Stintmint work in the console, the Stintmint result arriving by callback."""
    result = run_console(tmp_path, STOMT_AND_STINTMINT)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "I wish the console showed every vendor" in out
    assert "stomt.co/" in out
    assert "Result by" in out and "callback" in out
    assert "completed" in out and "the responses for order-77 are in" in out
    assert "Traceback" not in out + result.stderr


def test_missing_script_file_is_a_short_error(tmp_path, capsys):
    """A script path that cannot be read gives exit code 2 and one line, no traceback."""
    assert main(script=str(tmp_path / "missing.txt")) == 2
    err = capsys.readouterr().err
    assert err.startswith("chatops console: cannot read") and "Traceback" not in err


def test_signature_is_accepted_by_slack_sdk():
    """Requests are signed exactly as slack_sdk's SignatureVerifier expects."""
    body = b"command=%2Fflint&text=help"
    headers = sign(body, "s3cret")
    verifier = SignatureVerifier("s3cret")
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verifier.is_valid_request(body, lowered)
    assert not SignatureVerifier("other").is_valid_request(body, lowered)


def render(renderable, width: int = 100) -> str:
    out = Console(width=width, force_terminal=False, color_system=None, record=True)
    with out.capture() as captured:
        out.print(renderable)
    return captured.get()


def test_mrkdwn_is_readable_as_plain_text():
    """Bold, code, code blocks, mentions, links and Slack's escapes become plain words."""
    names = Names(users={"U0CONSOLE": "ada"})
    text = (
        "*Status* `demo:hello.rb` for <@U0CONSOLE> in <#C0CONSOLE> "
        "&lt;b&gt; &amp; <https://x.test|docs> :tada:\n```line 1\nline 2```"
    )
    shown = "\n".join(line.rstrip() for line in render(mrkdwn(text, names)).splitlines())
    expected = "Status demo:hello.rb for @ada in #console <b> & docs (https://x.test) :tada:"
    assert expected in shown
    assert "    line 1\n    line 2" in shown
    assert "*" not in shown and "`" not in shown


def card(label: str = "Refresh", value: str = "job1") -> list[dict]:
    return [
        {"type": "header", "text": {"type": "plain_text", "text": "Job"}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Status*\nrunning"}]},
        {"type": "divider"},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Flint says: hi"}]},
        {
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Re-run"},
                 "action_id": "rerun", "value": value},
                {"type": "button", "text": {"type": "plain_text", "text": label},
                 "action_id": "refresh", "value": value},
            ],
        },
    ]  # fmt: skip


def test_buttons_keep_their_numbers_across_updates_and_follow_the_current_version():
    """An updated card keeps [1] [2]; a click uses the current version; a gone button says so."""
    out = Console(width=100, force_terminal=False, color_system=None, record=True)
    screen = Screen(out, Names())
    shown = screen.add(channel="C1", ts="1.000100", text="job", blocks=card())
    screen.show(shown, "#1")
    shown.blocks = with_block_ids(card(label="Refresh now"))
    screen.show(shown, "updated message #1")
    text = out.export_text()
    assert text.count("[1] Re-run  [2] Refresh") == 2
    assert "[2] Refresh now" in text
    assert "Job" in text and "Status" in text and "Flint says: hi" in text
    message, button = screen.current_button(2)
    assert (message.number, button.label, button.block_id) == (1, "Refresh now", "b4")
    shown.blocks = with_block_ids(card(value="job2"))
    with pytest.raises(ConsoleError, match=r"no longer on message #1"):
        screen.current_button(2)
    with pytest.raises(ConsoleError, match=r"no button \[7\]"):
        screen.current_button(7)


def test_block_actions_payload_looks_like_slack():
    """A click carries the message's current blocks, the button and a response_url."""
    screen = Screen(Console(force_terminal=False), Names())
    shown = screen.add(channel="C0CONSOLE", ts="1.000100", text="job", blocks=card())
    screen.render(shown)
    _, button = screen.current_button(1)
    payload = click_payload(shown, button, user_name="ada", response_url="http://fake/respond/t")
    json.dumps(payload)
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message",
        "message_ts": "1.000100",
        "channel_id": "C0CONSOLE",
        "is_ephemeral": False,
    }
    assert payload["message"]["blocks"] == shown.blocks
    (action,) = payload["actions"]
    assert action["action_id"] == "rerun" and action["value"] == "job1"
    assert action["block_id"] == "b4" and action["type"] == "button"
    assert payload["user"]["id"] == USER_ID and payload["response_url"]


def test_console_tries_an_access_policy(tmp_path):
    """An admin tries a policy file: a denial with its reason, and a confirmation click."""
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "rules:\n"
        "  - command: 'flint run'\n    target: 'demo:fail.rb'\n    allow: false\n"
        "  - command: 'flint run'\n    confirm: true\n"
    )
    result = run_console(
        tmp_path,
        "/flint run demo:fail.rb\n/flint run demo:hello.rb\nclick 1\nwait 3\n/mint flows\n",
        "--policy",
        str(policy),
    )
    out = " ".join(result.stdout.replace("│", " ").split())  # the boxes wrap lines
    assert result.returncode == 0, result.stderr
    assert "the rule at line 2 of the access policy denies /flint run on demo:fail.rb" in out
    assert "Please confirm" in out and "Confirmed: /flint run demo:hello.rb" in out
    assert "Hello, World!" in out
    assert "no rule of the access policy allows /mint flows" in out
    policy.write_text("rules:\n  - command: 'flint run'\n    alow: false\n")
    broken = run_console(tmp_path, "quit\n", "--policy", str(policy))
    said = " ".join(broken.stdout.split())
    assert broken.returncode == 1 and "policy.yml, line 3: unknown key `alow`" in said


HOME = """\
home
/flint run demo:hello.rb name=Ada
wait 4
click 1
click 9
wait 4
"""


def test_console_opens_your_home_tab_and_clicks_its_buttons(tmp_path):
    """`home` draws the published page; it is updated when your job ends, and its buttons
    (Refresh, then Re-run on the job it now lists) are clicked by number like a message's."""
    result = run_console(tmp_path, HOME)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    first, refreshed = out.split("(clicked [1] Refresh on your Home tab)")
    assert "#1  your Home tab in chatops-hub" in first and "No jobs yet" in first
    assert re.search(r"\[1\] Refresh", first) and "[2] Run a Flint flintbit" in first
    assert "(your Home tab #1 was updated; `home` shows it)" in first
    page = refreshed.split("(clicked [9] Re-run on your Home tab)")[0]
    assert "Flint demo:hello.rb · :white_check_mark: succeeded" in page and "[9] Re-run" in page
    assert out.count("Hello, Ada!") >= 2  # the first run, and the one Re-run started


STEPS = """\
step flint_run flintbit=demo:hello.rb inputs="name=Ada\\nshout=no" channel_id=
wait 3
step stomt_post text="Dark mode please" kind=like
wait 2
step flint_run flintbit=nope
wait 1
step flint_run colour=blue
step nosuch
quit
"""


def test_console_runs_workflow_steps_and_shows_their_outputs(tmp_path):
    """`step` sends the `function_executed` event a workflow would; the outputs (or the
    error) the app completes the step with are shown, and mistakes name what is known."""
    result = run_console(tmp_path, STEPS)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    flint = out.split("> step stomt_post")[0]
    assert "step flint_run completed; its outputs:" in flint
    assert "status = success" in flint and "output = Hello, Ada!" in flint
    assert "exit_code = 0" in flint
    assert "Flint demo:hello.rb" not in flint  # channel_id= left the channel out: no card
    stomt = out.split("> step stomt_post")[1].split("> step flint_run")[0]
    # The text exactly as given: no shell quotes around it.
    assert ":heart: I like Dark mode please " in stomt and "step stomt_post completed" in stomt
    assert "stomt_id = " in stomt
    assert "step flint_run failed: Invalid input:" in out and "is not a flintbit" in out
    assert "“colour=blue” is not an input of flint_run" in out
    assert "(steps: flint_run, mindstamp_summary, mint_execute, stint_post, stomt_post)" in out
