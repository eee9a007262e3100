"""The pieces every job card shares: how long a job took, and text split for a modal
within Slack's limits however much escaping lengthens it."""

from __future__ import annotations

import html

import pytest

from bot.store.jobs import NOT_STARTED, SUCCEEDED, TIMED_OUT, UNKNOWN
from handlers.common.job_cards import code_sections, finished_line, line_sections, output_modal
from tests.unit.blockkit import assert_valid
from tests.unit.strategies import tracked_job


@pytest.mark.parametrize(
    ("outcome", "said"),
    [
        (None, None),
        (SUCCEEDED, "Finished in 1 min 12 s"),
        ("failed", "Finished in 1 min 12 s"),
        (TIMED_OUT, "Stopped following it after 1 min 12 s"),
        (NOT_STARTED, None),
        (UNKNOWN, None),
    ],
)
def test_finished_line(outcome, said):
    """From the job's start to its end; nothing while it runs or for a job never run."""
    job = tracked_job(outcome=outcome, finished_at=1_700_000_072.0)
    assert finished_line(job) == said


@pytest.mark.parametrize("text", ["<" * 50_000, "line\n" * 20_000, "a`b" * 9_000, "é" * 40_000])
def test_code_sections_stay_within_a_section_once_escaped(text):
    """Each section is a code block within 3,000 characters; together they are the start
    of the text, and say how much of it they hold."""
    shown = code_sections(text)
    assert len(shown.sections) == 10 and shown.whole == len(text)
    assert all(len(s) <= 3000 and s.startswith("```") for s in shown.sections)
    inner = "".join(s[3:-3] for s in shown.sections).replace("\u200b", "")
    assert html.unescape(inner) == text[: shown.shown]
    assert_valid(output_modal("Output", "heading", shown, "note")["blocks"])


def test_short_text_is_shown_whole():
    shown = code_sections("hello\nworld")
    assert (shown.sections, shown.shown, shown.whole) == (["```hello\nworld```"], 11, 11)


def test_line_sections_keep_the_first_or_the_last_lines():
    """A list keeps its first lines, a log its latest; each section within the limit."""
    lines = [f"{n:05} " + "x" * 500 for n in range(200)]
    first, last = line_sections(lines), line_sections(lines, last=True)
    assert first.shown == last.shown < 200 and first.whole == 200
    assert first.sections[0].startswith("00000") and "00199" not in "".join(first.sections)
    assert last.sections[-1].endswith("x") and "00199" in last.sections[-1]
    assert "00000" not in "".join(last.sections)
    assert all(len(s) <= 3000 for s in first.sections + last.sections)
    [cut] = line_sections(["&amp;" * 1000]).sections
    assert len(cut) <= 3000 and cut.endswith("…") and not cut.endswith("&…")
