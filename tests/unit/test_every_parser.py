"""What holds for every vertical's parser, drawn from its own words: any text is a typed
request its table can carry out, Help, or a UsageError that says something."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers import VERTICALS
from handlers.common.commands import Help
from handlers.common.text import UsageError
from tests.unit.strategies import FAST, command_text

# Each vendor's own words besides its subcommands: ids, options and values it knows.
WORDS = {
    "/flint": ["demo:hello.rb", "--sync", "--timeout", "k=v", "j-1"],
    "/stomt": ["top", "negative", "my-page", "--target", "--label"],
    "/mint": ["f-1", "i-1", "faulted", "{}"],
    "/stint": ["demo", "o-1", "a=1", "--batch", "--urgency", "a:IMAGE=x"],
    "/mindstamp": ["week", "month", "KMxPjRVlrPnH"],
}
COMMON = ["help", "digest", "daily", "weekly", "off", "now", "09:00"]


@pytest.mark.parametrize("vertical", VERTICALS, ids=lambda v: v.slash)
@FAST
@given(data=st.data())
def test_any_text_is_a_request_its_table_runs_help_or_a_usage_error(vertical, data):
    names = [sub.name for sub in vertical.subcommands]
    words = names + WORDS[vertical.slash] + COMMON
    # A subcommand alone, a subcommand and anything, or anything at all.
    text = data.draw(
        st.one_of(
            st.sampled_from(names),
            st.builds("{} {}".format, st.sampled_from(names), command_text(words)),
            command_text(words),
        )
    )
    try:
        result = vertical.parse(text)
    except UsageError as exc:
        assert str(exc)
        return
    if not isinstance(result, Help):
        name, _target = vertical.policy_view(result)
        assert vertical.subcommand(name).name == name


@pytest.mark.parametrize(
    ("slash", "text"),
    [
        (slash, text)
        for slash in ("/stomt", "/mint", "/mindstamp")
        for text in ("digest weekdays", "digest monday 10:30", "digest sun")
    ],
)
def test_digest_takes_every_schedule_of_the_contract(slash, text):
    """`weekdays` and a day of the week are schedules (CONTRACT.md, Slash commands)."""
    [vertical] = [v for v in VERTICALS if v.slash == slash]
    assert vertical.policy_view(vertical.parse(text))[0] == "digest"
