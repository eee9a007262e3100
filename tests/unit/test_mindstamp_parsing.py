"""``/mindstamp`` text → typed requests: every subcommand and refusal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.common.text import UsageError
from handlers.mindstamp.parsing import (
    DigestCommand,
    DigestRequest,
    Help,
    SummaryRequest,
    VideoRequest,
    VideosRequest,
    parse,
)
from tests.unit.strategies import FAST


@pytest.mark.parametrize("text", [None, "", " ", "help", "HELP", "-h", "--help", "help videos"])
def test_help(text):
    """Nothing, or any way of asking for help, is Help."""
    assert parse(text) == Help()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("summary week", SummaryRequest("week")),
        ("SUMMARY Month", SummaryRequest("month")),
        ("videos", VideosRequest()),
        ("video KMxPjRVlrPnH", VideoRequest("KMxPjRVlrPnH")),
        ("video 0_a-Z", VideoRequest("0_a-Z")),
        ("digest", DigestRequest(DigestCommand("list"))),
        ("digest daily 7:05", DigestRequest(DigestCommand("daily", "07:05"))),
        ("digest weekly", DigestRequest(DigestCommand("weekly", "09:00"))),
        ("digest off", DigestRequest(DigestCommand("off"))),
        ("digest now", DigestRequest(DigestCommand("now"))),
    ],
)
def test_parses(text, expected):
    """Each form of each subcommand gives exactly this request."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("summary year", "`year` is no period: `/mindstamp summary` takes `week`, `month` or"),
        ("summary week month", "`/mindstamp summary` takes `week`, `month` or nothing"),
        ("videos 2", "`/mindstamp videos` takes nothing more"),
        ("video", "`/mindstamp video` takes exactly one video id"),
        ("video a b", "`/mindstamp video` takes exactly one video id"),
        ("video bad/id", "`bad/id` is not a Mindstamp video id"),
        ("video -x", "`-x` is not a Mindstamp video id"),
        ("video " + "v" * 129, "is not a Mindstamp video id"),
        ('video "unbalanced', "Check your quotes"),
        ("digest hourly", "`digest hourly`? Use"),
        ("digest daily noon", "`noon` is not a time of day"),
        ("digest now extra", "`digest now` takes nothing more"),
        ("foo", "Unknown subcommand `foo`"),
        ("foo`bar", "Unknown subcommand `foo'bar`"),
        ("x" * 60, "Unknown subcommand `" + "x" * 40 + "`"),
    ],
)
def test_refuses(text, phrase):
    """Each mistake is a UsageError that says what is wrong."""
    with pytest.raises(UsageError, match=re.escape(phrase)):
        parse(text)


def test_summary_without_a_period_is_the_overall_one():
    """`/mindstamp summary` asks for the overall figures (CONTRACT.md), not the past week's."""
    assert parse("summary") == SummaryRequest("all") != parse("summary week")


@FAST
@given(
    st.tuples(st.text("aZ09", min_size=1, max_size=1), st.text("aZ09_-", max_size=127)).map("".join)
)
def test_every_video_id_can_be_asked_for(video_id):
    """Any valid video id (1 to 128 characters) comes back from `video VIDEO_ID`."""
    assert parse(f"video {video_id}") == VideoRequest(video_id)


@FAST
@given(st.sampled_from(["daily", "weekly"]), st.integers(0, 23), st.integers(0, 59))
def test_every_digest_time_can_be_typed(frequency, hour, minute):
    """`digest daily|weekly H:MM` keeps the time, written HH:MM."""
    assert parse(f"digest {frequency} {hour}:{minute:02d}") == DigestRequest(
        DigestCommand(frequency, f"{hour:02d}:{minute:02d}")
    )
