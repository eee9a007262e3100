"""Workflow Builder custom steps through the app in process (tests/inproc/harness.py): the
Slack fake starts an execution (``execute_function``), its ``function_executed`` event is
posted to /slack/events as Slack posts it (signed), and the fake records the one
``functions.completeSuccess|completeError`` that ends it, refusing any other, as Slack
does. The vendor sandboxes say what reached them."""

from __future__ import annotations

import inspect
import io
import json
import logging
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from adapters.mint.sandbox import KYC_FAILING_STEP, KYC_FLOW_ID, ONBOARD_FLOW_ID
from bot.devkit.slack_fake import FunctionExecution
from bot.devkit.slack_requests import event_callback_body
from bot.logs import TextFormatter
from bot.store.schema import confirmations, step_runs
from tests.fakes.servers import mounted_app
from tests.fakes.slack_api import posted_cards, wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text, flint_sandbox_app

JSON = "application/json"
DEEP = '{"a": ' * 40 + "1" + "}" * 40  # JSON nested deeper than the contract's 32 levels

POLICY = """\
rules:
  - command: "flint run"
    target: "demo:echo.rb"
    users: [U1]
    confirm: true
  - command: "flint run"
    target: "demo:slow.rb"
    users: [U1]
    approvers: {users: [U0LEAD]}
  - command: "flint run"
    users: [U1]
"""


def start(app, slack, callback_id: str, event_id: str | None = None, **inputs) -> str:
    """A workflow reaches the step: its event is posted to the app; the execution id."""
    inputs.setdefault("user_id", "U1")
    event = slack.fake.execute_function(callback_id, inputs)
    response = app.client.post(event_callback_body(event, event_id=event_id), JSON)
    assert response.status_code == 200, response.text
    return event["function_execution_id"]


def ended(slack, execution_id: str, timeout: float = 20.0) -> FunctionExecution:
    """The execution once the app has completed it (either way)."""

    def done() -> FunctionExecution | None:
        run = slack.fake.executions[execution_id]
        return run if run.state != "running" else None

    return wait_for(done, timeout=timeout)


def completions(slack) -> int:
    """Completions Slack accepted, success and error alike."""
    return sum(
        1
        for method in ("functions.completeSuccess", "functions.completeError")
        for call in slack.fake.calls_to(method)
        if call.ok
    )


def flint_runs(sandbox) -> int:
    return sum(1 for c in flint_sandbox_app(sandbox).state.calls if c.method == "POST")


def stored_run(app, execution_id: str):
    return app.run(app.runtime.store.steps.get(execution_id))


# -- each step's outputs ------------------------------------------------------------------


def test_flint_run_completes_when_the_run_ends_with_its_outputs(app, slack, sandbox):
    """Without a channel: no card, and the step completes once the tracked run ends."""
    execution_id = start(app, slack, "flint_run", flintbit="demo:hello.rb", inputs="name=Ada")
    run = ended(slack, execution_id)
    assert run.state == "completed", run.error
    job_id = run.outputs["job_id"]
    assert job_id.startswith("job-")
    assert run.outputs == {
        "job_id": job_id,
        "status": "success",
        "output": "Hello, Ada!",
        "exit_code": 0,
    }
    assert slack.fake.calls_to("chat.postMessage") == []
    stored = stored_run(app, execution_id)
    assert (stored.state, stored.outcome, stored.token) == ("completed", "success", "")
    [entry] = app.run(app.runtime.store.audit.entries())
    assert (entry.user_id, entry.command, entry.target, entry.outcome) == (
        "U1",
        "flint run",
        "demo:hello.rb",
        "ok",
    )


@pytest.mark.parametrize(
    ("flintbit", "status", "exit_code", "output"),
    [
        ("demo:fail.rb", "failure", 1, "fail.rb always fails"),
        ("demo:abort.rb", "aborted", None, ""),
    ],
)
def test_a_failed_flint_run_still_completes_saying_so(
    app, slack, flintbit, status, exit_code, output
):
    """A run that fails or is aborted is an outcome to branch on, not a failed step."""
    run = ended(slack, start(app, slack, "flint_run", flintbit=flintbit))
    assert run.state == "completed", run.error
    assert run.outputs["status"] == status
    assert isinstance(run.outputs["exit_code"], int) and run.outputs["exit_code"] != 0
    if exit_code is not None:
        assert run.outputs["exit_code"] == exit_code
    assert output in run.outputs["output"]


def test_flint_output_is_cut_to_4000_characters(app, slack):
    run = ended(slack, start(app, slack, "flint_run", flintbit="demo:big.rb", inputs="lines=400"))
    assert run.state == "completed", run.error
    assert len(run.outputs["output"]) == 4000
    assert run.outputs["output"].startswith("line 0001: the quick brown fox")


def test_a_channel_gets_the_usual_card_updated_as_usual(app, slack):
    """With channel_id the step posts the command's card there and updates it."""
    execution_id = start(
        app, slack, "flint_run", flintbit="demo:hello.rb", inputs="name=Bo", channel_id="CSTEP"
    )
    run = ended(slack, execution_id)
    [card] = posted_cards(slack)
    assert card["channel"] == "CSTEP"
    text = blocks_text(card["blocks"])
    assert "demo:hello.rb" in text and "Hello, Bo!" in text and "<@U1>" in text
    assert run.outputs["output"] == "Hello, Bo!"


def test_stomt_post_completes_at_once_with_the_stomt(app, slack, sandbox):
    execution_id = start(
        app,
        slack,
        "stomt_post",
        text="the export had a CSV option",
        kind="like",
        labels="export, csv",
        channel_id="CSTOMT",
    )
    run = ended(slack, execution_id)
    assert run.state == "completed", run.error
    stomt = mounted_app(sandbox, "/stomt").state.sandbox.stomts[run.outputs["stomt_id"]]
    assert stomt.positive and stomt.labels == ["export", "csv"]
    assert run.outputs == {"stomt_id": stomt.id, "url": stomt.shortlink}
    [card] = posted_cards(slack)
    assert card["channel"] == "CSTOMT" and "the export had a CSV option" in blocks_text(
        card["blocks"]
    )


def test_mint_execute_completes_when_the_instance_ends(app, slack):
    finished = ended(slack, start(app, slack, "mint_execute", definition_id=ONBOARD_FLOW_ID))
    assert finished.state == "completed", finished.error
    assert finished.outputs["status"] == "Finished" and finished.outputs["failed_step"] == ""
    faulted = ended(slack, start(app, slack, "mint_execute", definition_id=KYC_FLOW_ID))
    assert faulted.outputs["status"] == "Faulted"
    assert faulted.outputs["failed_step"] == KYC_FAILING_STEP
    assert finished.outputs["instance_id"] != faulted.outputs["instance_id"] != ""


def test_stint_post_completes_with_status_cost_and_responses(app, slack):
    run = ended(
        slack,
        start(
            app,
            slack,
            "stint_post",
            sf_id="demo",
            identifier="order-9",
            descriptors="note=check the address\nsite=https://example.com",
        ),
    )
    assert run.state == "completed", run.error
    assert run.outputs["status"] == "COMPLETED"
    assert isinstance(run.outputs["cost"], float) and run.outputs["cost"] > 0
    responses = json.loads(run.outputs["responses"])
    assert [r["name"] for r in responses] == ["note", "site"]


@pytest.mark.parametrize(("period", "path"), [("", "all"), ("week", "week")])
def test_mindstamp_summary_gives_views_and_every_figure(app, slack, sandbox, period, path):
    state = mounted_app(sandbox, "/mindstamp").state.sandbox
    inputs = {"period": period} if period else {}
    run = ended(slack, start(app, slack, "mindstamp_summary", **inputs))
    assert run.state == "completed", run.error
    expected = state._summary(path, None if path == "all" else time.time() - 7 * 86400)
    numbers = {k: v for k, v in expected.items() if type(v) in (int, float)}
    assert run.outputs == {"views": expected["total_views"], "summary": json.dumps(numbers)}
    assert state.count("/views/summary" + ("" if path == "all" else f"/{path}")) == 1


# -- steps that cannot run ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("callback_id", "inputs", "reason"),
    [
        ("flint_run", {}, "The step's Flintbit input (flintbit) is required."),
        ("flint_run", {"flintbit": "nobox"}, "Invalid input: "),
        ("flint_run", {"flintbit": "demo:x.rb", "user_id": ""}, "Person who used this workflow"),
        ("stomt_post", {"text": "x", "kind": "list"}, "is one of wish, like, not 'list'"),
        ("mint_execute", {"definition_id": ONBOARD_FLOW_ID, "input": "{not json"}, "JSON"),
        ("flint_run", {"flintbit": "demo:echo.rb", "inputs": DEEP}, "deeper than 32 levels"),
        ("flint_run", {"flintbit": "demo:echo.rb", "inputs": '{"a": NaN}'}, "`NaN` is not"),
        ("stint_post", {"sf_id": "demo", "identifier": "a", "descriptors": "x"}, "Invalid"),
        ("mindstamp_summary", {"period": "year"}, "all, week, month"),
    ],
)
def test_bad_inputs_end_the_step_with_the_reason(app, slack, sandbox, callback_id, inputs, reason):
    """Inputs the command would refuse end the step with completeError saying why."""
    run = ended(slack, start(app, slack, callback_id, **inputs))
    assert run.state == "failed" and reason in run.error, run.error
    assert "Traceback" not in run.error and "xwfp-" not in run.error
    app.wait_quiet()
    assert app.run(app.runtime.store.audit.entries()) == []  # no vendor call was made


def test_a_vendor_error_ends_the_step_with_the_vendors_reason(app, slack):
    """Flint refuses a flintbit it does not have: the job never starts, the step fails."""
    run = ended(slack, start(app, slack, "flint_run", flintbit="nobox:nobit.rb"))
    assert run.state == "failed", run.outputs
    assert run.error.startswith("The flint job for nobox:nobit.rb was not started: ")
    assert "nobox" in run.error.split("not started: ", 1)[1]


def test_a_card_that_cannot_be_posted_ends_the_step(app, slack, sandbox):
    slack.fake.inaccessible_channels = {"CLOCKED"}
    try:
        run = ended(
            slack, start(app, slack, "flint_run", flintbit="demo:hello.rb", channel_id="CLOCKED")
        )
    finally:
        slack.fake.inaccessible_channels = set()
    assert run.state == "failed" and "not_in_channel" in run.error and "/invite" in run.error
    assert flint_runs(sandbox) == 0


def test_an_unconfigured_vendor_ends_the_step_naming_what_to_set(tmp_path):
    with world(tmp_path, vendors=False) as running:
        run = ended(running.slack, start(running.app, running.slack, "mindstamp_summary"))
    assert run.state == "failed" and "MINDSTAMP_TOKEN" in run.error


# -- once ---------------------------------------------------------------------------------


def test_a_redelivered_event_runs_the_step_once(app, slack, sandbox):
    """Slack retries an event it thinks was lost (the same event id), and an execution may
    come again in another event: either way the flintbit runs once, completed once."""
    inputs = {"user_id": "U1", "flintbit": "demo:hello.rb"}
    event = slack.fake.execute_function("flint_run", inputs)
    body = event_callback_body(event, event_id="Ev0RETRIED")
    for _ in range(2):
        assert app.client.post(body, JSON).status_code == 200
    again = event_callback_body(event, event_id="Ev0ANOTHER")
    assert app.client.post(again, JSON).status_code == 200
    run = ended(slack, event["function_execution_id"])
    assert run.state == "completed"
    app.wait_quiet()
    assert flint_runs(sandbox) == 1 and completions(slack) == 1


def test_a_rate_limited_completion_is_tried_again_and_lands_once(app, slack):
    """Slack rate limits completeSuccess beyond the client's own retries: the tracker runs
    its finisher again later, and the step still completes once."""
    slack.fake.fail_next("functions.completeSuccess", "ratelimited", times=3)
    execution_id = start(app, slack, "flint_run", flintbit="demo:hello.rb")
    run = ended(slack, execution_id, timeout=30)
    assert run.state == "completed" and run.outputs["status"] == "success"
    app.wait_quiet()
    assert completions(slack) == 1
    assert len(slack.fake.calls_to("functions.completeSuccess")) == 4


def sweep(app) -> None:
    """One run of the app's own periodic sweep of steps, as its scheduler runs it (which
    awaits only coroutine functions: anything else would never run)."""
    [job] = [job for job in app.runtime.deps.periodic if job.name == "workflow-steps"]
    assert inspect.iscoroutinefunction(job.run)
    app.run(job.run())


def test_a_run_left_by_a_dead_process_is_ended_by_the_sweep(app, slack):
    """A run stored but never carried out (its process died) ends with an error."""
    event = slack.fake.execute_function("mindstamp_summary", {"user_id": "U1"})
    app.run(
        app.runtime.store.steps.create(
            execution_id=event["function_execution_id"],
            callback_id="mindstamp_summary",
            token=event["bot_access_token"],
            user_id="U1",
            channel_id="",
            inputs={"user_id": "U1"},
        )
    )
    sweep(app)
    assert slack.fake.executions[event["function_execution_id"]].state == "running"  # too new

    async def age_it():
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(sa.update(step_runs).values(created_at=time.time() - 3600))

    app.run(age_it())
    sweep(app)
    run = slack.fake.executions[event["function_execution_id"]]
    assert run.state == "failed" and "The app stopped" in run.error


# -- secrets ------------------------------------------------------------------------------


@contextmanager
def app_logs():
    """Every log line of the app (DEBUG up, Bolt's and the SDK's included), formatted as
    `chatops serve` writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_the_function_token_never_reaches_a_log_or_slack_text(app, slack):
    """The execution's token is used to complete it, and appears in no log line, no
    message text and no error; the state store forgets it once the step completed."""
    with app_logs() as logs:
        ok = start(app, slack, "flint_run", flintbit="demo:hello.rb", channel_id="CLOG")
        bad = start(app, slack, "flint_run", flintbit="nobox:nobit.rb")
        ended(slack, ok), ended(slack, bad)
        app.wait_quiet()
        # A line quoting the event itself (as a library's debug output may) is redacted too.
        event = {"event": {"bot_access_token": slack.fake.executions[ok].token}}
        logging.getLogger("slack_bolt").debug("Received: %s", event)
    tokens = [slack.fake.executions[e].token for e in (ok, bad)]
    text = logs.getvalue()
    assert "DEBUG slack_bolt" in text and "[redacted]" in text
    for token in tokens:
        assert token not in text
        for call in slack.fake.calls:
            assert token not in json.dumps(call.args, default=str)
    assert all(stored_run(app, e).token == "" for e in (ok, bad))


# -- held by the access policy ------------------------------------------------------------


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    """A second app whose access policy denies, confirms and asks approvers."""
    path = tmp_path_factory.mktemp("policy") / "policy.yml"
    path.write_text(POLICY)
    with world(tmp_path_factory.mktemp("guarded"), chatops_policy=str(path)) as running:
        yield running


@pytest.fixture
def held(guarded):
    guarded.reset()
    return guarded


def _button(message: dict, action_id: str) -> str:
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return element["value"]
    raise AssertionError(f"no {action_id} button")


def _direct_message(slack, user_id: str) -> dict:
    call = wait_for(
        lambda: [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == user_id]
    )
    return call[-1].args


def test_a_denied_step_ends_with_why_and_nothing_runs(held):
    app, slack, sandbox = held.app, held.slack, held.sandbox
    run = ended(slack, start(app, slack, "flint_run", user_id="U9", flintbit="demo:hello.rb"))
    assert run.state == "failed"
    assert run.error.startswith("Not allowed: no rule of the access policy allows")
    assert "Nothing was sent to Flint" in run.error
    app.wait_quiet()
    assert flint_runs(sandbox) == 0
    [entry] = app.run(app.runtime.store.audit.entries())
    assert (entry.user_id, entry.command, entry.outcome) == ("U9", "flint run", "denied")


def test_a_confirm_rule_holds_the_step_until_the_requester_confirms(held):
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(app, slack, "flint_run", flintbit="demo:echo.rb", inputs="a=1")
    prompt = _direct_message(slack, "U1")
    assert "Please confirm" in prompt["text"]
    assert "/flint run demo:echo.rb a=1" in blocks_text(prompt["blocks"])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0 and slack.fake.executions[execution_id].state == "running"
    assert stored_run(app, execution_id).state == "held"

    app.client.click(
        "chatops_policy_confirm",
        _button(prompt, "chatops_policy_confirm"),
        user_id="U1",
        channel_id="D1",
    )
    run = ended(slack, execution_id)
    assert run.state == "completed" and run.outputs["status"] == "success"
    assert json.loads(run.outputs["output"]) == {"a": "1"}
    assert flint_runs(sandbox) == 1
    outcomes = [e.outcome for e in app.run(app.runtime.store.audit.entries())]
    assert outcomes == ["confirm requested", "confirmed", "ok"]


def test_cancel_ends_the_held_step_and_nothing_runs(held):
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(app, slack, "flint_run", flintbit="demo:echo.rb")
    prompt = _direct_message(slack, "U1")
    app.client.click(
        "chatops_policy_cancel",
        _button(prompt, "chatops_policy_cancel"),
        user_id="U1",
        channel_id="D1",
    )
    run = ended(slack, execution_id)
    assert run.state == "failed" and run.error == "Cancelled by U1; nothing was run."
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


def test_a_held_step_nobody_confirms_expires_after_ten_minutes(held):
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(app, slack, "flint_run", flintbit="demo:echo.rb")
    _direct_message(slack, "U1")
    sweep(app)
    assert slack.fake.executions[execution_id].state == "running"

    async def age_it():
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(sa.update(confirmations).values(created_at=time.time() - 601))

    app.run(age_it())
    sweep(app)
    run = slack.fake.executions[execution_id]
    assert run.state == "failed" and "Not confirmed within 10 minutes" in run.error
    assert flint_runs(sandbox) == 0


def test_an_approval_rule_holds_the_step_until_an_approver_approves(held):
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(
        app, slack, "flint_run", flintbit="demo:slow.rb", inputs="seconds=1", channel_id="C0OPS"
    )
    card = wait_for(lambda: [c for c in posted_cards(slack) if c["channel"] == "C0OPS"])[0]
    assert "Approval needed" in card["text"] and "<@U1>" in card["text"]
    told = wait_for(lambda: slack.fake.ephemeral)[-1]
    assert (told["user"], told["channel"]) == ("U1", "C0OPS")
    assert "Waiting for approval" in told["text"]
    app.wait_quiet()
    assert flint_runs(sandbox) == 0 and slack.fake.executions[execution_id].state == "running"
    app.client.click(
        "chatops_approval_approve",
        _button(card, "chatops_approval_approve"),
        user_id="U0LEAD",
        channel_id="C0OPS",
        message_ts=card["ts"],
    )
    run = ended(slack, execution_id)
    assert run.state == "completed" and run.outputs["status"] == "success"
    assert flint_runs(sandbox) == 1


def test_an_approval_rule_without_a_channel_ends_the_step(held):
    app, slack, sandbox = held.app, held.slack, held.sandbox
    run = ended(slack, start(app, slack, "flint_run", flintbit="demo:slow.rb"))
    assert run.state == "failed" and "no channel" in run.error and "approvers" in run.error
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


def test_a_rejected_approval_ends_the_held_step(held):
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(
        app, slack, "flint_run", flintbit="demo:slow.rb", inputs="seconds=1", channel_id="C0OPS"
    )
    card = wait_for(lambda: [c for c in posted_cards(slack) if c["channel"] == "C0OPS"])[0]
    app.client.click(
        "chatops_approval_reject",
        _button(card, "chatops_approval_reject"),
        user_id="U0LEAD",
        channel_id="C0OPS",
        message_ts=card["ts"],
    )
    run = ended(slack, execution_id)
    assert run.state == "failed" and "rejected by U0LEAD" in run.error
    app.wait_quiet()
    assert flint_runs(sandbox) == 0
