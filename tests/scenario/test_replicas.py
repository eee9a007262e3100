"""Three `chatops serve` processes on one PostgreSQL: 300 tracked jobs finishing at random
times, one process SIGKILLed and restarted mid-way — every completion notice delivered
exactly once, and every digest occurrence posted exactly once. They coordinate through
the database alone."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest
import sqlalchemy as sa

from bot.store import Store
from tests.fakes.slack_api import wait_for
from tests.scenario.harness import app_process, running_sandboxes

JOBS = 300
CHANNELS = 12


FINAL = (": complete", ": unknown", ": error", ": aborted")


def _final_notices(slack) -> Counter:
    """Final card updates per card (the fallback text says "Flint BOX:BIT: STATUS (job)";
    "unknown" is the notice for a job whose process died while starting it)."""
    counts: Counter = Counter()
    for call in slack.fake.calls_to("chat.update"):
        if call.ok and any(word in call.args.get("text", "") for word in FINAL):
            counts[call.args["ts"]] += 1
    return counts


def _cards(slack) -> set[str]:
    return {
        m["ts"]
        for m in slack.fake.messages.values()
        if not m.get("thread_ts") and m["channel"] == "CJOBS"
    }


@pytest.mark.timeout(300)
def test_three_replicas_one_killed_every_notice_and_digest_once(slack, postgres, tmp_path):
    """300 jobs, 3 replicas, a SIGKILL and a restart: no notice lost, none doubled."""
    database_url = postgres.new_database()
    rng = random.Random(7)
    with running_sandboxes(speed=0.1) as sandbox:
        replicas = [
            app_process(
                slack,
                sandbox.url,
                tmp_path,
                f"replica{i}",
                database_url=database_url,
                chatops_digest_check_interval=0.3,
            )
            for i in range(3)
        ]
        for replica in replicas:
            replica.start()
        try:
            clients = [r.client(slack) for r in replicas]
            for i in range(JOBS):
                seconds = rng.randint(1, 30)  # 0.1 to 3 s at sandbox speed 0.1
                response = clients[i % 3].command(
                    f"run demo:slow.rb seconds={seconds}", channel_id="CJOBS"
                )
                assert response.status_code == 200
                if i == JOBS // 2:
                    replicas[1].kill()  # SIGKILL, mid-way, with jobs of its own in flight
                    clients[1] = clients[0]
            wait_for(lambda: len(_cards(slack)) >= JOBS - 1, timeout=60)
            replicas[1].start()  # the killed one comes back

            # Digests: every channel subscribed, all due at once, three schedulers racing.
            for n in range(CHANNELS):
                clients[n % 3].command("digest daily 09:00", command="/stomt", channel_id=f"CD{n}")
            wait_for(lambda: len(slack.fake.responses) >= CHANNELS, timeout=30)
            asyncio.run(_make_digests_due(database_url))

            wait_for(lambda: len(_final_notices(slack)) >= len(_cards(slack)), timeout=120)
            wait_for(lambda: len(_digest_posts(slack)) >= CHANNELS, timeout=30)
            time.sleep(2.0)  # more poll and digest cycles: nothing more may arrive
        finally:
            for replica in replicas:
                replica.stop()
    cards = _cards(slack)
    notices = _final_notices(slack)
    duplicates = sum(1 for ts in cards if notices[ts] > 1)
    losses = sum(1 for ts in cards if notices[ts] == 0)
    digests = Counter(_digest_posts(slack))
    print(
        f"\nreplicas: jobs {len(cards)}, notices {sum(notices.values())}, "
        f"duplicates {duplicates}, losses {losses}; digest channels {len(digests)}, "
        f"digest posts {sum(digests.values())}"
    )
    # The one command sent to the killed process as it died may never have been recorded
    # (its card then never existed either); every card that exists got exactly one notice.
    assert len(cards) >= JOBS - 1
    assert duplicates == 0 and losses == 0
    assert len(digests) == CHANNELS and all(n == 1 for n in digests.values())


def _digest_posts(slack) -> list[str]:
    return [
        c.args["channel"]
        for c in slack.fake.calls_to("chat.postMessage")
        if c.ok and c.args["channel"].startswith("CD") and "digest" in c.args.get("text", "")
    ]


async def _make_digests_due(database_url: str) -> None:
    """Every subscription due now, in one statement, so all replicas race for them."""
    store = Store(database_url)
    try:
        async with store.engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE digest_subscriptions SET next_run_at = :now"),
                {"now": time.time() - 1},
            )
    finally:
        await store.close()
