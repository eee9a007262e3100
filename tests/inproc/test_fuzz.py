"""Fuzzing through the app in process (hypothesis, tests/inproc/harness.py): arbitrary
command text, button values, modal states and callback bodies always get a 200 (or a 4xx
for callbacks) and a readable answer — never a 5xx, never a traceback, and never an
unhandled error: the app answers an unexpected exception politely, so a 200 alone proves
nothing. After each example the work it started has finished, nothing was logged at
ERROR, and no apology reached Slack."""

from __future__ import annotations

import json
import logging
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.devkit.slack_requests import message_shortcut_body, view_submission_body
from handlers.common.listeners import APOLOGY
from tests.fakes.slack_api import wait_for
from tests.inproc.harness import world

COMMANDS = ("/flint", "/stomt", "/mint", "/stint", "/mindstamp")
ACTIONS = (
    "flint_rerun",
    "flint_refresh",
    "flint_full_output",
    "stomt_show",
    "stomt_delete",
    "stomt_more",
    "mint_execute",
    "mint_publish",
    "mint_unpublish",
    "mint_instances",
    "mint_more",
    "mint_refresh",
    "mint_note",
    "mint_report",
    "mint_rerun",
    "mint_full_output",
    "stint_fetch",
    "stint_rerun",
    "stint_full_output",
    "mindstamp_more",
    "mindstamp_video",
    "chatops_policy_confirm",
    "chatops_policy_cancel",
)
MODALS = ("stomt_wish_modal", "mint_execute_modal", "mint_note_modal")
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
RUNS: Counter = Counter()
WORDS = st.sampled_from(
    [
        "run",
        "result",
        "wish",
        "like",
        "list",
        "show",
        "delete",
        "digest",
        "flows",
        "execute",
        "instances",
        "instance",
        "publish",
        "note",
        "post",
        "fetch",
        "summary",
        "videos",
        "video",
        "help",
        "now",
        "off",
        "daily",
        "weekly",
        "demo:hello.rb",
        "--sync",
        "--timeout",
        "{",
        "}",
        '"',
        "'",
        "=",
        "--target",
        "--label",
        "../",
        "<!channel>",
        "&amp;",
        "🙂",
    ]
)
TEXT = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=8).map(" ".join),
    # A real subcommand first, so every parser branch sees hostile arguments.
    st.tuples(WORDS, st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=6)).map(
        lambda t: " ".join([t[0], *t[1]])
    ),
)


APOLOGY_START = APOLOGY.split("{")[0][:40]


class Errors(logging.Handler):
    """Every record at ERROR or above, from any logger: an unhandled error is logged so."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        with world(tmp_path_factory.mktemp("fuzz")) as running:
            yield running.app, running.slack, errors
    finally:
        logging.getLogger().removeHandler(errors)
    print(f"\nfuzz examples run: {dict(RUNS)} (total {sum(RUNS.values())})")


def _readable(response) -> None:
    assert response.status_code == 200, response.text[:300]
    if response.content:
        body = response.json()
        assert "Traceback" not in json.dumps(body)
        assert APOLOGY_START not in json.dumps(body), body


def _nothing_unhandled(fuzz_app) -> None:
    """Once the example's background work is done: no ERROR logged, no apology sent."""
    app, slack, errors = fuzz_app
    wait_for(lambda: app.runtime.work.running == 0, timeout=20, message="work never finished")
    found = [logging.Formatter().format(record) for record in errors.records]
    errors.records.clear()
    said = json.dumps([c.args for c in slack.fake.calls] + slack.fake.responses, default=str)
    slack.fake.reset()
    assert not found, found
    assert APOLOGY_START not in said


@FUZZ
@given(command=st.sampled_from(COMMANDS), text=TEXT)
def test_any_command_text(fuzz_app, command, text):
    """Whatever is typed after any command: a 200 and a readable answer."""
    fuzz_app[0].runtime.deps.mindstamp.limiter.reset()
    app = fuzz_app[0]
    RUNS["commands"] += 1
    _readable(app.client.command(text, command=command))
    _nothing_unhandled(fuzz_app)


@FUZZ
@given(action_id=st.sampled_from(ACTIONS), value=st.one_of(st.text(max_size=200), WORDS))
def test_any_button_value(fuzz_app, action_id, value):
    """Any button with any value (forged, stale, huge): a 200."""
    app = fuzz_app[0]
    RUNS["buttons"] += 1
    _readable(app.client.click(action_id, value))
    _nothing_unhandled(fuzz_app)


@FUZZ
@given(
    callback_id=st.sampled_from(MODALS),
    text=st.text(max_size=1500),
    metadata=st.one_of(st.text(max_size=100), st.just('{"d": "x", "c": "C1", "i": "y"}')),
)
def test_any_modal_state(fuzz_app, callback_id, text, metadata):
    """Any submitted modal: a 200, either closing it or showing field errors."""
    app = fuzz_app[0]
    RUNS["modals"] += 1
    body = view_submission_body(
        callback_id, {"text": {"value": text}, "target": {"value": text[:50]}}, metadata, "U1"
    )
    response = app.client.post(body, "application/x-www-form-urlencoded")
    _readable(response)
    if response.content:
        assert response.json().get("response_action") == "errors"
    _nothing_unhandled(fuzz_app)


@FUZZ
@given(text=st.text(max_size=2000))
def test_any_message_for_the_shortcut(fuzz_app, text):
    """The STOMT shortcut on any message opens its modal without error."""
    app = fuzz_app[0]
    RUNS["shortcuts"] += 1
    message = {"type": "message", "user": "U1", "ts": "1700000000.000100", "text": text}
    body = message_shortcut_body(
        "stomt_wish_from_message", message, response_url=app.client.response_url
    )
    _readable(app.client.post(body, "application/x-www-form-urlencoded"))
    _nothing_unhandled(fuzz_app)


@FUZZ
@given(
    body=st.one_of(
        st.binary(max_size=600),
        st.dictionaries(st.text(max_size=10), st.text(max_size=20)).map(
            lambda d: json.dumps(d).encode()
        ),
    )
)
def test_any_stintmint_callback_body(fuzz_app, body):
    """Callback bodies of any shape: 400 or 404 (valid token, unknown request), never 5xx."""
    app = fuzz_app[0]
    RUNS["callbacks"] += 1
    token = app.runtime.deps.callbacks.token("fuzz-request")
    url = f"{app.url}/hooks/stintmint?request=fuzz-request&token={token}"
    assert app.http.post(url, content=body).status_code in (400, 404)
    _nothing_unhandled(fuzz_app)
