"""Real `chatops serve` processes, on SQLite and on PostgreSQL: a restart and a SIGKILL
lose no notice, and two processes sharing one database deliver each notice exactly once."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.fakes.servers import free_port
from tests.fakes.slack_api import wait_for
from tests.scenario.harness import (
    REPO,
    app_env,
    app_process,
    running_sandboxes,
    start_all,
    stop_all,
)


@pytest.fixture
def sandbox():
    with running_sandboxes(speed=0.1) as server:
        yield server


def _final_notices(slack) -> Counter:
    """How many times each card was updated to a final state."""
    counts: Counter = Counter()
    for call in slack.fake.calls_to("chat.update"):
        blocks = json.dumps(call.args.get("blocks"))
        if "complete" in blocks or "error" in blocks:
            counts[call.args["ts"]] += 1
    return counts


def _cards(slack) -> list[str]:
    return sorted(m["ts"] for m in slack.fake.messages.values() if not m.get("thread_ts"))


def test_sigkill_mid_job_then_restart_delivers_the_notice_once(
    slack, sandbox, tmp_path, database_url
):
    """A job pending when its process is killed is finished by the restarted process, once."""
    first = app_process(slack, sandbox.url, tmp_path, "first", database_url=database_url).start()
    try:
        first.client(slack).command("run demo:slow.rb seconds=20")  # ~2 s at speed 0.1
        wait_for(lambda: len(slack.fake.calls_to("chat.update")) >= 1, timeout=15)  # submitted
    finally:
        first.kill()
    [card] = _cards(slack)
    assert _final_notices(slack)[card] == 0
    second = app_process(slack, sandbox.url, tmp_path, "second", database_url=database_url).start()
    try:
        wait_for(lambda: _final_notices(slack)[card] == 1, timeout=20)
        time.sleep(1.0)
        assert _final_notices(slack)[card] == 1
    finally:
        # uvicorn re-raises the SIGTERM it caught once shutdown is complete.
        assert second.stop() in (0, -15)
    assert "INFO bot.wiring.app: stopped" in second.log_path.read_text()  # the clean path ran


def test_two_processes_on_one_database_deliver_each_notice_once(
    slack, sandbox, tmp_path, database_url
):
    """Jobs started through either of two replicas each get exactly one final notice."""
    replicas = [
        app_process(slack, sandbox.url, tmp_path, f"r{i}", database_url=database_url)
        for i in range(2)
    ]
    try:
        start_all(replicas)
        clients = [r.client(slack) for r in replicas]
        for i in range(12):
            seconds = 3 + (i % 4) * 2
            assert clients[i % 2].command(f"run demo:slow.rb seconds={seconds}").status_code == 200
        wait_for(lambda: len(_cards(slack)) == 12, timeout=20)
        wait_for(lambda: len(_final_notices(slack)) == 12, timeout=30)
        time.sleep(1.0)
        notices = _final_notices(slack)
        assert set(notices) == set(_cards(slack))
        assert all(count == 1 for count in notices.values()), notices
    finally:
        stop_all(replicas)


def test_sigterm_during_a_start_up_that_hangs_still_stops_serve(slack, tmp_path):
    """A database that takes connections but never answers holds the start-up for as long
    as its driver waits (asyncpg: 60 s; other hangs: for ever). uvicorn noted a SIGTERM
    then but waited for the start-up to end; now the start-up is abandoned a few seconds
    after the signal, and the signal takes its course."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        env = app_env(
            slack_api_url=slack.api_url,
            sandbox_url=None,
            database_url=f"postgresql://chatops:pw@127.0.0.1:{silent.getsockname()[1]}/chatops",
            host="127.0.0.1",
            port=free_port(),
        )
        log_path = tmp_path / "serve.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve"],
                env={**os.environ, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO,
            )
        try:
            wait_for(lambda: "Waiting for application startup" in log_path.read_text(), timeout=20)
            time.sleep(0.5)  # into the database connection
            proc.send_signal(signal.SIGTERM)
            stopping = time.monotonic()
            code = proc.wait(timeout=70)
        finally:
            proc.kill()
    took = time.monotonic() - stopping
    text = log_path.read_text()
    assert took < 8, f"SIGTERM took {took:.1f} s: {text[-2000:]}"
    assert code == -signal.SIGTERM, text[-2000:]
    assert "stop requested during start-up: abandoning the start-up" in text
