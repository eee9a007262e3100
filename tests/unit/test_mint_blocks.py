"""Signicat Mint flows and instances → Block Kit: valid under Slack's limits whatever Mint
says, statuses with the right icons, buttons for the next step."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.mint import ExecutionLogEntry, Flow, Instance
from bot.store.jobs import NOT_STARTED, SUCCEEDED, TIMED_OUT, UNKNOWN
from handlers.mint.blocks import (
    digest,
    flow_blocks,
    flows,
    instance_detail,
    instance_fields,
    instances,
    job_card,
    log_summary,
    log_view,
    published,
    thread_notice,
)
from tests.unit.blockkit import assert_message, buttons, texts
from tests.unit.strategies import FEW, HUGE, hostile_long, hostile_text, tracked_job

STARTED, ENDED = "2024-05-01T09:30:00Z", "2024-05-01T09:31:05Z"


def a_flow(**fields) -> Flow:
    base = {
        "definitionId": "f-1",
        "title": "Onboard",
        "description": "Checks a customer",
        "is_published": True,
        "workflowUrl": "https://mint.test/w",
        "version": 3,
        "createdAt": STARTED,
    }
    return Flow(**{**base, **fields})


def an_instance(**fields) -> Instance:
    base = {"id": "i-1", "definitionId": "f-1", "title": "Onboard", "status": "Faulted"}
    return Instance(**{**base, "started": STARTED, "finished": ENDED, **fields})


def a_mint_job(**fields):
    base = {
        "vendor": "mint",
        "target": "f-1",
        "vendor_job_id": "i-1",
        "params": {"title": "Onboard"},
        "result": {"instance": {"status": "Finished"}},
    }
    return tracked_job(**{**base, **fields})


def button_summary(blocks) -> list[tuple[str, str, str]]:
    return [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons(blocks)]


def all_text(message) -> str:
    return "\n".join(node["text"] for node in texts(message.blocks))


def test_a_published_flow():
    """Title, description, state, version, creation, link and id; Execute, Unpublish and
    Instances, each with the flow's id."""
    blocks = flow_blocks(a_flow())
    assert blocks[0]["text"]["text"] == ":bookmark_tabs: *Onboard*\nChecks a customer"
    assert blocks[1]["elements"][0]["text"] == (
        ":large_green_circle: published · version 3 · created 2024-05-01 09:30 UTC · "
        "<https://mint.test/w|open> · id `f-1`"
    )
    assert button_summary(blocks) == [
        ("Execute", "mint_execute", "f-1"),
        ("Unpublish", "mint_unpublish", "f-1"),
        ("Instances", "mint_instances", "f-1"),
    ]
    assert buttons(blocks)[0]["style"] == "primary"


def test_a_draft_flow():
    """A draft offers Publish instead, and shows no link."""
    blocks = flow_blocks(Flow(definitionId="f-2", is_draft=True, workflowUrl="https://mint.test/w"))
    assert blocks[0]["text"]["text"] == ":bookmark_tabs: *f-2*"
    assert (
        blocks[1]["elements"][0]["text"]
        == ":white_circle: draft · version — · created — · id `f-2`"
    )
    assert [b[:2] for b in button_summary(blocks)][1] == ("Publish", "mint_publish")


def test_the_flow_list():
    """At most 12 flows, then how many more; the search is quoted, escaped."""
    message = flows([a_flow()] * 13, "<kyc>")
    assert message.text == "13 Signicat Mint flows"
    assert message.blocks[0]["text"]["text"] == "*Signicat Mint flows* matching “&lt;kyc&gt;”"
    assert len(message.blocks) == 1 + 12 * 3 + 1
    assert message.blocks[-1]["elements"][0]["text"] == (
        "…and 1 more: narrow it with `/mint flows SEARCH`."
    )
    assert_message(message)
    assert "No flows found." in all_text(flows([], None))


def test_published_and_unpublished():
    """Who did it, to which version, and the link a publication made."""
    assert published(a_flow(), True, "U0A").blocks[0]["text"]["text"] == (
        ":white_check_mark: <@U0A> published *Onboard* (version 3): "
        "<https://mint.test/w|https://mint.test/w>"
    )
    message = published(a_flow(), False, "U0A")
    assert message.text == "Onboard unpublished"
    assert (
        message.blocks[0]["text"]["text"]
        == ":white_check_mark: <@U0A> unpublished *Onboard* (version 3)"
    )


@pytest.mark.parametrize(
    ("status", "icon"),
    [
        ("Finished", ":white_check_mark:"),
        ("Faulted", ":x:"),
        ("Cancelled", ":no_entry_sign:"),
        ("Suspended", ":double_vertical_bar:"),
        ("Running", ":gear:"),
        ("Idle", ":hourglass_flowing_sand:"),
    ],
)
def test_each_status_has_its_icon(status, icon):
    """The instance's fields, its line in a list and in a digest show the status's icon."""
    inst = an_instance(status=status)
    assert instance_fields(inst)[0] == f"*Status*\n{icon} {status}"
    listed = instances([inst], definition_id="f-1", status=None, offset=0)
    assert listed.blocks[1]["text"]["text"].startswith(f"{icon} `i-1` — {status} · started")
    assert f"{icon} `i-1` {status}" in all_text(digest([inst], since=0))


def test_an_unknown_status_is_shown_as_mint_says_it():
    """A status this code does not know is shown, without an icon."""
    inst = an_instance(status="Paused")
    assert instance_fields(inst)[0] == "*Status*\n Paused"
    assert (
        instances([inst], definition_id="f", status=None, offset=0)
        .blocks[1]["text"]["text"]
        .startswith("• `i-1` — Paused")
    )


def test_instance_fields():
    """When it started and ended, and how long it took."""
    assert instance_fields(an_instance()) == [
        "*Status*\n:x: Faulted",
        "*Instance*\n`i-1`",
        "*Started*\n2024-05-01 09:30 UTC",
        "*Ended*\n2024-05-01 09:31 UTC",
        "*Took*\n1 min 5 s",
    ]
    assert instance_fields(an_instance(finished=None))[3:] == ["*Ended*\n—"]


def test_the_log_summary():
    """The last entries, a fault marked, with their times, then how many came before."""
    log = [
        ExecutionLogEntry(
            activityName="Send <mail>", status="Faulted", timestamp="2024-05-01T09:31:00Z"
        ),
        ExecutionLogEntry(activityName="Start", eventName="Executed"),
    ]
    assert log_summary(log) == ":x: Send &lt;mail&gt; — Faulted (09:31:00)\n• Start — Executed"
    assert log_summary(log * 5).endswith("• Start — Executed\n…2 earlier entries")
    assert log_summary(log * 5).count("\n") == 8


def test_instance_detail():
    """Where it failed and why, the log, Add note and Download report (no Refresh: a
    faulted instance stays faulted); Full log only when the card shows part of the log."""
    failing = ExecutionLogEntry(
        activityName="Send", status="Faulted", exception={"message": "smtp <down>"}
    )
    message = instance_detail(an_instance(), [failing], failing)
    assert message.text == "Mint instance i-1: Faulted"
    assert message.blocks[0]["text"]["text"] == "*Onboard* — instance"
    assert ":x: *Failed at* Send: smtp &lt;down&gt;" in all_text(message)
    assert "*Execution log*\n:x: Send — Faulted" in all_text(message)
    assert button_summary(message.blocks) == [
        ("Add note", "mint_note", "i-1"),
        ("Download report", "mint_report", "i-1"),
    ]
    assert_message(message)
    running = instance_detail(an_instance(status="Running", finished=None), [], None)
    assert button_summary(running.blocks)[0] == ("Refresh", "mint_refresh", "inst:i-1")
    long = instance_detail(an_instance(), [failing] * 9, failing)
    assert button_summary(long.blocks)[-1] == ("Full log", "mint_full_output", "i-1")


def test_the_full_log_modal():
    """Every entry with its time and each fault's message; when they do not all fit, the
    latest, and a note saying how many are left out."""
    fault = ExecutionLogEntry(
        activityName="Send <mail>",
        status="Faulted",
        timestamp="2024-05-01T09:31:00Z",
        exception={"message": "smtp <down>"},
    )
    view = log_view("i-1", "Onboard", [ExecutionLogEntry(activityName="Start"), fault])
    assert view["type"] == "modal" and view["title"]["text"] == "Execution log"
    shown = "\n".join(t["text"] for t in texts(view["blocks"]))
    assert "Signicat Mint *Onboard* · instance `i-1`" in shown
    assert "• *Start* — " in shown
    fault = ":x: *Send &lt;mail&gt;* — Faulted (2024-05-01 09:31:00 UTC)"
    assert f"{fault}\n      smtp &lt;down&gt;" in shown
    many = [ExecutionLogEntry(activityName=f"step {n:04} " + "x" * 200) for n in range(400)]
    big = log_view("i-1", "Onboard", many)
    big_text = "\n".join(t["text"] for t in texts(big["blocks"]))
    assert "step 0399" in big_text and "step 0000" not in big_text
    assert big["blocks"][-1]["elements"][0]["text"].startswith("Showing the last ")
    assert all(len(t["text"]) <= 3000 for t in texts(big["blocks"]))


def test_the_instance_list_and_its_more_button():
    """Ten a page, each with Details; More carries the flow, the status and the next offset."""
    items = [an_instance(id=f"i-{n}") for n in range(11)]
    message = instances(items, definition_id="f-1", status="Faulted", offset=10)
    assert message.blocks[0]["text"]["text"] == "*Instances of* `f-1` — Faulted (from #11)"
    titled = instances(items, definition_id="f-1", status=None, offset=0, title="Onboard <x>")
    assert titled.blocks[0]["text"]["text"] == "*Instances of* *Onboard &lt;x&gt;*"
    assert titled.text == "Instances of Onboard &lt;x&gt;"
    assert len(message.blocks) == 1 + 10 + 1
    assert button_summary(message.blocks)[0] == ("Details", "mint_refresh", "inst:i-0")
    label, action_id, value = button_summary(message.blocks)[-1]
    assert (label, action_id) == ("More", "mint_more")
    assert json.loads(value) == {"d": "f-1", "s": "Faulted", "o": 20}
    assert_message(message)
    assert "No more instances." in all_text(
        instances([], definition_id="f", status=None, offset=10)
    )


@pytest.mark.parametrize(
    ("outcome", "instance_status", "shown", "warning"),
    [
        (SUCCEEDED, "Finished", ":white_check_mark: Signicat Mint *Onboard* — *Finished*", None),
        ("failed", "Faulted", ":x: Signicat Mint *Onboard* — *Faulted*", None),
        (None, None, ":hourglass_flowing_sand: Signicat Mint *Onboard* — *starting*", None),
        (None, "Running", ":gear: Signicat Mint *Onboard* — *Running*", None),
        (NOT_STARTED, None, "— *not started*", "Signicat Mint did not start the flow."),
        (TIMED_OUT, "Running", "— *timed out*", "Check it with `/mint instance i-1`."),
        (UNKNOWN, None, "— *unknown*", "whether it ran is unknown"),
    ],
)
def test_a_tracked_executions_card(outcome, instance_status, shown, warning):
    """The tracked card's title follows the instance, or how tracking ended, and says why
    it ended badly."""
    result = {"instance": {"status": instance_status}} if instance_status else {}
    message = job_card(a_mint_job(outcome=outcome, result=result))
    assert shown in message.blocks[0]["text"]["text"]
    # After the title, whose icon is :warning: too for a flow that did not start.
    warnings = [t["text"] for t in texts(message.blocks[1:]) if t["text"].startswith(":warning:")]
    assert len(warnings) == (warning is not None)
    if warning:
        assert warning in warnings[0]
    assert_message(message)


@pytest.mark.parametrize("outcome", [NOT_STARTED, TIMED_OUT, UNKNOWN])
def test_an_execution_that_ended_badly_is_not_shown_in_progress(outcome):
    """Tracking is over: the card's icon must not say the flow is still running."""
    message = job_card(a_mint_job(outcome=outcome, result={}))
    assert not message.blocks[0]["text"]["text"].startswith(":hourglass_flowing_sand:")


def test_a_tracked_cards_fields_buttons_and_link():
    """Inputs are shown redacted; the failing step; the workflow link; how long it took;
    the instance's buttons (no Refresh: it has ended), Full log, and Re-run and Re-run with
    changes carrying the tracked id."""
    job = a_mint_job(
        outcome="failed",
        params={"title": "Onboard", "input": {"password": "hunter2", "email": "a@b"}},
        result={
            "instance": {"status": "Faulted", "workflowUrl": "https://mint.test/w"},
            "failing_step": {"name": "Send", "message": "smtp <down>"},
        },
    )
    message = job_card(job)
    shown = all_text(message)
    assert '*Input*\n`{"password": "[redacted]", "email": "a@b"}`' in shown
    assert "hunter2" not in shown
    assert ":x: *Failed at* Send: smtp &lt;down&gt;" in shown
    assert "<https://mint.test/w|Open the workflow>" in shown
    assert button_summary(message.blocks) == [
        ("Add note", "mint_note", "i-1"),
        ("Download report", "mint_report", "i-1"),
        ("Full log", "mint_full_output", "i-1"),
        ("Re-run", "mint_rerun", "t-1"),
        ("Re-run with changes", "mint_rerun_edit", "t-1"),
    ]
    assert "Finished in 12 s" in all_text(message)
    assert message.text == "Signicat Mint Onboard: Faulted"
    assert not buttons(job_card(a_mint_job(vendor_job_id=None)).blocks)


def test_a_running_execution_shows_how_long_and_can_be_refreshed(monkeypatch):
    """While the flow runs: Mint's latest status, the time since it started in words,
    Refresh and the instance's buttons; nothing to run again yet."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_072.0)
    job = a_mint_job(
        outcome=None, finished_at=None, state="active", result={"instance": {"status": "Running"}}
    )
    message = job_card(job)
    assert "*Elapsed*\n1 min 12 s" in all_text(message)
    assert "*Status*\nRunning" in all_text(message)
    assert "Finished in" not in all_text(message)
    assert button_summary(message.blocks) == [
        ("Refresh", "mint_refresh", "t-1"),
        ("Add note", "mint_note", "i-1"),
        ("Download report", "mint_report", "i-1"),
        ("Full log", "mint_full_output", "i-1"),
    ]


@pytest.mark.parametrize(
    ("outcome", "instance_id", "actions"),
    [
        (NOT_STARTED, None, ["mint_rerun", "mint_rerun_edit"]),
        (UNKNOWN, None, ["mint_rerun", "mint_rerun_edit"]),
        (
            TIMED_OUT,
            "i-1",
            [
                "mint_refresh",
                "mint_note",
                "mint_report",
                "mint_full_output",
                "mint_rerun",
                "mint_rerun_edit",
            ],
        ),
    ],
)
def test_an_execution_that_ended_badly_keeps_only_buttons_that_help(outcome, instance_id, actions):
    """No instance: nothing to refresh, note or read, only run again; one no longer
    followed keeps Refresh, which shows the instance as Mint has it now."""
    job = a_mint_job(outcome=outcome, vendor_job_id=instance_id, result={})
    assert [action for _, action, _ in button_summary(job_card(job).blocks)] == actions
    took = "Stopped following it after 12 s" if outcome == TIMED_OUT else "Finished in"
    assert (took in all_text(job_card(job))) == (outcome == TIMED_OUT)


def test_the_flow_title_is_shown_where_there_is_one():
    """The card, its fallback text and the thread's notice name the flow by its title;
    by its id when it has none."""
    faulted = {"instance": {"status": "Faulted"}}
    titled = a_mint_job(params={"title": "Onboard customer"}, result=faulted)
    assert "*Onboard customer*" in job_card(titled).blocks[0]["text"]["text"]
    assert thread_notice(titled).text.startswith(":x: <@U0ADA> *Onboard customer* ended")
    untitled = a_mint_job(params={}, result=faulted)
    assert job_card(untitled).text == "Signicat Mint f-1: Faulted"
    assert thread_notice(untitled).text.startswith(":x: <@U0ADA> *f-1* ended")


def test_the_thread_notice():
    """A finished flow says nothing; a faulted one names the step and why; one that did
    not start says why."""
    assert thread_notice(a_mint_job()) is None
    faulted = a_mint_job(
        result={
            "instance": {"status": "Faulted"},
            "failing_step": {"name": "Send", "message": "down"},
        }
    )
    assert thread_notice(faulted).text == ":x: <@U0ADA> *Onboard* ended *Faulted* at *Send*: down"
    refused = thread_notice(a_mint_job(outcome=NOT_STARTED, result={}, error="bad <input>"))
    assert refused.text.endswith(": bad &lt;input&gt;")
    assert_message(refused)


@pytest.mark.parametrize(
    ("outcome", "words"), [(TIMED_OUT, "timed out"), (NOT_STARTED, "not started")]
)
def test_the_thread_notice_says_the_state_in_words(outcome, words):
    """The notice names how it ended as the card does."""
    assert f"ended *{words}*" in thread_notice(a_mint_job(outcome=outcome, result={})).text


def test_the_digest():
    """Problems grouped by flow, at most 20 flows of at most 10 instances each."""
    problems = [an_instance(id=f"i-{n}", title=f"flow {n % 25}") for n in range(60)]
    problems.append(
        an_instance(id="c-1", title=None, definitionId="f-9", status="Cancelled", finished=None)
    )
    message = digest(problems, since=1714555800)
    assert message.text == "Signicat Mint digest: 61 problems"
    assert message.blocks[0]["text"]["text"] == (
        ":newspaper: *Signicat Mint digest* — 61 faulted or cancelled instances "
        "since 2024-05-01 09:30 UTC"
    )
    assert len(message.blocks) == 1 + 20 + 1  # the head, 20 flows, the count per flow
    assert message.blocks[1]["text"]["text"].startswith(
        "*flow 0*\n:x: `i-0` Faulted 2024-05-01 09:31 UTC"
    )
    assert_message(message)
    empty = digest([], since=0)
    assert "— 0 faulted or cancelled instances since" in all_text(empty)
    assert "Nothing faulted or was cancelled." in all_text(empty)


def test_huge_hostile_text_everywhere():
    """Mint text tens of thousands of characters long, full of mentions, links and fences,
    leaves every message valid and inert."""
    flow = a_flow(title=HUGE, description=HUGE, workflowUrl=HUGE)
    inst = an_instance(title=HUGE, status=HUGE)
    log = [
        ExecutionLogEntry(activityName=HUGE, status=HUGE, message=HUGE, exception={"message": HUGE})
    ] * 20
    job = a_mint_job(
        target="f" * 128,
        outcome="failed",
        params={"title": HUGE, "input": {"x": HUGE}},
        result={
            "instance": {"status": HUGE, "workflowUrl": HUGE},
            "failing_step": {"name": HUGE, "message": HUGE},
        },
        error=HUGE,
    )
    for message in [
        flows([flow] * 15, HUGE),
        published(flow, True, "U0A"),
        instance_detail(inst, log, log[0]),
        instances([inst] * 12, definition_id="f" * 128, status=HUGE, offset=10),
        job_card(job),
        thread_notice(job),
        digest([inst] * 30, since=0),
    ]:
        assert_message(message, text_limit=3000)


@FEW
@given(hostile_text, hostile_long, hostile_text, st.lists(hostile_text, max_size=10))
def test_any_answer_makes_valid_inert_messages(name, long_text, status, steps):
    """Whatever Mint sends, every message built from it is valid Block Kit with nothing
    live in it."""
    flow = a_flow(title=name, description=long_text)
    inst = an_instance(title=name, status=status)
    log = [ExecutionLogEntry(activityName=step, status=status, message=long_text) for step in steps]
    failing = ExecutionLogEntry(activityName=name, exception=long_text)
    job = a_mint_job(
        params={"title": name, "input": {name: long_text}},
        result={
            "instance": {"status": status},
            "failing_step": {"name": name, "message": long_text},
        },
        error=long_text,
    )
    assert_message(flows([flow], name), text_limit=3000)
    assert_message(instance_detail(inst, log, failing), text_limit=3000)
    assert_message(job_card(job), text_limit=3000)
    notice = thread_notice(job)
    if notice is not None:
        assert_message(notice, text_limit=3000)
