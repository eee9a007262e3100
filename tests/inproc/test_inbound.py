"""The door of POST /slack/events, through the app in process (tests/inproc/harness.py:
the same Starlette app and bot/wiring/inbound.py): a request that fails verification for any
reason is a 401 that causes nothing — no listener, no outbound call, no traceback, no
flood of log lines — and what passes reaches Bolt exactly as Slack sent it. Body limits
and deadlines on a real socket are in tests/scenario/test_inbound.py."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import quote, urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.fakes.servers import ThreadedServer
from tests.fakes.slack_api import sign, slash_command_body, wait_for
from tests.scenario.harness import flint_sandbox_app

FORM = "application/x-www-form-urlencoded"


class Trap:
    """An HTTP server that records every request it gets: where a forged response_url
    points. Anything recorded here is a side effect of an unverified request."""

    def __init__(self) -> None:
        self.hits: list[str] = []

        async def record(request: Request) -> Response:
            self.hits.append(f"{request.method} {request.url.path}")
            return Response("ok")

        routes = [Route("/{path:path}", record, methods=["GET", "POST"])]
        self.server = ThreadedServer(Starlette(routes=routes))

    def __enter__(self) -> Trap:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def trap():
    with Trap() as running:
        yield running


def _runs(sandbox) -> int:
    return len([c for c in flint_sandbox_app(sandbox).state.calls if "/run/" in c.path])


def _post(app, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return app.http.post(app.url + "/slack/events", content=body, headers=headers)


def _app_records(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= level and not r.name.startswith("tests")]


@pytest.mark.parametrize("timestamp", ["x", "", "1e9", "-5", "1.5", "0x10", "9" * 40])
def test_a_malformed_timestamp_is_401_and_sends_nothing(app, sandbox, trap, caplog, timestamp):
    """Bolt's verifier raised on these, and the error handler then POSTed to the unverified
    body's response_url: now a 401, the target never hears of it, and no error is logged."""
    body = slash_command_body("/flint", "run demo:hello.rb", response_url=trap.server.url + "/x")
    headers = sign(body, app.client.signing_secret)
    headers["X-Slack-Request-Timestamp"] = timestamp
    headers["Content-Type"] = FORM
    caplog.set_level(logging.INFO)
    runs = _runs(sandbox)
    assert _post(app, body, headers).status_code == 401
    time.sleep(0.3)
    assert trap.hits == []
    assert not _app_records(caplog, logging.ERROR)
    assert _runs(sandbox) == runs


JUNK = {
    "bad utf-8": b"payload=\xff\xfe\xfa",
    "raw bad utf-8": b"\xff\xfe\xfa{",
    "payload=%7B": b"payload=%7B",
    "payload=[1]": b"payload=" + quote("[1]").encode(),
    "payload=null": b"payload=null",
    "payload=NaN": b"payload=NaN",
    "a JSON list": b"[1, 2, 3]",
    "a JSON string": b'"hello"',
    "deep JSON": b"{" + b'"a":{' * 5000 + b"}" * 5001,
    "deep payload": b"payload=" + quote("[" * 5000 + "]" * 5000).encode(),
    "huge number": b'{"type": "event_callback", "n": 1' + b"0" * 5000 + b"}",
}


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("name", list(JUNK))
def test_a_body_that_does_not_decode_is_401_without_a_traceback(app, caplog, name, signed):
    """Unsigned junk used to be a 500 with an ERROR traceback each: now 401 and at most one
    WARNING line; even correctly signed, a body that is not Slack's shape is a 401."""
    body = JUNK[name]
    headers = sign(body, app.client.signing_secret) if signed else {}
    headers["Content-Type"] = "application/json" if body[:1] in b'[{"' else FORM
    caplog.set_level(logging.INFO)
    assert _post(app, body, headers).status_code == 401
    assert not _app_records(caplog, logging.ERROR)
    assert len(_app_records(caplog, logging.WARNING)) <= 1


def test_many_refusals_log_one_line(app, caplog):
    """200 forged requests: one WARNING line (a minute's summary), nothing at INFO that
    repeats their bodies."""
    caplog.set_level(logging.DEBUG)
    secret_looking = "forged-body-" + "z" * 50
    for _ in range(200):
        body = f"command=/flint&text={secret_looking}".encode()
        headers = {
            "X-Slack-Request-Timestamp": str(int(time.time())),
            "X-Slack-Signature": "v0=" + "0" * 64,
            "Content-Type": FORM,
        }
        assert _post(app, body, headers).status_code == 401
    records = [r for r in caplog.records if not r.name.startswith("tests")]
    assert len([r for r in records if r.levelno >= logging.WARNING]) <= 1
    assert not any(secret_looking in r.getMessage() for r in records)


def test_answers_go_only_to_allowed_response_url_hosts(app, trap):
    """A signed request whose response_url is on another host is still served, but the
    app's answers to that URL are dropped; Slack's own host (here the fake's) is answered."""
    elsewhere = trap.server.url.replace("127.0.0.1", "localhost") + "/hook"
    response = app.client.command("result job-does-not-exist", response_url=elsewhere)
    assert response.status_code == 200
    # Once the command's work is done, its answers have been sent (or dropped).
    wait_for(lambda: app.runtime.work.running == 0, timeout=10)
    assert trap.hits == []  # nothing ever may reach the trap
    # The same command with Slack's response_url is answered there.
    slack = app.client.command("result job-does-not-exist")
    assert slack.status_code == 200


def test_a_command_whose_text_says_payload_still_runs(app, sandbox):
    """Bolt's own body parser reads any form body containing "payload" as empty (the
    command was silently dropped); the door hands Bolt the body as Slack sent it."""
    runs = _runs(sandbox)
    assert app.client.command("run demo:echo.rb payload=1").status_code == 200
    wait_for(lambda: _runs(sandbox) == runs + 1, timeout=10, message="Flint was never called")


def test_slack_json_events_still_pass(app):
    """The Events API's JSON body (here url_verification) passes the door when signed."""
    body = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"}).encode()
    headers = sign(body, app.client.signing_secret)
    headers["Content-Type"] = "application/json"
    response = _post(app, body, headers)
    assert response.status_code == 200
    assert "c-123" in response.text


def test_form_bodies_with_bad_fields_are_refused(app):
    """A signed form body that is not form-encoded is not one of Slack's."""
    body = urlencode({"command": "/flint"}).encode() + b"&&=&novalue"
    headers = sign(body, app.client.signing_secret)
    headers["Content-Type"] = FORM
    assert _post(app, body, headers).status_code == 401
