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
from bot.devkit.console.session import Session, click_payload
from bot.devkit.console.stack import Stack
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
        # Files the console saves (charts) go to a temporary directory: this one.
        "TMPDIR": str(tmp_path),
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
    assert re.search(r"\[1\] Refresh", out) and re.search(r"\[2\] Re-run\s+\[3\]", out)
    assert "(clicked [2] Re-run on message #2)" in out
    assert out.count("Hello, Ada!") >= 2  # the first run, and the one Re-run started
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
    # The hint offers the buttons the message has now, not [1] [2] that are gone.
    with pytest.raises(
        ConsoleError, match=r"no longer on message #1\. Its buttons now: \[3\] \[4\]\.$"
    ):
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
click 10
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
    # [7] to [9] are the job card's buttons.
    page = refreshed.split("(clicked [10] Re-run on your Home tab)")[0]
    assert "Flint demo:hello.rb · :white_check_mark: succeeded" in page and "[10] Re-run" in page
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


DELETE_FROM_A_CARD = """\
/stomt wish the console showed deletes
click 2
wait 1
click 1
"""


def test_a_delete_from_a_channel_card_is_shown(tmp_path):
    """The STOMT card is posted in the channel through a response_url (the fake keeps no
    such message), and Delete answers with replace_original: the console shows the card
    saying so itself, and a click on a button the new card lacks names none of the old."""
    result = run_console(tmp_path, DELETE_FROM_A_CARD)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    after = out.split("(clicked [2] Delete on message #1)", 1)[1]
    assert "updated message #1" in after
    assert "I wish the console showed deletes — deleted by @" in after
    assert "Button [1] is no longer on message #1." in after
    assert "Its buttons now" not in after


SHORTCUT_FORM = """\
shortcut stomt Dark mode & big fonts please
field target=not a slug!
submit
field nosuch=1
field kind=3
field target=chatops-hub
field kind=like
field 4=console, ui
submit
wait 2
form
"""


def test_the_stomt_shortcut_opens_a_form_that_is_filled_in_and_sent_back_with_errors(tmp_path):
    """`shortcut stomt TEXT` writes TEXT in #console and uses the message shortcut on it;
    the modal the app opens is drawn as named fields, an error the app answers with
    (`response_action: errors`) is shown on its field, the form stays open, and the
    corrected submission ends in the app's reply in the message's thread."""
    result = run_console(tmp_path, SHORTCUT_FORM)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "#1  @" in out and "Dark mode & big fonts please" in out
    assert "(used the shortcut stomt_wish_from_message on message #1)" in out
    opened = out.split("“Send to STOMT” opened", 1)[1].split("> field target=not", 1)[0]
    assert "1. text  The wish" in opened and "= Dark mode & big fonts please" in opened
    assert (
        "2. kind  Send as" in opened and "options: 1) I wish … (wish)  2) I like … (like)" in opened
    )
    assert "4. labels  Labels (comma-separated) (optional)" in opened
    refused = out.split("sent back with errors", 1)[1].split("> field nosuch", 1)[0]
    assert "= not a slug!" in refused
    assert "✗ \u201cnot a slug!\u201d is not a STOMT target" in refused
    assert "Fix the fields marked ✗ and `submit` again" in refused
    assert "has no field “nosuch” (fields: text, kind, target, labels)" in out
    assert "Send as: choose one of 1) I wish … (wish)  2) I like … (like)" in out
    assert "kind = I like … (like)" in out and "labels = console, ui" in out
    sent = out.split("(form #2 “Send to STOMT” closed)", 1)[1]
    assert re.search(r"#3  chatops-hub, in the thread of #1", sent)
    assert "sent this to STOMT as a like: https://stomt.co/" in sent
    assert "No form is open." in sent


HOME_FORM = """\
home
click 2
field flintbit=nope
submit
field chatops_post_in=#console
submit
field flintbit=demo:hello.rb
field inputs=name=Ada\\nshout=no
submit
wait 3
"""


def test_a_home_quick_action_form_checks_required_fields_and_shows_the_apps_errors(tmp_path):
    """A required field left empty is refused before anything is sent, as Slack's form
    does; the app's own error lands on the field it names; a conversation is picked by
    #name; the filled form runs the job whose card then appears in that channel."""
    result = run_console(tmp_path, HOME_FORM)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    first = out.split("> field chatops_post_in", 1)[0]
    assert "form #2 “Flint” not sent" in first and "(submitted form" not in first
    assert "3. chatops_post_in  Post the card in  [conversations_select]" in first
    assert "✗ Please complete this required field." in first
    refused = out.split("> field chatops_post_in=#console", 1)[1].split("> field flintbit=demo", 1)[
        0
    ]
    assert "(submitted form #2 “Flint”)" in refused and "sent back with errors" in refused
    assert (
        "= #console" in refused and "✗ " in refused.split("1. flintbit", 1)[1].split("2. inputs")[0]
    )
    ran = out.split("> field flintbit=demo:hello.rb", 1)[1]
    assert "(form #2 “Flint” closed)" in ran
    assert "Hello, Ada!" in ran


MINT_FORM = """\
/mint execute
field flow=zzzz
field flow=kyc
field input=[1, 2]
submit
cancel
form
"""


def test_a_searched_field_asks_the_apps_options_listener(tmp_path):
    """`/mint execute` alone opens the app's form; its flow picker (external_select) is
    answered by the app's options listener with what was typed, and the option it offers
    is chosen; the app's check of the JSON input is shown on that field."""
    result = run_console(tmp_path, MINT_FORM)
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert "1. flow  Flow  [external_select, searched as you type]" in out
    assert "Flow: no option matches “zzzz”." in out
    assert re.search(r"flow = KYC check \([0-9a-f-]{36}\)", out)
    refused = out.split("sent back with errors", 1)[1].split("> cancel", 1)[0]
    assert "✗ " in refused.split("2. input", 1)[1]
    assert "(form #1 “Execute a flow” cancelled)" in out
    assert "No form is open." in out.split("> form", 1)[1]


CHARTS = """\
/mindstamp digest now
wait 3
"""


def test_a_chart_the_app_uploads_is_saved_and_its_path_shown(tmp_path):
    """The PNG a digest uploads (files_upload_v2 at the fake) is saved as it was sent,
    and the console shows where."""
    result = run_console(tmp_path, CHARTS)
    out = " ".join(result.stdout.replace("│", " ").split())
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"saved to (\S+\.png) \(([\d,]+) bytes\)", out)
    assert found, out
    path = Path(found[1])
    assert path.is_relative_to(tmp_path)
    content = path.read_bytes()
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(content) == int(found[2].replace(",", ""))


async def test_interactive_mode_asks_for_each_field_and_again_for_the_refused_ones(tmp_path):
    """In a terminal the console asks for a form's fields in turn (Enter keeps a value),
    submits it, and asks again only for the fields the app sent back with an error."""
    stack = Stack(tmp_path, user_name="ada")
    out = Console(width=200, force_terminal=False, color_system=None, record=True)
    screen = Screen(out, Names(users={USER_ID: "ada"}))
    await stack.start()
    session = Session(stack, screen, user_name="ada", log_path=tmp_path / "console.log")
    unsubscribe = stack.fake.on_event(session.on_event)
    asked: list[str] = []
    answers = iter(["", "2", "not a slug!", "", "y", "chatops-hub", "y"])

    async def ask(question: str) -> str:
        asked.append(question)
        return next(answers)

    session.confirm = ask
    try:
        await session.execute("shortcut stomt Dark mode please")
        await session.settle(quiet=0.3, limit=5)
        await session.prompt_forms()
        await session.settle(quiet=0.3, limit=5)
    finally:
        unsubscribe()
        await session.close()
        await stack.stop()
    assert asked == [
        "The wish (text) [Dark mode please]: ",
        "Send as (kind) [I wish … (wish)]: ",
        "Target (STOMT page slug) (target) [chatops-hub]: ",
        "Labels (comma-separated) (labels, optional) []: ",
        "Submit “Send”? [Y/n] ",
        "Target (STOMT page slug) (target) [not a slug!]: ",
        "Submit “Send”? [Y/n] ",
    ]
    text = out.export_text()
    assert "✗ \u201cnot a slug!\u201d is not a STOMT target" in text
    assert "sent this to STOMT as a like" in text and session.forms.current is None


def test_a_button_in_a_form_is_clicked_and_the_updated_form_keeps_what_was_typed(tmp_path):
    """**Add a descriptor** in the Stintmint form is a button of the view: the click is
    sent with the view, the app updates the view (views.update), and what was filled in
    stays, as Slack keeps input values across an update."""
    result = run_console(tmp_path, "/stint post\nfield sf_id=demo\nclick 1\n")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    updated = out.split("(clicked [1] Add a descriptor on form #1)", 1)[1]
    assert "form #1 “Send to Stintmint” updated" in updated
    assert "= demo" in updated.split("2. identifier", 1)[0]
    assert "Descriptor 4: name" in updated and "[2] Add a descriptor" in updated
