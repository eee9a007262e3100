"""The door of POST /slack/events on a real socket, to the app under uvicorn: a body over
1 MiB is refused as soon as that is known, one that trickles is dropped at the deadline,
and a client hanging up leaves no traceback. What the door refuses or passes by content
(signatures, timestamps, bodies that do not decode) is checked in process:
tests/inproc/test_inbound.py."""

from __future__ import annotations

import logging
import socket
import time

import httpx
import pytest

from bot.wiring import inbound
from tests.fakes.slack_api import running_slack_fake
from tests.scenario.harness import running_app, running_sandboxes

FORM = "application/x-www-form-urlencoded"


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


def _app_records(caplog, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= level and not r.name.startswith("tests")]


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
