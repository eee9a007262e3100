"""Three `chatops serve` processes on one PostgreSQL: 150 tracked jobs finishing at random
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
from tests.scenario.harness import app_process, running_sandboxes, start_all, stop_all

JOBS = 150
CHANNELS = 12


FINAL = (": complete", ": unknown", ": error", ": aborted")


def _final_updates(slack) -> dict[str, list[str]]:
    """The final-state card updates Slack accepted, per card (their fallback text says
    "Flint BOX:BIT: STATUS (job id)"; "unknown" is the notice for a job whose process
    died while starting it)."""
    updates: dict[str, list[str]] = {}
    for call in slack.fake.calls_to("chat.update"):
        text = call.args.get("text", "")
        if call.ok and any(word in text for word in FINAL):
            updates.setdefault(call.args["ts"], []).append(text)
    return updates


def _posted_final(slack, ts: str) -> set[str]:
    card = next(m for m in slack.fake.messages.values() if m["ts"] == ts)
    text = card.get("text", "") if card.get("edits", 0) == 0 else ""
    return {text} if any(word in text for word in FINAL) else set()


def _updated(slack) -> set[str]:
    return {c.args["ts"] for c in slack.fake.calls_to("chat.update") if c.ok}


def _cards(slack) -> set[str]:
    return {
        m["ts"]
        for m in slack.fake.messages.values()
        if not m.get("thread_ts") and m["channel"] == "CJOBS"
    }


@pytest.mark.timeout(300)
def test_three_replicas_one_killed_every_notice_and_digest_once(slack, postgres, tmp_path):
    """150 jobs, 3 replicas, a SIGKILL and a restart: no notice lost, none doubled."""
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
                # The Slack fake has no rate limit; pacing is not what this test is about
                # (tests/bot/test_pacing.py), and at Slack's 50 a minute 150 cards in one
                # channel take minutes.
                chatops_card_updates_per_minute=100_000,
            )
            for i in range(3)
        ]
        try:
            start_all(replicas)
            clients = [r.client(slack) for r in replicas]
            for i in range(JOBS):
                seconds = rng.randint(1, 60)  # 0.1 to 6 s at sandbox speed 0.1
                response = clients[i % 3].command(
                    f"run demo:slow.rb seconds={seconds}", channel_id="CJOBS"
                )
                assert response.status_code == 200
            wait_for(lambda: len(_cards(slack)) >= JOBS, timeout=60)
            # Every job started and recorded (its card shows Flint's answer) before the kill.
            wait_for(lambda: _updated(slack) >= _cards(slack), timeout=60)
            # Mid-way through the jobs finishing: SIGKILL one replica (holding leases and
            # jobs of its own), then bring it back.
            replicas[1].kill()
            time.sleep(1.0)
            replicas[1].start()

            # Digests: every channel subscribed, all due at once, three schedulers racing.
            for n in range(CHANNELS):
                clients[n % 3].command("digest daily 09:00", command="/stomt", channel_id=f"CD{n}")
            wait_for(lambda: len(slack.fake.responses) >= CHANNELS, timeout=30)
            asyncio.run(_make_digests_due(database_url))

            wait_for(
                lambda: all(
                    ts in _final_updates(slack) or _posted_final(slack, ts) for ts in _cards(slack)
                ),
                timeout=120,
            )
            wait_for(lambda: len(_digest_posts(slack)) >= CHANNELS, timeout=30)
            time.sleep(2.0)  # more poll and digest cycles: nothing more may arrive
        finally:
            stop_all(replicas)
    cards = _cards(slack)
    updates = _final_updates(slack)
    # A notice is what people see: the card showing its final state. A process killed
    # between Slack accepting that update and recording it makes another process repeat
    # the same update (same text, same message): visible once, so not a duplicate. A
    # different final state, or a second message, would be one.
    # A job whose process died before its card was posted gets its notice as a new
    # message (posted already in its final state): that message is its notice.
    notices = {ts: len(set(updates.get(ts, [])) | _posted_final(slack, ts)) for ts in cards}
    repeats = sum(len(updates.get(ts, [])) - 1 for ts in cards if updates.get(ts))
    duplicates = sum(1 for ts in cards if notices[ts] > 1)
    losses = sum(1 for ts in cards if notices[ts] == 0)
    thread_replies = Counter(
        c.args["thread_ts"]
        for c in slack.fake.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") == "CJOBS" and c.args.get("thread_ts")
    )
    digests = Counter(_digest_posts(slack))
    print(
        f"\nreplicas: jobs {len(cards)}, notices {sum(notices.values())}, "
        f"duplicates {duplicates}, losses {losses} (identical card updates repeated after "
        f"the SIGKILL: {repeats}); digest channels {len(digests)}, "
        f"digest posts {sum(digests.values())}"
    )
    assert len(cards) == JOBS
    assert duplicates == 0 and losses == 0
    assert all(n == 1 for n in thread_replies.values())  # a failure is said once
    assert len(digests) == CHANNELS and all(n == 1 for n in digests.values())


def _digest_posts(slack) -> list[str]:
    return [
        c.args["channel"]
        for c in slack.fake.calls_to("chat.postMessage")
        if c.ok
        and c.args["channel"].startswith("CD")
        and "digest" in c.args.get("text", "")
        and c.args.get("blocks")
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
