"""What a completed step sends Slack: JSON that Slack can read (no NaN or Infinity, which
JSON has not) even when a vendor's answer holds a number beyond range, and every output
the manifest declares required given and not empty."""

from __future__ import annotations

import json

import pytest

from adapters.base import decode_json
from adapters.mindstamp import Summary, numeric_fields, numeric_values, total_views
from adapters.stintmint.models import flow_response
from bot.store.jobs import SUCCEEDED
from handlers import VERTICALS
from handlers.common.vertical import Step
from handlers.stintmint.jobs import step_outputs
from tests.unit.strategies import tracked_job

STEPS: dict[str, Step] = {step.callback_id: step for v in VERTICALS for step in v.steps}


def sendable(callback_id: str, outputs: dict) -> None:
    """As Slack takes them: strict JSON, each declared output there, required ones filled."""
    json.dumps(outputs, allow_nan=False)
    step = STEPS[callback_id]
    assert set(outputs) == {p.name for p in step.outputs}
    for parameter in step.outputs:
        if parameter.required:
            assert outputs[parameter.name] not in ("", None), parameter.name


def stint_job(answer: str):
    """A finished Stintmint request whose fetch answer is ``answer``, as the tracker
    stores it (the adapter's model, dumped)."""
    flow = flow_response(decode_json(answer))
    return tracked_job(vendor="stintmint", outcome=SUCCEEDED, result=flow.as_dict())


@pytest.mark.parametrize(
    "cost", ['"NaN"', '"Infinity"', '"-Infinity"', '"1e999"', "1e999", "-1e999"]
)
def test_a_stint_cost_that_is_no_finite_number_is_output_as_none_given(cost):
    """The contract's "0 when Stintmint gave none": a cost beyond range is none."""
    job = stint_job(
        '{"identifier": "o-1", "status": "COMPLETED", "cost": '
        + cost
        + ', "responses": [{"name": "a", "score": 1e999}]}'
    )
    outputs = step_outputs(job)
    assert outputs is not None and outputs["cost"] == 0
    sendable("stint_post", outputs)
    assert json.loads(outputs["responses"]) == [{"name": "a", "score": None}]


@pytest.mark.parametrize(
    ("cost", "kept"), [("1e999", None), ("-1e999", None), ('"NaN"', "NaN"), ('"1e999"', "1e999")]
)
def test_stintmints_answer_keeps_no_number_beyond_range(cost, kept):
    """A cost JSON reads as infinity is none; one sent as text stays the text it was (the
    card shows it so), never a number no JSON can hold."""
    flow = flow_response(decode_json('{"cost": ' + cost + "}"))
    assert flow.cost == kept
    json.dumps(flow.as_dict(), allow_nan=False)


@pytest.mark.parametrize(("cost", "expected"), [('"2.50"', 2.5), ("3", 3), ('"free"', 0)])
def test_a_stint_cost_that_is_a_number_is_output_as_it(cost, expected):
    job = stint_job('{"identifier": "o-1", "status": "COMPLETED", "cost": ' + cost + "}")
    outputs = step_outputs(job)
    assert outputs is not None and outputs["cost"] == expected
    sendable("stint_post", outputs)


def test_a_stint_cost_stored_before_as_nan_is_output_as_none_given():
    """A job recorded before the model refused such costs still completes readably."""
    job = tracked_job(vendor="stintmint", outcome=SUCCEEDED, result={"cost": float("nan")})
    outputs = step_outputs(job)
    assert outputs is not None and outputs["cost"] == 0
    json.dumps(outputs, allow_nan=False)


SUMMARY = '{"total_views": 1e999, "views": -1e999, "uniqueViewers": 3, "by": {"x": 1e999, "y": 2}}'


@pytest.mark.parametrize(
    "summary",
    [Summary.model_validate(decode_json(SUMMARY)), decode_json(SUMMARY)],
    ids=["model", "dict"],
)
def test_mindstamp_figures_beyond_range_are_left_out(summary):
    """1e999 reads as infinity: no count of views, and no field of the summary JSON."""
    assert total_views(summary) == 0
    outputs = {"views": total_views(summary), "summary": json.dumps(numeric_values(summary))}
    sendable("mindstamp_summary", outputs)
    assert json.loads(outputs["summary"]) == {"uniqueViewers": 3, "by.y": 2}
    assert numeric_fields(summary) == [("Unique viewers", 3), ("By: y", 2)]
