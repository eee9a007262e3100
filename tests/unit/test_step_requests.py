"""Workflow Builder steps (and App Home's forms, made from them): their string inputs
become the typed request field by field, with the parsers' own validators. Whatever an
input holds, it lands in its own field, exactly as given, and never becomes an option; for
inputs that are plain words, a step and the typed command agree, refusals included."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.flint import FlintbitRef
from handlers import VERTICALS
from handlers.common.commands import Help
from handlers.common.text import UsageError
from handlers.common.vertical import Step, Vertical
from handlers.flint.actions import as_command_text
from handlers.flint.parsing import MAX_TIMEOUT_MS, RunRequest
from tests.unit.strategies import FAST, FEW, as_slack_sends, typed_text

BY_SLASH = {vertical.slash: vertical for vertical in VERTICALS}


def step_of(slash: str) -> tuple[Vertical, Step]:
    vertical = BY_SLASH[slash]
    [step] = vertical.steps
    return vertical, step


FLINT, FLINT_STEP = step_of("/flint")
STOMT, STOMT_STEP = step_of("/stomt")
STINT, STINT_STEP = step_of("/stint")
MINT, MINT_STEP = step_of("/mint")
MINDSTAMP, MINDSTAMP_STEP = step_of("/mindstamp")

# What a typed command would read as an option, a quote or an escape, and then anything.
_TRICKY = [
    "--target", "--target other-page", "--target=other-page", "--label", "--label x",
    "--label=x", "--sync", "--timeout", "60000", "--timeout=5", "--batch", "b-1",
    "--urgency", "high", "--", "-", "'", '"', "it's", '"quoted"', "'single'", "\\", "&amp;",
    "&lt;", "<b>", "{", '{"a": 1}', "=", "a=1", "\n", "\t", "“", "’", "é", "😀",
]  # fmt: skip
tricky_text = st.one_of(
    st.lists(st.sampled_from([*_TRICKY, "fix", "now", "please"]), min_size=1, max_size=10).map(
        " ".join
    ),
    st.lists(st.sampled_from(_TRICKY), min_size=1, max_size=6).map("".join),
    typed_text,
)
# A line of a multi-line input: a pair, a pair a typed command would read as options, an
# option and its value on lines of their own, or anything.
_LINES = [
    "a=1", "note=x", "k=--sync", "b=--batch b-9", "--sync", "--timeout", "60000",
    "--timeout=5", "--batch", "b-9", "--batch=b-2", "--urgency", "low", "-- x=1",
]  # fmt: skip
input_line = st.one_of(st.sampled_from(_LINES), tricky_text)
# As Workflow Builder hands it over: the step takes text as given, but for the blanks
# around it (which the typed command trims too).
stomt_text = tricky_text.map(str.strip).filter(lambda text: 0 < len(text) <= 1000)


# -- an input is exactly its own field -----------------------------------------------------


@FAST
@given(
    text=stomt_text,
    kind=st.sampled_from(["", "wish", "like", "LIKE"]),
    target=st.sampled_from(["", "my-page"]),
    labels=st.lists(st.sampled_from(["ux", "two words", "it's", "--target x"]), max_size=3),
)
def test_a_stomt_text_is_the_stomt_exactly_and_sets_no_option(text, kind, target, labels):
    """Quotes, apostrophes and ``--target``/``--label`` in the text are text: the stomt is
    posted with exactly it, to the Target input (or the default), with the Labels input."""
    inputs = {"text": text, "kind": kind, "target": target, "labels": ",".join(labels)}
    request = STOMT_STEP.request(inputs)
    assert request.text == text
    assert request.target == (target or None)
    assert request.labels == tuple(labels)
    assert request.positive is (kind.lower() == "like")
    assert STOMT_STEP.show(request).split()[0] == STOMT.policy_view(request)[0]


@pytest.mark.parametrize(
    "text",
    [
        "please fix --target other-page now",
        "a --label x",
        "great product",
        "it's \"quoted\" and 'single'",
        "--target other-page",
        "x --colour red",
        "trailing --target",
    ],
)
def test_the_reviewed_stomt_texts_arrive_as_given(text):
    request = STOMT_STEP.request({"text": text})
    assert (request.text, request.target, request.labels) == (text, None, ())


@pytest.mark.parametrize(
    ("inputs", "shown"),
    [
        ({"text": "great product"}, "wish great product"),
        ({"text": 'it\'s "fine"', "kind": "like"}, 'like it\'s "fine"'),
        (
            {"text": "fix --target other-page", "target": "my-page", "labels": "two words"},
            "wish 'fix --target other-page' --target my-page --label 'two words'",
        ),
    ],
)
def test_a_stomt_is_shown_with_its_text_unmistakable(inputs, shown):
    """Where a confirmation or an approval card shows it: as typed, but a text that would
    read as an option is quoted, so nobody takes ``--target other-page`` for the target."""
    assert STOMT_STEP.text(inputs) == shown


def _lines_expected(given: str) -> dict[str, str] | None:
    """What Inputs lines mean, worked out apart from the parsers: each non-blank line is one
    ``key=value`` (split at its first ``=``), or the step is refused (None)."""
    found: dict[str, str] = {}
    for line in given.splitlines():
        line = line.strip()
        if not line:
            continue
        key, equals, value = line.partition("=")
        if not equals or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]{0,99}", key):
            return None
        found[key] = value
    return found


@FAST
@given(lines=st.lists(input_line, max_size=6))
def test_flint_inputs_lines_are_inputs_never_options(lines):
    """A line ``--sync``, ``--timeout`` or ``--timeout=5`` is no option: each line is one
    ``key=value`` input, or the step is refused saying which line it did not understand."""
    given_text = "\n".join(lines)
    if given_text.strip().startswith("{"):
        given_text = "x=" + given_text  # the JSON form is the test below
    expected = _lines_expected(given_text)
    try:
        request = FLINT_STEP.request({"flintbit": "demo:hello.rb", "inputs": given_text})
    except UsageError as exc:
        assert expected is None, exc
        return
    assert (request.sync, request.timeout_ms) == (False, None)
    assert request.input == expected
    assert request.flintbit == FlintbitRef("demo", "hello.rb")


@pytest.mark.parametrize(
    ("inputs", "refusal"),
    [
        ("--sync", "Did not understand `--sync`"),
        ("name=Ada\n--timeout\n60000", "Did not understand `--timeout`"),
        ("--timeout=60000", "`--timeout` is not a valid input name"),
    ],
)
def test_the_reviewed_flint_lines_are_refused(inputs, refusal):
    with pytest.raises(UsageError, match=re.escape(refusal)):
        FLINT_STEP.request({"flintbit": "demo:hello.rb", "inputs": inputs})


def test_a_flint_value_holds_what_would_be_an_option_typed():
    request = FLINT_STEP.request({"flintbit": "demo:hello.rb", "inputs": "a=--sync\nb=x y 'z'"})
    assert request == RunRequest(FlintbitRef("demo", "hello.rb"), {"a": "--sync", "b": "x y 'z'"})


@FAST
@given(
    lines=st.lists(input_line, max_size=6),
    batch=st.sampled_from(["", "b-1"]),
    urgency=st.sampled_from(["", "high"]),
)
def test_stint_descriptors_lines_never_set_the_batch_or_urgency(lines, batch, urgency):
    """Each Descriptors line is one descriptor, whatever it holds: ``--batch x`` or
    ``--urgency x`` there is refused as a descriptor, never taken as the option."""
    inputs = {
        "sf_id": "demo",
        "identifier": "o-1",
        "descriptors": "\n".join(lines),
        "batch_id": batch,
        "urgency": urgency,
    }
    try:
        request = STINT_STEP.request(inputs)
    except UsageError:
        return
    assert (request.batch_id, request.urgency) == (batch or None, urgency or None)
    given_lines = [line.strip() for line in "\n".join(lines).splitlines() if line.strip()]
    assert len(request.descriptors) == len(given_lines)
    for descriptor, line in zip(request.descriptors, given_lines, strict=True):
        name, _, value = line.partition("=")
        assert descriptor.name == name.partition(":")[0]
        assert value in (descriptor.info, descriptor.info.strip())


@pytest.mark.parametrize("line", ["--batch", "--batch b-9", "--urgency=high", "--urgency"])
def test_a_stint_descriptor_line_is_no_option(line):
    with pytest.raises(UsageError, match=r"not a valid descriptor name|has no value"):
        STINT_STEP.request({"sf_id": "demo", "identifier": "o-1", "descriptors": f"note=x\n{line}"})


# -- the same rules as the typed command ---------------------------------------------------


def _same(step: Step, vertical: Vertical, inputs: dict[str, Any], typed: str) -> None:
    """The step's request and the typed command's are equal, or both refused saying the
    same."""
    try:
        expected = vertical.parse(as_slack_sends(typed))
    except UsageError as exc:
        with pytest.raises(UsageError) as refused:
            step.request(inputs)
        assert str(refused.value) == str(exc)
        return
    assert not isinstance(expected, Help)
    assert step.request(inputs) == expected


@FEW
@given(
    flintbit=st.sampled_from(["demo:hello.rb", "nobox", "a:b:c", ":x", "demo:"]),
    pairs=st.lists(st.sampled_from(["a=1", "b=x", "1a=x", "=x", "a=", "k=a=b"]), max_size=4),
)
def test_flint_step_and_command_agree(flintbit, pairs):
    inputs = {"flintbit": flintbit, "inputs": "\n".join(pairs)}
    _same(FLINT_STEP, FLINT, inputs, " ".join(["run", flintbit, *pairs]))


@FEW
@given(
    kind=st.sampled_from(["wish", "like"]),
    words=st.lists(st.sampled_from(["dark", "mode", "x" * 400, "é"]), max_size=4),
    target=st.sampled_from(["", "my-page", "bad/slug", ".."]),
    labels=st.one_of(
        st.lists(st.sampled_from(["ux", "a-b", "x" * 101]), max_size=3),
        st.lists(st.just("ux"), min_size=20, max_size=21),  # STOMT takes at most 20
    ),
)
def test_stomt_step_and_command_agree(kind, words, target, labels):
    text = " ".join(words)
    inputs = {"text": text, "kind": kind, "target": target, "labels": ",".join(labels)}
    options = [*(["--target", target] if target else []), *(f"--label {x}" for x in labels)]
    _same(STOMT_STEP, STOMT, inputs, " ".join([kind, text, *options]))


@FEW
@given(
    sf_id=st.sampled_from(["demo", "bad/sf"]),
    identifier=st.sampled_from(["o-1", "bad/id"]),
    pairs=st.lists(
        st.sampled_from(["a=1", "b=x", "a=", "1a=x", "a:gif=x", "a:IMAGE=https://e.com/a.png"]),
        max_size=11,
    ),
    batch=st.sampled_from(["", "b-1", "bad/id"]),
    urgency=st.sampled_from(["", "high", "u" * 21]),
)
def test_stint_step_and_command_agree(sf_id, identifier, pairs, batch, urgency):
    inputs = {
        "sf_id": sf_id,
        "identifier": identifier,
        "descriptors": "\n".join(pairs),
        "batch_id": batch,
        "urgency": urgency,
    }
    options = [*(["--batch", batch] if batch else []), *(["--urgency", urgency] if urgency else [])]
    _same(STINT_STEP, STINT, inputs, " ".join(["post", sf_id, identifier, *pairs, *options]))


@pytest.mark.parametrize("definition_id", ["f-1", "bad/id", "x" * 300])
@pytest.mark.parametrize("given_input", ["", '{"a": 1, "b": [true, null]}', "{}"])
def test_mint_step_and_command_agree(definition_id, given_input):
    inputs = {"definition_id": definition_id, "input": given_input}
    _same(MINT_STEP, MINT, inputs, f"execute {definition_id} {given_input}")


@pytest.mark.parametrize("period", ["", "all", "week", "WEEK", "month", "year"])
def test_mindstamp_step_and_command_agree(period):
    typed = "summary" if period in ("", "all") else f"summary {period}"
    _same(MINDSTAMP_STEP, MINDSTAMP, {"period": period}, typed)


@pytest.mark.parametrize(
    ("step", "inputs", "refusal"),
    [
        (FLINT_STEP, {"flintbit": "demo:x.rb", "inputs": '{"a": ' * 40}, "not valid JSON"),
        (FLINT_STEP, {"flintbit": "demo:x.rb", "inputs": '{"a": NaN}'}, "`NaN` is not"),
        (FLINT_STEP, {"flintbit": "demo:x.rb", "inputs": '{"a": 1e999}'}, "beyond the range"),
        (MINT_STEP, {"definition_id": "f-1", "input": "[1]"}, "must be an object"),
        (MINT_STEP, {"definition_id": "f-1", "input": "not json"}, "not valid JSON"),
        (FLINT_STEP, {"flintbit": "demo:x.rb", "inputs": "a=" + "x" * 8000}, "the limit is 8,000"),
    ],
)
def test_structured_inputs_keep_the_commands_bounds(step, inputs, refusal):
    with pytest.raises(UsageError, match=re.escape(refusal)):
        step.request(inputs)


# -- shown as the command it is ------------------------------------------------------------

json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | typed_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(typed_text, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def run_requests(draw) -> RunRequest:
    """Every request ``/flint run`` can make: a timeout always comes with --sync."""
    keys = st.one_of(st.sampled_from(["a", "name", "x.y-z_1", "1a", "two words"]), typed_text)
    values = st.one_of(typed_text, json_value)
    given = draw(st.dictionaries(keys, values, max_size=4))
    timeout = draw(st.one_of(st.none(), st.integers(1, MAX_TIMEOUT_MS)))
    sync = timeout is not None or draw(st.booleans())
    flintbit = draw(st.sampled_from([FlintbitRef("demo", "hello.rb"), FlintbitRef("b-1", "c.rb")]))
    return RunRequest(flintbit, given, sync, timeout)


@FAST
@given(request=run_requests())
def test_a_flint_run_is_shown_as_the_command_that_makes_it(request):
    """Re-run's and a step's held text, typed, is the very run that is held: --sync and
    --timeout included, inputs as key=value words or the JSON object."""
    shown = as_command_text(request)
    assert FLINT.parse(as_slack_sends(shown)) == request
    assert json.dumps(request.input) and shown.startswith("run ")
