"""/flint through the app in process (tests/inproc/harness.py): signed requests through
the real Starlette app and its signature check, real HTTP to the Flint sandbox, the Slack
Web API fake recording what users would see. The happy path over a real socket and the
ack that beats a slow Flint are in tests/scenario/test_flint_http.py."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from bot.store.jobs import DONE
from handlers.flint.blocks import OUTPUT_FILE_BYTES
from handlers.flint.jobs import STORED_OUTPUT
from tests.fakes.slack_api import wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text, flint_sandbox_app


def _card_ts(slack, after: int = 0) -> str:
    """The ts of the (after+1)-th top-level card posted."""
    wait_for(lambda: len(_top_level(slack)) > after, timeout=10)
    return _top_level(slack)[after]["ts"]


def _top_level(slack) -> list[dict]:
    posted = [m for m in slack.fake.messages.values() if not m.get("thread_ts")]
    return sorted(posted, key=lambda m: m["ts"])


def _updates(slack, ts: str) -> list:
    return [c for c in slack.fake.calls_to("chat.update") if c.args.get("ts") == ts]


def _final_updates(slack, ts: str, word: str) -> list:
    return [c for c in _updates(slack, ts) if word in blocks_text(c.args.get("blocks"))]


def _message(slack, ts: str) -> dict:
    return next(m for m in slack.fake.messages.values() if m["ts"] == ts)


# -- signatures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda h: h.update({"X-Slack-Signature": "v0=" + "0" * 64}), id="wrong"),
        pytest.param(lambda h: h.pop("X-Slack-Signature"), id="missing"),
        pytest.param(lambda h: h.pop("X-Slack-Request-Timestamp"), id="no-timestamp"),
    ],
)
def test_badly_signed_requests_are_rejected(app, slack, mutate):
    """A request whose signature is wrong or missing is answered 401 and nothing runs."""
    from tests.fakes.slack_api import sign, slash_command_body

    body = slash_command_body("/flint", "run demo:hello.rb", response_url=app.client.response_url)
    headers = sign(body, "test-signing-secret")
    mutate(headers)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = app.http.post(app.url + "/slack/events", content=body, headers=headers)
    assert response.status_code == 401
    assert slack.fake.calls_to("chat.postMessage") == []
    assert app.client.command("help").status_code == 200  # the same app accepts good ones


def test_request_older_than_five_minutes_is_rejected(app):
    """A correctly signed but replayed request (timestamp > 5 min old) gets 401."""
    old = int(time.time()) - 6 * 60
    response = app.client.command("run demo:hello.rb", timestamp=old)
    assert response.status_code == 401


# -- running flintbits ----------------------------------------------------------------


def test_failing_flintbit_updates_the_card_and_says_so_in_the_thread(app, slack):
    """A failed job marks the card failed and replies in its thread, mentioning the runner."""
    app.client.command("run demo:fail.rb", user_id="U7")
    ts = _card_ts(slack)
    wait_for(lambda: len(slack.fake.calls_to("chat.postMessage")) == 2, timeout=10)
    reply = slack.fake.calls_to("chat.postMessage")[1].args
    assert reply["thread_ts"] == ts and "<@U7>" in reply["text"]
    assert "exit code 1" in reply["text"]
    assert len(_final_updates(slack, ts, "error")) == 1


def test_sync_run_finishes_without_tracking(app, slack):
    """`--sync` waits for Flint and shows the result on the card straight away."""
    app.client.command("run demo:hello.rb --sync")
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "complete"), timeout=10)
    # The card is updated before the job is marked done.
    job = wait_for(lambda: (found := _only_job(app)).state == DONE and found, timeout=10)
    assert job.state == DONE and job.params["sync"] is True


def test_sync_run_that_times_out_is_tracked_to_completion(tmp_path):
    """A `--timeout` shorter than the job returns early; the tracker then follows it."""
    with world(tmp_path, sandbox={"speed": 0.1}) as running:
        app, slack = running.app, running.slack
        app.client.command("run demo:slow.rb seconds=10 --timeout 100")
        ts = _card_ts(slack)
        wait_for(lambda: _updates(slack, ts), timeout=10)
        assert not _final_updates(slack, ts, "complete")
        wait_for(lambda: _final_updates(slack, ts, "complete"), timeout=15)
        assert _only_job(app).params["timeout_ms"] == 100


def test_large_output_is_truncated_and_uploaded_in_full(app, slack):
    """A big output is cut on the card and attached whole as a file in the thread."""
    app.client.command("run demo:big.rb")
    ts = _card_ts(slack)
    wait_for(lambda: slack.fake.files, timeout=10)
    upload = slack.fake.files[0]
    assert upload["thread_ts"] == ts
    card = blocks_text(_message(slack, ts)["blocks"])
    assert "truncated" in card and len(card) < 8000
    assert len(upload["content"]) > 2500


def _result_bytes(app) -> int:
    """How many bytes the only job's ``result`` takes in the state store."""

    async def size() -> int:
        query = sa.text("SELECT length(CAST(result AS BLOB)) FROM jobs")
        async with app.runtime.store.engine.connect() as conn:
            [found] = (await conn.execute(query)).one()
            return found

    return app.run(size())


def test_big_output_leaves_a_small_row_and_a_capped_file(app, slack):
    """A 3 MB output: the card shows its start and says it was cut; the jobs row keeps at
    most STORED_OUTPUT characters of it; the file in the thread holds its first 1 MiB, read
    from Flint again, and its title says it was cut."""
    size = 3_000_000
    app.client.command(f"run demo:big.rb size={size}")
    ts = _card_ts(slack)
    wait_for(lambda: slack.fake.files, timeout=20)
    [upload] = slack.fake.files
    assert upload["thread_ts"] == ts
    assert OUTPUT_FILE_BYTES - 100 < len(upload["content"]) <= OUTPUT_FILE_BYTES
    assert upload["content"].startswith(b"line 0000001: the quick brown fox")
    assert f"of {size:,} characters" in upload["title"]
    card = blocks_text(_message(slack, ts)["blocks"])
    assert f"Output truncated ({size:,} characters)" in card and "first 1 MiB" in card
    job = _only_job(app)
    assert job.result["output_length"] == size
    assert len(job.result["output"]) == STORED_OUTPUT
    assert _result_bytes(app) < STORED_OUTPUT + 4096


def test_output_past_the_read_cap_is_refused_and_said(app, slack):
    """A 40 MiB output is not read past 8 MiB: the card ends "output too large" saying so,
    the runner is told in the thread, nothing is attached and the row stays small."""
    app.client.command(f"run demo:big.rb size={40 * 1024 * 1024}", user_id="U40")
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "output too large"), timeout=20)
    card = blocks_text(_message(slack, ts)["blocks"])
    assert "Flint answered more than 8 MiB" in card
    wait_for(lambda: len(slack.fake.calls_to("chat.postMessage")) == 2, timeout=10)
    reply = slack.fake.calls_to("chat.postMessage")[1].args
    assert reply["thread_ts"] == ts and "<@U40>" in reply["text"]
    assert "more than 8 MiB" in reply["text"]
    assert slack.fake.files == []
    # The thread notice goes out before the job is marked done.
    wait_for(lambda: _only_job(app).state == DONE, timeout=10)
    assert _result_bytes(app) < 2048


def test_a_synchronous_answer_past_the_read_cap_ends_the_run_not_unstarted(app, slack):
    """With --sync the first answer carries the 40 MiB output: Flint did run it, so the card
    ends "output too large" (not "not started") and says to look in Flint."""
    app.client.command(f"run demo:big.rb size={40 * 1024 * 1024} --sync", user_id="U41")
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "output too large"), timeout=20)
    card = blocks_text(_message(slack, ts)["blocks"])
    assert "more than 8 MiB" in card and "Look in Flint" in card
    # The card is updated before the thread notice goes out; then the job is done.
    wait_for(lambda: _only_job(app).state == DONE, timeout=10)


def test_flint_down_is_reported_on_the_card(tmp_path):
    """With Flint unreachable the card says so, within the request, and nothing is tracked."""
    from tests.fakes.servers import free_port

    with world(
        tmp_path,
        vendors=False,
        flint_url=f"http://127.0.0.1:{free_port()}",
        flint_username="admin",
        flint_password="hunter2-secret",
    ) as running:
        app, slack = running.app, running.slack
        assert app.client.command("run demo:hello.rb").status_code == 200
        ts = _card_ts(slack)
        wait_for(lambda: "not reachable" in blocks_text(_message(slack, ts)["blocks"]))
        wait_for(lambda: _only_job(app).state == DONE, timeout=10)
        everything = json.dumps([c.args for c in slack.fake.calls], default=str)
        assert "hunter2-secret" not in everything


def test_unconfigured_flint_tells_the_caller_what_to_set(tmp_path):
    """Without Flint settings the command answers, only to the caller, which variables."""
    with world(tmp_path, vendors=False) as running:
        app, slack = running.app, running.slack
        response = app.client.command("run demo:hello.rb")
        assert response.status_code == 200
        assert "FLINT_URL" in response.json()["text"]
        assert response.json().get("response_type", "ephemeral") == "ephemeral"
        assert slack.fake.calls_to("chat.postMessage") == []


def test_unpostable_channel_tells_the_caller_and_runs_nothing(app, slack, sandbox):
    """If the card cannot be posted, the caller is told how to fix it and Flint is not called."""
    slack.fake.inaccessible_channels.add("CPRIVATE")
    try:
        app.client.command("run demo:hello.rb", channel_id="CPRIVATE")
        wait_for(lambda: slack.fake.responses, timeout=10)
        assert "/invite" in slack.fake.responses[0]["text"]
        runs = [c for c in flint_sandbox_app(sandbox).state.calls if "/run/" in c[2]]
        assert runs == []
    finally:
        slack.fake.inaccessible_channels.discard("CPRIVATE")


def test_job_that_never_finishes_times_out_with_a_notice(tmp_path):
    """Tracking stops at CHATOPS_JOB_TIMEOUT and the channel is told, once."""
    with world(tmp_path, chatops_job_timeout=1.0) as running:
        app, slack = running.app, running.slack
        app.client.command("run demo:slow.rb seconds=600")
        ts = _card_ts(slack)
        wait_for(lambda: _final_updates(slack, ts, "timed out"), timeout=10)
        time.sleep(0.5)
        assert len(_final_updates(slack, ts, "timed out")) == 1
        assert "/flint result" in blocks_text(_message(slack, ts)["blocks"])


# -- buttons --------------------------------------------------------------------------


def _buttons(slack, ts: str) -> dict[str, str]:
    blocks = _message(slack, ts)["blocks"]
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return {
        e["action_id"]: e["value"] for b in blocks if b["type"] == "actions" for e in b["elements"]
    }


def test_rerun_button_starts_the_same_flintbit_again(app, slack):
    """Re-run posts a new card for the same flintbit and inputs, run by whoever clicked."""
    app.client.command("run demo:hello.rb name=Bo")
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "complete"))
    rerun = _buttons(slack, ts)["flint_rerun"]
    assert app.client.click("flint_rerun", rerun, user_id="U99", message_ts=ts).status_code == 200
    second = _card_ts(slack, after=1)
    wait_for(lambda: _final_updates(slack, second, "complete"))
    card = blocks_text(_message(slack, second)["blocks"])
    assert "Hello, Bo!" in card and "U99" in card


def test_refresh_button_polls_a_running_job_now(tmp_path):
    """Refresh on a running job asks Flint at once and updates the card."""
    with world(tmp_path, sandbox={"speed": 1.0}, chatops_poll_interval=30) as running:
        app, slack = running.app, running.slack
        app.client.command("run demo:slow.rb seconds=30")
        ts = _card_ts(slack)
        wait_for(lambda: _updates(slack, ts))  # submitted
        time.sleep(0.5)  # the sandbox moves it to running after 0.2 s; nobody polls yet
        before = len(_updates(slack, ts))
        assert "submitted" in blocks_text(_message(slack, ts)["blocks"])
        refresh = _buttons(slack, ts)["flint_refresh"]
        app.client.click("flint_refresh", refresh, message_ts=ts)
        wait_for(lambda: len(_updates(slack, ts)) > before, timeout=10)
        assert "running" in blocks_text(_message(slack, ts)["blocks"])


@pytest.mark.parametrize("value", ["", "x" * 5000, "../../etc", "job:../x", "0" * 32, "🙂"])
def test_stale_or_forged_button_values_get_a_polite_answer(app, slack, value):
    """Button values are untrusted: odd ones get a readable reply, never a 5xx."""
    for action in ("flint_refresh", "flint_rerun"):
        assert app.client.click(action, value).status_code == 200
    wait_for(lambda: len(slack.fake.responses) >= 2)
    assert all("Traceback" not in r.get("text", "") for r in slack.fake.responses)


# -- /flint result and usage ----------------------------------------------------------


def test_result_command_shows_a_job_to_the_caller(app, slack):
    """`/flint result JOB_ID` shows status and output, visible only to the caller."""
    app.client.command("run demo:hello.rb --sync")
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "complete"))
    job_id = _only_job(app).vendor_job_id
    app.client.command(f"result {job_id}")
    wait_for(lambda: slack.fake.responses)
    reply = slack.fake.responses[-1]
    assert reply["response_type"] == "ephemeral" and "Hello, World!" in blocks_text(reply["blocks"])


def test_result_of_unknown_job_says_so(app, slack):
    app.client.command("result job-00000000-0000-0000-0000-000000000000")
    wait_for(lambda: slack.fake.responses)
    assert "no job" in slack.fake.responses[-1]["text"]


HOSTILE = [
    "",
    "help",
    "run ../../etc/passwd",
    "run demo:../../x",
    "run demo:hello.rb/../../v1/bit/result/x",
    "run demo:hello.rb?flint-key=x",
    "run demo:hello.rb#frag",
    "run demo:%2e%2e",
    "run dеmo:hello.rb",  # Cyrillic e
    "run 🙂:🙂",
    "run demo:hello.rb {broken json",
    'run demo:hello.rb ["not", "an object"]',
    'run demo:hello.rb {"a": 1} trailing',
    'run demo:hello.rb "unbalanced',
    "run demo:hello.rb --timeout",
    "run demo:hello.rb --timeout -5",
    "run demo:hello.rb --timeout 1e9",
    "run demo:hello.rb --timeout 99999999999",
    "run demo:hello.rb --bogus",
    "run demo:hello.rb =value",
    "run demo:hello.rb bare-word",
    "result",
    "result ../../x",
    "result a b",
    "frobnicate",
    "x" * 20000,
    "run demo:hello.rb " + "k=v " * 3000,
    "\u0000\u202e\ufeff",
    "&lt;!channel&gt;",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_gets_usage_never_a_5xx(app, slack, sandbox, text):
    """Whatever is typed, the answer is a 200 with a readable message and Flint is untouched."""
    response = app.client.command(text)
    assert response.status_code == 200
    body = response.json()
    assert "/flint run" in body["text"] or "Flint" in body["text"]
    assert "Traceback" not in body["text"]
    runs = [c for c in flint_sandbox_app(sandbox).state.calls if "/run/" in c[2]]
    assert runs == []


def test_json_input_reaches_flint(app, slack):
    """A trailing JSON object and key=value pairs become the flintbit's input."""
    app.client.command('run demo:echo.rb who=me {"items": [1, 2], "nested": {"a": "b c"}}')
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "complete"))
    card = blocks_text(_message(slack, ts)["blocks"])
    assert '\\"items\\"' in card and '\\"who\\": \\"me\\"' in card


def test_vendor_text_cannot_ping_the_channel(app, slack):
    """Output saying <!channel> or @here is shown inert, never as a mention or link."""
    app.client.command('run demo:echo.rb msg="<!channel> @here <https://evil.example|click>"')
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "complete"))
    card = blocks_text(_message(slack, ts)["blocks"])
    assert "<!channel>" not in card and "<https://evil" not in card
    assert "@here" not in card  # broken up with a zero-width joiner


# -- health and metrics ---------------------------------------------------------------


def test_healthz_and_metrics(tmp_path):
    """/healthz answers ok with the store up; /metrics counts commands and vendor calls
    (an app of its own: the counts start at zero)."""
    with world(tmp_path) as running:
        _healthz_and_metrics(running.app, running.slack)


def _healthz_and_metrics(app, slack):
    health = app.http.get(app.url + "/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    app.client.command("run demo:hello.rb --sync")
    ts = _card_ts(slack)
    wait_for(lambda: _final_updates(slack, ts, "complete"))
    metrics = app.http.get(app.url + "/metrics").text
    assert 'chatops_slack_requests_total{kind="command",name="/flint"} 1.0' in metrics
    assert 'chatops_vendor_calls_total{outcome="2xx",vendor="flint"}' in metrics
    assert "chatops_slack_request_seconds_bucket" in metrics


def _only_job(app):
    """The one job in the app's state store (each test starts with none)."""

    async def get():
        async with app.runtime.store.engine.connect() as conn:
            [row] = (await conn.execute(sa.text("SELECT id FROM jobs"))).all()
        return await app.runtime.store.jobs.get(row[0])

    return app.run(get())


def test_overloaded_app_refuses_new_commands_in_the_ack(tmp_path):
    """With CHATOPS_MAX_INFLIGHT commands still running, the next is refused at once and
    nothing is started for it; the running one still finishes."""
    with world(tmp_path, sandbox={"flint_answer_delay": 2.0}, chatops_max_inflight=1) as running:
        app, slack = running.app, running.slack
        assert app.client.command("run demo:hello.rb").status_code == 200
        busy = app.client.command("run demo:hello.rb name=Second")
        assert "very busy" in busy.json()["text"]
        ts = _card_ts(slack)
        wait_for(lambda: _final_updates(slack, ts, "complete"), timeout=15)
        assert len(_top_level(slack)) == 1
