"""Stintmint requests → Block Kit: valid under Slack's limits whatever Stintmint says,
states with the right icons, a Fetch button that finds the request again."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.jobs import NOT_STARTED, SUCCEEDED, TIMED_OUT, UNKNOWN
from handlers.stintmint.blocks import (
    card,
    job_card,
    readable_responses,
    responses_view,
    thread_notice,
    view_from_flow,
)
from tests.unit.blockkit import assert_message, buttons, texts
from tests.unit.strategies import FEW, HUGE, hostile_long, hostile_text, tracked_job


def a_stint_job(**fields):
    base = {
        "vendor": "stintmint",
        "target": "demo",
        "vendor_job_id": "o-1",
        "vendor_status": "completed",
        "outcome": SUCCEEDED,
        "params": {"sf_id": "demo", "identifier": "o-1", "callback": True},
        "result": {
            "cost": 2.5,
            "responses": [{"answer": "yes", "n": {"a": 1}}, {"x": [1]}],
            "created": 1000,
            "completed": 6500,
        },
    }
    return tracked_job(**{**base, **fields})


def fetched(flow, state_id=None):
    return card(view_from_flow(flow, "demo", "o-1", state_id))


def fields(message) -> dict[str, str]:
    section = next(block for block in message.blocks if "fields" in block)
    pairs = (field["text"].split("\n", 1) for field in section["fields"])
    return {name.strip("*"): value for name, value in pairs}


def all_text(message) -> str:
    return "\n".join(node["text"] for node in texts(message.blocks))


def test_a_completed_request():
    """The card of a request whose responses are in: who sent it, what it cost, how the
    result came, the responses, and how long it took."""
    message = job_card(a_stint_job())
    assert message.blocks[0]["text"]["text"] == (
        ":white_check_mark: Stintmint `demo` / `o-1` — *completed*"
    )
    assert fields(message) == {
        "Status": "completed",
        "Identifier": "`o-1`",
        "Sent by": "<@U0ADA>",
        "Cost": "2.5 credits",
        "Result by": "callback",
    }
    assert "Finished in 12 s" in all_text(message)
    assert fields(fetched({"created": 1000, "completed": 6500}))["Took"] == "5.5 s"
    assert '*Responses (2)*\n1. answer: yes · n: {"a": 1}\n2. x: [1]' in all_text(message)
    assert message.text == "Stintmint demo/o-1: completed"
    assert_message(message)


@pytest.mark.parametrize(
    ("outcome", "vendor_status", "icon", "shown", "warning"),
    [
        (SUCCEEDED, "COMPLETED", ":white_check_mark:", "completed", None),
        (None, None, ":hourglass_flowing_sand:", "sending", None),
        (None, "In_Progress", ":hourglass_flowing_sand:", "in_progress", None),
        (NOT_STARTED, None, ":warning:", "not sent", "Stintmint did not accept the request."),
        (TIMED_OUT, "pending", ":alarm_clock:", "timed out", "`/stint fetch demo o-1`"),
    ],
)
def test_each_state(outcome, vendor_status, icon, shown, warning):
    """How the request ended decides its word and icon, and why it ended badly is said."""
    message = job_card(a_stint_job(outcome=outcome, vendor_status=vendor_status, result={}))
    assert message.blocks[0]["text"]["text"] == f"{icon} Stintmint `demo` / `o-1` — *{shown}*"
    warnings = [t["text"] for t in texts(message.blocks[1:]) if t["text"].startswith(":warning:")]
    assert len(warnings) == (warning is not None)
    if warning:
        assert warning in warnings[0]
    assert_message(message)


def test_unknown_says_why():
    """After a restart mid-send, the card says that whether Stintmint got it is unknown."""
    message = job_card(a_stint_job(outcome=UNKNOWN, vendor_status=None, result={}))
    assert message.blocks[0]["text"]["text"].endswith(" Stintmint `demo` / `o-1` — *unknown*")
    assert "whether Stintmint got it is unknown" in all_text(message)


def test_unknown_is_not_shown_in_progress():
    """Tracking is over: the card's icon must not say the request is still on its way."""
    message = job_card(a_stint_job(outcome=UNKNOWN, vendor_status=None, result={}))
    assert not message.blocks[0]["text"]["text"].startswith(":hourglass_flowing_sand:")


def test_waiting_shows_for_how_long_and_that_the_humans_are_on_it(monkeypatch):
    """An unfinished request shows how long it has waited and that nothing is in yet."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_072.0)
    job = a_stint_job(outcome=None, finished_at=None, vendor_status="pending", result={})
    message = job_card(job)
    assert fields(message)["Waiting"] == "1 min 12 s"
    assert fields(message)["Status"] == "pending"
    assert "Finished in" not in all_text(message)
    assert "Not ready yet: the humans are on it." in all_text(message)
    assert fields(job_card(a_stint_job(params={"sf_id": "demo"})))["Result by"] == "polling"


def actions(message) -> list[tuple[str, str, str]]:
    return [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons(message.blocks)]


def test_the_fetch_button():
    """A tracked request is fetched by its tracked id while the humans are on it; a
    fetched one by its ids; a completed one has nothing left to fetch."""
    waiting = a_stint_job(id="t-9", outcome=None, vendor_status="pending", result={})
    assert actions(job_card(waiting)) == [("Fetch now", "stint_fetch", "t-9")]
    assert [b["value"] for b in buttons(fetched({"status": "pending"}).blocks)] == [
        "fetch:demo:o-1"
    ]
    assert not buttons(fetched({"status": "COMPLETED", "responses": [{"a": 1}]}).blocks)
    sending = a_stint_job(outcome=None, vendor_status=None, result={}, state="starting")
    assert actions(job_card(sending)) == []  # nothing to fetch before Stintmint has it
    with_module = fetched({"status": "pending"}, "st-1")
    assert [b["value"] for b in buttons(with_module.blocks)] == ["fetch:demo:o-1:st-1"]
    assert fields(with_module)["Module"] == "`st-1`"


def test_a_fetched_flow_keeps_what_stintmint_says():
    """The ids Stintmint answers with are the ones shown; a missing status is "not ready
    yet"; a completion before creation is no duration."""
    message = fetched({"sfId": "other", "identifier": "o-2", "created": 9, "completed": 1})
    assert message.blocks[0]["text"]["text"] == (
        ":hourglass_flowing_sand: Stintmint `other` / `o-2` — *not ready yet*"
    )
    assert "Took" not in fields(message)


def test_many_responses_are_cut_and_the_card_says_so():
    """Responses longer than the card can hold are cut once escaped, and the card points
    to `/stint fetch` for the rest."""
    responses = [{"answer": "<" * 100}] * 50
    message = job_card(a_stint_job(result={"responses": responses}))
    section = next(t["text"] for t in texts(message.blocks) if t["text"].startswith("*Responses"))
    assert section.startswith("*Responses (50)*\n1. answer: &lt;")
    assert section.endswith("\n…")
    assert "More responses than fit here: *All responses* shows them." in all_text(message)
    assert ("All responses", "stint_full_output", "t-1") in actions(message)
    assert ("All responses", "stint_full_output", "fetch:demo:o-1") in actions(
        fetched({"status": "COMPLETED", "responses": responses})
    )
    assert "stint_full_output" not in [a for _, a, _ in actions(job_card(a_stint_job()))]
    assert_message(message)


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (SUCCEEDED, [("Send again with changes", "stint_rerun_edit", "t-1")]),
        (
            NOT_STARTED,
            [
                ("Send again", "stint_rerun", "t-1"),
                ("Send again with changes", "stint_rerun_edit", "t-1"),
            ],
        ),
        (
            UNKNOWN,
            [
                ("Fetch now", "stint_fetch", "fetch:demo:o-1"),
                ("Send again", "stint_rerun", "t-1"),
                ("Send again with changes", "stint_rerun_edit", "t-1"),
            ],
        ),
        (
            TIMED_OUT,
            [
                ("Fetch now", "stint_fetch", "fetch:demo:o-1"),
                ("Send again with changes", "stint_rerun_edit", "t-1"),
            ],
        ),
    ],
)
def test_an_ended_request_keeps_only_buttons_that_help(outcome, expected):
    """Stintmint refuses an identifier it already has, so Send again is offered only where
    it may never have arrived; Fetch now asks by the request's ids where the tracker no
    longer does; a request never sent waited for nothing."""
    message = job_card(a_stint_job(outcome=outcome, vendor_status=None, result={}))
    assert actions(message) == expected
    assert "Waiting" not in fields(message)
    assert "the humans are on it" not in all_text(message)


def test_the_all_responses_modal():
    """Every response, escaped, under the request's ids, its count and its cost; a note
    when not all fit."""
    view = responses_view("demo", "o-1", [{"answer": "<yes>"}, {"n": 2}], 2.5)
    assert view["title"]["text"] == "Responses"
    shown = all_text(type("M", (), {"blocks": view["blocks"]}))
    assert "Stintmint `demo` / `o-1` · 2 responses · 2.5 credits" in shown
    assert "1. answer: &lt;yes&gt;\n2. n: 2" in shown
    many = responses_view("demo", "o-1", [{"answer": "x" * 2000}] * 40)
    assert many["blocks"][-1]["elements"][0]["text"] == "Showing 10 of 40 lines."


def test_readable_responses():
    """One numbered line per response, its fields as `key: value`, structures as JSON."""
    assert readable_responses([{"a": 1, "b": "x"}, {"c": {"d": [1, "é"]}}]) == (
        '1. a: 1 · b: x\n2. c: {"d": [1, "é"]}'
    )
    assert readable_responses([]) == ""


def test_the_thread_notice():
    """Success counts the responses and the cost; a failure says how it ended and why."""
    done = thread_notice(a_stint_job())
    assert done.text == (
        ":inbox_tray: <@U0ADA> the responses for `o-1` are in (2 responses, 2.5 credits)."
    )
    one = thread_notice(a_stint_job(result={"responses": [{"a": 1}]}))
    assert one.text.endswith("are in (1 response).")
    late = thread_notice(a_stint_job(outcome=TIMED_OUT, result={}))
    assert late.text.startswith(":x: <@U0ADA> Stintmint request `o-1` ended *timed out*. Stopped")
    for message in (done, one, late):
        assert_message(message)


def test_huge_hostile_text_everywhere():
    """Stintmint text tens of thousands of characters long, full of mentions, links and
    fences, leaves every message valid and inert."""
    job = a_stint_job(
        vendor_status=HUGE,
        error=HUGE,
        result={"cost": HUGE, "responses": [{"k": HUGE, HUGE: {"a": HUGE}}] * 50},
    )
    assert_message(job_card(job), text_limit=3000)
    # The notice's text is as long as the vendor's words: Slack cuts it past 40,000
    # characters itself; its section is what must stay within the limit.
    assert_message(thread_notice(job), text_limit=None)
    assert_message(thread_notice(a_stint_job(outcome=NOT_STARTED, error=HUGE)))
    flow = {"status": HUGE, "cost": HUGE, "responses": [{HUGE: HUGE}]}
    assert_message(fetched(flow, "s" * 100), text_limit=3000)


@FEW
@given(
    hostile_text,
    st.one_of(st.none(), st.floats(allow_nan=False), hostile_text),
    st.lists(st.dictionaries(hostile_text, hostile_long, max_size=3), max_size=5),
    st.sampled_from([None, SUCCEEDED, TIMED_OUT, NOT_STARTED, UNKNOWN]),
)
def test_any_answer_makes_valid_inert_messages(status, cost, responses, outcome):
    """Whatever Stintmint sends, every message built from it is valid Block Kit with
    nothing live in it."""
    job = a_stint_job(
        vendor_status=status, outcome=outcome, result={"cost": cost, "responses": responses}
    )
    assert_message(job_card(job), text_limit=3000)
    assert_message(thread_notice(job))
    assert_message(fetched({"status": status, "cost": cost, "responses": responses}))
