"""Every example `/<command> help` shows runs as written against the built-in sandboxes:
each is sent as a signed slash command to the app in process, wired to the sandboxes'
seeded data, and must be carried out with no usage answer, no vendor error (no sandbox
answer of 4xx or 5xx) and no apology. A vertical's examples run in the order it shows
them, and each also runs on its own: `/stint fetch demo order-1041` finds the request the
Stintmint sandbox is seeded with, not one an example posted before it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from handlers import VERTICALS
from handlers.common.vertical import Vertical
from tests.fakes.slack_api import wait_for
from tests.inproc.harness import world

CHANNEL = "CEXAMPLES"
# What an answer holds when the command did not run as the example promises.
FAILED = (
    re.compile(r":information_source:"),  # a usage error's first line
    re.compile(r"— this message"),  # the usage itself
    re.compile(r"HTTP [45]\d\d"),  # a vendor error (adapters/http.py error_for_status)
    re.compile(r"Something went wrong"),  # the error boundary's apology
    re.compile(r"no longer know"),  # a stale button or form
)


def _sandbox_calls(sandbox: Any) -> list[Any]:
    """Every answer the vendor sandboxes have sent since the test began."""
    calls: list[Any] = []
    for route in sandbox.app.routes:
        state = getattr(getattr(route, "app", None), "state", None)
        calls.extend(getattr(state, "calls", None) or [])
    return calls


def _slack_output(slack: Any, since: tuple[int, int] = (0, 0)) -> list[str]:
    """What the app has said in Slack (Web API calls, then response_url answers) after
    the first ``since`` of each, as JSON text."""
    calls, answers = since
    said = [json.dumps(call.args) for call in slack.fake.calls[calls:]]
    return said + [json.dumps(answer) for answer in slack.fake.responses[answers:]]


def _slack_seen(slack: Any) -> tuple[int, int]:
    return len(slack.fake.calls), len(slack.fake.responses)


def _examples(vertical: Vertical) -> list[str]:
    return [example for sub in vertical.subcommands for example in sub.examples]


def test_every_subcommand_shows_an_example_but_those_of_random_ids():
    """The sandboxes make job and instance ids up at random, so no example of these can
    run as written; their usage says where the id is found instead."""
    bare = {
        f"{vertical.command} {sub.name}"
        for vertical in VERTICALS
        for sub in vertical.subcommands
        if not sub.examples
    }
    assert bare == {"flint result", "mint instance", "mint note"}


@pytest.mark.parametrize("vertical", VERTICALS, ids=lambda v: v.slash)
def test_every_example_runs_as_written_against_the_sandboxes(vertical, app, slack, sandbox):
    examples = _examples(vertical)
    assert examples, f"{vertical.slash} shows no example"
    for example in examples:
        assert example.partition(" ")[0] == vertical.slash, example
    _run(examples, app, slack, sandbox)


def test_the_fetch_examples_run_in_a_fresh_sandbox_without_the_post_example(tmp_path):
    """A reader may try `/stint fetch …` first: nothing was posted in this world."""
    [stint] = [vertical for vertical in VERTICALS if vertical.slash == "/stint"]
    fetches = [example for example in _examples(stint) if example.startswith("/stint fetch ")]
    assert fetches
    with world(tmp_path) as running:
        _run(fetches, running.app, running.slack, running.sandbox)
        answers = [json.dumps(answer) for answer in running.slack.fake.responses]
    # The seeded request, answered in full and in its `check` module.
    assert len(answers) == len(fetches), answers
    for answer in answers:
        assert "order-1041" in answer and "name: photo" in answer, answer[:600]


def _run(examples: list[str], app: Any, slack: Any, sandbox: Any) -> None:
    """Send each example in turn; each must be carried out as written."""
    for example in examples:
        command, _, text = example.partition(" ")
        seen_calls, seen_said = len(_sandbox_calls(sandbox)), _slack_seen(slack)
        ack = app.client.command(text, command=command, channel_id=CHANNEL, user_id="UEXAMPLE")
        assert ack.status_code == 200, example
        app.wait_quiet()
        said = _slack_output(slack, seen_said)
        if ack.content:
            said.append(ack.text)
        calls = _sandbox_calls(sandbox)[seen_calls:]
        assert said, f"{example}: no answer at all"
        for pattern in FAILED:
            wrong = [s for s in said if pattern.search(s)]
            assert not wrong, f"{example}: {wrong[0][:600]}"
        refused = [c for c in calls if c.status >= 400]
        assert not refused, f"{example}: the sandbox answered {refused}"
        if example.startswith("/stomt delete "):
            _confirm_the_delete(app, slack, sandbox, example)


def _confirm_the_delete(app, slack, sandbox, example: str) -> None:
    """`/stomt delete` only shows the stomt and asks; its Delete button deletes it, so the
    example's stomt is one the sandbox's demo user may delete."""
    prompt = slack.fake.responses[-1]
    [value] = [
        element["value"]
        for block in prompt["blocks"]
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if element.get("action_id") == "stomt_delete"
    ]
    seen = len(_sandbox_calls(sandbox))
    app.client.click("stomt_delete", value, user_id="UEXAMPLE", channel_id=CHANNEL)
    wait_for(
        lambda: [c for c in _sandbox_calls(sandbox)[seen:] if c.method == "DELETE"], timeout=10
    )
    app.wait_quiet()
    [deleted] = [c for c in _sandbox_calls(sandbox)[seen:] if c.method == "DELETE"]
    assert deleted.status < 300, f"{example}: the delete was answered {deleted}"
    assert "deleted by" in json.dumps(slack.fake.responses[-1]), example
