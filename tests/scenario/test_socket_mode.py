"""Socket Mode, the mode most internal teams deploy: the real app connects to a local
server speaking Slack's Socket Mode protocol, acks envelopes and survives a disconnect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from bot.devkit.slack_fake import SlackFake
from bot.devkit.slack_requests import event_callback_payload
from tests.fakes.servers import ThreadedServer, free_port
from tests.fakes.slack_api import (
    RunningSlackFake,
    block_actions_payload,
    posted_card,
    posted_cards,
    running_slack_fake,
    slash_command_payload,
    wait_for,
)
from tests.fakes.socket_mode import SocketModeFake
from tests.scenario.harness import REPO, app_env, blocks_text, flint_sandbox_app, running_app


@pytest.fixture
def socket_mode():
    with SocketModeFake() as server:
        yield server


@pytest.fixture
def slack(socket_mode):
    fake = SlackFake(socket_mode_url=socket_mode.new_url)
    with ThreadedServer(fake.app) as server:
        yield RunningSlackFake(fake, server)


def test_socket_mode_runs_commands_and_survives_a_disconnect(socket_mode, slack, sandbox, tmp_path):
    """Envelopes are acked by envelope_id; after `disconnect` the app reconnects and works."""
    with running_app(
        slack, sandbox.url, tmp_path, slack_app_token="xapp-1-test", slack_signing_secret=""
    ) as app:
        socket_mode.wait_connected(1)
        response_url = slack.response_url()
        envelope = socket_mode.send_envelope(
            "slash_commands",
            slash_command_payload(
                "/flint", "run demo:hello.rb name=Sock", response_url=response_url
            ),
        )
        assert socket_mode.wait_ack(envelope)["envelope_id"] == envelope
        first = posted_card(slack)
        wait_for(
            lambda: "Hello, Sock!" in blocks_text(posted_cards(slack)[0]["blocks"]), timeout=10
        )

        socket_mode.disconnect()
        socket_mode.wait_connected(2, timeout=20)
        help_envelope = socket_mode.send_envelope(
            "slash_commands", slash_command_payload("/flint", "help", response_url=response_url)
        )
        ack = socket_mode.wait_ack(help_envelope)
        assert "/flint run" in ack["payload"]["text"]  # the usage comes back in the ack

        button = socket_mode.send_envelope(
            "interactive",
            block_actions_payload(
                "flint_rerun",
                _rerun_value(posted_cards(slack)[0]),  # the finished card's Re-run
                user_id="U77",
                channel_id="C123",
                message_ts=first["ts"],
                response_url=response_url,
            ),
        )
        socket_mode.wait_ack(button)
        wait_for(lambda: "Hello, Sock!" in blocks_text(posted_card(slack, 1)["blocks"]), timeout=10)

        # The HTTP server still serves health and metrics, but not Slack requests.
        assert httpx.get(app.url + "/healthz").json()["mode"] == "socket"
        assert httpx.get(app.url + "/metrics").status_code == 200
        assert httpx.post(app.url + "/slack/events", content=b"x").status_code in (404, 405)


def _rerun_value(card: dict) -> str:
    for block in card["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "flint_rerun":
                return element["value"]
    raise AssertionError("no Re-run button")


def test_redelivered_envelopes_never_repeat_a_vendor_side_effect(
    socket_mode, slack, sandbox, tmp_path
):
    """The same command and the same click delivered twice (a redelivery after a
    reconnect carries the same trigger id) are acked both times and carried out once."""

    def runs() -> int:
        return sum(1 for c in flint_sandbox_app(sandbox).state.calls if c.method == "POST")

    with running_app(
        slack, sandbox.url, tmp_path, slack_app_token="xapp-1-test", slack_signing_secret=""
    ):
        socket_mode.wait_connected(1)
        command = slash_command_payload(
            "/flint", "run demo:hello.rb", response_url=slack.response_url(), trigger_id="7.7.x"
        )
        for _ in range(2):
            socket_mode.wait_ack(socket_mode.send_envelope("slash_commands", command))
        card = posted_card(slack)
        wait_for(lambda: "complete" in blocks_text(posted_cards(slack)[0]["blocks"]), timeout=10)
        click = block_actions_payload(
            "flint_rerun",
            _rerun_value(posted_cards(slack)[0]),  # the finished card's Re-run
            message_ts=card["ts"],
            response_url=slack.response_url(channel_id=card["channel"], message_ts=card["ts"]),
            trigger_id="8.8.y",
        )
        for _ in range(2):
            socket_mode.wait_ack(socket_mode.send_envelope("interactive", click))
        wait_for(lambda: len(posted_cards(slack)) == 2, timeout=10)
        wait_for(lambda: runs() == 2, timeout=10)
        time.sleep(0.5)
        assert runs() == 2 and len(posted_cards(slack)) == 2


def test_socket_mode_serves_a_workflow_step(socket_mode, slack, sandbox, tmp_path):
    """A function_executed event in an events_api envelope is acked by its envelope_id, and
    the step completes with its outputs; the same envelope again (a redelivery) runs
    nothing more."""
    with running_app(
        slack, sandbox.url, tmp_path, slack_app_token="xapp-1-test", slack_signing_secret=""
    ):
        socket_mode.wait_connected(1)
        event = slack.fake.execute_function(
            "flint_run", {"user_id": "U1", "flintbit": "demo:hello.rb", "inputs": "name=Sock"}
        )
        payload = event_callback_payload(event)
        for _ in range(2):
            envelope = socket_mode.send_envelope("events_api", payload)
            assert socket_mode.wait_ack(envelope)["envelope_id"] == envelope
        execution = event["function_execution_id"]
        wait_for(lambda: slack.fake.executions[execution].state != "running", timeout=15)
        time.sleep(0.5)
    run = slack.fake.executions[execution]
    assert run.state == "completed" and run.outputs is not None
    assert run.outputs["status"] == "success" and run.outputs["output"] == "Hello, Sock!"
    assert len(slack.fake.calls_to("functions.completeSuccess")) == 1
    assert sum(1 for c in flint_sandbox_app(sandbox).state.calls if c.method == "POST") == 1


# -- a Socket Mode that cannot connect -------------------------------------------------------


def _serve(slack, tmp_path, app_token: str, port: int) -> subprocess.Popen:
    """`chatops serve` in Socket Mode as a real process, its output in tmp_path/serve.log."""
    env = app_env(
        slack_api_url=slack.api_url,
        sandbox_url=None,
        database_url=f"sqlite:///{tmp_path / 'app.db'}",
        signing_secret="",
        slack_app_token=app_token,
        host="127.0.0.1",
        port=port,
    )
    log = (tmp_path / "serve.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=REPO,
    )


def _health(port: int) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None


def test_serve_whose_socket_mode_cannot_connect_reports_503_and_stops_on_sigterm(tmp_path):
    """Slack hands out a WebSocket URL where nothing listens. `serve` used to wait for that
    connection inside its start-up: /healthz never answered and SIGTERM did nothing for
    10+ minutes. Now start-up finishes at once, /healthz says 503 and why while the app
    keeps trying with back-off, and SIGTERM stops it within seconds, cleanly."""
    nowhere = f"ws://127.0.0.1:{free_port()}/link/?ticket=t"
    with running_slack_fake(socket_mode_url=nowhere) as slack:
        port = free_port()
        proc = _serve(slack, tmp_path, "xapp-1-test", port)
        try:
            answer = wait_for(
                lambda: (r := _health(port)) is not None and r.status_code == 503 and r,
                timeout=15,
                message=lambda: (tmp_path / "serve.log").read_text(),
            )
            body = answer.json()
            assert body["status"] == "error" and body["database"] == "ok"
            assert body["socket_mode"].startswith("not connected: ")
            # The reason follows the attempts (the first instant says "connecting").
            wait_for(lambda: "did not open" in _health(port).json()["socket_mode"], timeout=10)
            assert len(slack.fake.calls_to("apps.connections.open")) >= 1
        finally:
            proc.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            try:
                code = proc.wait(timeout=30)
            finally:
                proc.kill()  # if it ignored SIGTERM
        took = time.monotonic() - stopping
    log = (tmp_path / "serve.log").read_text()
    assert took < 5, f"SIGTERM took {took:.1f} s: {log[-2000:]}"
    assert code in (0, -signal.SIGTERM), log[-2000:]  # uvicorn re-raises the signal it caught
    assert "INFO bot.wiring.app: stopped" in log  # the clean shutdown ran
    assert "Traceback" not in log


def test_serve_with_an_app_token_slack_refuses_stops_at_once_saying_why(tmp_path):
    """A revoked or mistyped xapp- token: no retry can help, so `serve` says so and exits
    (it used to retry inside its start-up for ever, logging a traceback every 10 s)."""
    token = "xapp-1-revoked-5ecret"
    with running_slack_fake(
        socket_mode_url="ws://127.0.0.1:1/link/", app_tokens={"xapp-1-good"}
    ) as slack:
        proc = _serve(slack, tmp_path, token, free_port())
        try:
            code = proc.wait(timeout=20)
        finally:
            proc.kill()
    log = (tmp_path / "serve.log").read_text()
    assert code == 2, log[-2000:]
    assert "chatops serve: SLACK_APP_TOKEN: Slack refused it" in log
    assert "invalid_auth" in log and "App-Level Tokens" in log
    assert token not in log and "Traceback" not in log


def test_healthz_says_when_socket_mode_is_connected(socket_mode, slack, tmp_path):
    with running_app(
        slack, None, tmp_path, slack_app_token="xapp-1-test", slack_signing_secret=""
    ) as app:
        socket_mode.wait_connected(1)
        wait_for(lambda: httpx.get(app.url + "/healthz").status_code == 200, timeout=10)
        body = httpx.get(app.url + "/healthz").json()
        assert body["status"] == "ok" and body["socket_mode"] == "connected"
