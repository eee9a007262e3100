"""The state store: migrations, driver selection and atomic job claims (real SQLite)."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from bot.store import NewJob, Store
from bot.store.engine import HEAD, MIGRATIONS, async_url, current_revision, head_revision
from bot.store.jobs import ACTIVE, STARTING


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///chatops.db", "sqlite+aiosqlite:///chatops.db"),
        ("sqlite:////var/lib/x.db", "sqlite+aiosqlite:////var/lib/x.db"),
        ("postgresql://u:p@db/chatops", "postgresql+asyncpg://u:p@db/chatops"),
        ("postgres://u:p@db/chatops", "postgresql+asyncpg://u:p@db/chatops"),
    ],
)
def test_async_driver_is_chosen_for_the_url(url, expected):
    """DATABASE_URL is given without a driver; the app picks the async one."""
    assert async_url(url) == expected


def test_unsupported_database_is_refused_with_a_clear_message():
    """A MySQL URL is refused, naming what is supported."""
    with pytest.raises(ValueError, match="sqlite:///… or postgresql://"):
        async_url("mysql://u:p@h/db")


async def test_start_creates_the_newest_schema(store):
    """A fresh database ends at the newest revision with every table present."""
    assert await current_revision(store.engine) == head_revision() == HEAD
    async with store.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    assert {"jobs", "kv", "digest_subscriptions", "alembic_version"} <= set(tables)


async def test_upgrade_from_first_revision_keeps_jobs(database_url):
    """A database created by the first release is upgraded in place without losing rows."""
    store = Store(database_url)

    def upgrade_to_0001(conn):
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")

    async with store.engine.begin() as conn:
        await conn.run_sync(upgrade_to_0001)
        await conn.execute(
            sa.text(
                "INSERT INTO jobs (id, vendor, target, params, channel_id, user_id, state,"
                " created_at, updated_at, deadline_at, poll_count, notice_step)"
                " VALUES ('old1', 'flint', 'demo:hello.rb', '{}', 'C1', 'U1', 'active',"
                " 1, 1, 9999999999, 0, 0)"
            )
        )
    assert await current_revision(store.engine) == "0001"
    await store.start()
    assert await current_revision(store.engine) == head_revision() == HEAD
    job = await store.jobs.get("old1")
    assert job is not None and job.target == "demo:hello.rb" and job.thread_ts is None
    await store.close()


async def test_starting_twice_is_harmless(database_url):
    """Two processes starting on one database both end up on the newest schema."""
    url = database_url
    a, b = Store(url), Store(url)
    await asyncio.gather(a.start(), b.start())
    assert await current_revision(a.engine) == head_revision()
    await a.close()
    await b.close()


async def _due_jobs(store, n):
    ids = []
    for i in range(n):
        job = await store.jobs.create(
            NewJob("flint", f"demo:{i}.rb", "C1", "U1"), deadline_at=time.time() + 60, start_grace=0
        )
        await store.jobs.update(job.id, state=ACTIVE, next_poll_at=0)
        ids.append(job.id)
    return ids


async def test_claims_never_overlap(store, database_url):
    """Concurrent claimers on separate engines split the due jobs without sharing any."""
    ids = await _due_jobs(store, 40)
    others = [Store(database_url) for _ in range(3)]
    claims = await asyncio.gather(
        *(s.jobs.claim_due(f"p{i}", lease_seconds=60, limit=15) for i, s in enumerate(others)),
        store.jobs.claim_due("p-main", lease_seconds=60, limit=15),
    )
    claimed = [job.id for batch in claims for job in batch]
    assert len(claimed) == len(set(claimed)) == 40
    assert set(claimed) == set(ids)
    for s in others:
        await s.close()


async def test_expired_lease_can_be_taken_over_and_fences_the_old_owner(store):
    """A job whose lease ran out is claimable again, and the old owner's writes are refused."""
    [job_id] = await _due_jobs(store, 1)
    [first] = await store.jobs.claim_due("old", lease_seconds=60, limit=5)
    assert await store.jobs.claim_due("new", lease_seconds=60, limit=5) == []
    later = time.time() + 120
    [taken] = await store.jobs.claim_due("new", lease_seconds=60, limit=5, now=later)
    assert taken.id == first.id == job_id and taken.lease_owner == "new"
    assert not await store.jobs.update(job_id, owner="old", vendor_status="stale write")
    assert await store.jobs.update(job_id, owner="new", vendor_status="running")
    assert (await store.jobs.get(job_id)).vendor_status == "running"


async def test_starting_jobs_are_only_due_after_their_grace(store):
    """A job whose vendor call is under way is not polled until its start grace passes."""
    job = await store.jobs.create(
        NewJob("flint", "demo:x.rb", "C1", "U1"), deadline_at=time.time() + 60, start_grace=30
    )
    assert job.state == STARTING
    assert await store.jobs.claim_due("p", lease_seconds=60, limit=5) == []
    [late] = await store.jobs.claim_due("p", lease_seconds=60, limit=5, now=time.time() + 31)
    assert late.id == job.id


async def test_release_all_hands_jobs_back(store):
    """On clean shutdown a process releases its leases so others resume at once."""
    await _due_jobs(store, 3)
    assert len(await store.jobs.claim_due("me", lease_seconds=60, limit=5)) == 3
    assert await store.jobs.release_all("me") == 3
    assert len(await store.jobs.claim_due("you", lease_seconds=60, limit=5)) == 3


async def test_ping_reports_an_unreachable_database_quickly():
    """healthz relies on ping answering False (not hanging) when the database is gone."""
    store = Store("postgresql://nobody:x@127.0.0.1:1/none")
    started = time.monotonic()
    assert await store.ping(within=2.0) is False
    assert time.monotonic() - started < 5
    await store.close()
