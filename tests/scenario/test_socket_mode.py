"""Socket Mode, the mode most internal teams deploy: the real app connects to a local
server speaking Slack's Socket Mode protocol, acks envelopes and survives a disconnect."""

from __future__ import annotations

import time

import httpx
import pytest

from bot.slack_fake import SlackFake
from tests.fakes.servers import ThreadedServer
from tests.fakes.slack_api import (
    RunningSlackFake,
    block_actions_payload,
    slash_command_payload,
    wait_for,
)
from tests.fakes.socket_mode import SocketModeFake
from tests.scenario.harness import blocks_text, flint_sandbox_app, running_app


@pytest.fixture
def socket_mode():
    with SocketModeFake() as server:
        yield server


@pytest.fixture
def slack(socket_mode):
    fake = SlackFake(socket_mode_url=socket_mode.new_url)
    with ThreadedServer(fake.app) as server:
        yield RunningSlackFake(fake, server)


def _card(slack, n: int = 0) -> dict:
    wait_for(lambda: len(_cards(slack)) > n, timeout=10)
    return _cards(slack)[n]


def _cards(slack) -> list[dict]:
    found = [m for m in slack.fake.messages.values() if not m.get("thread_ts")]
    return sorted(found, key=lambda m: m["ts"])


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
        first = _card(slack)
        wait_for(lambda: "Hello, Sock!" in blocks_text(_cards(slack)[0]["blocks"]), timeout=10)

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
                _rerun_value(first),
                user_id="U77",
                channel_id="C123",
                message_ts=first["ts"],
                response_url=response_url,
            ),
        )
        socket_mode.wait_ack(button)
        wait_for(lambda: "Hello, Sock!" in blocks_text(_card(slack, 1)["blocks"]), timeout=10)

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
        card = _card(slack)
        wait_for(lambda: "complete" in blocks_text(_cards(slack)[0]["blocks"]), timeout=10)
        click = block_actions_payload(
            "flint_rerun",
            _rerun_value(card),
            message_ts=card["ts"],
            response_url=slack.response_url(channel_id=card["channel"], message_ts=card["ts"]),
            trigger_id="8.8.y",
        )
        for _ in range(2):
            socket_mode.wait_ack(socket_mode.send_envelope("interactive", click))
        wait_for(lambda: len(_cards(slack)) == 2, timeout=10)
        wait_for(lambda: runs() == 2, timeout=10)
        time.sleep(0.5)
        assert runs() == 2 and len(_cards(slack)) == 2
