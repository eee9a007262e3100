"""``JobStore.recent_targets``: what a form's picker offers from the jobs run lately (the
Flint form's flintbits), on a real state store (SQLite and PostgreSQL)."""

from __future__ import annotations

import time

from bot.store import NewJob

# (vendor, target), oldest first, one second apart.
RUNS = [
    ("flint", "demo:b.rb"),
    ("flint", "demo:a.rb"),
    ("mint", "demo:mint-only"),
    ("flint", "demo:b.rb"),
    ("flint", "box:100%.rb"),
    ("flint", "box:other_x.rb"),
    ("flint", "box:otherAx.rb"),
]
BASE = 1_700_000_000.0


async def _run_all(store) -> None:
    for i, (vendor, target) in enumerate(RUNS):
        job = await store.jobs.create(
            NewJob(vendor, target, "C1", "U1"), deadline_at=time.time() + 60, start_grace=30
        )
        assert await store.jobs.update(job.id, created_at=BASE + i)


async def test_targets_are_distinct_newest_first_of_one_vendor_since_a_time(store):
    await _run_all(store)
    recent = store.jobs.recent_targets
    assert await recent("flint", since=0, limit=10) == [
        "box:otherAx.rb",
        "box:other_x.rb",
        "box:100%.rb",
        "demo:b.rb",
        "demo:a.rb",
    ]
    assert await recent("flint", since=0, limit=2) == ["box:otherAx.rb", "box:other_x.rb"]
    assert await recent("flint", since=BASE + 3.5, limit=10) == [
        "box:otherAx.rb",
        "box:other_x.rb",
        "box:100%.rb",
    ]
    assert await recent("mint", since=0, limit=10) == ["demo:mint-only"]
    assert await recent("flint", since=0, limit=0) == []


async def test_a_search_is_any_case_and_takes_wildcards_literally(store):
    await _run_all(store)
    recent = store.jobs.recent_targets
    assert await recent("flint", since=0, query="DEMO:", limit=10) == ["demo:b.rb", "demo:a.rb"]
    assert await recent("flint", since=0, query="%", limit=10) == ["box:100%.rb"]
    assert await recent("flint", since=0, query="other_", limit=10) == ["box:other_x.rb"]
    assert await recent("flint", since=0, query="nowhere", limit=10) == []


async def test_only_the_newest_jobs_are_looked_at(store):
    """However many jobs the table keeps, a picker's query reads ``scan`` of them: an older
    target is not offered even when it matches."""
    await _run_all(store)
    recent = store.jobs.recent_targets
    assert await recent("flint", since=0, limit=10, scan=3) == [
        "box:otherAx.rb",
        "box:other_x.rb",
        "box:100%.rb",
    ]
    assert await recent("flint", since=0, query="demo", limit=10, scan=3) == []
    assert await recent("flint", since=0, query="demo", limit=10, scan=4) == ["demo:b.rb"]


async def test_the_picker_reads_jobs_through_the_vendor_and_age_index(store):
    """Job rows are kept, and the picker asks on every keystroke: the database walks the
    index on (vendor, created_at) (migration 0007) instead of the whole table."""
    await _run_all(store)
    async with store.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            plan = await conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT target FROM jobs WHERE vendor = 'flint' "
                "AND created_at > 0 ORDER BY created_at DESC LIMIT 1000"
            )
        else:
            await conn.exec_driver_sql("SET enable_seqscan = off")
            plan = await conn.exec_driver_sql(
                "EXPLAIN SELECT target FROM jobs WHERE vendor = 'flint' "
                "AND created_at > 0 ORDER BY created_at DESC LIMIT 1000"
            )
        text = " ".join(str(row[-1]) for row in plan)
    assert "ix_jobs_vendor_created" in text
