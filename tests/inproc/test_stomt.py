"""/stomt through the app in process (tests/inproc/harness.py): signed Slack requests in,
real HTTP to the STOMT sandbox, the Slack fake recording what people see (response URLs,
modals, thread replies, digests). The happy path over a real socket is in
tests/scenario/test_stomt_http.py."""

from __future__ import annotations

import json
import time

import pytest

from bot.devkit.slack_requests import message_shortcut_body, view_submission_body
from tests.fakes.slack_api import wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text


def _stomt_sandbox(server):
    return next(r.app for r in server.app.routes if getattr(r, "path", "") == "/stomt")


def _vendor_calls(sandbox, method=None):
    calls = _stomt_sandbox(sandbox).state.calls
    return [c for c in calls if method is None or c.method == method]


def _buttons(message) -> dict[str, dict]:
    return {
        e["action_id"]: e
        for b in message["blocks"]
        for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
        if e.get("type") == "button"
    }


@pytest.fixture
def last(slack):
    def latest():
        wait_for(lambda: slack.fake.responses, timeout=10)
        return slack.fake.responses[-1]

    return latest


def test_like_uses_the_given_target(app, slack, last):
    """`/stomt like … --target SLUG` posts "I like …" to that target."""
    app.client.command("like the new dashboard --target stomt", command="/stomt")
    card = last()
    assert "I like the new dashboard" in blocks_text(card["blocks"])


def test_too_long_text_is_refused_before_any_vendor_call(app, sandbox):
    """1,001 characters: refused with the length and the limit, STOMT never called."""
    response = app.client.command("wish " + "x" * 1001, command="/stomt")
    assert "1,001 characters" in response.json()["text"] and "1,000" in response.json()["text"]
    assert _vendor_calls(sandbox) == []


def test_list_pages_with_more(app, slack, sandbox, last):
    """`/stomt list` shows a page; More replaces it with the next page."""
    sandbox_state = _stomt_sandbox(sandbox).state.sandbox
    for i in range(12):
        sandbox_state.add_stomt(f"extra wish number {i}", age=60 + i)
    app.client.command("list received", command="/stomt")
    page = last()
    assert "received stomts for *chatops-hub*" in blocks_text(page["blocks"])
    more = _buttons(page)["stomt_more"]
    app.client.click("stomt_more", more["value"])
    wait_for(lambda: len(slack.fake.responses) >= 2)
    second = slack.fake.responses[-1]
    assert second["replace_original"] is True and "from #11" in blocks_text(second["blocks"])


def test_list_filters_by_polarity(app, last):
    """`positive` lists likes only."""
    app.client.command("list chatops-hub received positive", command="/stomt")
    text = blocks_text(last()["blocks"])
    assert "likes for" in text and ":bulb:" not in text


def test_show_has_comments_and_state(app, slack, sandbox, last):
    """`/stomt show` shows the stomt with its state, type, severity and comments."""
    added = _stomt_sandbox(sandbox).state.sandbox.add_stomt(
        "dark mode", comments=[("bob", "yes please", 10)], state="inprogress", type="feature"
    )
    app.client.command(f"show {added['id']}", command="/stomt")
    text = blocks_text(last()["blocks"])
    assert "yes please" in text and "inprogress" in text and "feature" in text


def test_delete_only_after_confirmation_and_card_says_who(app, slack, sandbox, last):
    """`/stomt delete` asks; the confirmed Delete click deletes and names who did it."""
    added = _stomt_sandbox(sandbox).state.sandbox.add_stomt("remove me")
    app.client.command(f"delete {added['id']}", command="/stomt")
    prompt = last()
    assert _vendor_calls(sandbox, "DELETE") == []  # asking sends nothing
    button = _buttons(prompt)["stomt_delete"]
    assert button["confirm"]["confirm"]["text"] == "Delete"  # Slack shows a confirm dialog
    app.client.click("stomt_delete", button["value"], user_id="U3")
    wait_for(lambda: _vendor_calls(sandbox, "DELETE"), timeout=10)
    wait_for(lambda: "deleted by" in json.dumps(slack.fake.responses[-1]))
    assert "<@U3>" in json.dumps(slack.fake.responses[-1])


def test_shortcut_opens_prefilled_modal_and_replies_in_thread(app, slack, sandbox):
    """The message shortcut opens a modal with the message text; submitting replies in the
    message's thread with the shortlink."""
    message = {
        "type": "message",
        "user": "U1",
        "ts": "1700000000.000900",
        "text": "export to <https://x.example|CSV> please &amp; thanks",
    }
    body = message_shortcut_body(
        "stomt_wish_from_message",
        message,
        channel_id="C77",
        user_id="U2",
        response_url=app.client.response_url,
    )
    assert app.client.post(body, "application/x-www-form-urlencoded").status_code == 200
    wait_for(lambda: slack.fake.views, timeout=10)
    [view] = slack.fake.views.values()
    initial = view["blocks"][0]["element"]["initial_value"]
    assert initial == "export to CSV (https://x.example) please & thanks"
    submit = view_submission_body(
        "stomt_wish_modal",
        {
            "text": {"value": "export to CSV please"},
            "kind": {"value": {"type": "static_select", "selected_option": {"value": "wish"}}},
            "target": {"value": "chatops-hub"},
            "labels": {"value": "export, csv"},
        },
        view["private_metadata"],
        "U2",
    )
    assert app.client.post(submit, "application/x-www-form-urlencoded").status_code == 200
    wait_for(lambda: slack.fake.calls_to("chat.postMessage"), timeout=10)
    reply = slack.fake.calls_to("chat.postMessage")[-1].args
    assert reply["channel"] == "C77" and reply["thread_ts"] == "1700000000.000900"
    assert "stomt.co" in reply["text"] and "<@U2>" in reply["text"]


def test_modal_with_too_long_text_shows_the_error_in_the_modal(app, slack, sandbox):
    """Submitting more than 1,000 characters keeps the modal open with the error."""
    submit = view_submission_body(
        "stomt_wish_modal",
        {"text": {"value": "y" * 1200}, "target": {"value": "chatops-hub"}},
        json.dumps({"channel": "C1", "thread_ts": "1.2"}),
        "U2",
    )
    response = app.client.post(submit, "application/x-www-form-urlencoded")
    assert response.json()["response_action"] == "errors"
    assert "1,200 characters" in response.json()["errors"]["text"]
    assert _vendor_calls(sandbox, "POST") == []


def _digest_in(call, channel: str) -> bool:
    """A digest posted in ``channel`` (not the text-only subscription announcement)."""
    return call.args["channel"] == channel and bool(call.args.get("blocks"))


def test_digest_subscribe_list_now_and_off(app, slack, sandbox, last):
    """`digest daily 08:30` subscribes, `digest` lists, `digest now` posts, `off` removes."""
    app.client.command("digest daily 08:30", command="/stomt", channel_id="CDIG")
    assert "every day at 08:30" in last()["text"]
    app.client.command("digest", command="/stomt", channel_id="CDIG")
    wait_for(
        lambda: (
            "stomt" in slack.fake.responses[-1]["text"]
            and "This channel's digests" in slack.fake.responses[-1]["text"]
        )
    )
    _stomt_sandbox(sandbox).state.sandbox.add_stomt("brand new wish", age=1)
    app.client.command("digest now", command="/stomt", channel_id="CDIG")
    wait_for(
        lambda: [c for c in slack.fake.calls_to("chat.postMessage") if _digest_in(c, "CDIG")],
        timeout=10,
    )
    [posted] = [c for c in slack.fake.calls_to("chat.postMessage") if _digest_in(c, "CDIG")]
    assert "brand new wish" in blocks_text(posted.args["blocks"])
    app.client.command("digest off", command="/stomt", channel_id="CDIG")
    wait_for(lambda: "is off" in slack.fake.responses[-1]["text"])


def test_scheduled_digest_is_posted_by_the_scheduler(tmp_path):
    """A due subscription is posted by the app's own scheduler, with what is new."""
    with world(tmp_path, chatops_digest_check_interval=0.2) as running:
        app, slack, sandbox = running.app, running.slack, running.sandbox
        app.client.command("digest daily 09:00", command="/stomt", channel_id="CSCHED")
        wait_for(lambda: slack.fake.responses)
        _stomt_sandbox(sandbox).state.sandbox.add_stomt("scheduled news", age=1)
        from bot.store.digests import DigestStore

        async def make_due():
            digests = DigestStore(app.runtime.store.engine)
            sub = await digests.get("stomt", "CSCHED")
            await digests.update(sub.id, next_run_at=time.time() - 1)

        app.run(make_due())
        wait_for(
            lambda: [c for c in slack.fake.calls_to("chat.postMessage") if _digest_in(c, "CSCHED")],
            timeout=10,
        )
        [posted] = [c for c in slack.fake.calls_to("chat.postMessage") if _digest_in(c, "CSCHED")]
        assert "scheduled news" in blocks_text(posted.args["blocks"])


@pytest.mark.parametrize(
    "text",
    [
        "",
        "wish",
        "wish --label",
        "list a b c d",
        "show",
        "show ../x",
        "delete a b",
        "digest sometimes",
        "digest daily 25:00",
        "wish hi --colour red",
        "nonsense",
        "like   ",
    ],
)
def test_bad_stomt_text_gets_usage(app, sandbox, text):
    """Malformed /stomt input gets a readable usage answer and no vendor call."""
    response = app.client.command(text, command="/stomt")
    assert response.status_code == 200
    assert "/stomt" in response.json()["text"]
    assert _vendor_calls(sandbox) == []
