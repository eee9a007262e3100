"""Input that used to slip past the parsers, through the app in process: deep, non-finite or
oversized JSON, 500 labels and keys with a newline get the usage — no vendor call, no job,
no apology — and a call that changes something is never made without its audit entry."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from adapters.mint.sandbox import ONBOARD_FLOW_ID
from bot.devkit.slack_requests import view_submission_body
from tests.fakes.slack_api import wait_for

DEEP = '{"a": ' * 900 + "1" + "}" * 900
HOSTILE_JSON = {
    "nested 900 deep": DEEP,
    "nested 33 deep": '{"a": ' * 33 + "1" + "}" * 33,
    "NaN": '{"a": NaN}',
    "Infinity": '{"a": -Infinity}',
    "1e999": '{"a": 1e999}',
    "beyond 64 bits": '{"a": 18446744073709551616}',
    "5,000 digits": '{"a": 1' + "0" * 5000 + "}",
}


@pytest.fixture
def world(fresh):
    """The module's app (tests/inproc/conftest.py), its Slack fake and sandboxes."""
    return fresh.app, fresh.slack, fresh.sandbox


def _vendor_calls(sandbox, vendor: str, part: str) -> int:
    app = next(r.app for r in sandbox.app.routes if getattr(r, "path", "") == f"/{vendor}")
    return len([c for c in app.state.calls if part in c.path])


def _posts(slack) -> int:
    """Calls that show something in Slack (Bolt's own auth.test does not count)."""
    return len([c for c in slack.fake.calls if c.method != "auth.test"])


def _jobs(app) -> int:
    async def count() -> int:
        async with app.runtime.store.engine.connect() as conn:
            return (await conn.execute(sa.text("SELECT COUNT(*) FROM jobs"))).scalar_one()

    return app.run(count())


def _usage_answer(response) -> str:
    assert response.status_code == 200
    body = response.json()
    assert body["response_type"] == "ephemeral"
    assert "went wrong" not in body["text"]  # the usage, not an apology
    return body["text"]


@pytest.mark.parametrize("name", list(HOSTILE_JSON))
@pytest.mark.parametrize("command", ["/flint run demo:echo.rb", "/mint execute " + ONBOARD_FLOW_ID])
def test_hostile_json_in_a_command_gets_the_usage(world, name, command):
    """900-deep JSON ran on Flint (and its audit redaction crashed); NaN, 1e999, integers
    past 64 bits or of 5,000 digits got apologies: each now gets the usage, and nothing is
    sent, recorded or carded."""
    app, slack, sandbox = world
    slash, _, rest = command.partition(" ")
    vendor, part = ("flint", "/run/") if slash == "/flint" else ("mint", "/execute")
    before, jobs, posts = _vendor_calls(sandbox, vendor, part), _jobs(app), _posts(slack)
    text = _usage_answer(app.client.command(f"{rest} {HOSTILE_JSON[name]}", command=slash))
    assert "refused" in text or "not valid" in text
    assert _vendor_calls(sandbox, vendor, part) == before
    assert _jobs(app) == jobs
    assert _posts(slack) == posts


@pytest.mark.parametrize("name", ["nested 900 deep", "NaN", "5,000 digits"])
def test_hostile_json_in_the_execute_form_is_a_field_error(world, name):
    """The Execute form shows the same refusal on its field and sends nothing."""
    app, _slack, sandbox = world
    before = _vendor_calls(sandbox, "mint", "/execute")
    metadata = json.dumps({"d": ONBOARD_FLOW_ID, "c": "C123"})
    body = view_submission_body(
        "mint_execute_modal", {"text": {"value": HOSTILE_JSON[name]}}, metadata, "U1"
    )
    answer = app.client.post(body, "application/x-www-form-urlencoded").json()
    assert answer["response_action"] == "errors"
    assert "refused" in answer["errors"]["text"]
    assert _vendor_calls(sandbox, "mint", "/execute") == before


def test_500_labels_get_the_usage(world):
    """`/stomt wish hi` with 500 --label got an apology (the adapter raised after the ack)."""
    app, _slack, sandbox = world
    before = _vendor_calls(sandbox, "stomt", "/stomts")
    labels = " ".join(f"--label l{i}" for i in range(500))
    text = _usage_answer(app.client.command(f"wish hi {labels}", command="/stomt"))
    assert "At most 20 labels" in text
    assert _vendor_calls(sandbox, "stomt", "/stomts") == before


@pytest.mark.parametrize("key", ['"abc\n"=1', '"a b"=1', "=value", "'x\n'=y"])
def test_input_names_must_match_whole(world, key):
    """`abc\\n=1` passed `re.match(...$)`: a name must match entirely."""
    app, _slack, sandbox = world
    runs = _vendor_calls(sandbox, "flint", "/run/")
    text = _usage_answer(app.client.command(f"run demo:echo.rb {key}"))
    # A name with nothing before `=` is told exactly that; any other bad name as such.
    assert "not a valid input name" in text or "has no name before `=`" in text
    assert _vendor_calls(sandbox, "flint", "/run/") == runs


def test_no_audit_entry_no_vendor_call(world):
    """When the audit entry cannot be written, the state-changing call is not made and the
    card says why (it used to be made first and its entry lost)."""
    app, slack, sandbox = world

    async def drop_audit_log() -> None:
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE audit_log RENAME TO audit_log_away"))

    async def restore_audit_log() -> None:
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(sa.text("ALTER TABLE audit_log_away RENAME TO audit_log"))

    runs = _vendor_calls(sandbox, "flint", "/run/")
    app.run(drop_audit_log())
    try:
        assert app.client.command("run demo:hello.rb", channel_id="CAUDIT").status_code == 200

        def final_card() -> str:
            cards = [m for m in slack.fake.messages.values() if m["channel"] == "CAUDIT"]
            text = json.dumps([c.get("blocks") for c in cards])
            return text if "audit log could not be written" in text else ""

        wait_for(final_card, timeout=10, message="the card never said why nothing ran")
        assert _vendor_calls(sandbox, "flint", "/run/") == runs
    finally:
        app.run(restore_audit_log())
    # With the log back, the same command runs and its entry is completed.
    assert app.client.command("run demo:hello.rb", channel_id="CAUDIT").status_code == 200
    wait_for(lambda: _vendor_calls(sandbox, "flint", "/run/") == runs + 1, timeout=10)

    async def outcomes() -> list[str]:
        entries = await app.runtime.store.audit.entries(limit=5)
        return [e.outcome for e in entries if e.command == "flint run"]

    wait_for(
        lambda: app.run(outcomes())[-1:] == ["ok"],
        timeout=10,
        message="the audit entry was not completed",
    )
