"""``/stint`` text → typed requests: every subcommand, option, limit and refusal."""

from __future__ import annotations

import re
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.stintmint import Descriptor, DescriptorType
from handlers.common.text import UsageError
from handlers.stintmint.parsing import FetchRequest, Help, PostRequest, parse
from tests.unit.strategies import FAST, FEW, as_slack_sends, typed_text

TEXT, HREF, IMAGE = DescriptorType.TEXT, DescriptorType.HREF, DescriptorType.IMAGE


def d(name: str, kind: DescriptorType, info: str) -> Descriptor:
    return Descriptor(name=name, type=kind, info=info)


@pytest.mark.parametrize("text", [None, "", " ", "help", "HELP", "-h", "--help", "help post"])
def test_help(text):
    """Nothing, or any way of asking for help, is Help."""
    assert parse(text) == Help()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'post demo order-1042 note="check the address" photo:IMAGE=https://example.com/p.jpg',
            PostRequest(
                "demo",
                "order-1042",
                (
                    d("note", TEXT, "check the address"),
                    d("photo", IMAGE, "https://example.com/p.jpg"),
                ),
            ),
        ),
        (
            "post demo o-1 link=https://example.com/x?a=1&amp;b=2",
            PostRequest("demo", "o-1", (d("link", HREF, "https://example.com/x?a=1&b=2"),)),
        ),
        (
            "post demo o-1 a:text=https://example.com",
            PostRequest("demo", "o-1", (d("a", TEXT, "https://example.com"),)),
        ),
        (
            "post demo o-1 a:Pdf=https://e.com/a.pdf b:audio=https://e.com/a.mp3 "
            "c:VIDEO=https://e.com/v c:href=https://e.com",
            PostRequest(
                "demo",
                "o-1",
                (
                    d("a", DescriptorType.PDF, "https://e.com/a.pdf"),
                    d("b", DescriptorType.AUDIO, "https://e.com/a.mp3"),
                    d("c", DescriptorType.VIDEO, "https://e.com/v"),
                    d("c", HREF, "https://e.com"),
                ),
            ),
        ),
        (
            "post demo o-1 a:=x eq=a=b url=ftp://x",
            PostRequest(
                "demo", "o-1", (d("a", TEXT, "x"), d("eq", TEXT, "a=b"), d("url", TEXT, "ftp://x"))
            ),
        ),
        (
            'post demo o-1 "a=  spaced  " b:IMAGE=" https://e.com/i.png "',
            PostRequest(
                "demo", "o-1", (d("a", TEXT, "  spaced  "), d("b", IMAGE, "https://e.com/i.png"))
            ),
        ),
        (
            "post demo o-1 a=1 --batch b-1 --urgency HIGH_1",
            PostRequest("demo", "o-1", (d("a", TEXT, "1"),), "b-1", "HIGH_1"),
        ),
        (
            "POST --urgency u --batch b.2 demo o-1 a=1",
            PostRequest("demo", "o-1", (d("a", TEXT, "1"),), "b.2", "u"),
        ),
        ("fetch demo order-1", FetchRequest("demo", "order-1")),
        ("FETCH demo order-1 state-1", FetchRequest("demo", "order-1", "state-1")),
    ],
)
def test_parses(text, expected):
    """Each form of each subcommand gives exactly this request."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("post", "`/stint post` needs SF_ID and IDENTIFIER, then name=value pairs"),
        ("post demo", "`/stint post` needs SF_ID and IDENTIFIER"),
        ("post demo o-1 a=1 extra", "`extra` is not name=value: after SF_ID and IDENTIFIER"),
        ("post demo o-1 note", "`note` is not name=value"),
        ("post demo note=hi", "`note=hi` is a descriptor, but SF_ID and IDENTIFIER come first"),
        ("post demo o-1", "Add at least one descriptor as name=value"),
        ("post demo o-1 a=", "`a` has no value"),
        ('post demo o-1 "a=   "', "A descriptor needs a value"),
        ("post demo o-1 1a=x", "`1a` is not a valid descriptor name"),
        ("post demo o-1 =x", "`=x` has no name before `=`: write name=value."),
        ("post demo o-1 :IMAGE=x", "`:IMAGE=x` has no name before `:`: write name:TYPE=value."),
        ("post demo o-1 " + "n" * 101 + "=x", "is not a valid descriptor name"),
        ("post demo o-1 a:gif=x", "`gif` is not a descriptor type: use one of TEXT, IMAGE"),
        ("post demo o-1 a:image:x=y", "`image:x` is not a descriptor type"),
        ("post demo o-1 a=1 --batch", "`--batch` needs a value"),
        ("post demo o-1 a=1 --urgency", "`--urgency` needs a value"),
        ('post demo o-1 a=1 --urgency "two words"', "`--urgency` is a short code"),
        ("post demo o-1 a=1 --urgency " + "u" * 21, "`--urgency` is a short code"),
        ("post demo o-1 a=1 --batch bad/id", "Bad batch id: `bad/id` is not a valid identifier"),
        ("post demo o-1 a=1 --bogus x", "Unknown option `--bogus`; the options are --batch"),
        ("post demo o-1 a=1 --batch=b", "Unknown option `--batch=b`"),
        ("post bad/sf o-1 a=1", "`bad/sf` is not a valid StintFlow id"),
        ("post a=b o-1 x=1", "`a=b` is a descriptor, but SF_ID and IDENTIFIER come first"),
        ("post a&b o-1 x=1", "`a&b` is not a valid StintFlow id"),
        ("post demo bad/id a=1", "`bad/id` is not a valid identifier"),
        ("post demo " + "i" * 101 + " a=1", "is not a valid identifier"),
        ('post demo o-1 "a=1', "Check your quotes"),
        ("fetch demo", "`/stint fetch` takes SF_ID IDENTIFIER and, optionally, STATE_ID"),
        ("fetch a b c d", "`/stint fetch` takes SF_ID IDENTIFIER and, optionally, STATE_ID"),
        ("fetch demo o-1 bad/state", "`bad/state` is not a valid state id"),
        ("fetch _x o-1", "`_x` is not a valid StintFlow id"),
        ("zap", "Unknown subcommand `zap`"),
    ],
)
def test_refuses(text, phrase):
    """Each mistake is a UsageError that says what is wrong."""
    with pytest.raises(UsageError, match=re.escape(phrase)):
        parse(text)


def test_at_most_10_descriptors():
    """Ten descriptors are taken, in order; eleven are refused, counted."""
    pairs = [f"n{i}=v{i}" for i in range(11)]
    ten = parse("post demo o-1 " + " ".join(pairs[:10]))
    assert [(x.name, x.info) for x in ten.descriptors] == [(f"n{i}", f"v{i}") for i in range(10)]
    with pytest.raises(UsageError, match="That is 11 descriptors; a request takes at most 10"):
        parse("post demo o-1 " + " ".join(pairs))


# Stintmint ids: a letter or digit, then letters, digits and `_ . -`.
_IDS = st.tuples(st.text("aZ09", min_size=1, max_size=1), st.text("aZ09_.-", max_size=20)).map(
    "".join
)
_NAMES = st.tuples(st.text("aZ_", min_size=1, max_size=1), st.text("aZ09_.-", max_size=10)).map(
    "".join
)
_DESCRIPTORS = st.builds(
    lambda name, kind, info: d(name, kind, info if kind is TEXT else info.strip()),
    _NAMES,
    st.sampled_from(DescriptorType),
    typed_text.filter(lambda info: info.strip() and "\x00" not in info),
)


@FEW
@given(
    _IDS,
    _IDS,
    st.lists(_DESCRIPTORS, min_size=1, max_size=4),
    st.none() | _IDS,
    st.none() | st.text("aZ09_-", min_size=1, max_size=20),
    st.booleans(),
)
def test_every_post_can_be_typed(sf_id, identifier, descriptors, batch, urgency, options_first):
    """Any request, its descriptors typed `name:TYPE=value` and quoted as a shell would,
    options before or after, parses back to exactly that request."""
    pairs = [shlex.quote(f"{x.name}:{x.type.value.lower()}={x.info}") for x in descriptors]
    options = [*(["--batch", batch] if batch else []), *(["--urgency", urgency] if urgency else [])]
    words = (
        [*options, sf_id, identifier, *pairs]
        if options_first
        else [sf_id, identifier, *pairs, *options]
    )
    typed = " ".join(["post", *words])
    expected = PostRequest(sf_id, identifier, tuple(descriptors), batch, urgency)
    assert parse(as_slack_sends(typed)) == expected


@FAST
@given(_IDS, _IDS, st.none() | _IDS)
def test_every_fetch_can_be_typed(sf_id, identifier, state_id):
    """`fetch SF_ID IDENTIFIER [STATE_ID]` gives back exactly those ids."""
    typed = " ".join(["fetch", sf_id, identifier, *([state_id] if state_id else [])])
    assert parse(typed) == FetchRequest(sf_id, identifier, state_id)
