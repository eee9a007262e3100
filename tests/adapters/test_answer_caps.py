"""No vendor answer is read past a cap: a flood is refused after 8 MiB, through real HTTP,
for every client and every way it reads an answer (its calls, a login, a token, a report),
without the client ever holding the whole of it."""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from adapters import sandboxes
from adapters.errors import AnswerTooLarge, VendorResponseInvalid
from adapters.flint import parse_flintbit
from adapters.http import MAX_ANSWER_BYTES, byte_size
from adapters.mint import client as mint_client
from tests.adapters.sandbox_clients import sandbox_clients
from tests.fakes.servers import ThreadedServer

pytestmark = pytest.mark.timeout(60)

MIB = 1024 * 1024
FLOOD = 40 * MIB
CHUNK = b"x" * (64 * 1024)
# Well above the cap (what a capped client holds) and well below a flood read whole.
PEAK_LIMIT = 20 * MIB


@dataclass
class Flooder:
    """ASGI middleware in front of the sandboxes: a request whose path starts with
    ``prefix`` gets a 200 JSON answer of ``size`` bytes, streamed; every other request goes
    to the sandbox. ``sent`` holds, per flood, how many bytes it handed the server before
    the client hung up."""

    app: Any
    prefix: str | None = None
    size: int = FLOOD
    declare_length: bool = False
    status: int = 200
    sent: list[int] = field(default_factory=list)
    floods: int = 0

    async def ended(self) -> list[int]:
        """``sent``, once every flood begun has noticed its client hung up."""
        for _ in range(500):
            if len(self.sent) == self.floods:
                break
            await asyncio.sleep(0.01)
        return self.sent

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and self.prefix and scope["path"].startswith(self.prefix):
            await self._flood(receive, send)
        else:
            await self.app(scope, receive, send)

    async def _flood(self, receive, send) -> None:
        self.floods += 1
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch())
        headers = [(b"content-type", b"application/json")]
        if self.declare_length:
            headers.append((b"content-length", str(self.size).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        sent = 0
        try:
            while sent < self.size and not gone.is_set():
                await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
                sent += len(CHUNK)
                await asyncio.sleep(0)  # the server ignores sends once the client is gone
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            self.sent.append(sent)


@pytest.fixture(scope="module")
def flooded() -> Iterator[tuple[Flooder, str]]:
    flooder = Flooder(sandboxes.create_app(speed=0.02))
    with ThreadedServer(flooder) as server:
        yield flooder, server.url


@pytest.fixture
async def vendors(flooded) -> AsyncIterator[tuple[Flooder, dict[str, Any]]]:
    flooder, base = flooded
    flooder.prefix, flooder.sent, flooder.floods, flooder.declare_length = None, [], 0, False
    flooder.status = 200
    async with httpx.AsyncClient() as http:
        yield flooder, sandbox_clients(http, base)


async def peak_memory(call: Awaitable[Any]) -> tuple[BaseException | None, int]:
    """What ``call`` raised, and the most memory the process held meanwhile (bytes)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        await call
        error = None
    except Exception as exc:
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


Call = Callable[[dict[str, Any]], Awaitable[Any]]

CASES: list[tuple[str, str, str, Call]] = [
    ("flint result", "/flint/v1/bit/result", "Flint", lambda c: c["flint"].result("job-1")),
    (
        "flint run",
        "/flint/v1/bit/run",
        "Flint",
        lambda c: c["flint"].run(parse_flintbit("demo:hello.rb"), {}, sync=True),
    ),
    ("stomt read", "/stomt/targets", "STOMT", lambda c: c["stomt"].get_target(c["target"])),
    (
        "stomt login",
        "/stomt/authentication/session",
        "STOMT",
        lambda c: c["stomt"].get_target(c["target"]),
    ),
    ("mint read", "/mint/flows", "Signicat Mint", lambda c: c["mint"].list_flows()),
    ("mint token", "/mint/token", "Signicat Mint", lambda c: c["mint"].list_flows()),
    (
        "stintmint fetch",
        "/stintmint/fetch",
        "Stintmint",
        lambda c: c["stintmint"].fetch("demo", "x-1"),
    ),
    ("mindstamp read", "/mindstamp/views/summary", "Mindstamp", lambda c: c["mindstamp"].summary()),
]
IDS = [case[0] for case in CASES]


@pytest.mark.parametrize(("prefix", "vendor", "call"), [c[1:] for c in CASES], ids=IDS)
async def test_a_flood_is_refused_without_being_read_whole(vendors, prefix, vendor, call):
    """A 40 MiB answer is AnswerTooLarge ("X answered more than 8 MiB"), not retried, and
    neither read to its end nor held in memory."""
    flooder, clients = vendors
    flooder.prefix = prefix
    error, peak = await peak_memory(call(clients))
    assert isinstance(error, AnswerTooLarge) and isinstance(error, VendorResponseInvalid)
    assert str(error) == f"{vendor} answered more than 8 MiB"
    [sent] = await flooder.ended()  # refused at once: not tried again
    assert sent < FLOOD - 8 * MIB, f"{sent / MIB:.1f} MiB sent"  # hung up long before the end
    assert peak < PEAK_LIMIT, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.parametrize(
    ("status", "prefix", "call"),
    [
        (401, "/mint/flows", lambda c: c["mint"].list_flows()),
        (419, "/stomt/targets", lambda c: c["stomt"].get_target(c["target"])),
    ],
    ids=["mint 401", "stomt 419"],
)
async def test_an_answer_an_auth_flow_moves_past_is_capped_too(vendors, status, prefix, call):
    """A "token expired" answer (Mint's 401, STOMT's 419) that floods is refused at the cap
    too, before httpx would read it whole on the way to asking for a new token."""
    flooder, clients = vendors
    flooder.prefix, flooder.status = prefix, status
    error, peak = await peak_memory(call(clients))
    assert isinstance(error, AnswerTooLarge) and "more than 8 MiB" in str(error)
    sent = await flooder.ended()
    assert max(sent) < FLOOD - 8 * MIB, f"{max(sent) / MIB:.1f} MiB sent"
    assert peak < PEAK_LIMIT, f"peak {peak / MIB:.1f} MiB"


async def test_a_declared_flood_is_refused_before_its_body(vendors):
    """An answer whose Content-Length is over the cap is refused before any of it is read."""
    flooder, clients = vendors
    flooder.prefix, flooder.declare_length = "/flint/v1/bit/result", True
    error, peak = await peak_memory(clients["flint"].result("job-1"))
    assert isinstance(error, AnswerTooLarge)
    assert peak < 2 * MIB, f"peak {peak / MIB:.1f} MiB"


async def test_a_vendor_may_have_a_larger_cap(vendors, monkeypatch):
    """Mint's reports have their own cap (files are larger than answers): it is the one
    applied, and said."""
    monkeypatch.setattr(mint_client, "MAX_REPORT_BYTES", 12 * MIB)
    flooder, clients = vendors
    instance_id = (await clients["mint"].instances(limit=1))[0].id
    flooder.prefix = f"/mint/instances/{instance_id}/csv"
    error, peak = await peak_memory(clients["mint"].instance_report(instance_id, "csv"))
    assert isinstance(error, AnswerTooLarge)
    assert str(error) == "Signicat Mint answered more than 12 MiB"
    assert 12 * MIB < peak < 12 * MIB + PEAK_LIMIT
    flooder.prefix = None
    report = await clients["mint"].instance_report(instance_id, "csv")  # a real one still comes
    assert report.content and report.filename.endswith(".csv")


async def test_answers_under_the_cap_are_read_whole(vendors):
    """A 7 MiB Flint output, from the sandbox's big.rb, comes through whole."""
    _flooder, clients = vendors
    size = 7 * MIB
    result = await clients["flint"].run(
        parse_flintbit("demo:big.rb"), {"size": size}, sync=True, timeout_ms=60_000
    )
    assert result.is_final and len(result.output["message"]) == size


async def test_the_sandbox_big_output_is_refused_past_the_cap(vendors):
    """big.rb's 40 MiB output, streamed by the sandbox, is refused by the Flint client, and
    reading its result again is refused the same way."""
    _flooder, clients = vendors
    flint = clients["flint"]
    started = await flint.run(parse_flintbit("demo:big.rb"), {"size": FLOOD})
    for _ in range(200):
        try:
            result = await flint.result(started.job_id)
        except AnswerTooLarge as exc:
            assert exc.status_code == 200 and "more than 8 MiB" in exc.message
            break
        assert not result.is_final
        await asyncio.sleep(0.01)
    else:
        pytest.fail("big.rb never finished")


def test_the_cap_is_8_mib_and_said_plainly():
    assert MAX_ANSWER_BYTES == 8 * MIB
    assert [byte_size(n) for n in (8 * MIB, 64 * 1024, 1500, 3 * MIB // 2)] == [
        "8 MiB",
        "64 KiB",
        "1,500 bytes",
        "1.5 MiB",
    ]


async def test_reads_are_still_tried_again_after_a_transient_failure(vendors):
    """Reading answers capped keeps the retries: a read that met a dropped connection
    mid-answer is tried again and succeeds."""
    flooder, clients = vendors
    calls = {"n": 0}
    inner = flooder.app

    async def drop_once(scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/flint/v1/bit/result"):
            calls["n"] += 1
            if calls["n"] == 1:
                head = [(b"content-type", b"application/json"), (b"content-length", b"1000")]
                await send({"type": "http.response.start", "status": 200, "headers": head})
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                raise RuntimeError("connection dropped mid-answer")
        await inner(scope, receive, send)

    started = await clients["flint"].run(parse_flintbit("demo:hello.rb"), {})
    flooder.app = drop_once
    try:
        result = await clients["flint"].result(started.job_id)
    finally:
        flooder.app = inner
    assert calls["n"] == 2 and result.job_id == started.job_id
    assert json.loads(json.dumps(result.as_dict()))["meta"]["job-id"] == started.job_id
