"""The door of POST /slack/events, through real HTTP to the running app: a request that
fails verification for any reason is a 401 (413, 408) that causes nothing — no listener,
no outbound call, no traceback, no flood of log lines — and what passes reaches Bolt
exactly as Slack sent it."""

from __future__ import annotations

import json
import logging
import socket
import time
from urllib.parse import quote, urlencode

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import inbound
from tests.fakes.servers import ThreadedServer
from tests.fakes.slack_api import running_slack_fake, sign, slash_command_body, wait_for
from tests.scenario.harness import flint_sandbox_app, running_app, running_sandboxes

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


@pytest.fixture(scope="module")
def sandbox():
    with running_sandboxes(speed=0.05) as server:
        yield server


@pytest.fixture(scope="module")
def app(sandbox, tmp_path_factory):
    """One app for the module: every test here leaves it as it found it."""
    with (
        running_slack_fake() as slack,
        running_app(slack, sandbox.url, tmp_path_factory.mktemp("door")) as running,
    ):
        yield running


def _runs(sandbox) -> int:
    return len([c for c in flint_sandbox_app(sandbox).state.calls if "/run/" in c.path])


def _post(app, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(app.url + "/slack/events", content=body, headers=headers, timeout=10)


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
    with httpx.Client(timeout=10) as http:
        for _ in range(200):
            body = f"command=/flint&text={secret_looking}".encode()
            headers = {
                "X-Slack-Request-Timestamp": str(int(time.time())),
                "X-Slack-Signature": "v0=" + "0" * 64,
                "Content-Type": FORM,
            }
            assert (
                http.post(app.url + "/slack/events", content=body, headers=headers).status_code
                == 401
            )
    records = [r for r in caplog.records if not r.name.startswith("tests")]
    assert len([r for r in records if r.levelno >= logging.WARNING]) <= 1
    assert not any(secret_looking in r.getMessage() for r in records)


def _raw_request(app, head: str, first: bytes) -> socket.socket:
    host, port = "127.0.0.1", int(app.url.rsplit(":", 1)[1])
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(head.encode() + first)
    return sock


def _status(sock: socket.socket, within: float = 10.0) -> int:
    sock.settimeout(within)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def test_an_announced_100_mib_body_is_413_before_it_is_sent(app):
    """A Content-Length over 1 MiB is refused at once: the answer comes while almost all of
    the body is still unsent."""
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    with _raw_request(app, head, b"a" * 65536) as sock:
        assert _status(sock) == 413


def test_a_chunked_body_over_1_mib_is_413_as_soon_as_it_passes_the_limit(app):
    """Without a Content-Length, the body is read only until it passes 1 MiB."""
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: {FORM}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * 65536
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    with _raw_request(app, head, b"") as sock:
        sent = 0
        sock.settimeout(0.05)
        status = None
        while status is None and sent < 50 * 1024 * 1024:
            try:
                sock.sendall(framed)
                sent += len(chunk)
            except OSError:
                break
            try:
                status = _status(sock, within=0.01)
            except TimeoutError:
                continue
        if status is None:
            status = _status(sock)
    assert status == 413
    assert sent < 4 * 1024 * 1024  # refused long before the sender was done


def test_a_body_that_trickles_is_dropped_after_the_deadline(app, caplog, monkeypatch):
    """A body that does not arrive in time is answered 408 and forgotten, without a
    traceback (the deadline is 10 s; shortened here)."""
    monkeypatch.setattr(inbound, "BODY_DEADLINE", 0.5)
    caplog.set_level(logging.INFO)
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: 1000\r\n\r\n"
    )
    started = time.monotonic()
    with _raw_request(app, head, b"a" * 10) as sock:
        assert _status(sock, within=5) == 408
    assert time.monotonic() - started < 4
    assert not _app_records(caplog, logging.ERROR)


def test_a_client_that_hangs_up_mid_body_leaves_no_traceback(app, caplog):
    """2,000 trickling connections each logged a ClientDisconnect traceback: a hang-up is
    now forgotten quietly."""
    caplog.set_level(logging.INFO)
    head = (
        "POST /slack/events HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: {FORM}\r\nContent-Length: 1000\r\n\r\n"
    )
    for _ in range(20):
        _raw_request(app, head, b"a" * 10).close()
    time.sleep(0.5)
    assert not [r for r in _app_records(caplog, logging.WARNING) if r.exc_info]
    assert httpx.get(app.url + "/healthz").status_code == 200


def test_answers_go_only_to_allowed_response_url_hosts(app, trap):
    """A signed request whose response_url is on another host is still served, but the
    app's answers to that URL are dropped; Slack's own host (here the fake's) is answered."""
    elsewhere = trap.server.url.replace("127.0.0.1", "localhost") + "/hook"
    response = app.client.command("result job-does-not-exist", response_url=elsewhere)
    assert response.status_code == 200
    time.sleep(1.0)
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
