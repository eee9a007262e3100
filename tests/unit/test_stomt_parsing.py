"""``/stomt`` text → typed requests: every subcommand, option, limit and refusal."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.common.text import UsageError
from handlers.stomt.parsing import (
    DeleteRequest,
    DigestCommand,
    DigestRequest,
    Help,
    ListRequest,
    PostRequest,
    ShowRequest,
    parse,
)
from tests.unit.strategies import FAST, FEW, as_slack_sends, typed_text


@pytest.mark.parametrize("text", [None, "", "  ", "help", "Help", "-h", "--help", "help wish"])
def test_help(text):
    """Nothing, or any way of asking for help, is Help."""
    assert parse(text) == Help()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "wish the export had a CSV option --label export",
            PostRequest("the export had a CSV option", False, None, ("export",)),
        ),
        ("like it's great", PostRequest("it's great", True)),
        ("LIKE “quoted” it’s", PostRequest('"quoted" it\'s', True)),
        ("wish a &amp; b &lt;c&gt;", PostRequest("a & b <c>", False)),
        ("wish I wish it spoke German", PostRequest("I wish it spoke German", False)),
        ("wish two\nlines", PostRequest("two\nlines", False)),
        ("wish \"unbalanced it's", PostRequest("\"unbalanced it's", False)),
        (
            'like ok --target my-page --label "two words" --label \'say "hi"\'',
            PostRequest("ok", True, "my-page", ("two words", 'say "hi"')),
        ),
        ("wish a --target=pg.1 --label=one", PostRequest("a", False, "pg.1", ("one",))),
        ("wish --target pg hello --label x", PostRequest("hello", False, "pg", ("x",))),
        ("wish text --TARGET pg --Label x", PostRequest("text", False, "pg", ("x",))),
        ("wish text --label '  padded  '", PostRequest("text", False, None, ("padded",))),
        ("wish text--label x", PostRequest("text--label x", False)),
        ("wish text -- label", PostRequest("text -- label", False)),
        ("list", ListRequest(None)),
        ("list my-page", ListRequest("my-page")),
        ("list my-page top negative", ListRequest("my-page", "top", "negative")),
        ("list my-page negative created", ListRequest("my-page", "created", "negative")),
        ("LIST TOP Positive", ListRequest(None, "top", "positive")),
        ("list received", ListRequest(None, "received")),
        ("show i-wish-x", ShowRequest("i-wish-x")),
        ("delete i-wish-x", DeleteRequest("i-wish-x")),
        ("DELETE  a.b_c-1 ", DeleteRequest("a.b_c-1")),
        ("digest", DigestRequest(DigestCommand("list"))),
        ("digest daily", DigestRequest(DigestCommand("daily", "09:00"))),
        ("digest WEEKLY 9:30", DigestRequest(DigestCommand("weekly", "09:30"))),
        ("digest daily 23:59", DigestRequest(DigestCommand("daily", "23:59"))),
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
        ("wish", "Say what you wish: `/stomt wish TEXT`"),
        ("like   ", "Say what you like: `/stomt like TEXT`"),
        ("wish --label x", "Say what you wish"),
        ("wish --target pg", "Say what you wish"),
        ("wish text --target", "`--target` needs a value"),
        ("wish text --label", "`--label` needs a value"),
        ('wish text --label "   "', "A label is 1 to 100 characters"),
        ("wish text --label " + "x" * 101, "A label is 1 to 100 characters"),
        ("wish text --colour red", "Unknown option `--colour`; use --target or --label"),
        ("wish text --target bad/slug", "`bad/slug` is not a STOMT target"),
        ("wish text --target ..", "`..` is not a STOMT target"),
        ("wish " + "x" * 1001, "1,001 characters long; STOMT takes at most 1,000"),
        ("list a b", "`b`: `/stomt list` takes one target (here `a`)."),
        ("list top top", "`top`: give only one of received, created, top."),
        ("list top created", "`created`: give only one of received, created, top."),
        ("list negative Positive", "`Positive`: give only one of positive, negative."),
        ("list positive my-page", "The target comes first: `/stomt list my-page positive`."),
        ("list top negative my-page", "The target comes first: `/stomt list my-page top negative`"),
        ("list bad/slug", "`bad/slug` is not a STOMT target"),
        ("show", "`/stomt show` takes exactly one stomt id"),
        ("show a b", "`/stomt show` takes exactly one stomt id"),
        ("delete", "`/stomt delete` takes exactly one stomt id"),
        ("delete a/b", "`a/b` is not a stomt id"),
        ("show " + "s" * 201, "is not a stomt id"),
        ('show "unbalanced', "Check your quotes"),
        ("digest monthly", "`digest monthly`? Use"),
        ("digest daily 25:00", "`25:00` is not a time of day"),
        ("digest daily 9:3", "`9:3` is not a time of day"),
        ("digest daily 9:30 x", "takes at most a time, HH:MM"),
        ("digest off now", "`digest off` takes nothing more"),
        ("frob", "Unknown subcommand `frob`"),
        ("x`y", "Unknown subcommand `x'y`"),
    ],
)
def test_refuses(text, phrase):
    """Each mistake is a UsageError that says what is wrong."""
    with pytest.raises(UsageError, match=re.escape(phrase)):
        parse(text)


def test_at_most_20_labels():
    """20 labels are taken, in order; a 21st is refused."""
    labels = [f"l{n}" for n in range(21)]
    typed = "wish x " + " ".join(f"--label {label}" for label in labels)
    assert parse(typed.rsplit(" --label", 1)[0]).labels == tuple(labels[:20])
    with pytest.raises(UsageError, match="At most 20 labels"):
        parse(typed)


def test_text_is_at_most_1000_characters():
    """A wish of 1,000 characters is taken whole."""
    assert parse("wish " + "x" * 1000).text == "x" * 1000


def test_a_newline_after_the_subcommand_separates_it_like_a_space():
    """`/stomt wish` followed by a new line (Shift+Enter) and the text is a wish."""
    assert parse("wish\nthe bot spoke German") == PostRequest("the bot spoke German", False)


_SLUGS = st.text("azAZ09_.-", min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))
# Free text as typed: trimmed, not empty, and without `--` (which starts an option).
_TEXTS = typed_text.map(str.strip).filter(lambda text: text and "--" not in text)
_LABELS = typed_text.map(str.strip).filter(
    lambda label: label and not ('"' in label and "'" in label)
)


def _quoted(label: str) -> str:
    return f"'{label}'" if '"' in label else f'"{label}"'


@st.composite
def _posts(draw):
    """A post and the words a user would type for it."""
    post = PostRequest(
        draw(_TEXTS),
        draw(st.booleans()),
        draw(st.none() | _SLUGS),
        tuple(draw(st.lists(_LABELS, max_size=3))),
    )
    options = [f"--label {_quoted(label)}" for label in post.labels]
    if post.target is not None:
        options.append(draw(st.sampled_from(["--target {}", "--target={}"])).format(post.target))
    # Options follow the text in any order; labels keep theirs among themselves.
    target_first = draw(st.booleans()) and post.target is not None
    if target_first:
        options.insert(0, options.pop())
    verb = draw(st.sampled_from(["like", "Like"] if post.positive else ["wish", "WISH"]))
    return " ".join([verb, post.text, *options]), post


@FEW
@given(_posts())
def test_every_post_can_be_typed(typed_and_post):
    """Any wish or like, typed with its options and escaped as Slack sends it, parses back
    to exactly that request."""
    typed, post = typed_and_post
    assert parse(as_slack_sends(typed)) == post


_KIND_WORDS = {"received", "created", "top", "positive", "negative"}


@FAST
@given(
    st.none() | _SLUGS.filter(lambda slug: slug.lower() not in _KIND_WORDS),
    st.sampled_from(["received", "created", "top"]),
    st.sampled_from([None, "positive", "negative"]),
    st.booleans(),
)
def test_every_list_can_be_typed(target, kind, polarity, polarity_first):
    """`list [TARGET] [KIND] [POLARITY]`, kind and polarity in either order."""
    words = [kind, *([polarity] if polarity else [])]
    if polarity_first:
        words.reverse()
    typed = " ".join(["list", *([target] if target else []), *words])
    assert parse(typed) == ListRequest(target, kind, polarity)
