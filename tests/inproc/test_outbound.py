"""What reaches Slack, through the app in process (tests/inproc/harness.py): a vendor
echoing the app's own credentials never gets them onto a card, a thread, an ack or a
response; secret-looking inputs are redacted on public cards; /metrics labels only the
app's own ids."""

from __future__ import annotations

import json
import re

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from adapters.mint.sandbox import ONBOARD_FLOW_ID
from tests.fakes.servers import ThreadedServer
from tests.fakes.slack_api import block_actions_body, wait_for
from tests.inproc.harness import world

PASSWORD = "flint-pw-Q7x9Zr2LmK4"  # a test credential, distinctive on purpose


def _everything_slack_saw(slack) -> str:
    seen = [c.args for c in slack.fake.calls] + slack.fake.responses + slack.fake.ephemeral
    seen += [f.get("content", "") for f in getattr(slack.fake, "files", [])]
    return json.dumps(seen, default=str)


@pytest.fixture
def echoing_flint():
    """A Flint that answers every run with a 400 quoting the credentials it was sent, and
    every result with output that quotes them too."""

    async def run(request: Request) -> JSONResponse:
        password = request.headers.get("x-flint-password", "")
        return JSONResponse(
            {"meta": {"message": f"login failed for admin password={password}"}}, status_code=400
        )

    async def result(request: Request) -> JSONResponse:
        password = request.headers.get("x-flint-password", "")
        return JSONResponse(
            {
                "meta": {"job-id": request.path_params["job"], "status": "success", "exit-code": 0},
                "output": f"connected with {password}",
            }
        )

    routes = [
        Route("/v1/bit/run/{rest:path}", run, methods=["POST"]),
        Route("/v1/bit/result/{job}", result, methods=["GET"]),
    ]
    with ThreadedServer(Starlette(routes=routes)) as server:
        yield server


def test_a_vendor_echoing_the_apps_credentials_never_shows_them(tmp_path, echoing_flint):
    """Flint's 400 says `password=<FLINT_PASSWORD>`: the card, the thread and every answer
    show `[redacted]` instead (the audit log already did)."""
    with world(tmp_path, flint_url=echoing_flint.url, flint_password=PASSWORD) as running:
        app, slack = running.app, running.slack
        app.client.command("run demo:hello.rb", channel_id="CECHO")
        wait_for(lambda: "login failed" in _everything_slack_saw(slack), timeout=10)
        app.client.command("result job-1")
        wait_for(lambda: "connected with" in _everything_slack_saw(slack), timeout=10)
        seen = _everything_slack_saw(slack)
    assert PASSWORD not in seen
    assert "[redacted]" in seen


def test_secret_looking_inputs_are_redacted_on_public_cards(app, slack):
    """`/mint execute ID {"password": …, "api_key": …}` showed both values on the card."""
    app.client.command(
        f'execute {ONBOARD_FLOW_ID} {{"password": "hunter2-hunter2", "api_key": "k-123456", '
        '"email": "ada@example.com"}',
        command="/mint",
        channel_id="CMINT",
    )
    [card] = wait_for(
        lambda: [m for m in slack.fake.messages.values() if m["channel"] == "CMINT"], timeout=10
    )
    shown = json.dumps(card["blocks"])
    assert "hunter2-hunter2" not in shown and "k-123456" not in shown
    assert "ada@example.com" in shown and "[redacted]" in shown


def test_metrics_label_only_the_apps_own_ids(app):
    """200 signed requests with random action ids, callback ids and event types grew
    /metrics from 18 KB to 431 KB: what no listener handles is labelled `other`."""

    def send(batch: str) -> None:
        for n in range(20):
            body = block_actions_body(f"random_action_{batch}{n}", "v")
            app.client.post(body, "application/x-www-form-urlencoded")
            event = {
                "type": "event_callback",
                "event_id": f"Ev{batch}{n}",
                "event": {"type": f"rnd_{batch}{n}"},
            }
            app.client.post(json.dumps(event).encode(), "application/json")
            weird = {"type": f"weird_type_{batch}{n}", "token": "t"}
            app.client.post(json.dumps(weird).encode(), "application/json")

    app.client.command("help")
    send("a")
    first = app.http.get(app.url + "/metrics").text
    send("b")
    second = app.http.get(app.url + "/metrics").text
    assert not re.search(r"random_action_|rnd_|weird_type_", second)
    assert 'name="/flint"' in second and 'name="other"' in second
    # New ids add no series: the exposition has the same lines, only larger counts.
    assert len(second.splitlines()) == len(first.splitlines())
