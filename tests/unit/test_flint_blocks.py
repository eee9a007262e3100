"""Flint jobs → Block Kit: valid under Slack's limits whatever Flint says, states shown
with the right words and icons, buttons that lead back to the job."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.jobs import NOT_STARTED, SUCCEEDED, TIMED_OUT, UNKNOWN
from handlers.flint.blocks import (
    card,
    full_output,
    job_card,
    output_file,
    readable_output,
    thread_notice,
    view_from_result,
)
from tests.unit.blockkit import assert_message, buttons, texts
from tests.unit.strategies import FEW, HUGE, hostile_long, hostile_text, tracked_job


def fetched(status="complete", output=None, **meta):
    """The card `/flint result` shows for this answer of Flint's."""
    return card(view_from_result({"meta": {"status": status, **meta}, "output": output}))


def title(message) -> str:
    return message.blocks[0]["text"]["text"]


def fields(message) -> dict[str, str]:
    """The card's fields as {name: value}."""
    section = next(block for block in message.blocks if "fields" in block)
    pairs = (field["text"].split("\n", 1) for field in section["fields"])
    return {name.strip("*"): value for name, value in pairs}


def all_text(message) -> str:
    return "\n".join(node["text"] for node in texts(message.blocks))


def contexts(message) -> list[str]:
    return [b["elements"][0]["text"] for b in message.blocks if b["type"] == "context"]


@pytest.mark.parametrize(
    ("status", "exit_code", "icon", "shown"),
    [
        ("complete", 0, ":white_check_mark:", "complete"),
        ("complete", None, ":white_check_mark:", "complete"),
        ("complete", 2, ":x:", "failed"),
        ("running", None, ":gear:", "running"),
        ("submitted", None, ":inbox_tray:", "submitted"),
        ("aborted", None, ":octagonal_sign:", "aborted"),
        ("error", None, ":x:", "error"),
        ("queued", None, ":small_blue_diamond:", "queued"),
    ],
)
def test_a_fetched_jobs_status(status, exit_code, icon, shown):
    """Each status Flint reports has its icon and word; a complete job with a non-zero exit
    code failed; a status nobody knows is still shown."""
    message = fetched(status, **{"exit-code": exit_code, "job-id": "j-1"})
    assert title(message) == f"{icon} Flint `?` — *{shown}*"
    assert fields(message)["Status"] == shown
    assert message.text == f"Flint ?: {shown} (j-1)"
    assert_message(message)


@pytest.mark.parametrize(
    ("outcome", "vendor_status", "icon", "shown", "warning"),
    [
        (SUCCEEDED, "complete", ":white_check_mark:", "complete", None),
        ("failed", "complete", ":x:", "failed", None),
        (None, "running", ":gear:", "running", None),
        (None, None, ":hourglass_flowing_sand:", "starting", None),
        (NOT_STARTED, None, ":warning:", "not started", "Flint did not start the job."),
        (TIMED_OUT, "running", ":alarm_clock:", "timed out", "`/flint result j-1`"),
        (UNKNOWN, None, ":grey_question:", "unknown", "whether it ran is unknown"),
    ],
)
def test_a_tracked_jobs_state(outcome, vendor_status, icon, shown, warning):
    """How a tracked job ended decides its word and icon, and why it ended badly is said."""
    job = tracked_job(outcome=outcome, vendor_status=vendor_status, vendor_job_id="j-1")
    message = job_card(job)
    assert title(message) == f"{icon} Flint `demo:hello.rb` — *{shown}*"
    warnings = [
        b["text"]["text"]
        for b in message.blocks[1:]
        if ":warning:" in b.get("text", {}).get("text", "")
    ]
    if warning is None:
        assert not warnings
    else:
        assert len(warnings) == 1 and warning in warnings[0]
    assert_message(message)


def test_not_started_says_flints_own_reason():
    """When Flint refused the job, its reason is on the card, escaped."""
    message = job_card(tracked_job(outcome=NOT_STARTED, error="no such flintbit <here>"))
    assert ":warning: no such flintbit &lt;here&gt;" in all_text(message)


def test_a_tracked_jobs_fields():
    """Job id, who ran it, the exit code and how it ran; how long it took is said under
    them once it has ended."""
    job = tracked_job(
        outcome=SUCCEEDED,
        vendor_status="complete",
        vendor_job_id="j-1",
        params={"sync": True, "timeout_ms": 60000},
        result={"meta": {"exit-code": 0}},
    )
    assert fields(job_card(job)) == {
        "Status": "complete",
        "Job ID": "`j-1`",
        "Run by": "<@U0ADA>",
        "Exit code": "0",
        "Mode": "synchronous, timeout 60,000 ms",
    }
    assert contexts(job_card(job))[-1] == "Finished in 12 s"
    assert fields(job_card(tracked_job()))["Mode"] == "background"
    assert fields(job_card(tracked_job()))["Job ID"] == "—"


def test_a_running_job_shows_how_long_it_has_run_and_flints_status(monkeypatch):
    """While it runs: Flint's latest status and the time since it was started, in words;
    nothing yet about how long it took."""
    monkeypatch.setattr(time, "time", lambda: 1_700_000_072.4)
    job = tracked_job(outcome=None, finished_at=None, vendor_status="running", state="active")
    message = job_card(job)
    assert fields(message)["Elapsed"] == "1 min 12 s"
    assert fields(message)["Status"] == "running"
    assert not [c for c in contexts(message) if "Finished" in c]


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        (SUCCEEDED, "Finished in 3 min 4 s"),
        ("failed", "Finished in 3 min 4 s"),
        (TIMED_OUT, "Stopped following it after 3 min 4 s"),
        (NOT_STARTED, None),
        (UNKNOWN, None),
    ],
)
def test_an_ended_job_says_how_long_it_took(outcome, said):
    """From its start to its end, not to now; a job that never ran says no time."""
    job = tracked_job(outcome=outcome, finished_at=1_700_000_184.0, vendor_job_id="j-1")
    message = job_card(job)
    assert "Elapsed" not in fields(message)
    took = [c for c in contexts(message) if "after" in c or "Finished" in c]
    assert took == ([said] if said else [])


def action_list(message) -> list[tuple[str, str, str]]:
    return [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons(message.blocks)]


def test_a_running_job_can_only_be_refreshed():
    """Re-running a job still running, or asking for its output, cannot help yet; nor can
    Refresh before Flint has answered (a --sync run waits for it up to a minute)."""
    job = tracked_job(id="t-42", vendor_job_id="j-1", outcome=None, finished_at=None)
    assert action_list(job_card(job)) == [("Refresh", "flint_refresh", "t-42")]
    starting = tracked_job(id="t-42", outcome=None, finished_at=None, state="starting")
    assert action_list(job_card(starting)) == []


def test_an_ended_job_offers_rerun_and_rerun_with_changes():
    """An ended job's buttons carry the tracked id to Re-run and Re-run with changes;
    Refresh could change nothing any more."""
    message = job_card(tracked_job(id="t-42", vendor_job_id="j-1", outcome=SUCCEEDED))
    assert action_list(message) == [
        ("Re-run", "flint_rerun", "t-42"),
        ("Re-run with changes", "flint_rerun_edit", "t-42"),
    ]


@pytest.mark.parametrize("outcome", [NOT_STARTED, UNKNOWN])
def test_a_job_that_never_ran_can_only_be_run_again(outcome):
    """Nothing to refresh and no output: Re-run and Re-run with changes."""
    message = job_card(tracked_job(id="t-42", outcome=outcome, error="refused"))
    assert [a for _, a, _ in action_list(message)] == ["flint_rerun", "flint_rerun_edit"]


def test_a_timed_out_job_is_looked_up_by_its_flint_job_id():
    """The tracker no longer follows it, so Refresh asks Flint by job id (as `/flint
    result` does), beside Re-run and Re-run with changes."""
    message = job_card(tracked_job(id="t-42", vendor_job_id="j-1", outcome=TIMED_OUT))
    assert action_list(message) == [
        ("Re-run", "flint_rerun", "t-42"),
        ("Re-run with changes", "flint_rerun_edit", "t-42"),
        ("Refresh", "flint_refresh", "job:j-1"),
    ]


def test_full_output_only_when_the_card_cut_the_output():
    """An output the card shows whole needs no Full output button; a cut one has it, for a
    tracked job by its tracked id, for a fetched one by its Flint job id."""
    short = job_card(tracked_job(id="t-1", outcome=SUCCEEDED, result={"output": "hi"}))
    assert "flint_full_output" not in [a for _, a, _ in action_list(short)]
    long = job_card(tracked_job(id="t-1", outcome=SUCCEEDED, result={"output": "x" * 5000}))
    assert ("Full output", "flint_full_output", "t-1") in action_list(long)
    stored_in_part = tracked_job(
        id="t-1", outcome=SUCCEEDED, result={"output": "x", "output_length": 9_000_000}
    )
    assert ("Full output", "flint_full_output", "t-1") in action_list(job_card(stored_in_part))
    fetched_long = fetched(output="x" * 5000, **{"job-id": "j-7"})
    assert action_list(fetched_long) == [("Full output", "flint_full_output", "job:j-7")]


def test_a_fetched_card_refreshes_by_job_id():
    """A job only fetched (not tracked) is refreshed by its Flint job id while it runs;
    an ended one would not change."""
    message = fetched("running", **{"job-id": "j-7"})
    assert [(b["action_id"], b["value"]) for b in buttons(message.blocks)] == [
        ("flint_refresh", "job:j-7")
    ]
    assert not buttons(fetched("complete", **{"job-id": "j-7"}).blocks)


def test_a_card_without_a_job_id_has_no_buttons():
    """Nothing to refresh or re-run: no actions block at all."""
    assert not buttons(fetched("error").blocks)


@pytest.mark.parametrize(
    ("output", "shown"),
    [
        (None, ""),
        ("", ""),
        ("plain", "plain"),
        ({"message": "hi"}, "hi"),
        ({"message": 3}, '{\n  "message": 3\n}'),
        ({"a": [1, "é"]}, '{\n  "a": [\n    1,\n    "é"\n  ]\n}'),
        ([1, 2], "[\n  1,\n  2\n]"),
        (5, "5"),
    ],
)
def test_readable_output(output, shown):
    """Text as it is, a lone message as its text, anything else as indented JSON."""
    assert readable_output(output) == shown


def test_output_is_shown_in_a_code_block():
    """The output is a code block, escaped; Flint's message is said beside it."""
    message = fetched(output="<b> & ```", message="ran <fine>")
    assert {"type": "mrkdwn", "text": "```&lt;b&gt; &amp; `\u200b`\u200b`\u200b```"} in texts(
        message.blocks
    )
    assert "Flint says: ran &lt;fine&gt;" in all_text(message)


@pytest.mark.parametrize("said", ["success", "complete"])
def test_flints_message_is_not_repeated_when_it_says_nothing(said):
    """ "success", or the status again, adds nothing to the card."""
    assert "Flint says" not in all_text(fetched(message=said))


def test_long_output_is_cut_to_fit_and_the_note_says_where_the_rest_is():
    """A long output is cut to 2,500 characters once escaped, and the note says how long it
    was and that the whole is in the thread (tracked) or not (fetched)."""
    output = "<" * 5000
    tracked = job_card(tracked_job(result={"output": output}))
    shown = next(t["text"] for t in texts(tracked.blocks) if t["text"].startswith("```"))
    assert len(shown) <= 2500 and shown.endswith("\n…```")
    notes = [b["elements"][0]["text"] for b in tracked.blocks if b["type"] == "context"]
    assert notes == [
        "Output truncated (5,000 characters); the full output is attached in the thread."
    ]
    assert "Output truncated (5,000 characters)." in all_text(fetched(output=output))
    assert "Output truncated (5,000 characters): *Full output* shows more of it." in all_text(
        fetched(output=output, **{"job-id": "j-7"})
    )
    assert_message(tracked)


def test_an_output_stored_in_part_says_its_whole_length():
    """When only the start of a huge output was kept, the note gives the whole length and
    says only the first MiB is attached."""
    job = tracked_job(result={"output": "x", "output_length": 5_000_000})
    assert (
        "Output truncated (5,000,000 characters); its first 1 MiB is attached in the thread."
        in all_text(job_card(job))
    )


def test_full_output_is_attached_only_when_the_card_cut_it():
    """Nothing is attached for an output the card shows whole; a cut one is attached whole."""
    assert full_output(tracked_job(result={"output": "short"})) == []
    text = "line\n" * 1000
    [upload] = full_output(tracked_job(vendor_job_id="j-1", result={"output": text}))
    assert (upload.filename, upload.content, upload.title) == (
        "j-1-output.txt",
        text,
        "demo:hello.rb output",
    )


def test_the_output_file_holds_at_most_one_mib():
    """A longer output is cut at a character boundary under 1 MiB of UTF-8, the title says
    how much is in it, and a slash in the job id does not make a path."""
    [upload] = output_file(tracked_job(vendor_job_id="a/b"), "é" * 600_000, 2_000_000)
    assert upload.filename == "a_b-output.txt"
    assert upload.content == "é" * 524_288
    assert len(upload.content.encode()) == 1024 * 1024
    assert upload.title == "demo:hello.rb output (cut: its first 524,288 of 2,000,000 characters)"


def test_the_thread_notice():
    """Success says nothing in the thread; a failure mentions who ran it, the exit code and
    Flint's reason, escaped."""
    assert thread_notice(tracked_job(outcome=SUCCEEDED)) is None
    job = tracked_job(
        outcome="failed",
        vendor_status="complete",
        result={"meta": {"exit-code": 2, "message": "<boom>"}},
    )
    notice = thread_notice(job)
    assert notice.text == ":x: <@U0ADA> `demo:hello.rb` ended *failed* (exit code 2). &lt;boom&gt;"
    assert_message(notice)
    timed_out = thread_notice(tracked_job(outcome=TIMED_OUT, vendor_job_id="j-1"))
    assert "ended *timed out*. Stopped following this job" in timed_out.text


def test_huge_hostile_text_everywhere():
    """Flint text tens of thousands of characters long, full of mentions, links and fences,
    leaves every card valid and inert."""
    job = tracked_job(
        vendor_status=HUGE,
        vendor_job_id="j-1",
        outcome="failed",
        error=HUGE,
        result={"meta": {"message": HUGE, "exit-code": 1}, "output": {"k": HUGE}},
    )
    assert_message(job_card(job), text_limit=3000)
    assert_message(
        fetched(HUGE, HUGE, message=HUGE, context=HUGE, **{"job-id": "j-1"}), text_limit=3000
    )
    assert_message(thread_notice(tracked_job(outcome=NOT_STARTED, error=HUGE)))


@FEW
@given(
    hostile_text,
    hostile_long,
    hostile_long,
    st.sampled_from([None, SUCCEEDED, "failed", TIMED_OUT, NOT_STARTED, UNKNOWN]),
    st.one_of(hostile_long, st.dictionaries(hostile_text, hostile_text, max_size=3)),
)
def test_any_tracked_job_makes_a_valid_inert_card(status, message, error, outcome, output):
    """Whatever Flint said and however the job ended, the card is valid Block Kit with
    nothing live in it."""
    job = tracked_job(
        vendor_status=status,
        vendor_job_id="j-1",
        outcome=outcome,
        error=error,
        result={"meta": {"message": message, "exit-code": 1}, "output": output},
    )
    assert_message(job_card(job), text_limit=3000)
    answer = {"meta": {"status": status, "message": message, "job-id": "j-1"}, "output": output}
    assert_message(card(view_from_result(answer)), text_limit=3000)


def test_a_long_job_id_still_makes_a_valid_card():
    """A job id as long as Flint likes still gives a card Slack accepts."""
    assert_message(fetched("running", **{"job-id": "j" * 2000}))


def test_a_long_status_still_makes_a_valid_thread_notice():
    """A status of any length still gives a notice Slack accepts."""
    job = tracked_job(outcome="failed", vendor_status="s" * 3000, vendor_job_id="j-1")
    assert_message(thread_notice(job))


def test_fetched_json_output_is_shown_as_json():
    """A structured output reads as the JSON Flint sent."""
    message = fetched(output={"items": [1, 2]})
    assert {
        "type": "mrkdwn",
        "text": "```" + json.dumps({"items": [1, 2]}, indent=2) + "```",
    } in texts(message.blocks)
