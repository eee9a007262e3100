"""Stomts → Block Kit: valid under Slack's limits whatever STOMT says, wishes and likes
told apart, buttons that lead to the right stomt."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.stomt import Comment, Stomt, Target
from handlers.stomt.blocks import delete_prompt, digest, stomt_card, stomt_list
from tests.unit.blockkit import assert_message, buttons, texts
from tests.unit.strategies import FEW, HUGE, hostile_long, hostile_text

MAY_1 = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
DATE = "<!date^1714555800^{date_short_pretty} {time}|2024-05-01 09:30 UTC>"


def a_stomt(**fields) -> Stomt:
    base = {
        "id": "i-wish-x",
        "positive": False,
        "text": "it spoke German",
        "target": Target(id="pg", displayname="My Page"),
        "shortlink": "https://stomt.co/x",
        "created_at": MAY_1,
        "amountAgreements": 3,
        "amountComments": 1,
    }
    return Stomt(**{**base, **fields})


def all_text(message) -> str:
    return "\n".join(node["text"] for node in texts(message.blocks))


def fields(message) -> dict[str, str]:
    section = next(block for block in message.blocks if "fields" in block)
    pairs = (field["text"].split("\n", 1) for field in section["fields"])
    return {name.strip("*"): value for name, value in pairs}


def button_summary(message) -> list[tuple[str, str, str]]:
    return [(b["text"]["text"], b["action_id"], b["value"]) for b in buttons(message.blocks)]


@pytest.mark.parametrize(
    ("positive", "text", "headline"),
    [
        (False, "it spoke German", ":bulb: *I wish it spoke German*"),
        (True, "the export", ":heart: *I like the export*"),
        (True, "I like it already", ":heart: *I like it already*"),
        (False, "", ":bulb: *I wish …*"),
        (False, "<!here> & *you*", ":bulb: *I wish &lt;!here&gt; &amp; *you**"),
    ],
)
def test_a_wish_or_a_like_reads_as_a_sentence(positive, text, headline):
    """A wish has a bulb and "I wish", a like a heart and "I like"; the text is escaped."""
    message = stomt_card(a_stomt(positive=positive, text=text))
    assert message.blocks[0]["text"]["text"] == headline
    assert message.text == headline.split(" ", 1)[1][1:-1]
    assert_message(message)


def test_the_cards_fields():
    """Target, counts, when (in each reader's time zone), labels and who posted it."""
    message = stomt_card(a_stomt(labels=["ux", "<b>"]), posted_by="U0ADA")
    assert fields(message) == {
        "Target": "My Page",
        "Agreements": "3",
        "Comments": "1",
        "Created": DATE,
        "Labels": "ux, &lt;b&gt;",
        "Posted by": "<@U0ADA>",
    }


def test_details_add_state_type_severity_and_comments():
    """The detailed card shows the stomt's state, type and severity, its details, and at
    most ten comments, then how many more."""
    comments = [Comment(text=f"c{n}", creator=Target(displayname="Bob")) for n in range(12)]
    comments[0] = Comment(text="<anon>")
    message = stomt_card(
        a_stomt(details="more <b>", state="open", severity="high"), details=True, comments=comments
    )
    shown = fields(message)
    assert (shown["State"], shown["Type"], shown["Severity"]) == ("open", "unset", "high")
    text = all_text(message)
    assert "more &lt;b&gt;" in text
    assert "*Comments*\n• *anonymous*: &lt;anon&gt;\n• *Bob*: c1\n" in text
    assert "• *Bob*: c9\n…and 2 more" in text
    assert_message(message)


def test_buttons_show_and_delete_with_a_confirm_dialog():
    """A card offers Show (not when it is the detailed one) and Delete, and Delete asks
    Slack to confirm first."""
    assert button_summary(stomt_card(a_stomt())) == [
        ("Show", "stomt_show", "i-wish-x"),
        ("Delete", "stomt_delete", "i-wish-x"),
    ]
    detailed = stomt_card(a_stomt(), details=True)
    assert button_summary(detailed) == [("Delete", "stomt_delete", "i-wish-x")]
    [delete] = buttons(detailed.blocks)
    assert delete["style"] == "danger"
    assert delete["confirm"]["title"]["text"] == "Delete this stomt?"
    assert delete["confirm"]["deny"]["text"] == "Keep it"


def test_a_stomt_without_an_id_has_no_buttons():
    """Nothing to show or delete without an id."""
    assert not buttons(stomt_card(a_stomt(id=None)).blocks)


def test_the_footer_links_only_a_plain_url():
    """The short link is a link when it is an http(s) URL, and plain text otherwise."""
    assert "<https://stomt.co/x|https://stomt.co/x> · id `i-wish-x`" in all_text(
        stomt_card(a_stomt())
    )
    sly = stomt_card(a_stomt(shortlink="https://x.test|<!channel>"))
    assert "https://x.test|&lt;!channel&gt; · id" in all_text(sly)
    assert_message(sly)


def test_a_deleted_stomt():
    """Struck through, with who deleted it, and nothing left to click."""
    message = stomt_card(a_stomt(), deleted_by="U0BOB")
    assert message.blocks == [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": ":wastebasket: ~I wish it spoke German~ — deleted by <@U0BOB>",
            },
        }
    ]
    assert message.text == "Stomt deleted by <@U0BOB>"


def test_delete_prompt_asks_first_and_shows_the_stomt_in_full():
    """The prompt is the detailed card under a question."""
    message = delete_prompt(a_stomt())
    assert message.text == "Delete I wish it spoke German?"
    assert message.blocks[0]["text"]["text"] == "Delete this stomt? Press *Delete* and confirm."
    assert message.blocks[1:] == stomt_card(a_stomt(), details=True).blocks
    assert_message(message)


def test_a_list_page_and_its_more_button():
    """Ten stomts a page, each with Show; More carries where the next page starts."""
    stomts = [a_stomt(id=f"s{n}", amountComments=n % 2) for n in range(12)]
    message = stomt_list(stomts, target="pg", kind="top", polarity="positive", offset=10)
    assert message.text == "STOMT top likes for pg"
    assert message.blocks[0]["text"]["text"] == "*STOMT* — top likes for *pg* (from #11)"
    lines = [b["text"]["text"] for b in message.blocks[1:-1]]
    assert len(lines) == 10
    assert (
        lines[0]
        == ":bulb: I wish it spoke German\n_3 agree · 0 comments · <https://stomt.co/x|open>_"
    )
    assert lines[1].endswith("_3 agree · 1 comment · <https://stomt.co/x|open>_")
    assert button_summary(message)[:2] == [
        ("Show", "stomt_show", "s0"),
        ("Show", "stomt_show", "s1"),
    ]
    more = button_summary(message)[-1]
    assert more[:2] == ("More", "stomt_more")
    assert json.loads(more[2]) == {"t": "pg", "k": "top", "p": "positive", "o": 20}
    assert_message(message)


@pytest.mark.parametrize(
    ("polarity", "what"), [(None, "stomts"), ("positive", "likes"), ("negative", "wishes")]
)
def test_a_list_names_what_it_lists(polarity, what):
    """Likes, wishes, or stomts of both kinds."""
    message = stomt_list([], target="pg", kind="received", polarity=polarity, offset=0)
    assert message.text == f"STOMT received {what} for pg"


def test_an_empty_list_and_the_end_of_one():
    """No stomts says so (differently past the first page), and offers no More."""
    first = stomt_list([], target="pg", kind="received", polarity=None, offset=0)
    later = stomt_list([], target="pg", kind="received", polarity=None, offset=10)
    assert "Nothing here." in all_text(first)
    assert "No more stomts." in all_text(later)
    assert not buttons(first.blocks) and not buttons(later.blocks)
    short = stomt_list([a_stomt()] * 9, target="pg", kind="received", polarity=None, offset=0)
    assert [b[1] for b in button_summary(short)] == ["stomt_show"] * 9


def test_the_digest():
    """Counts of new wishes and likes since when, at most 20 stomts, then how many more
    and the command that lists them."""
    stomts = [a_stomt(id=f"w{n}") for n in range(20)] + [a_stomt(positive=True, text="x")] * 2
    message = digest("pg", stomts, since=MAY_1.timestamp())
    assert message.text == "STOMT digest for pg: 22 new"
    assert message.blocks[0]["text"]["text"] == (
        f":newspaper: *STOMT digest for pg* — 20 new wishes, 2 new likes since {DATE}"
    )
    assert len(message.blocks) == 22
    assert message.blocks[-1]["elements"][0]["text"] == "…and 2 more: `/stomt list pg`"
    assert_message(message)


def test_an_empty_digest():
    """Nothing new is said, with the counts in the singular-or-plural they need."""
    message = digest("pg", [a_stomt(positive=True)], since=MAY_1.timestamp())
    assert "— 0 new wishes, 1 new like since" in all_text(message)
    assert "Nothing new." in all_text(digest("pg", [], since=0))


def test_huge_hostile_text_everywhere():
    """STOMT text tens of thousands of characters long, full of mentions, links and fences,
    leaves every message valid and inert."""
    stomt = a_stomt(
        id="s" * 200,
        text=HUGE,
        details=HUGE,
        labels=[HUGE] * 30,
        target=Target(id="t", displayname=HUGE),
        state=HUGE,
        type=HUGE,
        severity=HUGE,
        shortlink=HUGE,
    )
    comments = [Comment(text=HUGE, creator=Target(displayname=HUGE))] * 15
    assert_message(
        stomt_card(stomt, posted_by="U0ADA", details=True, comments=comments), text_limit=3000
    )
    assert_message(delete_prompt(stomt), text_limit=3000)
    assert_message(stomt_list([stomt] * 12, target="t" * 200, kind="top", polarity=None, offset=0))
    assert_message(digest("t" * 200, [stomt] * 25, since=0))


@FEW
@given(
    hostile_long,
    hostile_text,
    st.lists(hostile_text, max_size=12),
    st.booleans(),
    st.one_of(st.none(), hostile_text, st.just("https://stomt.co/ok")),
)
def test_any_stomt_makes_valid_inert_messages(text, name, labels, positive, shortlink):
    """Whatever STOMT sends, every message built from it is valid Block Kit with nothing
    live in it."""
    stomt = a_stomt(
        text=text,
        details=text,
        positive=positive,
        labels=labels,
        target=Target(displayname=name),
        shortlink=shortlink,
    )
    comments = [Comment(text=text, creator=Target(displayname=name))]
    assert_message(stomt_card(stomt, details=True, comments=comments), text_limit=3000)
    assert_message(stomt_list([stomt] * 3, target="pg", kind="top", polarity=None, offset=0))
    assert_message(digest("pg", [stomt], since=0))
