"""Workflow Builder steps across real `chatops serve` processes: a step whose process is
SIGKILLed mid-run is completed by the restarted process, once; three replicas on one
PostgreSQL, one killed, complete every step once. Slack (the fake) refuses a second
completion of an execution, as Slack does, so "completed once" is what it recorded."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from bot.devkit.slack_requests import event_callback_body
from tests.fakes.slack_api import wait_for
from tests.scenario.harness import app_process, running_sandboxes, start_all, stop_all

JSON = "application/json"


def _run_step(slack, client, inputs: dict) -> str:
    """A workflow reaches the flint_run step; returns its execution id."""
    event = slack.fake.execute_function("flint_run", inputs)
    response = client.post(event_callback_body(event), JSON)
    assert response.status_code == 200, response.text
    return event["function_execution_id"]


def _completions(slack) -> Counter:
    """Completions Slack accepted, per execution id (success and error alike)."""
    return Counter(
        call.args["function_execution_id"]
        for method in ("functions.completeSuccess", "functions.completeError")
        for call in slack.fake.calls_to(method)
        if call.ok
    )


def _ended(slack, execution_id: str) -> bool:
    return slack.fake.executions[execution_id].state != "running"


def test_sigkill_mid_step_then_restart_completes_it_once(slack, tmp_path, database_url):
    with running_sandboxes(speed=0.1) as sandbox:
        first = app_process(slack, sandbox.url, tmp_path, "first", database_url=database_url)
        first.start()
        try:
            execution_id = _run_step(
                slack,
                first.client(slack),
                {
                    "user_id": "U123",
                    "channel_id": "CSTEPS",
                    "flintbit": "demo:slow.rb",
                    "inputs": "seconds=20",  # about 2 s at sandbox speed 0.1
                },
            )
            # The job is running at Flint (its card shows Flint's answer) when the kill comes.
            wait_for(lambda: len(slack.fake.calls_to("chat.update")) >= 1, timeout=15)
        finally:
            first.kill()
        assert not _ended(slack, execution_id)
        second = app_process(slack, sandbox.url, tmp_path, "second", database_url=database_url)
        second.start()
        try:
            wait_for(lambda: _ended(slack, execution_id), timeout=30)
            time.sleep(1.5)  # more poll cycles: nothing more may arrive
        finally:
            stop_all([second])
    run = slack.fake.executions[execution_id]
    assert run.state == "completed", run
    assert run.outputs is not None and run.outputs["status"] == "success"
    assert _completions(slack) == Counter({execution_id: 1})


@pytest.mark.timeout(240)
def test_three_replicas_on_postgres_one_killed_complete_each_step_once(slack, postgres, tmp_path):
    database_url = postgres.new_database()
    steps = 30
    with running_sandboxes(speed=0.1) as sandbox:
        replicas = [
            app_process(slack, sandbox.url, tmp_path, f"replica{i}", database_url=database_url)
            for i in range(3)
        ]
        try:
            start_all(replicas)
            clients = [replica.client(slack) for replica in replicas]
            executions = [
                _run_step(
                    slack,
                    clients[i % 3],
                    {
                        "user_id": f"U{i % 4}",
                        # Half post a card, half run without a channel.
                        **({"channel_id": "CSTEPS"} if i % 2 else {}),
                        "flintbit": "demo:slow.rb",
                        "inputs": f"seconds={5 + (i % 6) * 5}",  # 0.5 to 3 s
                    },
                )
                for i in range(steps)
            ]
            time.sleep(0.5)
            replicas[1].kill()  # holding leases and jobs of its own
            time.sleep(1.0)
            replicas[1].start()
            wait_for(lambda: all(_ended(slack, e) for e in executions), timeout=120)
            time.sleep(2.0)  # more poll cycles: nothing more may arrive
        finally:
            stop_all(replicas)
    completions = _completions(slack)
    states = Counter(slack.fake.executions[e].state for e in executions)
    print(f"\nsteps: {steps}, completions {sum(completions.values())}, states {dict(states)}")
    assert set(completions) == set(executions)
    assert all(count == 1 for count in completions.values()), completions
    # A step whose process died while Flint was being called ends with completeError
    # ("unknown"); every other one completes with Flint's outputs.
    assert states["completed"] >= steps - 3, states
