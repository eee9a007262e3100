"""Fair sharing through the app in process (tests/inproc/harness.py): one user cannot
take every slot, and no command holds its slot longer than CHATOPS_COMMAND_SECONDS (a long
synchronous run goes on as a tracked job)."""

from __future__ import annotations

from tests.fakes.slack_api import wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text, flint_sandbox_app


def _runs(sandbox) -> list:
    return [c for c in flint_sandbox_app(sandbox).state.calls if "/run/" in c.path]


def test_one_user_cannot_take_every_slot(tmp_path):
    """With 2 commands per user, a user's third long run is refused at once with why, while
    another user's command goes through; buttons count against the same limit."""
    with world(
        tmp_path,
        chatops_max_inflight_per_user=2,
        chatops_max_inflight=50,
        chatops_command_seconds=600,
    ) as running:
        app, slack, sandbox = running.app, running.slack, running.sandbox
        slow = "run demo:slow.rb seconds=120 --timeout 120000"  # holds its slot ~6 s here
        for _ in range(2):
            assert "busy" not in app.client.command(slow, user_id="U1").text
        wait_for(lambda: app.runtime.work.running_for("U1") == 2, timeout=5)
        third = app.client.command(slow, user_id="U1").json()
        assert "You already have 2 commands in progress" in third["text"]
        # A button is held to the same limit (its answer goes to the response URL).
        app.client.click("flint_refresh", "job:job-123", user_id="U1")
        wait_for(
            lambda: any("commands in progress" in r.get("text", "") for r in slack.fake.responses),
            timeout=5,
        )
        other = app.client.command("run demo:hello.rb", user_id="U2")
        assert other.status_code == 200 and not other.content  # accepted: an empty ack
        # (a sandbox records a synchronous run when it answers, after its ~6 s)
        wait_for(lambda: len(_runs(sandbox)) == 3, timeout=15)
        # Once U1's runs end, U1 may run again.
        wait_for(lambda: app.runtime.work.running_for("U1") == 0, timeout=30)
        assert not app.client.command("run demo:hello.rb", user_id="U1").content


def test_a_long_synchronous_run_gives_its_slot_back(tmp_path):
    """`--timeout 3600000` held a slot for the whole hour: now Flint is asked to wait at
    most CHATOPS_COMMAND_SECONDS, the slot is free again, and the job is followed to its
    end on the card."""
    with world(tmp_path, chatops_command_seconds=1) as running:
        app, slack, sandbox = running.app, running.slack, running.sandbox
        app.client.command("run demo:slow.rb seconds=60 --timeout 3600000", user_id="U1")
        [run] = wait_for(lambda: _runs(sandbox), timeout=10)
        assert run.path.endswith("/sync/1000")
        wait_for(lambda: app.runtime.work.running == 0, timeout=5, message="slot still held")
        [card] = wait_for(lambda: list(slack.fake.messages.values()), timeout=10)
        wait_for(
            lambda: "complete" in blocks_text(slack.fake.messages[(card["channel"], card["ts"])]),
            timeout=20,
            message="the run was not followed to its end",
        )
