"""The audit log, confirmations and handled-request keys in the real state store (SQLite
and PostgreSQL), redaction, retention, and `chatops audit`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.audit import REDACTED, Audit, redact
from bot.store import Store
from bot.wiring.audit_cli import parse_since
from tests.scenario.harness import REPO


def test_redaction_by_name_and_by_look():
    params = {
        "input": {
            "name": "Ada",
            "password": "hunter2",
            "db_token": "abc",
            "flint-key": "k",
            "nested": [{"apiKey": "zzz", "note": "Bearer abcdefghijklmnop"}],
            "slack": "use xoxb-1234-5678-abcdefabcdef please",
            "id": "0b1e1a5e-0000-4000-8000-000000000001",
            "blob": "Zm9vYmFyQmF6MTIzNDU2Nzg5MEFCQ0RFRkdISUpLTE1O",
        },
        "text": "contains my-known-secret-value here",
    }
    out = redact(params, ["my-known-secret-value"])
    i = out["input"]
    assert i["name"] == "Ada" and i["id"] == "0b1e1a5e-0000-4000-8000-000000000001"
    assert i["password"] == i["db_token"] == i["flint-key"] == REDACTED
    assert i["nested"][0]["apiKey"] == REDACTED
    assert i["nested"][0]["note"] == REDACTED
    assert i["slack"] == f"use {REDACTED} please"
    assert i["blob"] == REDACTED
    assert out["text"] == f"contains {REDACTED} here"


async def test_entries_filters_and_retention(store):
    audit = Audit(store, secrets=["s3cr3t-value"], retention_days=30)
    old = time.time() - 40 * 86400
    await audit.record(
        user_id="U1",
        channel_id="C1",
        command="flint run",
        target="demo:a",
        outcome="ok",
        params={"input": {"token": "x", "v": "s3cr3t-value"}},
        vendor_ids={"job": "job-1", "none": None},
    )
    await audit.record(
        user_id="U2", channel_id="C1", command="mint publish", target="f", outcome="denied"
    )
    async with store.engine.begin() as conn:  # an entry from 40 days ago
        from bot.store.schema import audit_log

        await conn.execute(
            audit_log.insert().values(
                at=old,
                user_id="U1",
                channel_id="C1",
                command="flint run",
                target="demo:old",
                params={},
                outcome="ok",
                detail="",
                vendor_ids={},
            )
        )
    everything = await store.audit.entries()
    assert [e.target for e in everything] == ["demo:old", "demo:a", "f"]  # oldest first
    first = everything[1]
    assert first.params == {"input": {"token": REDACTED, "v": REDACTED}}
    assert first.vendor_ids == {"job": "job-1"}
    assert [e.target for e in await store.audit.entries(user_id="U1")] == ["demo:old", "demo:a"]
    assert [e.target for e in await store.audit.entries(since=old + 1)] == ["demo:a", "f"]
    assert [e.target for e in await store.audit.entries(limit=1)] == ["f"]  # the newest
    assert await audit.prune() == 1
    assert [e.target for e in await store.audit.entries()] == ["demo:a", "f"]
    forever = Audit(store, retention_days=0)
    assert await forever.prune(now=time.time() + 10 * 365 * 86400) == 0


async def test_handled_keys_once_across_concurrent_claims(store):
    results = await asyncio.gather(*(store.handled.first("trigger:1") for _ in range(8)))
    assert sorted(results) == [False] * 7 + [True]
    assert await store.handled.first("trigger:2")
    assert await store.handled.prune(time.time() + 1) == 2
    assert await store.handled.first("trigger:1")  # forgotten after a day in real use


async def test_confirmation_is_used_once(store):
    cid = await store.confirmations.create(
        user_id="U1", channel_id="C1", command="/flint", text="run prod:x"
    )
    held = await store.confirmations.get(cid)
    assert held is not None and (held.user_id, held.command, held.text) == (
        "U1",
        "/flint",
        "run prod:x",
    )
    results = await asyncio.gather(*(store.confirmations.use(cid) for _ in range(5)))
    assert results.count(True) == 1
    assert await store.confirmations.get(cid) is None


def test_parse_since():
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert parse_since("7d", now) == datetime(2026, 11, 15, 12, 0, tzinfo=UTC).timestamp()
    assert parse_since("90m", now) == datetime(2026, 11, 22, 10, 30, tzinfo=UTC).timestamp()
    assert parse_since("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC).timestamp()
    assert parse_since("2026-11-01T10:00:00+01:00", now) == (
        datetime(2026, 11, 1, 9, 0, tzinfo=UTC).timestamp()
    )
    with pytest.raises(ValueError, match="--since"):
        parse_since("last tuesday", now)


def chatops(*args: str, database_url: str, columns: int = 250) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
    env.update({"DATABASE_URL": database_url, "COLUMNS": str(columns)})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def audit_log(tmp_path, *entries: dict[str, Any]) -> str:
    """The URL of a state database holding ``entries`` (each ``Audit.record``'s arguments)."""
    url = f"sqlite:///{tmp_path / 'state.db'}"

    async def fill():
        store = Store(url)
        await store.start()
        audit = Audit(store)
        for entry in entries:
            await audit.record(**entry)
        await store.close()

    asyncio.run(fill())
    return url


def test_chatops_audit_prints_the_log(tmp_path):
    url = audit_log(
        tmp_path,
        dict(
            user_id="U1",
            channel_id="C1",
            command="flint run",
            target="demo:hello.rb",
            outcome="ok",
            params={"input": {"name": "Ada", "password": "pw-do-not-show"}},
            vendor_ids={"job": "job-42"},
        ),
        dict(user_id="U2", channel_id="C2", command="mint publish", target="f-1", outcome="denied"),
    )
    table = chatops("audit", database_url=url)
    assert table.returncode == 0, table.stderr
    for shown in ("flint run", "demo:hello.rb", "job=job-42", "U1", "mint publish", "denied"):
        assert shown in table.stdout
    assert "pw-do-not-show" not in table.stdout
    only_u2 = chatops("audit", "--user", "U2", "--json", database_url=url)
    [line] = only_u2.stdout.splitlines()
    assert json.loads(line)["command"] == "mint publish"
    assert chatops("audit", "--since", "1h", "--json", database_url=url).stdout.count("\n") == 2
    future = chatops("audit", "--since", "2999-01-01", database_url=url)
    assert "no entries matching" in future.stdout
    bad = chatops("audit", "--since", "soon", database_url=url)
    assert bad.returncode == 2 and "--since" in bad.stderr and "Traceback" not in bad.stderr


FLOW = "0b1e1a5e-0000-4000-8000-000000000002"
INSTANCE = "1c6fbd87-f5d2-4523-99dc-cdc7f48c5394"


def test_chatops_audit_fits_80_columns(tmp_path):
    """At 80 columns (a terminal that size, or output that is not a terminal) no line is
    wider, every id stays whole and readable, and only long parameters are cut short,
    with a pointer to --json; a wide terminal gets one table row per entry."""
    url = audit_log(
        tmp_path,
        dict(
            user_id="U0123456789",
            channel_id="C0123456789",
            command="mint execute",
            target=FLOW,
            outcome="ok",
            params={"input": {"customer": "Ada Lovelace", "notes": "word " * 60}},
            vendor_ids={"mint_instance": INSTANCE, "job": "job-42"},
        ),
        dict(
            user_id="U0123456789",
            channel_id="C0123456789",
            command="stint post",
            target="demo",
            outcome="error",
            params={"identifier": "order-77"},
            detail="Stintmint answered 503 Service Unavailable; the request was not sent",
        ),
    )
    narrow = chatops("audit", database_url=url, columns=80)
    assert narrow.returncode == 0, narrow.stderr
    lines = narrow.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80, narrow.stdout
    words = narrow.stdout.split()
    for whole in (FLOW, INSTANCE, "mint_instance=" + INSTANCE, "job=job-42", "U0123456789"):
        assert whole in words or any(whole in w for w in words), whole
    assert "C0123456789" in narrow.stdout and "mint execute" in narrow.stdout
    assert "Ada Lovelace" in narrow.stdout and "…" in narrow.stdout
    assert "--json shows every entry whole" in narrow.stdout
    assert "Stintmint answered 503 Service Unavailable" in " ".join(words)
    first = next(line for line in lines if FLOW in line)
    assert first.split()[2:] == ["ok", "mint", "execute", FLOW]  # date, time, outcome…
    wide = chatops("audit", database_url=url, columns=200)
    table = wide.stdout.splitlines()
    assert table[1].split() == ["Time", "User", "Channel", "Command", "Target", "Outcome"]
    assert any(FLOW in line and "U0123456789" in line and line.endswith("ok") for line in table)
    assert max(len(line) for line in table) <= 200


def test_chatops_audit_keeps_the_reason_of_a_failure_with_long_parameters(tmp_path):
    """A failed call's reason is what its reader looks for: long parameters (a Stintmint
    post's descriptors) are cut short, the reason is not pushed out by them."""
    url = audit_log(
        tmp_path,
        dict(
            user_id="U0CONSOLE",
            channel_id="C0CONSOLE",
            command="stint post",
            target="moderation",
            outcome="failed",
            params={
                "sf_id": "moderation",
                "identifier": "post-1",
                "descriptors": [{"name": f"d{n}", "type": "TEXT", "info": "x"} for n in range(9)],
            },
            detail="Stintmint refused the request: StintFlow moderation needs the descriptors",
        ),
    )
    narrow = chatops("audit", database_url=url, columns=80)
    assert narrow.returncode == 0, narrow.stderr
    assert "StintFlow moderation needs the descriptors" in " ".join(narrow.stdout.split())
    assert "…" in narrow.stdout and max(len(line) for line in narrow.stdout.splitlines()) <= 80


def test_redaction_of_named_items_urls_and_pairs():
    out = redact(
        {
            "descriptors": [
                {"name": "api_token", "type": "TEXT", "info": "abc"},
                {"name": "note", "type": "TEXT", "info": "hi"},
            ],
            "accessKey": "a",
            "clientKey": "b",
            "pwd": "c",
            "pin": "1234",
            "otp": "9",
            "db": "postgres://user:pw-in-url@db/x",
            "link": "https://x.example/y?token=abc&sig=def&page=2",
            "conn": "Server=db;Password=hunter2;Database=x",
            "header": "bearer abcdefghijklmnop",
            "slug": "My-Product-Feedback-Page-2024-Edition",
            "author": "Ada",
        }
    )
    assert out["descriptors"][0] == {"name": "api_token", "type": "TEXT", "info": REDACTED}
    assert out["descriptors"][1]["info"] == "hi"
    assert all(out[k] == REDACTED for k in ("accessKey", "clientKey", "pwd", "pin", "otp"))
    assert out["db"] == f"postgres://user:{REDACTED}@db/x"
    assert out["link"] == f"https://x.example/y?token={REDACTED}&sig={REDACTED}&page=2"
    assert out["conn"] == f"Server=db;Password={REDACTED};Database=x"
    assert out["header"] == REDACTED
    assert out["slug"] == "My-Product-Feedback-Page-2024-Edition" and out["author"] == "Ada"


async def test_a_burst_of_claims_is_one_write_and_each_key_wins_once(store):
    from sqlalchemy import event

    statements = []

    def count(conn, cursor, statement, *args):
        if "handled_requests" in statement and statement.lstrip().upper().startswith("INSERT"):
            statements.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        keys = [f"trigger:{n % 40}" for n in range(100)]  # 40 distinct, most repeated
        results = await asyncio.gather(*(store.handled.first(k) for k in keys))
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)
    assert sum(results) == 40
    assert {k for k, won in zip(keys, results, strict=True) if won} == set(keys)
    assert len(statements) <= 2  # one batch (maybe two, if the burst straddles a write)
    assert not any(await asyncio.gather(*(store.handled.first(k) for k in set(keys))))


async def test_begin_writes_started_and_finish_completes_it(store):
    """A call's entry exists (as "started") before the call and says how it ended after;
    an entry whose call was interrupted keeps saying "started"."""
    audit = Audit(store)
    first = await audit.begin(
        user_id="U1", channel_id="C1", command="flint run", target="demo:a", params={"k": 1}
    )
    second = await audit.begin(user_id="U1", channel_id="C1", command="flint run", target="b")
    [a, b] = await store.audit.entries()
    assert (a.outcome, b.outcome) == ("started", "started")
    await audit.finish(first, outcome="ok", vendor_ids={"job": "job-1"})
    [a, b] = await store.audit.entries()
    assert (a.outcome, a.vendor_ids, a.params) == ("ok", {"job": "job-1"}, {"k": 1})
    assert (b.target, b.outcome) == ("b", "started")
    assert second != first


async def test_begin_raises_when_the_entry_cannot_be_written(store):
    """No entry, no call: begin says so instead of swallowing the failure like record."""
    import sqlalchemy as sa

    from bot.audit import AuditUnavailable

    audit = Audit(store)
    async with store.engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE audit_log"))
    with pytest.raises(AuditUnavailable):
        await audit.begin(user_id="U1", channel_id="C1", command="flint run", target="x")
    await audit.record(user_id="U1", channel_id="C1", command="x", target="", outcome="denied")
