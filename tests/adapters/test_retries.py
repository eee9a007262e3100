"""Retries through real HTTP: a read is tried again after a transient failure; a run, an
execute, a post is tried again only when the vendor said it did not do it (429, or 503
with Retry-After) — never after a dropped connection or a plain 5xx."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from adapters import sandboxes
from adapters.errors import VendorRateLimited, VendorUnavailable
from adapters.flint import FlintClient, parse_flintbit
from adapters.mint.sandbox import ONBOARD_FLOW_ID
from adapters.stintmint import PostRequest, StintmintClient, infer_descriptor
from tests.adapters.sandbox_clients import FAST, sandbox_clients
from tests.fakes.servers import ThreadedServer


@dataclass
class Faults:
    """ASGI middleware in front of the sandboxes: answers the next scripted failures for
    a path prefix itself, and counts every request that reaches it."""

    app: object
    script: dict[str, list[tuple[int, dict[str, str]]]] = field(default_factory=dict)
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.seen.append((scope["method"], scope["path"]))
            for prefix, answers in self.script.items():
                if scope["path"].startswith(prefix) and answers:
                    status, headers = answers.pop(0)
                    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
                    body = json.dumps({"error": f"scripted {status}"}).encode()
                    raw.append((b"content-type", b"application/json"))
                    await send({"type": "http.response.start", "status": status, "headers": raw})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    def count(self, method: str, part: str) -> int:
        return sum(1 for m, p in self.seen if m == method and part in p)


@pytest.fixture(scope="module")
def vendors():
    faults = Faults(sandboxes.create_app(speed=0.05))
    with ThreadedServer(faults) as server:
        yield faults, server.url


@pytest.fixture
async def clients(vendors):
    faults, base = vendors
    faults.script.clear()
    faults.seen.clear()
    async with httpx.AsyncClient() as http:
        yield faults, sandbox_clients(http, base)


def _run(client: FlintClient):
    return client.run(parse_flintbit("demo:hello.rb"), {})


def _post(client: StintmintClient, identifier: str | None = None):
    return client.post(
        PostRequest(
            identifier=identifier or f"retry-{uuid.uuid4().hex[:12]}",
            sfId="demo",
            descriptors=[infer_descriptor("note", "hi")],
        )
    )


# -- reads ----------------------------------------------------------------------------


async def test_reads_are_tried_again_after_transient_failures(clients):
    faults, c = clients
    started = await _run(c["flint"])
    faults.script["/flint/v1/bit/result"] = [(503, {}), (502, {})]
    assert (await c["flint"].result(started.job_id)).job_id == started.job_id
    assert faults.count("GET", "/flint/v1/bit/result") == 3
    faults.script["/mint/flows"] = [(504, {}), (429, {"Retry-After": "0"})]
    assert await c["mint"].list_flows(limit=5)
    assert faults.count("GET", "/mint/flows") == 3
    faults.script["/stintmint/fetch"] = [(503, {})]
    await _post(c["stintmint"], "retry-read")
    await c["stintmint"].fetch("demo", "retry-read")  # /fetch only reads: retried
    assert faults.count("POST", "/stintmint/fetch") == 2


async def test_a_read_gives_up_after_the_last_attempt_with_the_usual_error(clients):
    faults, c = clients
    faults.script["/mint/flows"] = [(503, {})] * 3
    with pytest.raises(VendorUnavailable, match="HTTP 503"):
        await c["mint"].list_flows(limit=5)
    assert faults.count("GET", "/mint/flows") == 3


# -- writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_writes_are_never_retried_after_a_plain_5xx(clients, status):
    faults, c = clients
    for path in ("/flint/v1/bit/run", "/mint/flows", "/stintmint/post", "/stomt/"):
        faults.script[path] = [(status, {})]
    calls = [
        (_run(c["flint"]), "POST", "/flint/v1/bit/run"),
        (c["mint"].execute(ONBOARD_FLOW_ID, {}), "POST", "/execute"),
        (_post(c["stintmint"]), "POST", "/stintmint/post"),
        (
            c["stomt"].create_stomt("retry me", positive=False, target_id=c["target"]),
            "POST",
            "/stomt/",
        ),
    ]
    for call, method, part in calls:
        with pytest.raises(VendorUnavailable):
            await call
        assert faults.count(method, part) == 1, part


async def test_writes_are_retried_when_the_vendor_says_it_did_not_do_it(clients):
    faults, c = clients
    faults.script["/flint/v1/bit/run"] = [(429, {"Retry-After": "0.05"})]
    assert (await _run(c["flint"])).job_id
    assert faults.count("POST", "/flint/v1/bit/run") == 2
    faults.script["/stintmint/post"] = [(503, {"Retry-After": "0"})]
    await _post(c["stintmint"])
    assert faults.count("POST", "/stintmint/post") == 2


async def test_a_retry_after_beyond_the_cap_is_reported_not_waited_for(clients):
    faults, c = clients
    faults.script["/flint/v1/bit/run"] = [(429, {"Retry-After": "120"})]
    with pytest.raises(VendorRateLimited) as raised:
        await _run(c["flint"])
    assert raised.value.retry_after == 120
    assert faults.count("POST", "/flint/v1/bit/run") == 1


# -- dropped connections --------------------------------------------------------------


@contextmanager
def hanging_up() -> Iterator[tuple[str, list[int]]]:
    """A server that accepts each connection, reads the request and hangs up unanswered."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            accepted.append(1)
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/flint", accepted
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()


async def test_a_dropped_connection_retries_a_read_but_never_a_run():
    with hanging_up() as (url, accepted):
        async with httpx.AsyncClient() as http:
            client = FlintClient(http, base_url=url, key="k", retries=FAST)
            with pytest.raises(VendorUnavailable, match="Flint is not reachable"):
                await _run(client)
            assert len(accepted) == 1
            with pytest.raises(VendorUnavailable, match="Flint is not reachable"):
                await client.result("job-00000000-0000-0000-0000-000000000000")
            assert len(accepted) == 1 + 3
