"""What the unit tests feed parsers and builders: command text as Slack delivers it, and
hostile vendor text. The strategies are cheap to draw: tests/unit runs in seconds."""

from __future__ import annotations

import html

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.store.jobs import TrackedJob

# Example counts that keep all of tests/unit within about ten seconds on a shared
# two-core machine: FAST for cheap properties, FEW for those that build whole messages
# (and validate them with slack_sdk) or whole typed commands.
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Clients turn these quotes curly and the parsers turn them back (by design), so a value
# that holds one cannot come back from parsing unchanged.
CURLY = "“”„‘’"
# Plain text a user may type in a value: no surrogates (Slack cannot send them), no curly
# quotes (above).
typed_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters=CURLY), max_size=30
)

# Pieces that mean something to a parser, to Slack or to mrkdwn.
_TRICKY = [
    "help", "-h", "--help", "--", "--sync", "--timeout", "--timeout=5", "--target",
    "--label", "--batch", "--urgency", "=", ":", "a=1", "x:IMAGE=https://e.com/a.png",
    "demo:hello.rb", "{", "}", '{"a": 1}', "[1]", '"', "'", "“", "’", "\\", "&amp;", "&lt;",
    "&gt;", "<!channel>", "`", "```", "9:30", "25:00", "NaN", "1e999", "\n", "\t", "\x00",
    "\u2028", "é", "٣", "😀", " ",
]  # fmt: skip


def command_text(words: list[str]):
    """Text after a slash command: the vendor's own words mixed with tricky pieces, or any
    text at all."""
    pieces = st.lists(st.sampled_from(words + _TRICKY), max_size=12)
    return st.one_of(pieces.map(" ".join), pieces.map("".join), st.text(max_size=200))


def as_slack_sends(typed: str) -> str:
    """What Slack puts in a slash command's ``text`` for what the user typed: ``&``, ``<``
    and ``>`` escaped as HTML entities, nothing else."""
    return html.escape(typed, quote=False)


# Vendor text as bad as it gets: each capital letter below stands for a piece that is live
# in mrkdwn (a broadcast, a mention, a link, a fence), mixed with characters that are.
# A lower-case letter or `_` after "@everyone" makes a word that is no broadcast until a
# cut ends it there.
_PIECES = str.maketrans(
    {
        "C": "<!channel>",
        "H": "@here",
        "E": "@everyone",
        "U": "<@U0BADBAD>",
        "L": "<https://evil.example|click me>",
        "F": "```",
        "A": "&amp;",
        "T": "&lt",
    }
)
hostile_text = st.text(st.sampled_from("CHEULFAT<>&@`|*~\n é😀\u200bs_"), max_size=40).map(
    lambda text: text.translate(_PIECES)
)
# The same, sometimes thousands of characters long.
hostile_long = st.one_of(hostile_text, hostile_text.map(lambda text: text * 150))

# A fixed piece of hostile text, ~37,000 characters long, for the explicit examples.
HUGE = "<!channel> @here &<> ```x``` `y` *b* <https://evil.example|click> " * 550


def tracked_job(**fields) -> TrackedJob:
    """A tracked job as the store hands it to a builder: a finished Flint run unless
    ``fields`` say otherwise."""
    base = {
        "id": "t-1",
        "vendor": "flint",
        "target": "demo:hello.rb",
        "params": {},
        "channel_id": "C0CHAN",
        "user_id": "U0ADA",
        "state": "done",
        "created_at": 1_700_000_000.0,
        "updated_at": 1_700_000_000.0,
        "deadline_at": 1_700_003_600.0,
        "finished_at": 1_700_000_012.5,
    }
    return TrackedJob(**{**base, **fields})
