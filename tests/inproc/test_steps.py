"""Workflow Builder custom steps through the app in process (tests/inproc/harness.py): the
Slack fake starts an execution (``execute_function``), its ``function_executed`` event is
posted to /slack/events as Slack posts it (signed), and the fake records the one
``functions.completeSuccess|completeError`` that ends it, refusing any other, as Slack
does. The vendor sandboxes say what reached them."""

from __future__ import annotations

import asyncio
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
from bot.policy import Policy, parse_rules
from bot.store.approvals import APPROVE, APPROVED
from bot.store.approvals import RUNNING as HANDED_ON
from bot.store.jobs import DONE, NOT_STARTED, NewJob
from bot.store.schema import approvals, confirmations, step_runs
from bot.store.steps import HELD, RECEIVED, RUNNING
from handlers.common import steps
from handlers.common.held import load
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


def recorded_completed(app, execution_id: str):
    """The stored run once the app has recorded its completion (a moment after Slack took
    it: the fake shows it completed first)."""
    return wait_for(lambda: (run := stored_run(app, execution_id)).state == "completed" and run)


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
    stored = recorded_completed(app, execution_id)
    assert (stored.state, stored.outcome, stored.token) == ("completed", "success", "")
    assert stored.inputs == {}  # they may hold secrets: not kept past the completion
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


def _press(app, message: dict, action_id: str, **kw) -> None:
    """Click ``action_id``'s button on ``message``, with the value it shows there."""
    app.client.click(action_id, _button(message, action_id), **kw)


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

    _press(app, prompt, "chatops_policy_confirm", user_id="U1", channel_id="D1")
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
    _press(app, prompt, "chatops_policy_cancel", user_id="U1", channel_id="D1")
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
    _press(
        app,
        card,
        "chatops_approval_approve",
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
    _press(
        app,
        card,
        "chatops_approval_reject",
        user_id="U0LEAD",
        channel_id="C0OPS",
        message_ts=card["ts"],
    )
    run = ended(slack, execution_id)
    assert run.state == "failed" and "rejected by U0LEAD" in run.error
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


# -- completed in the end, whatever happens -------------------------------------------------


def backdate(app, table, by: float, *columns: str) -> None:
    """The time ``columns`` of every row of ``table`` moved ``by`` seconds into the past, as
    if that long had passed for the sweeps."""

    async def go():
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(sa.update(table).values({c: table.c[c] - by for c in columns}))

    app.run(go())


def due_now(app, execution_id: str) -> None:
    """The run's stored completion due for its next send (Slack's pause is over)."""
    inputs = {**stored_run(app, execution_id).inputs, "retry_at": 0}

    async def go():
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(
                sa.update(step_runs)
                .where(step_runs.c.execution_id == execution_id)
                .values(inputs=inputs)
            )

    app.run(go())


def completion_calls(slack, method: str = "functions.completeSuccess") -> list[bool]:
    """Whether Slack took each call to ``method``, in order."""
    return [call.ok for call in slack.fake.calls_to(method)]


def test_a_completion_slack_fails_on_is_sent_again(app, slack):
    """Slack failing (HTTP 500 internal_error) is no reason to drop the completion: it is
    sent again after a pause, and the step completes with its outputs."""
    slack.fake.fail_next("functions.completeSuccess", "internal_error", status=500)
    execution_id = start(app, slack, "mindstamp_summary")
    run = ended(slack, execution_id, timeout=40)  # the pause is 5 s; a loaded machine is slow
    assert run.state == "completed" and isinstance(run.outputs["views"], int)
    assert completion_calls(slack) == [False, True]
    stored = recorded_completed(app, execution_id)
    assert (stored.state, stored.outcome, stored.error) == ("completed", "success", None)


def test_a_long_steps_completion_slack_fails_on_is_sent_again(app, slack):
    """The same through the tracker's finisher, for an error Slack gives with HTTP 200."""
    slack.fake.fail_next("functions.completeSuccess", "service_unavailable")
    execution_id = start(app, slack, "flint_run", flintbit="demo:hello.rb")
    run = ended(slack, execution_id, timeout=30)
    assert run.state == "completed" and run.outputs["status"] == "success"
    assert completion_calls(slack) == [False, True]
    app.wait_quiet()
    assert stored_run(app, execution_id).outcome == "success"


def test_a_short_steps_outputs_are_kept_until_slack_takes_them(app, slack):
    """A stomt posted, and Slack rate limiting the completion beyond the app's tries at
    once (each retried twice by the client): the outputs are kept, and the sweep sends them
    later. The step is never said to have stopped: its work was done."""
    # 9 refusals for the tries at once, 3 for the sweep below, and 3 more in case the
    # app's own periodic sweep finds it due (a second after each refusal) meanwhile.
    slack.fake.fail_next("functions.completeSuccess", "ratelimited", retry_after=0, times=15)
    execution_id = start(app, slack, "stomt_post", text="hello")
    app.wait_quiet()
    stored = stored_run(app, execution_id)
    # At least the tries at once; the app's own sweep may have begun more meanwhile.
    assert stored.state == "completing" and len(completion_calls(slack)) >= 9
    stomt_id = stored.outputs["stomt_id"]
    assert "text" not in stored.inputs  # the inputs are not kept past the work
    backdate(app, step_runs, 3600, "created_at")
    due_now(app, execution_id)
    sweep(app)  # Slack still rate limiting
    assert stored_run(app, execution_id).state == "completing"

    def swept_until_taken() -> bool:
        due_now(app, execution_id)
        sweep(app)
        return slack.fake.executions[execution_id].state != "running"

    wait_for(swept_until_taken, timeout=20)
    run = slack.fake.executions[execution_id]
    assert run.state == "completed" and run.outputs["stomt_id"] == stomt_id
    # Taken once; a sweep of the app's own racing the test's may have asked once more and
    # been told it was completed already.
    assert completion_calls(slack).count(True) == 1
    entries = app.run(app.runtime.store.audit.entries())
    assert [(e.command, e.outcome) for e in entries] == [("stomt wish", "ok")]
    stored = stored_run(app, execution_id)
    assert (stored.state, stored.outcome, stored.inputs) == ("completed", "success", {})


def test_a_refused_token_after_an_earlier_send_means_that_send_went_through(app, slack):
    """Slack revokes an execution's token once it ended: after a send whose answer was
    lost (HTTP 500), invalid_auth means it was taken. No error is sent instead."""
    slack.fake.fail_next("functions.completeSuccess", "internal_error", status=500)
    slack.fake.fail_next("functions.completeSuccess", "invalid_auth")
    execution_id = start(app, slack, "mindstamp_summary")
    app.wait_quiet()
    stored = stored_run(app, execution_id)
    assert (stored.state, stored.outcome, stored.error) == ("completed", "success", None)
    assert completion_calls(slack) == [False, False]
    assert slack.fake.calls_to("functions.completeError") == []


def test_a_token_refused_at_once_ends_the_run_saying_why(app, slack):
    """invalid_auth on the first send: nothing can complete it; the run says why (and its
    token is in no log line)."""
    slack.fake.fail_next("functions.completeSuccess", "invalid_auth")
    with app_logs() as logs:
        execution_id = start(app, slack, "mindstamp_summary")
        app.wait_quiet()
    stored = stored_run(app, execution_id)
    assert (stored.state, stored.outcome) == ("completed", "error")
    assert stored.error == "not completed (its work was done): Slack answered invalid_auth"
    assert completion_calls(slack) == [False] and stored.token == ""
    assert slack.fake.executions[execution_id].token not in logs.getvalue()


def test_a_completion_slack_never_takes_is_given_up_after_a_day_saying_why(app, slack):
    slack.fake.fail_next("functions.completeSuccess", "ratelimited", retry_after=0, times=9)
    execution_id = start(app, slack, "mindstamp_summary")
    app.wait_quiet()
    assert stored_run(app, execution_id).state == "completing"
    backdate(app, step_runs, 86_400 + 60, "created_at")
    slack.fake.fail_next("functions.completeSuccess", "service_unavailable", status=503)
    due_now(app, execution_id)
    sweep(app)
    stored = stored_run(app, execution_id)
    assert (stored.state, stored.outcome) == ("completed", "error")
    assert stored.error.startswith(
        "not completed (its work was done): Slack did not take it for a day"
    )


def test_a_step_whose_job_ended_without_completing_it_is_completed_by_the_sweep(app, slack):
    """A job marked done before its finishers completed the step (a process died between,
    or a finisher gave up): the sweep completes the step from the job, as the finisher
    would have."""
    store = app.runtime.store
    inputs = {"user_id": "U1", "flintbit": "demo:x.rb"}
    event = slack.fake.execute_function("flint_run", inputs)
    execution_id = event["function_execution_id"]

    async def setup():
        await store.steps.create(
            execution_id=execution_id,
            callback_id="flint_run",
            token=event["bot_access_token"],
            user_id="U1",
            channel_id="",
            inputs=inputs,
        )
        await store.steps.move(execution_id, from_states=(RECEIVED,), to=RUNNING)
        new = NewJob("flint", "demo:x.rb", "", "U1", step_execution_id=execution_id)
        job = await store.jobs.create(new, deadline_at=time.time() + 3600, start_grace=30)
        await store.jobs.update(
            job.id, state=DONE, outcome=NOT_STARTED, error="boom", finished_at=time.time()
        )

    app.run(setup())
    backdate(app, step_runs, 3600, "created_at")
    sweep(app)
    run = slack.fake.executions[execution_id]
    assert run.state == "failed"
    assert run.error == "The flint job for demo:x.rb was not started: boom"


def test_a_step_whose_jobs_notice_was_given_up_still_completes(app, slack):
    """Its card refused for good (the channel gone) when the job ends: the tracker gives
    the notice up but still runs the finishers, so the step completes with the job's
    outputs, once (a later sweep finds nothing to do)."""
    slack.fake.fail_next("chat.update", "channel_not_found", times=100)
    execution_id = start(app, slack, "flint_run", flintbit="demo:hello.rb", channel_id="CSTEP")
    run = ended(slack, execution_id)
    assert run.state == "completed" and run.outputs["status"] == "success"
    recorded_completed(app, execution_id)
    backdate(app, step_runs, 3600, "created_at")
    sweep(app)
    assert completion_calls(slack) == [True]


def test_a_step_counts_toward_its_users_requests_in_progress(app, slack):
    """CHATOPS_MAX_INFLIGHT_PER_USER counts a step as its user's (the event has no user)."""
    per_user = app.runtime.work.per_user
    with busy_user(app, "U1", per_user):
        refused = ended(slack, start(app, slack, "mindstamp_summary"))
        other = ended(slack, start(app, slack, "mindstamp_summary", user_id="U2"))
    assert refused.state == "failed"
    assert refused.error.startswith(f"You already have {per_user} commands in progress")
    assert other.state == "completed"


@contextmanager
def busy_user(app, user: str, tasks: int):
    """``tasks`` of ``user``'s requests in progress until the block ends."""

    async def fill():
        gate = asyncio.Event()
        for _ in range(tasks):
            app.runtime.work.adopt(asyncio.create_task(gate.wait()), user)
        return gate

    gate = app.run(fill())
    try:
        yield
    finally:

        async def free():
            gate.set()

        app.run(free())


# -- held, and ended all the same -----------------------------------------------------------


def test_a_held_step_whose_confirmation_was_used_by_a_process_that_died_is_ended(held):
    """The Confirm click's (or the expiry's) write, and the process dies before resuming
    or ending the step: the sweep ends it, once whoever used it had time to go on."""
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(app, slack, "flint_run", flintbit="demo:echo.rb")
    prompt = _direct_message(slack, "U1")
    app.wait_quiet()
    assert app.run(app.runtime.store.confirmations.use(_button(prompt, "chatops_policy_confirm")))
    backdate(app, step_runs, 3600, "created_at")
    sweep(app)
    assert slack.fake.executions[execution_id].state == "running"  # just used: may go on
    backdate(app, confirmations, 3600, "created_at", "used_at")
    sweep(app)
    run = slack.fake.executions[execution_id]
    assert run.state == "failed"
    assert run.error.startswith("The app stopped after this step was confirmed or cancelled")
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


@pytest.mark.parametrize("handed_on", [True, False])
def test_a_held_step_whose_approval_a_process_that_died_decided_is_ended(held, handed_on):
    """Approved (and maybe handed on to its run), and the process dies before resuming the
    step: the sweep ends it. One approved and never handed on is the approvals sweep's to
    close first; the steps' ends it if that has not happened well after."""
    app, slack, sandbox = held.app, held.slack, held.sandbox
    store = app.runtime.store.approvals
    execution_id = start(
        app, slack, "flint_run", flintbit="demo:slow.rb", inputs="seconds=1", channel_id="C0OPS"
    )
    wait_for(lambda: [c for c in posted_cards(slack) if c["channel"] == "C0OPS"])
    app.wait_quiet()

    async def approve_then_die():
        async with app.runtime.store.engine.connect() as conn:
            [approval_id] = (await conn.execute(sa.select(approvals.c.id))).scalars().all()
        approval = await store.get(approval_id)
        decided = await store.decide(approval, "U0LEAD", APPROVE, close=APPROVED)
        assert decided is not None
        if handed_on:
            assert await store.settle(approval_id, HANDED_ON) is not None

    app.run(approve_then_die())
    backdate(app, step_runs, 3600, "created_at")
    sweep(app)
    assert slack.fake.executions[execution_id].state == "running"  # just approved
    backdate(app, approvals, 600, "created_at", "closed_at", "expires_at")
    sweep(app)
    if not handed_on:
        assert slack.fake.executions[execution_id].state == "running"
        backdate(app, approvals, 1000, "created_at", "closed_at", "expires_at")
        sweep(app)
    run = slack.fake.executions[execution_id]
    assert run.state == "failed"
    assert run.error.startswith("The request for approval was approved, but the app stopped")
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


def test_a_step_held_by_a_process_that_died_before_asking_is_ended(app, slack):
    store = app.runtime.store.steps
    event = slack.fake.execute_function("flint_run", {"user_id": "U1", "flintbit": "demo:x.rb"})
    execution_id = event["function_execution_id"]

    async def hold_then_die():
        await store.create(
            execution_id=execution_id,
            callback_id="flint_run",
            token=event["bot_access_token"],
            user_id="U1",
            channel_id="",
            inputs={"user_id": "U1", "flintbit": "demo:x.rb"},
        )
        assert await store.move(execution_id, from_states=(RECEIVED,), to=HELD)

    app.run(hold_then_die())
    sweep(app)
    assert slack.fake.executions[execution_id].state == "running"  # may be asking now
    backdate(app, step_runs, 3600, "created_at")
    sweep(app)
    run = slack.fake.executions[execution_id]
    assert run.state == "failed" and run.error.startswith("The app stopped before asking")


def test_a_cancelled_step_slack_does_not_take_at_once_still_ends_cancelled(held):
    """Its completion, rate limited beyond the tries at once, is sent later as it was:
    cancelled, not "the app stopped"."""
    app, slack, sandbox = held.app, held.slack, held.sandbox
    slack.fake.fail_next("functions.completeError", "ratelimited", retry_after=0, times=9)
    execution_id = start(app, slack, "flint_run", flintbit="demo:echo.rb")
    prompt = _direct_message(slack, "U1")
    _press(app, prompt, "chatops_policy_cancel", user_id="U1", channel_id="D1")
    app.wait_quiet()
    assert stored_run(app, execution_id).state == "completing"
    backdate(app, step_runs, 3600, "created_at")
    backdate(app, confirmations, 3600, "created_at", "used_at")
    due_now(app, execution_id)
    sweep(app)
    run = slack.fake.executions[execution_id]
    assert run.state == "failed" and run.error == "Cancelled by U1; nothing was run."
    assert flint_runs(sandbox) == 0


def test_a_confirmed_step_waits_for_the_approvers_the_policy_now_names(held):
    """A Confirm click is no approval: a step held for Confirm under a policy that has
    since come to need approvers is posted for approval, and runs once approved."""
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(app, slack, "flint_run", flintbit="demo:echo.rb", channel_id="C0OPS")
    prompt = _direct_message(slack, "U1")
    runtime = app.runtime
    before = runtime.deps.policy
    runtime.deps.policy = Policy(
        parse_rules('rules:\n  - command: "*"\n    approvers: {users: [U0LEAD]}\n', "p.yml"),
        source="p.yml",
    )
    try:
        _press(app, prompt, "chatops_policy_confirm", user_id="U1", channel_id="D1")
        card = wait_for(lambda: [c for c in posted_cards(slack) if c["channel"] == "C0OPS"])[0]
        assert "Approval needed" in card["text"]
        app.wait_quiet()
        assert stored_run(app, execution_id).state == "held" and flint_runs(sandbox) == 0
        _press(
            app,
            card,
            "chatops_approval_approve",
            user_id="U0LEAD",
            channel_id="C0OPS",
            message_ts=card["ts"],
        )
        run = ended(slack, execution_id)
        app.wait_quiet()
    finally:
        runtime.deps.policy = before
    assert run.state == "completed" and flint_runs(sandbox) == 1


def test_a_held_step_resumed_with_no_room_for_its_user_ends_saying_so(held):
    """Resumed work is its user's like any other: with every slot of theirs taken, the
    step ends saying so, and nothing runs."""
    app, slack, sandbox = held.app, held.slack, held.sandbox
    execution_id = start(app, slack, "flint_run", flintbit="demo:echo.rb")
    confirmation_id = _button(_direct_message(slack, "U1"), "chatops_policy_confirm")
    app.wait_quiet()
    store = app.runtime.store.confirmations
    request = load(app.run(store.get(confirmation_id)).request)
    assert app.run(store.use(confirmation_id))
    per_user = app.runtime.work.per_user

    async def as_the_requester():  # as a click of theirs resumes it: in a task of theirs
        task = asyncio.create_task(steps.resume(app.runtime.deps, execution_id, request, "U1"))
        app.runtime.work.adopt(task, "U1")
        await task

    with busy_user(app, "U1", per_user):
        app.run(as_the_requester())
        run = ended(slack, execution_id)
    assert run.state == "failed"
    assert run.error.startswith(f"You already have {per_user} commands in progress")
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


def test_a_step_stopped_after_its_approval_card_was_posted_withdraws_the_card(held):
    """The step's work fails once its request for approval is posted (here, telling the
    requester): the step ends, and the request is closed, so a later Approve finds it
    withdrawn and runs nothing."""
    app, slack, sandbox = held.app, held.slack, held.sandbox
    slack.fake.fail_next("chat.postEphemeral", "channel_not_found")
    slack.fake.inaccessible_channels = {"U1"}  # nor by direct message
    try:
        execution_id = start(app, slack, "flint_run", flintbit="demo:slow.rb", channel_id="C0OPS")
        run = ended(slack, execution_id)
        app.wait_quiet()
    finally:
        slack.fake.inaccessible_channels = set()
    assert run.state == "failed" and "Slack refused a message of this step" in run.error
    [card] = [c for c in posted_cards(slack) if c["channel"] == "C0OPS"]
    assert "actions" not in [block["type"] for block in card["blocks"]]  # no buttons now
    assert approval_states(app) == ["cancelled"]
    [posted] = [c.args for c in slack.fake.calls_to("chat.postMessage") if c.ok]
    _press(
        app,
        posted,  # as the card was first shown
        "chatops_approval_approve",
        user_id="U0LEAD",
        channel_id="C0OPS",
        message_ts=card["ts"],
    )
    wait_for(lambda: any("was withdrawn" in r["text"] for r in slack.fake.responses))
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


def approval_states(app) -> list[str]:
    async def read():
        async with app.runtime.store.engine.connect() as conn:
            return list((await conn.execute(sa.select(approvals.c.state))).scalars())

    return app.run(read())


# -- inputs are fields, never command text ----------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "great product",
        "it's \"quoted\" & 'single' <b>",
        "please fix --target other-page now",
        "a --label x",
    ],
)
def test_a_stomt_steps_text_is_posted_exactly_as_given(app, slack, sandbox, text):
    """Quotes and apostrophes reach STOMT as typed in the workflow, and ``--target`` or
    ``--label`` in the text are words of it: the stomt goes to the default target."""
    run = ended(slack, start(app, slack, "stomt_post", text=text))
    assert run.state == "completed", run.error
    stomt = mounted_app(sandbox, "/stomt").state.sandbox.stomts[run.outputs["stomt_id"]]
    assert (stomt.text, stomt.labels) == (text, [])
    default = app.runtime.deps.settings.stomt_target
    assert stomt.target_id == default
    [entry] = app.run(app.runtime.store.audit.entries())
    assert (entry.command, entry.target) == ("stomt wish", default)


def test_a_flint_inputs_line_is_never_an_option(app, slack, sandbox):
    """A line ``--timeout`` (then ``60000``) is refused as an input it does not understand,
    and nothing runs; ``a=--sync`` is the input ``a``, and the run is not made synchronous."""
    bad = ended(
        slack,
        start(app, slack, "flint_run", flintbit="demo:echo.rb", inputs="x=1\n--timeout\n60000"),
    )
    assert bad.state == "failed" and "Did not understand `--timeout`" in bad.error, bad.error
    app.wait_quiet()
    assert flint_runs(sandbox) == 0
    good = ended(
        slack, start(app, slack, "flint_run", flintbit="demo:echo.rb", inputs="a=--sync\nb=it's")
    )
    assert good.state == "completed", good.error
    assert json.loads(good.outputs["output"]) == {"a": "--sync", "b": "it's"}
    [job] = app.run(app.runtime.store.jobs.recent_for_user("U1", 10))
    assert (job.params["sync"], job.params["timeout_ms"]) == (False, None)


def test_a_stint_descriptors_line_is_never_the_batch_option(app, slack, sandbox):
    run = ended(
        slack,
        start(
            app,
            slack,
            "stint_post",
            sf_id="demo",
            identifier="order-10",
            descriptors="note=x\n--batch\nb-9",
        ),
    )
    assert run.state == "failed" and "`--batch` is not a valid descriptor name" in run.error
    app.wait_quiet()
    assert [c for c in mounted_app(sandbox, "/stintmint").state.calls if c.method == "POST"] == []


def test_every_output_declared_required_is_given_and_not_empty(app, slack):
    """Slack may refuse a completion whose required output is empty: an aborted run (no
    output) and a finished flow (no failed step) complete with what they have."""
    runs = {
        "flint_run": ended(slack, start(app, slack, "flint_run", flintbit="demo:abort.rb")),
        "mint_execute": ended(
            slack, start(app, slack, "mint_execute", definition_id=ONBOARD_FLOW_ID)
        ),
        "stomt_post": ended(slack, start(app, slack, "stomt_post", text="x")),
    }
    from handlers import VERTICALS

    declared = {step.callback_id: step for vertical in VERTICALS for step in vertical.steps}
    for callback_id, run in runs.items():
        assert run.state == "completed", run.error
        json.dumps(run.outputs, allow_nan=False)
        for output in declared[callback_id].outputs:
            assert output.name in run.outputs
            if output.required:
                assert run.outputs[output.name] not in ("", None), (callback_id, output.name)
    assert runs["flint_run"].outputs["output"] == ""
    assert runs["mint_execute"].outputs["failed_step"] == ""
