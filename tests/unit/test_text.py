"""handlers/common/text.py: splitting what users type, and making vendor text inert."""

from __future__ import annotations

import re

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from handlers.common.text import (
    UsageError,
    clip,
    code,
    code_block,
    duration,
    escape,
    fit,
    json_object,
    link,
    normalize,
    split_args,
    split_trailing_json,
    truncate,
)
from tests.unit.blockkit import assert_inert
from tests.unit.strategies import FAST, hostile_long, hostile_text

# -- what users type ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  run  ", "run"),
        ("a &amp; b &lt;c&gt;", "a & b <c>"),
        ("“two words” ‘it’s’ „x”", '"two words" \'it\'s\' "x"'),
        ("&amp;lt;", "&lt;"),
    ],
)
def test_normalize_undoes_slack_escaping_and_curly_quotes(raw, expected):
    """Slack's entities and a client's curly quotes come back as what the user typed."""
    assert normalize(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("a b  c", ["a", "b", "c"]),
        ('name="two words" x', ["name=two words", "x"]),
        ("'it''s' \"a'b\"", ["its", "a'b"]),
        ("a\tb\nc", ["a", "b", "c"]),
    ],
)
def test_split_args_splits_like_a_shell(text, expected):
    """Quotes group words, as in a shell."""
    assert split_args(text) == expected


@pytest.mark.parametrize("text", ['"open', "'open", 'a "b c'])
def test_split_args_refuses_unbalanced_quotes(text):
    """An unclosed quote is a usage error that points at the quotes."""
    with pytest.raises(UsageError, match="Check your quotes"):
        split_args(text)


def test_split_args_limit_is_8000_characters():
    """8,000 characters are split; one more is refused, saying the limit."""
    assert split_args("x" * 8000) == ["x" * 8000]
    with pytest.raises(UsageError, match="8,001 characters; the limit is 8,000"):
        split_args("x" * 8001)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a b", ("a b", None)),
        ('a {"k": 1}', ("a", {"k": 1})),
        ('{"k": [1, {"m": null}]}', ("", {"k": [1, {"m": None}]})),
        ('a "x {y" {"k": 1}', ('a "x {y"', {"k": 1})),
        ('a "x {y"', ('a "x {y"', None)),
        ("a k={x}", ("a k={x}", None)),
    ],
)
def test_split_trailing_json(text, expected):
    """The object that starts an argument and runs to the end is taken; a brace inside a
    quoted argument or inside a word is not."""
    assert split_trailing_json(text) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ('a {"k": 1} b', "not valid JSON: Extra data"),
        ('a {"k": }', "not valid JSON"),
        ("a {k: 1}", "not valid JSON"),
    ],
)
def test_split_trailing_json_refuses_a_broken_object(text, phrase):
    """A brace that starts an argument outside quotes must be a whole JSON object."""
    with pytest.raises(UsageError, match=re.escape(phrase)):
        split_trailing_json(text)


def test_split_trailing_json_brace_in_single_quotes_after_an_apostrophe():
    """`"msg=it's" 'b=x {y'` has no JSON: the brace is inside single quotes."""
    text = "\"msg=it's\" 'b=x {y'"
    assert split_trailing_json(text) == (text, None)


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("[1, 2]", "must be an object"),
        ('"text"', "must be an object"),
        ("null", "must be an object"),
        ('{"a": NaN}', "`NaN` is not a number JSON allows"),
        ('{"a": -Infinity}', "`-Infinity` is not a number JSON allows"),
        ('{"a": 1e999}', "beyond the range of a 64-bit number"),
        ('{"a": 9223372036854775808}', "beyond the 64-bit integer range"),
        ('{"a": -9223372036854775809}', "beyond the 64-bit integer range"),
        ('{"a": 1' + "0" * 30 + "}", "31 digits is beyond the 64-bit range"),
        (_nested(33), "nests deeper than 32 levels"),
        ("[" * 5000 + "]" * 5000, "nests deeper than 32 levels"),
        ('{"a": 1,}', "not valid JSON"),
        ("", "not valid JSON"),
    ],
)
def test_json_object_refusals(text, phrase):
    """Each bound of the structured input the contract names is refused, with the reason."""
    with pytest.raises(UsageError, match=re.escape(phrase)):
        json_object(text)


def test_json_object_names_what_it_read():
    """The message starts with the caller's name for the JSON."""
    with pytest.raises(UsageError, match=r"^The input is not valid JSON"):
        json_object("{", what="The input")


def test_json_object_accepts_the_bounds_themselves():
    """32 levels, and the ends of the 64-bit range, are accepted."""
    assert json_object(_nested(32))["a"]["a"]
    edge = '{"max": 9223372036854775807, "min": -9223372036854775808, "f": 1.5e308}'
    assert json_object(edge) == {"max": 2**63 - 1, "min": -(2**63), "f": 1.5e308}


# -- what vendors say ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a & b < c > d", "a &amp; b &lt; c &gt; d"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("@channel @Here @everyone", "@\u2060channel @\u2060Here @\u2060everyone"),
        ("@channels @here_x me@hereabouts", "@channels @here_x me@hereabouts"),
        ("```code```", "`\u200b`\u200b`code`\u200b`\u200b`"),
        ("a `b` c", "a `b` c"),
        (42, "42"),
    ],
)
def test_escape(text, expected):
    """Entities for & < >, a joiner that breaks broadcasts, no two backticks together."""
    assert escape(text) == expected


@FAST
@given(hostile_text)
def test_escape_is_inert_and_loses_nothing(text):
    """Whatever a vendor says is inert once escaped, and reads the same to a person."""
    assume("\u200b" not in text and "\u2060" not in text)
    shown = escape(text)
    assert_inert(shown)
    assert "``" not in shown
    readable = shown.replace("\u200b", "").replace("\u2060", "")
    assert readable.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text


@pytest.mark.parametrize(
    ("url", "label", "expected"),
    [
        ("https://example.com/a?b=1", "open", "<https://example.com/a?b=1|open>"),
        ("http://x.test", "<b>", "<http://x.test|&lt;b&gt;>"),
        ("https://x.test", "@here", "<https://x.test|@\u2060here>"),
        (None, "open", "open"),
        ("", "open", "open"),
        ("javascript:alert(1)", "open", "open"),
        ("ftp://x.test/f", "open", "open"),
        ("https://x.test|<!channel>", "open", "open"),
        ("https://x.test/<!channel>", "open", "open"),
        ("https://x.test/a b", "a & b", "a &amp; b"),
        ("https://x.test\n", "open", "open"),
    ],
)
def test_link(url, label, expected):
    """Only a plain http(s) URL becomes a link; anything else shows just the label."""
    assert link(url, label) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("demo:hello.rb", "`demo:hello.rb`"),
        ("a`b", "`a\u02cbb`"),
        ("```", "`\u02cb\u02cb\u02cb`"),
        ("two\nlines\r", "`two lines `"),
        ("", "` `"),
        (None, "`None`"),
        ("<!here>", "`&lt;!here&gt;`"),
    ],
)
def test_code(text, expected):
    """Inline code: escaped, no backtick inside, one line, never empty."""
    assert code(text) == expected


@FAST
@given(hostile_text)
def test_code_is_one_span(text):
    """Whatever the text, exactly the two backticks around it remain."""
    shown = code(text)
    assert shown.startswith("`") and shown.endswith("`") and shown.count("`") == 2
    assert "\n" not in shown
    assert_inert(shown)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x", "```x```"),
        ("`x`", "```\u200b`x`\u200b```"),
        ("a```b", "```a`\u200b`\u200b`b```"),
        ("", "``````"),
    ],
)
def test_code_block(text, expected):
    """A code block's own fences stay the only ones: no backtick touches them."""
    assert code_block(text) == expected


@FAST
@given(hostile_text)
def test_code_block_cannot_be_closed_early(text):
    """Whatever the text, the block has exactly its own two fences."""
    shown = code_block(text)
    assert shown.count("```") == 2
    assert shown.startswith("```") and shown.endswith("```")
    inner = shown[3:-3]
    assert not inner.startswith("`") and not inner.endswith("`")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("abcdefghij", 5, "abcd…"),
        ("ab &amp; cd", 6, "ab …"),
        ("ab &lt;x", 7, "ab …"),
        ("see <https://x.test|link> now", 12, "see …"),
        ("hi <@U123>", 8, "hi …"),
    ],
)
def test_clip(text, limit, expected):
    """Cut with … and never inside an entity, a link or a mention."""
    assert clip(text, limit) == expected


@FAST
@given(hostile_long, st.integers(1, 3000))
def test_clip_keeps_escaped_text_inert_and_within_the_limit(text, limit):
    """Cutting escaped text anywhere leaves no half entity and nothing longer than asked."""
    shown = clip(escape(text), limit)
    assert len(shown) <= limit
    assert_inert(shown)
    assert escape(text).startswith(shown.removesuffix("…"))


def test_clip_does_not_cut_a_word_into_a_broadcast():
    """Cutting escaped text after "@everyone" of "@everyoneish" leaves no live broadcast."""
    assert_inert(clip(escape("x @everyoneish"), 12))


# Below a dozen characters not even one character and its "…" fit in a code block, and the
# cut takes the closing fence; every limit the builders use is far above that.
@FAST
@given(hostile_long, st.integers(20, 3000), st.sampled_from([escape, code, code_block]))
def test_fit_stays_within_the_limit_once_rendered(text, limit, render):
    """Escaping lengthens text; fit cuts the raw text so that the rendered one fits, keeps
    it inert, and says whether it cut."""
    shown, cut = fit(text, limit, render)
    assert len(shown) <= limit
    assert_inert(shown)
    if not cut:
        assert shown == render(text)
    if render is code:
        assert shown.count("`") == 2
    if render is code_block:
        assert shown.count("```") == 2


def test_fit_cuts_escaped_text_to_the_limit():
    """4,000 `<` are 16,000 characters escaped: fit shows as many as fit in 3,000."""
    shown, cut = fit("<" * 4000, 3000)
    assert cut
    assert len(shown) <= 3000
    assert shown.startswith("&lt;" * 700)
    assert shown.endswith("\n…")


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, ("short", False)),
        ("abcdefghij", 4, ("abcd\n…", True)),
        ("line one\nline two", 12, ("line one\n…", True)),
        ("ab\ncdefghijkl", 10, ("ab\ncdefghi\n…", True)),
    ],
)
def test_truncate(text, limit, expected):
    """Cut at a newline when that keeps most of the text, else at the limit; say so."""
    assert truncate(text, limit) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0.0 s"),
        (9.94, "9.9 s"),
        (10, "10 s"),
        (59.4, "59 s"),
        (60, "1 min 0 s"),
        (3599, "59 min 59 s"),
        (3600, "1 h 0 min"),
        (90061, "25 h 1 min"),
    ],
)
def test_duration(seconds, expected):
    """Tenths under ten seconds, then seconds, minutes and seconds, hours and minutes."""
    assert duration(seconds) == expected
