"""``/mint`` text → typed requests: every subcommand, limit and refusal."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.common.text import UsageError
from handlers.mint.parsing import (
    DigestCommand,
    DigestRequest,
    ExecuteRequest,
    FlowsRequest,
    Help,
    InstanceRequest,
    InstancesRequest,
    NoteRequest,
    PublishRequest,
    parse,
)
from tests.unit.strategies import FAST, FEW, as_slack_sends, typed_text

FLOW = "0b1e1a5e-0000-4000-8000-000000000001"


@pytest.mark.parametrize("text", [None, "", " ", "help", "HELP", "-h", "--help", "help flows"])
def test_help(text):
    """Nothing, or any way of asking for help, is Help."""
    assert parse(text) == Help()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("flows", FlowsRequest()),
        ("flows kyc  check", FlowsRequest("kyc check")),
        ('FLOWS "a b"', FlowsRequest("a b")),
        ("flows " + "s" * 200, FlowsRequest("s" * 200)),
        (
            'execute onboard-customer {"email": "ada@example.com"}',
            ExecuteRequest("onboard-customer", {"email": "ada@example.com"}),
        ),
        (f"execute {FLOW}", ExecuteRequest(FLOW)),
        ("execute f:1.2_x {}", ExecuteRequest("f:1.2_x")),
        (
            'execute f {"a": {"b": [1, null]}, "c": "&lt;"}',
            ExecuteRequest("f", {"a": {"b": [1, None]}, "c": "<"}),
        ),
        ("instances flow-1", InstancesRequest("flow-1")),
        ("instances flow-1 faulted", InstancesRequest("flow-1", "Faulted")),
        ("instances flow-1 FINISHED", InstancesRequest("flow-1", "Finished")),
        ("instances flow-1 Cancelled", InstancesRequest("flow-1", "Cancelled")),
        ("instance i-1", InstanceRequest("i-1")),
        ("publish f-1", PublishRequest("f-1", True)),
        ("UNPUBLISH f-1", PublishRequest("f-1", False)),
        (
            "note i-1 Called the customer, it's fine",
            NoteRequest("i-1", "Called the customer, it's fine"),
        ),
        ("note  i-1   padded  ", NoteRequest("i-1", "padded")),
        ("note i-1 &lt;b&gt; “quoted”", NoteRequest("i-1", '<b> "quoted"')),
        ("note i-1 first line\nsecond line", NoteRequest("i-1", "first line\nsecond line")),
        ("digest", DigestRequest(DigestCommand("list"))),
        ("digest weekly 10:00", DigestRequest(DigestCommand("weekly", "10:00"))),
        ("digest daily", DigestRequest(DigestCommand("daily", "09:00"))),
        ("digest off", DigestRequest(DigestCommand("off"))),
        ("digest NOW", DigestRequest(DigestCommand("now"))),
    ],
)
def test_parses(text, expected):
    """Each form of each subcommand gives exactly this request."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("flows " + "s" * 201, "A search term is at most 200 printable characters"),
        # The fuzz test found it: a control character passed the parser, then the adapter
        # refused it with an error nobody caught.
        ("flows a\x07b", "A search term is at most 200 printable characters"),
        ('flows "unbalanced', "Check your quotes"),
        ("execute", "Say which flow: `/mint execute DEFINITION_ID [JSON object]`"),
        ('execute {"a": 1}', "Say which flow: `/mint execute DEFINITION_ID [JSON object]`"),
        ("execute a b", "Did not understand `b`: after the definition id, `/mint execute` takes"),
        ("execute a 42", "Did not understand `42`"),
        (
            "execute ID key=value",
            "`/mint execute` takes no key=value pairs: write the input as one JSON object, "
            '`{"key": "value"}`.',
        ),
        (
            'execute a name="Ada L" {"n": 1}',
            'takes no key=value pairs: write the input as one JSON object, `{"n": 1, "name": '
            '"Ada L"}`',
        ),
        ("execute ID [1,2]", "`[1,2]` is a JSON array; a flow's input is one JSON object"),
        ("execute a [1, 2]", "`[1, 2]` is a JSON array"),
        ("execute bad/id", "`bad/id` is not a Mint flow id"),
        ("execute -flow", "`-flow` is not a Mint flow id"),
        ("execute " + "f" * 129, "is not a Mint flow id"),
        ('execute a {"x": [}', "not valid JSON"),
        (
            'execute a {"x": 1} y=2',
            "`y=2` follows the JSON object, but `/mint execute` takes the object alone: put "
            "every input in it.",
        ),
        ('execute a {"x": 1} {"y": 2}', "Give one JSON object, at the end"),
        ('execute a {"x": NaN}', "`NaN` is not a number JSON allows"),
        ('execute a {"x": 1e999}', "beyond the range of a 64-bit number"),
        ("instances", "takes a definition id and, optionally, a status"),
        ("instances a b c", "takes a definition id and, optionally, a status"),
        (
            "instances flow-1 done",
            "`done` is not a status: use one of Idle, Running, Finished, Suspended, Faulted, "
            "Cancelled",
        ),
        ("instances a/b", "`a/b` is not a Mint flow id"),
        ("instance", "`/mint instance` takes exactly one instance id"),
        ("instance a b", "`/mint instance` takes exactly one instance id"),
        ("instance .x", "`.x` is not a Mint instance id"),
        ("publish", "`/mint publish` takes exactly one definition id"),
        ("unpublish a b", "`/mint unpublish` takes exactly one definition id"),
        ("publish a?b", "`a?b` is not a Mint flow id"),
        ("note", "takes an instance id and the note's text"),
        ("note i-1", "takes an instance id and the note's text"),
        ("note i-1    ", "takes an instance id and the note's text"),
        ("note bad/id text", "`bad/id` is not a Mint instance id"),
        ("note i-1 " + "n" * 4001, "The note is 4001 characters long; at most 4000"),
        ("digest bogus", "`digest bogus`? Use"),
        ("digest weekly 24:00", "`24:00` is not a time of day"),
        ("digest now please", "`digest now` takes nothing more"),
        ("wat", "Unknown subcommand `wat`"),
    ],
)
def test_refuses(text, phrase):
    """Each mistake is a UsageError that says what is wrong."""
    with pytest.raises(UsageError, match=re.escape(phrase)):
        parse(text)


def test_execute_input_nests_at_most_32_levels():
    """32 levels of input are taken; 33 are refused."""
    nested = '{"a": ' * 33 + "1" + "}" * 33
    assert parse("execute f " + nested[6:-1]).input["a"]
    with pytest.raises(UsageError, match="nests deeper than 32 levels"):
        parse("execute f " + nested)


def test_note_is_at_most_4000_characters():
    """A note of 4,000 characters is taken whole."""
    assert parse("note i-1 " + "n" * 4000) == NoteRequest("i-1", "n" * 4000)


def test_a_newline_after_the_instance_id_separates_it_like_a_space():
    """`/mint note i-1` followed by a new line (Shift+Enter) and the note is a note."""
    assert parse("note i-1\nCalled the customer") == NoteRequest("i-1", "Called the customer")


# Mint ids: a letter or digit, then letters, digits and `_ . : -`.
_IDS = st.tuples(st.text("aZ09", min_size=1, max_size=1), st.text("aZ09_.:-", max_size=20)).map(
    "".join
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | typed_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(typed_text, inner, max_size=3),
    max_leaves=4,
)


@FEW
@given(_IDS, st.none() | st.dictionaries(typed_text, _JSON, max_size=3))
def test_every_execution_can_be_typed(definition_id, data):
    """Any flow id with any object, typed and escaped as Slack sends it, parses back to
    exactly that request."""
    typed = f"execute {definition_id}"
    if data is not None:
        typed += " " + json.dumps(data, ensure_ascii=False)
    assert parse(as_slack_sends(typed)) == ExecuteRequest(definition_id, data or {})


@FAST
@given(_IDS, typed_text.map(str.strip).filter(bool))
def test_every_note_can_be_typed(instance_id, note):
    """Any note on any instance parses back as typed: apostrophes and quotes are text."""
    assert parse(as_slack_sends(f"note {instance_id} {note}")) == NoteRequest(instance_id, note)


@FAST
@given(_IDS, st.sampled_from(["Idle", "Running", "Finished", "Suspended", "Faulted", "Cancelled"]))
def test_every_status_can_be_asked_for_in_any_case(definition_id, status):
    """A status in any case is the status as Mint spells it."""
    assert parse(f"instances {definition_id} {status.swapcase()}") == InstancesRequest(
        definition_id, status
    )
