"""Vendor text is always escaped for Slack: each vendor's sandbox says something hostile
(mentions, broadcasts, a disguised link, ``&``, a code fence), the app (in process,
tests/inproc/harness.py) runs real commands sent as signed requests, and nothing the app
sent Slack — chat.postMessage/chat.update text and blocks, response_url posts, acks,
views — contains a live mention or link.

Each test also checks that the escaped form *is* there, so none can pass by showing
nothing."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from adapters.flint.sandbox import DEMO_FLINTBITS, Plan
from adapters.stintmint.sandbox import DEMO_STINTFLOWS, Module, StintFlow
from adapters.stomt.sandbox import DEMO_TARGET
from bot.devkit.slack_requests import message_shortcut_body, view_submission_body
from handlers.common.text import code, code_block, escape
from tests.fakes.servers import mounted_app
from tests.fakes.slack_api import wait_for
from tests.scenario.harness import flint_sandbox_app

HOSTILE = (
    "<!channel> <!here> <!everyone> <@U999> <#C999> <!subteam^S999> "
    "<https://evil.example|click> & ``` @here"
)
# What must never reach Slack: each would notify people or disguise a link.
LIVE = (
    "<!channel",
    "<!here",
    "<!everyone",
    "<@U999",
    "<#C999",
    "<!subteam",
    "<https://evil",
    "@here",  # the bare broadcast word, which escape() breaks with a word joiner
)
INERT = "&lt;!channel&gt;"
DOUBLE = ("&amp;amp;", "&amp;lt;", "&amp;gt;")


# -- what the app said ------------------------------------------------------------------


class Said:
    """Everything the app sent towards Slack, collected as text for the assertions."""

    def __init__(self, slack) -> None:
        self.slack = slack
        self.acks: list[str] = []

    def command(self, app, text: str, command: str, **kw: Any) -> httpx.Response:
        response = app.client.command(text, command=command, **kw)
        assert response.status_code == 200, response.text
        self.acks.append(response.text)
        return response

    def post(self, app, body: bytes) -> httpx.Response:
        response = app.client.post(body, "application/x-www-form-urlencoded")
        assert response.status_code == 200, response.text
        self.acks.append(response.text)
        return response

    def items(self) -> list[tuple[str, Any]]:
        fake = self.slack.fake
        found: list[tuple[str, Any]] = [(c.method, c.args) for c in fake.calls]
        found += [("response_url", r) for r in fake.responses]
        found += [("ack", a) for a in self.acks]
        return found

    def everything(self) -> str:
        return json.dumps(_without_inputs(self.items()), ensure_ascii=False, default=str)

    def mrkdwn_texts(self) -> list[str]:
        """Every ``text`` the app sent: message fallbacks and Block Kit text objects."""
        texts: list[str] = []

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    if key == "text" and isinstance(item, str):
                        texts.append(item)
                    elif key == "blocks" and isinstance(item, str):
                        walk(json.loads(item))
                    else:
                        walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        for _, args in self.items():
            walk(json.loads(args) if isinstance(args, str) and args[:1] == "{" else args)
        return texts

    def assert_inert(self, *, expect: int = 1, in_fallback: bool = True) -> None:
        text = self.everything()
        for raw in LIVE:
            assert raw not in text, f"{raw!r} reached Slack unescaped: {_around(text, raw)}"
        for twice in DOUBLE:
            assert twice not in text, f"double-escaped {twice!r}: {_around(text, twice)}"
        assert text.count(INERT) >= expect, f"the escaped vendor text is missing: {text[:3000]}"
        if in_fallback:  # fallback texts are mrkdwn as much as blocks are
            fallbacks = [a.get("text", "") for _, a in self.items() if isinstance(a, dict)]
            assert any(INERT in t for t in fallbacks), "no fallback text carried the vendor text"
        # No vendor fence closed a code block early: fences come in pairs in every text.
        for piece in self.mrkdwn_texts():
            assert piece.count("```") % 2 == 0, f"unbalanced code fence in {piece!r}"


def _without_inputs(value: Any) -> Any:
    """``value`` without the prefilled values of modal inputs: an input shows plain text
    (the user's own message, to edit), which Slack never parses for mentions or links."""
    if isinstance(value, dict):
        return {k: _without_inputs(v) for k, v in value.items() if k != "initial_value"}
    if isinstance(value, list | tuple):
        return [_without_inputs(v) for v in value]
    return value


def _around(text: str, needle: str) -> str:
    at = text.find(needle)
    return text[max(0, at - 200) : at + 200]


def _thread_replies(slack) -> list[dict]:
    return [c.args for c in slack.fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]


def _posted_to(slack, channel: str) -> list[dict]:
    return [c.args for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == channel]


@pytest.fixture
def said(slack):
    return Said(slack)


# -- the helpers themselves -------------------------------------------------------------


@pytest.mark.parametrize("text", ["```", "````", "`x`", "a```b```c", "``", "`"])
def test_code_block_cannot_be_closed_from_inside(text):
    """However many backticks the vendor sends, the only fences are the two we add."""
    block = code_block(text)
    assert block.startswith("```") and block.endswith("```")
    assert re.findall(r"`{3,}", block) == ["```", "```"]


def test_inline_code_keeps_one_span_and_escapes():
    """A backtick cannot end inline code early; what is inside is escaped once."""
    shown = code("a`<!here>` & b")
    assert shown.count("`") == 2 and "&lt;!here&gt;" in shown and "&amp;" in shown
    assert escape("&") == "&amp;" and escape(escape("<")) == "&amp;lt;"  # not idempotent


# -- one path per vendor, through the running app ----------------------------------------


def test_flint_output_message_and_thread_notice_are_inert(app, slack, sandbox, said):
    """A flintbit whose output and message are hostile: the card, its update, the thread
    notice (which quotes Flint's message) and `/flint result` stay inert."""
    flint = flint_sandbox_app(sandbox).state.sandbox

    def evil(_data: Any) -> Plan:
        output = {"message": f"{HOSTILE}\n````\nstill inside the block {HOSTILE}"}
        return Plan(0.1, "error", 1, HOSTILE, output)

    flint.flintbits = {**DEMO_FLINTBITS, "demo": {**DEMO_FLINTBITS["demo"], "evil.rb": evil}}
    said.command(app, "run demo:evil.rb", "/flint", user_id="U42")
    wait_for(lambda: _thread_replies(slack), timeout=10)
    [notice] = _thread_replies(slack)
    assert "<@U42>" in notice["text"] and INERT in notice["text"]
    [job_id] = list(flint.jobs)
    said.command(app, f"result {job_id}", "/flint")
    wait_for(lambda: slack.fake.responses, timeout=10)
    said.assert_inert(expect=4)
    updates = slack.fake.calls_to("chat.update")
    assert any(INERT in json.dumps(c.args.get("blocks")) for c in updates)


def test_mint_flow_names_steps_and_faults_are_inert(app, slack, sandbox, said):
    """A Mint flow whose name, description, step names and fault are hostile: flows,
    execute (card, update, thread notice), instance detail, unpublish and the digest."""
    mint = mounted_app(sandbox, "/mint").state.sandbox
    fid = mint.add_flow(
        HOSTILE,
        [
            (f"Collect {HOSTILE}", "Form", 0.1),
            (f"Verify {HOSTILE}", "IdentityVerification", 0.1, f"Refused: {HOSTILE}"),
        ],
        description=f"About {HOSTILE}",
    )
    said.command(app, "flows", "/mint")
    wait_for(lambda: slack.fake.responses, timeout=10)
    said.command(app, f'execute {fid} {{"note": "`{HOSTILE}`"}}', "/mint", user_id="U43")
    wait_for(lambda: _thread_replies(slack), timeout=15)
    [notice] = _thread_replies(slack)
    assert "<@U43>" in notice["text"] and "Refused: &lt;!channel&gt;" in notice["text"]
    [instance_id] = [i.id for i in mint.instances.values() if i.definition_id == fid]
    said.command(app, f"instance {instance_id}", "/mint")
    said.command(app, f"unpublish {fid}", "/mint", user_id="U43")
    said.command(app, "digest now", "/mint", channel_id="CMINTDIG")
    wait_for(lambda: len(slack.fake.responses) >= 3, timeout=10)
    wait_for(lambda: _posted_to(slack, "CMINTDIG"), timeout=10)
    said.assert_inert(expect=6)
    # The user's JSON input, shown as inline code, is one span however many backticks.
    card = next(m for m in slack.fake.messages.values() if not m.get("thread_ts"))
    [field] = [
        f["text"] for b in card["blocks"] for f in b.get("fields", []) if "*Input*" in f["text"]
    ]
    assert field.count("`") == 2 and INERT in field
    # The answers arrive in any order: the unpublish's is the one that says so.
    unpublished = wait_for(
        lambda: next((r for r in slack.fake.responses if "unpublished" in r.get("text", "")), None)
    )
    assert "unpublished" in unpublished["text"] and INERT in unpublished["text"]


def test_stomt_texts_labels_comments_and_targets_are_inert(app, slack, sandbox, said):
    """Stomts, labels, comments and a target name saying hostile things: show, list,
    digest, a wish typed by the user and echoed in the channel, and the message shortcut."""
    stomt = mounted_app(sandbox, "/stomt").state.sandbox
    added = stomt.add_stomt(
        HOSTILE, labels=[HOSTILE], comments=[("bob", f"+1 {HOSTILE}", 10)], age=1
    )
    stomt.targets[DEMO_TARGET].displayname = f"Team {HOSTILE}"
    said.command(app, f"show {added['id']}", "/stomt")
    said.command(app, "list", "/stomt")
    said.command(app, "digest now", "/stomt", channel_id="CSTOMTDIG")
    said.command(app, f"wish {HOSTILE}", "/stomt", user_id="U44")
    wait_for(lambda: len(slack.fake.responses) >= 3, timeout=10)
    wait_for(lambda: _posted_to(slack, "CSTOMTDIG"), timeout=10)
    # The four answers arrive in any order: the wish's is the one posted in the channel.
    [echoed] = wait_for(
        lambda: [r for r in slack.fake.responses if r.get("response_type") == "in_channel"],
        timeout=10,
    )
    assert INERT in echoed["text"]

    message = {"type": "message", "user": "U1", "ts": "1700000000.000900", "text": HOSTILE}
    body = message_shortcut_body(
        "stomt_wish_from_message",
        message,
        channel_id="C77",
        user_id="U45",
        response_url=app.client.response_url,
    )
    said.post(app, body)
    wait_for(lambda: slack.fake.views, timeout=10)
    [view] = slack.fake.views.values()
    submit = view_submission_body(
        "stomt_wish_modal",
        {
            "text": {"value": view["blocks"][0]["element"]["initial_value"]},
            "kind": {"value": {"type": "static_select", "selected_option": {"value": "wish"}}},
            "target": {"value": DEMO_TARGET},
            "labels": {"value": ""},
        },
        view["private_metadata"],
        "U45",
    )
    said.post(app, submit)
    wait_for(lambda: _posted_to(slack, "C77"), timeout=10)
    said.assert_inert(expect=5)


def test_stintmint_response_values_are_inert(app, slack, sandbox, said):
    """A StintFlow whose people answer with hostile text: the tracked card, its thread
    notice and `/stint fetch`."""
    stint = mounted_app(sandbox, "/stintmint").state.sandbox
    evil = StintFlow("evil", HOSTILE, (Module("check", (HOSTILE,)),))
    stint.flows = {**DEMO_STINTFLOWS, "evil": evil}
    said.command(app, "post evil req-1 note=hello", "/stint", user_id="U46")
    wait_for(lambda: _thread_replies(slack), timeout=15)
    said.command(app, "fetch evil req-1", "/stint")
    wait_for(lambda: slack.fake.responses, timeout=10)
    # Only the responses are the vendor's: status and identifiers in the fallback are not.
    said.assert_inert(expect=2, in_fallback=False)
    card = slack.fake.calls_to("chat.update")[-1].args
    assert "answer: &lt;!channel&gt;" in json.dumps(card["blocks"], ensure_ascii=False)


def test_mindstamp_video_titles_are_inert(app, slack, sandbox, said):
    """A Mindstamp video titled with hostile text: the videos list, the video card (whose
    fallback text names it) and the digest's top videos."""
    mindstamp = mounted_app(sandbox, "/mindstamp").state.sandbox
    video = mindstamp.add_video(HOSTILE, age=1)
    for _ in range(40):  # enough views to be among the week's top videos
        mindstamp.add_view(video["token"], age=60)
    said.command(app, "videos", "/mindstamp")
    said.command(app, f"video {video['token']}", "/mindstamp")
    said.command(app, "digest now", "/mindstamp", channel_id="CMSDIG")
    wait_for(lambda: len(slack.fake.responses) >= 2, timeout=10)
    wait_for(lambda: _posted_to(slack, "CMSDIG"), timeout=10)
    said.assert_inert(expect=3)
    [digest] = _posted_to(slack, "CMSDIG")
    assert INERT in json.dumps(digest["blocks"], ensure_ascii=False)
