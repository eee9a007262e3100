"""Mindstamp figures and videos → Block Kit: valid under Slack's limits whatever Mindstamp
says, figures verbatim with their change, buttons for the next page and the details."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.mindstamp import Video, VideoCount
from handlers.mindstamp.blocks import digest, figures, summary, video, video_line, videos
from tests.unit.blockkit import assert_message, buttons, texts
from tests.unit.strategies import FEW, HUGE, hostile_long, hostile_text

INTRO = Video(
    token="KMx",
    title="Intro <1>",
    link="https://m.test/v",
    duration=75.5,
    created_at="2024-05-01T09:30:00Z",
)


@dataclass
class Count:
    """What the client counts: a total, and whether counting reached the end."""

    total: int
    complete: bool = True


def field_texts(blocks) -> list[str]:
    return [field["text"] for block in blocks for field in block.get("fields", [])]


def all_text(message) -> str:
    return "\n".join(node["text"] for node in texts(message.blocks))


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (10, "10"),
        (1.25, "1.25"),
        (0.1 + 0.2, "0.30000000000000004"),
        (10**20, "100000000000000000000"),
        (True, "True"),
        ("x<y", "x&lt;y"),
        (None, "None"),
    ],
)
def test_figures_are_shown_verbatim(value, shown):
    """Numbers as Mindstamp sent them (CONTRACT.md: values verbatim), anything else escaped."""
    assert field_texts(figures("t", [("Score", value)])) == [f"*Score*\n{shown}"]


@pytest.mark.parametrize(
    ("now", "before", "change"),
    [
        (12, 10, "(:arrow_up: 2)"),
        (8, 10, "(:arrow_down: 2)"),
        (5, 5, "(± 0)"),
        (0.3, 0.1, "(:arrow_up: 0.2)"),
        (0.1 + 0.2, 0.3, "(± 0)"),
        (1.5, 2, "(:arrow_down: 0.5)"),
    ],
)
def test_the_change_since_the_last_digest(now, before, change):
    """Up, down or none, with float noise from the subtraction rounded away."""
    assert field_texts(figures("t", [("Views", now)], {"Views": before})) == [
        f"*Views*\n{now!r} views  {change}"
    ]


@pytest.mark.parametrize("before", ["10", True, None])
def test_no_change_is_shown_against_something_that_is_not_a_number(before):
    """A previous value that is not a number gives no change at all."""
    assert field_texts(figures("t", [("Views", 12)], {"Views": before})) == ["*Views*\n12 views"]


def test_figures_ten_to_a_section_and_at_most_200():
    """Slack allows ten fields a section: figures fill sections of ten, at most 200 of
    them, then how many more."""
    blocks = figures("t", [(f"f{n}", n) for n in range(205)])
    assert [len(block.get("fields", [])) for block in blocks[1:-1]] == [10] * 20
    assert blocks[-1]["elements"][0]["text"] == "…and 5 more figures."
    assert len(blocks) == 22
    assert [len(block["fields"]) for block in figures("t", [("a", 1)] * 13)[1:]] == [10, 3]


@pytest.mark.parametrize(
    ("period", "title", "text"),
    [
        ("all", ":bar_chart: *Mindstamp — all time*", "Mindstamp summary for all time"),
        (
            "week",
            ":bar_chart: *Mindstamp — the past 7 days*",
            "Mindstamp summary for the past 7 days",
        ),
        ("month", ":bar_chart: *Mindstamp — this month*", "Mindstamp summary for this month"),
    ],
)
def test_the_summary(period, title, text):
    """The summary names the period it covers."""
    message = summary(period, [("Views", 10)])
    assert (message.blocks[0]["text"]["text"], message.text) == (title, text)
    assert_message(message)


def test_a_summary_without_figures_says_so():
    """No figures for the period is said, not shown as an empty card."""
    assert "Mindstamp gave no figures for this period." in all_text(summary("week", []))


def test_a_video_line():
    """The title links to the video when there is a link; duration and creation follow."""
    assert video_line(INTRO) == (
        "*<https://m.test/v|Intro &lt;1&gt;>* · 1 min 15 s · created 2024-05-01"
    )
    assert video_line(Video(id="v2")) == "*v2*"
    assert video_line(Video(title="t", link="javascript:x")) == "*t*"


def test_a_page_of_videos():
    """Each video with Details carrying its key; More carrying the next offset."""
    message = videos([INTRO, Video(id="v2"), Video(title="no key")], offset=10, has_more=True)
    assert message.blocks[0]["text"]["text"] == ":film_frames: *Mindstamp videos* (from #11)"
    summary_ = [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons(message.blocks)]
    assert summary_[:2] == [
        ("Details", "mindstamp_video", "KMx"),
        ("Details", "mindstamp_video", "v2"),
    ]
    assert summary_[2][:2] == ("More", "mindstamp_more")
    assert json.loads(summary_[2][2]) == {"o": 20}
    assert_message(message)


def test_an_empty_page_of_videos():
    """No videos says so (differently past the first page), and offers no More."""
    assert "No videos." in all_text(videos([], offset=0, has_more=False))
    assert "No more videos." in all_text(videos([], offset=10, has_more=False))
    assert not buttons(videos([], offset=10, has_more=False).blocks)


def test_a_page_longer_than_asked_still_makes_a_valid_message():
    """However many videos Mindstamp answers with, the page is valid Block Kit."""
    assert_message(videos([INTRO] * 60, offset=0, has_more=True))


def test_one_video():
    """Views and interactions, a count that stopped early marked +, duration, creation,
    and the id."""
    message = video(INTRO, Count(1234), Count(5, complete=False))
    assert field_texts(message.blocks) == [
        "*Views*\n1,234 views",
        "*Interactions*\n5+ interactions",
        "*Duration*\n1 min 15 s",
        "*Created*\n2024-05-01",
    ]
    assert message.blocks[-1]["elements"][0]["text"] == "id `KMx`"
    assert message.text == "Mindstamp video Intro &lt;1&gt;"
    assert_message(message)
    bare = video(Video(), Count(0), Count(0))
    assert field_texts(bare.blocks)[2:] == ["*Duration*\n—", "*Created*\n—"]


def test_the_digest():
    """Figures with their change since the last digest, then the top videos."""
    top = [VideoCount("KMx", 1, INTRO), VideoCount("zz", 2000)]
    message = digest([("Views", 12)], {"Views": 10}, top, since=1714555800)
    assert field_texts(message.blocks) == ["*Views*\n12 views  (:arrow_up: 2)"]
    text = all_text(message)
    assert "Change since the last digest (2024-05-01 09:30 UTC)." in text
    assert (
        "*Top videos of the past 7 days*\n1. Intro &lt;1&gt; — 1 view\n2. zz — 2,000 views" in text
    )
    assert_message(message)


def test_the_first_digest_says_the_next_shows_the_change():
    """With nothing to compare with, the digest says the change comes next time."""
    message = digest([("Views", 12)], None, [], since=0)
    assert "The first digest here: the next one shows the change." in all_text(message)
    assert "Top videos" not in all_text(message)


def test_a_digest_without_a_subscription_promises_no_next_one():
    """`digest now` where nothing is subscribed: nothing is kept for a next digest."""
    for previous in (None, {"Views": 10}):
        text = all_text(digest([("Views", 12)], previous, [], since=0, subscribed=False))
        assert "the next one" not in text and "Change since the last digest" not in text
        assert "No digest is subscribed here" in text and "`/mindstamp digest weekly`" in text


def test_huge_hostile_text_everywhere():
    """Mindstamp text tens of thousands of characters long, full of mentions, links and
    fences, leaves every message valid and inert."""
    hostile = Video(id="v" * 128, title=HUGE, link=HUGE, duration=1e9, created_at="2024-05-01")
    many = [(HUGE, HUGE)] * 3 + [(f"n{n}", n) for n in range(247)]
    assert_message(summary("month", many))
    assert_message(videos([hostile] * 10, offset=10, has_more=True))
    assert_message(video(hostile, Count(10**12), Count(10**12, False)), text_limit=3000)
    top = [VideoCount("v", 10**6, hostile)] * 3
    assert_message(digest(many, {HUGE: 1}, top, since=0))


_VALUES = st.one_of(
    st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), hostile_text
)


@FEW
@given(
    st.lists(st.tuples(hostile_text, _VALUES), max_size=30),
    st.dictionaries(hostile_text, _VALUES, max_size=5),
    st.lists(hostile_long, max_size=10),
)
def test_any_answer_makes_valid_inert_messages(numbers, previous, names):
    """Whatever Mindstamp sends, every message built from it is valid Block Kit with
    nothing live in it."""
    page = [Video(id=f"v{n}", title=name, link=name) for n, name in enumerate(names)]
    top = [VideoCount(f"v{n}", n, item) for n, item in enumerate(page)]
    assert_message(summary("week", numbers))
    assert_message(digest(numbers, previous, top, since=0))
    assert_message(videos(page, offset=0, has_more=True))
    for item in page:
        assert_message(video(item, Count(1), Count(2)), text_limit=3000)
