"""``/flint`` text → typed requests: every subcommand, option, limit and refusal."""

from __future__ import annotations

import json
import re
import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.flint import FlintbitRef
from handlers.common.text import UsageError
from handlers.flint.parsing import Help, ResultRequest, RunRequest, parse
from tests.unit.strategies import FAST, FEW, as_slack_sends, typed_text

HELLO = FlintbitRef("demo", "hello.rb")


@pytest.mark.parametrize("text", [None, "", "   ", "help", "HELP", "-h", "--help", "help run"])
def test_help(text):
    """Nothing, or any way of asking for help, is Help."""
    assert parse(text) == Help()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("run demo:hello.rb", RunRequest(HELLO)),
        ("RUN demo:hello.rb name=Ada", RunRequest(HELLO, {"name": "Ada"})),
        (
            'run demo:hello.rb "greeting=two words" x.y-z_1=1 empty=',
            RunRequest(HELLO, {"greeting": "two words", "x.y-z_1": "1", "empty": ""}),
        ),
        ("run demo:hello.rb k=a=b", RunRequest(HELLO, {"k": "a=b"})),
        ("run demo:hello.rb name=“Ada Lovelace”", RunRequest(HELLO, {"name": "Ada Lovelace"})),
        ("run demo:hello.rb a=&lt;b&gt;&amp;", RunRequest(HELLO, {"a": "<b>&"})),
        ("run demo:hello.rb a=1 a=2", RunRequest(HELLO, {"a": "2"})),
        ("run demo:hello.rb --sync", RunRequest(HELLO, sync=True)),
        ("run demo:hello.rb --timeout 60000", RunRequest(HELLO, sync=True, timeout_ms=60000)),
        ("run demo:hello.rb --timeout=1", RunRequest(HELLO, sync=True, timeout_ms=1)),
        (
            "run demo:hello.rb --timeout 3600000 --sync",
            RunRequest(HELLO, sync=True, timeout_ms=3_600_000),
        ),
        (
            "run demo:hello.rb a=1 --sync b=2",
            RunRequest(HELLO, {"a": "1", "b": "2"}, sync=True),
        ),
        (
            'run demo:echo.rb {"items": [1, 2]}',
            RunRequest(FlintbitRef("demo", "echo.rb"), {"items": [1, 2]}),
        ),
        (
            'run demo:hello.rb {"a": {"b": null}, "c": 1.5, "d": true}',
            RunRequest(HELLO, {"a": {"b": None}, "c": 1.5, "d": True}),
        ),
        ("run demo:hello.rb {}", RunRequest(HELLO)),
        (
            # A key=value pair wins over the same key in the object.
            'run demo:hello.rb a=1 --sync {"a": 2, "b": 3}',
            RunRequest(HELLO, {"a": "1", "b": 3}, sync=True),
        ),
        (
            'run demo:hello.rb "msg=a {b" c=1 {"d": "}"}',
            RunRequest(HELLO, {"msg": "a {b", "c": "1", "d": "}"}),
        ),
        ("run demo:hello.rb 'note=it''s {x}'", RunRequest(HELLO, {"note": "its {x}"})),
        ("result job-209bc504-887a", ResultRequest("job-209bc504-887a")),
        ("Result  J_1 ", ResultRequest("J_1")),
    ],
)
def test_parses(text, expected):
    """Each form of each subcommand gives exactly this request."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("run", "Say which flintbit to run, as BOX:BIT"),
        ("run demo", "exactly one colon"),
        ("run a:b:c", "exactly one colon"),
        ("run :hello.rb", "both the box and the flintbit name"),
        ("run demo:", "both the box and the flintbit name"),
        ("run demo:a/b", "flintbit name `a/b` is not valid"),
        ("run ..:x", "box name `..` is not valid"),
        ("run demo:hello.rb --bogus", "Unknown option `--bogus`"),
        ("run demo:hello.rb --sync=yes", "Unknown option `--sync=yes`"),
        ("run demo:hello.rb 1a=2", "`1a` is not a valid input name"),
        ("run demo:echo.rb =value", "`=value` has no name before `=`: write name=value."),
        ("run demo:hello.rb a=1 =", "`=` has no name before `=`"),
        ("run demo:hello.rb -sync", "Unknown option `-sync`; the options are --sync and"),
        ("run demo:hello.rb --snyc", "Did you mean `--sync`?"),
        ("run demo:hello.rb --timout 5", "Did you mean `--timeout`?"),
        ("run demo:hello.rb loose", "Did not understand `loose`"),
        ("run demo:hello.rb [1]", "`[1]` is a JSON array: inputs are key=value pairs or one"),
        ('run demo:hello.rb "{not json"', "Did not understand `{not json`"),
        ("run demo:hello.rb --timeout", "whole number of milliseconds"),
        ("run demo:hello.rb --timeout=", "whole number of milliseconds"),
        ("run demo:hello.rb --timeout abc", "whole number of milliseconds"),
        ("run demo:hello.rb --timeout -5", "whole number of milliseconds"),
        ("run demo:hello.rb --timeout 1.5", "whole number of milliseconds"),
        ("run demo:hello.rb --timeout ５", "whole number of milliseconds"),
        ("run demo:hello.rb --timeout 0", "between 1 and 3,600,000 milliseconds"),
        ("run demo:hello.rb --timeout 3600001", "between 1 and 3,600,000 milliseconds"),
        ("result", "takes exactly one job id (it is on the run's card)"),
        ("result a b", "takes exactly one job id"),
        ("result a/b", "`a/b` is not a Flint job id"),
        ("result " + "j" * 129, "is not a Flint job id"),
        ("zap", "Unknown subcommand `zap`"),
        ('help {"a": 1}', "A JSON object only goes after `run BOX:BIT`"),
        ('{"a": 1}', "A JSON object only goes after `run BOX:BIT`"),
        ('result j-1 {"a": 1}', "A JSON object only goes after `run BOX:BIT`"),
        ('run demo:hello.rb {"a": [}', "not valid JSON"),
        (
            'run demo:echo.rb {"a": 1} a=2',
            "The JSON object must come last, but `a=2` follows it: put it before the object.",
        ),
        ('run demo:hello.rb {"a": 1} {"b": 2}', 'Give one JSON object, at the end: `{"b": 2}`'),
        ('run demo:hello.rb {"a": 1}}', "The JSON object has `}` too many at its end."),
        ("run demo:hello.rb {'a': 1}", "not valid JSON"),
        ('run demo:hello.rb {"a": NaN}', "`NaN` is not a number JSON allows"),
        ('run demo:hello.rb {"a": 1e999}', "beyond the range of a 64-bit number"),
        ('run demo:hello.rb {"n": 9223372036854775808}', "beyond the 64-bit integer range"),
        ('run demo:hello.rb "unbalanced', "Check your quotes"),
    ],
)
def test_refuses(text, phrase):
    """Each mistake is a UsageError that says what is wrong."""
    with pytest.raises(UsageError, match=re.escape(phrase)):
        parse(text)


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def test_json_input_nests_at_most_32_levels():
    """32 levels of input are taken; 33 are refused."""
    assert parse(f"run demo:hello.rb {_nested(32)}").input["a"]["a"]
    with pytest.raises(UsageError, match="nests deeper than 32 levels"):
        parse(f"run demo:hello.rb {_nested(33)}")


def test_input_names_are_at_most_100_characters():
    """A name of 100 characters is taken; 101 are refused."""
    name = "k" * 100
    assert parse(f"run demo:hello.rb {name}=v").input == {name: "v"}
    with pytest.raises(UsageError, match="is not a valid input name"):
        parse(f"run demo:hello.rb {name}k=v")


def test_command_text_is_at_most_8000_characters():
    """8,000 characters of command are parsed; one more is refused, saying the limit."""
    head = "run demo:hello.rb k="
    assert parse(head + "v" * (8000 - len(head))).input["k"] == "v" * (8000 - len(head))
    with pytest.raises(UsageError, match="the limit is 8,000"):
        parse(head + "v" * (8001 - len(head)))


def test_what_was_not_understood_is_shown_short_and_without_backticks():
    """An unknown word is quoted cut to 40 characters, its backticks made quotes, so the
    message's own code span stays whole."""
    with pytest.raises(UsageError) as caught:
        parse("z`" + "x" * 60)
    assert "`z'" + "x" * 38 + "…`" in str(caught.value)


# Cheap to draw: the alphabets hold every kind of character the names allow.
_NAMES = st.text("abzAZ09_.-", min_size=1, max_size=12).filter(lambda n: n not in (".", ".."))
_KEYS = st.text("azAZ09_.-", max_size=8).map(lambda rest: "k" + rest)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | typed_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(typed_text, inner, max_size=3),
    max_leaves=4,
)


@st.composite
def _runs(draw):
    """A run request and the words a user would type for it, in any order."""
    flintbit = FlintbitRef(draw(_NAMES), draw(_NAMES))
    pairs = draw(st.dictionaries(_KEYS, typed_text, max_size=3))
    json_input = draw(st.none() | st.dictionaries(typed_text, _JSON, max_size=3))
    json_input = {k: v for k, v in (json_input or {}).items() if k not in pairs} or (
        None if json_input is None else {}
    )
    timeout = draw(st.none() | st.integers(1, 3_600_000))
    sync = timeout is not None or draw(st.booleans())
    words = [shlex.quote(f"{key}={value}") for key, value in pairs.items()]
    if timeout is not None:
        words.append(draw(st.sampled_from(["--timeout {}", "--timeout={}"])).format(timeout))
    elif sync:
        words.append("--sync")
    words = draw(st.permutations(words))
    typed = " ".join(["run", str(flintbit), *words])
    if json_input is not None:
        typed += " " + json.dumps(json_input, ensure_ascii=False)
    request = RunRequest(flintbit, {**(json_input or {}), **pairs}, sync, timeout)
    return typed, request


@FEW
@given(_runs())
def test_every_run_request_can_be_typed(typed_and_request):
    """Any run request, typed as a user would (quoted pairs, options anywhere, an object at
    the end) and escaped as Slack sends it, parses back to exactly that request."""
    typed, request = typed_and_request
    assert parse(as_slack_sends(typed)) == request


@FAST
@given(st.text("azAZ09_-", min_size=1, max_size=128))
def test_every_job_id_can_be_asked_for(job_id):
    """Any valid job id comes back from `result JOB_ID`."""
    assert parse(f"result {job_id}") == ResultRequest(job_id)
