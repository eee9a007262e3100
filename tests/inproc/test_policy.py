"""The access policy (CHATOPS_POLICY) through the app in process (tests/inproc/harness.py):
signed requests into the app, the Slack fake for user groups and answers, the vendor
sandboxes counting what reached them, and the audit log in the real state store."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from adapters.mint.sandbox import CONTRACT_FLOW_ID
from bot.store.schema import confirmations
from tests.fakes.slack_api import sign, slash_command_body, wait_for
from tests.inproc.harness import Servers, World, servers
from tests.scenario.harness import blocks_text, flint_sandbox_app

POLICY = """\
rules:
  # the release team may deploy to production, after a confirmation click
  - command: "flint run"
    target: "prod:*"
    usergroups: [S0RELEASE]
    confirm: true
  - command: "flint run"
    target: "prod:*"
    allow: false
  - command: "flint *"
    users: [U1, U2, U5, U6]
  - command: "flint run"
    channels: [C0OPS]
  - command: "mint publish"
    users: [U1]
    confirm: true
  - command: "mint *"
    users: [U1, U2]
  - command: "stomt wish"
  - command: "mindstamp summary"
    users: [U1]
"""


def flint_runs(sandbox) -> int:
    return sum(1 for c in flint_sandbox_app(sandbox).state.calls if c.method == "POST")


def mint_calls(sandbox, part: str) -> int:
    mint = next(r.app for r in sandbox.app.routes if getattr(r, "path", "") == "/mint")
    return sum(1 for c in mint.state.calls if part in c.path and c.method == "POST")


@pytest.fixture(scope="module")
def shared_servers():
    """One Slack fake and one set of sandboxes for the module; each test's app is its own."""
    with servers() as running:
        running.slack.fake.usergroups = {"S0RELEASE": ["U5"]}
        yield running


@pytest.fixture
def slack(shared_servers):
    return shared_servers.slack


@pytest.fixture
def sandbox(shared_servers):
    return shared_servers.sandbox


@pytest.fixture
def app(shared_servers, tmp_path):
    """A new app for each test: user groups are cached per process, and whether a decision
    comes in the ack or after it depends on that cache."""
    path = tmp_path / "policy.yml"
    path.write_text(POLICY)
    shared_servers.clear()
    with shared_servers.app(tmp_path, chatops_policy=str(path)) as running:
        yield running


def entries(app, **kw):
    """The audit log, read through the app's own store."""
    return app.run(app.runtime.store.audit.entries(**kw))


def answer(response) -> str:
    assert response.status_code == 200
    return response.json()["text"] if response.content else ""


# -- deciding -------------------------------------------------------------------------


def test_denied_request_is_told_why_and_nothing_reaches_the_vendor(app, slack, sandbox):
    # Rule 1 needs U1's user groups: the ack comes first, the answer after the lookup.
    assert answer(app.client.command("run prod:deploy.rb", user_id="U1")) == ""
    text = wait_for(lambda: slack.fake.responses)[-1]["text"]
    assert "Not allowed" in text and "line 7" in text and "Flint" in text
    app.wait_quiet()
    assert flint_runs(sandbox) == 0 and slack.fake.calls_to("chat.postMessage") == []
    [entry] = wait_for(lambda: entries(app, user_id="U1"))
    assert (entry.command, entry.target, entry.outcome) == ("flint run", "prod:deploy.rb", "denied")


def test_first_matching_rule_decides_and_no_match_is_denied(app, slack, sandbox):
    # U1 is in rule 3 ("flint *"): allowed on a non-production target.
    assert answer(app.client.command("run demo:hello.rb", user_id="U1")) == ""
    wait_for(lambda: flint_runs(sandbox) == 1)
    # U9 matches no rule: denied (default deny with a policy file).
    text = answer(app.client.command("run demo:hello.rb", user_id="U9"))
    assert "no rule of the access policy allows `/flint run` on `demo:hello.rb`" in text
    # ...but in the ops channel, rule 4 lets anyone run.
    assert answer(app.client.command("run demo:hello.rb", user_id="U9", channel_id="C0OPS")) == ""
    wait_for(lambda: flint_runs(sandbox) == 2)
    app.wait_quiet()
    assert flint_runs(sandbox) == 2


def test_user_groups_are_looked_up_in_slack_and_cached(app, slack, sandbox):
    """U5 is in S0RELEASE (usergroups.users.list), so production needs a confirmation;
    U6 is not, so rule 2 denies it. One lookup serves both requests."""
    assert answer(app.client.command("run prod:deploy.rb", user_id="U5")) == ""
    prompt = wait_for(lambda: slack.fake.responses)[-1]
    assert "Please confirm" in prompt["text"]
    # The group is cached now: U6's request is decided in the ack itself.
    assert "Not allowed" in answer(app.client.command("run prod:deploy.rb", user_id="U6"))
    assert len(slack.fake.calls_to("usergroups.users.list")) == 1
    assert flint_runs(sandbox) == 0


# -- confirming -----------------------------------------------------------------------


def _confirm_button(response: dict) -> str:
    buttons = [e for b in response["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return next(b["value"] for b in buttons if b["action_id"] == "chatops_policy_confirm")


def test_confirmation_only_by_the_same_user_and_only_once(app, slack, sandbox):
    app.client.command("run prod:deploy.rb env=live", user_id="U5")
    prompt = wait_for(lambda: slack.fake.responses)[-1]
    assert "/flint run prod:deploy.rb env=live" in blocks_text(prompt["blocks"])
    value = _confirm_button(prompt)

    app.client.click("chatops_policy_confirm", value, user_id="U6")
    wait_for(lambda: len(slack.fake.responses) == 2)
    assert "Only <@U5>" in slack.fake.responses[-1]["text"]
    app.wait_quiet()
    assert flint_runs(sandbox) == 0

    app.client.click("chatops_policy_confirm", value, user_id="U5")
    wait_for(lambda: flint_runs(sandbox) == 1)
    card = wait_for(lambda: slack.fake.calls_to("chat.postMessage"))[0].args
    assert "prod:deploy.rb" in blocks_text(card["blocks"]) and "U5" in blocks_text(card["blocks"])

    app.client.click("chatops_policy_confirm", value, user_id="U5")  # a second click
    wait_for(lambda: "already used" in slack.fake.responses[-1]["text"])
    app.wait_quiet()
    assert flint_runs(sandbox) == 1
    # (the sandbox has no "prod" box: the run itself fails, and the audit log says so)
    outcomes = [e.outcome for e in entries(app)]
    assert outcomes == ["confirm requested", "confirm refused", "confirmed", "failed"]


def test_confirmation_expires_after_ten_minutes(app, slack, sandbox):
    app.client.command("run prod:deploy.rb", user_id="U5")
    value = _confirm_button(wait_for(lambda: slack.fake.responses)[-1])

    async def age_it():
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(sa.update(confirmations).values(created_at=time.time() - 601))

    app.run(age_it())
    app.client.click("chatops_policy_confirm", value, user_id="U5")
    wait_for(lambda: "expired" in slack.fake.responses[-1]["text"])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0


def test_buttons_go_through_the_policy_too(app, slack, sandbox):
    """Publish on a flow card asks U1 to confirm (rule 5) and is denied to U9."""
    app.client.click("mint_publish", CONTRACT_FLOW_ID, user_id="U9")
    wait_for(lambda: slack.fake.responses)
    assert "Not allowed" in slack.fake.responses[-1]["text"]
    app.client.click("mint_publish", CONTRACT_FLOW_ID, user_id="U1")
    wait_for(lambda: len(slack.fake.responses) == 2)
    value = _confirm_button(slack.fake.responses[-1])
    assert mint_calls(sandbox, "/publish") == 0
    app.client.click("chatops_policy_confirm", value, user_id="U1")
    wait_for(lambda: mint_calls(sandbox, "/publish") == 1)
    # The publish's entry is completed once Mint has answered, a moment after the call.
    [*_, published] = wait_for(
        lambda: (
            (found := entries(app)) and found[-1].outcome not in ("confirmed", "started") and found
        )
    )
    assert (published.command, published.outcome) == ("mint publish", "ok")
    assert published.vendor_ids == {"flow": CONTRACT_FLOW_ID}


# -- help -----------------------------------------------------------------------------


def test_help_lists_only_what_the_caller_may_run(app):
    everything = answer(app.client.command("help", command="/mint", user_id="U1"))
    assert "/mint execute" in everything and "/mint publish" in everything
    mindstamp = answer(app.client.command("help", command="/mindstamp", user_id="U1"))
    assert "/mindstamp summary" in mindstamp and "/mindstamp videos" not in mindstamp
    nothing = answer(app.client.command("help", command="/mindstamp", user_id="U2"))
    assert "lets you run no `/mindstamp` command" in nothing
    stomt = answer(app.client.command("oops", command="/stomt", user_id="U9"))
    assert "/stomt wish" in stomt and "/stomt delete" not in stomt and "shortcut" in stomt


# -- audit ----------------------------------------------------------------------------


def test_audit_log_records_changes_with_secrets_redacted(app, slack, sandbox):
    app.client.command(
        'run demo:hello.rb password=hunter2hunter2 name=Ada {"api_key": "k-123456"}',
        user_id="U1",
    )
    [entry] = wait_for(lambda: [e for e in entries(app) if e.outcome == "ok"])
    assert (entry.user_id, entry.channel_id, entry.command) == ("U1", "C123", "flint run")
    assert entry.vendor_ids["job"].startswith("job-")
    shown = json.dumps(entry.params)
    assert "hunter2hunter2" not in shown and "k-123456" not in shown
    assert entry.params["input"]["name"] == "Ada"
    assert entry.params["input"]["password"] == "[redacted]"


# -- retries --------------------------------------------------------------------------


def test_a_retried_slash_command_runs_once(app, slack, sandbox):
    """Slack's retry (same trigger id, X-Slack-Retry-Num) is acknowledged, not repeated."""
    body = slash_command_body(
        "/flint",
        "run demo:hello.rb",
        user_id="U1",
        trigger_id="1.2.retried",
        response_url=app.client.response_url,
    )
    for attempt in (None, "1", "2"):
        headers = sign(body, "test-signing-secret")
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        if attempt:
            headers.update({"X-Slack-Retry-Num": attempt, "X-Slack-Retry-Reason": "http_timeout"})
        assert (
            app.client.http.post(
                app.url + "/slack/events", content=body, headers=headers
            ).status_code
            == 200
        )
    wait_for(lambda: flint_runs(sandbox) == 1)
    app.wait_quiet()
    assert flint_runs(sandbox) == 1
    assert (
        len([c for c in slack.fake.calls_to("chat.postMessage") if not c.args.get("thread_ts")])
        == 1
    )


def test_a_repeated_interaction_payload_is_handled_once(app, slack, sandbox):
    for _ in range(3):
        app.client.click("mint_unpublish", CONTRACT_FLOW_ID, user_id="U1", trigger_id="9.9.same")
    wait_for(lambda: mint_calls(sandbox, "/unpublish") == 1)
    app.wait_quiet()
    assert mint_calls(sandbox, "/unpublish") == 1


# -- confirmations on buttons and modals, and cards' own buttons -----------------------

STRICT = """\
rules:
  - command: "stomt delete"
    confirm: true
  - command: "stomt wish"
    confirm: true
  - command: "mint execute"
    confirm: true
  - command: "flint result"
    users: [U1]
  - command: "flint result"
    allow: false
  - command: "*"
"""


@contextmanager
def app_with_policy(around: Servers, tmp_path, text: str):
    """The app running with ``text`` as its policy file."""
    path = tmp_path / "policy-under-test.yml"
    path.write_text(text)
    with around.app(tmp_path, chatops_policy=str(path)) as running:
        yield running


def _fresh(around: Servers, app):
    """The module's app, once the previous test's work is done and forgotten."""
    World(around, app).reset()
    return app


@pytest.fixture(scope="module")
def strict_app(shared_servers, tmp_path_factory):
    with app_with_policy(shared_servers, tmp_path_factory.mktemp("strict"), STRICT) as running:
        yield running


@pytest.fixture
def strict(shared_servers, strict_app):
    return _fresh(shared_servers, strict_app)


def _stomt_app(sandbox):
    return next(r.app for r in sandbox.app.routes if getattr(r, "path", "") == "/stomt")


def test_delete_button_under_a_confirm_rule_asks_first_then_deletes(strict, slack, sandbox):
    added = _stomt_app(sandbox).state.sandbox.add_stomt("remove me")
    deletes = lambda: [c for c in _stomt_app(sandbox).state.calls if c.method == "DELETE"]  # noqa: E731
    strict.client.click("stomt_delete", added["id"], user_id="U3")
    prompt = wait_for(lambda: slack.fake.responses)[-1]
    assert f"/stomt delete {added['id']}" in blocks_text(prompt["blocks"])
    strict.wait_quiet()
    assert deletes() == []
    strict.client.click("chatops_policy_confirm", _confirm_button(prompt), user_id="U3")
    wait_for(deletes)
    wait_for(lambda: "deleted by" in json.dumps(slack.fake.responses[-1]))
    outcomes = [(e.command, e.outcome) for e in entries(strict)]
    assert outcomes == [
        ("stomt delete", "confirm requested"),
        ("stomt delete", "confirmed"),
        ("stomt delete", "ok"),
    ]


def test_modal_submission_under_a_confirm_rule_is_held_until_confirmed(strict, slack, sandbox):
    from adapters.mint.sandbox import ONBOARD_FLOW_ID
    from tests.fakes.slack_api import view_submission_body

    strict.client.click("mint_execute", ONBOARD_FLOW_ID, channel_id="CMOD", user_id="U4")
    [view] = wait_for(lambda: list(slack.fake.views.values()))
    chosen = next(b for b in view["blocks"] if b["block_id"] == "flow")["element"]
    state = {
        "flow": {"mint_form_flow": {"selected_option": chosen["initial_option"]}},
        "input": {"value": '{"a": "<b> & c"}'},
    }
    body = view_submission_body("mint_execute_form", state, user_id="U4", view=view)
    assert strict.client.post(body, "application/x-www-form-urlencoded").status_code == 200
    [prompt] = wait_for(lambda: slack.fake.ephemeral)
    assert prompt["channel"] == "CMOD" and prompt["user"] == "U4"
    shown = blocks_text(prompt["blocks"])
    assert f"/mint execute {ONBOARD_FLOW_ID}" in shown and "&lt;b&gt; &amp; c" in shown
    strict.wait_quiet()
    assert mint_calls(sandbox, "/execute") == 0
    strict.client.click("chatops_policy_confirm", _confirm_button(prompt), user_id="U4")
    wait_for(lambda: mint_calls(sandbox, "/execute") == 1)
    [ok] = wait_for(lambda: [e for e in entries(strict) if e.outcome == "ok"])
    assert ok.params == {"input": {"a": "<b> & c"}}  # exactly what was confirmed


def test_buttons_on_a_tracked_card_follow_the_policy(strict, slack, sandbox):
    strict.client.command("run demo:hello.rb", user_id="U1")
    strict.wait_quiet()
    [card] = wait_for(lambda: list(slack.fake.messages.values()))
    # The ended card's Re-run carries the tracked id, as Refresh did while it ran.
    job_id = next(
        element["value"]
        for block in card["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "flint_rerun"
    )
    strict.client.click("flint_refresh", job_id, user_id="U2", message_ts=card["ts"])
    wait_for(lambda: slack.fake.responses)
    assert "Not allowed" in slack.fake.responses[-1]["text"]
    assert "flint result" in slack.fake.responses[-1]["text"]


TARGETED = """\
rules:
  - command: "stomt *"
    target: "chatops-hub"
    users: [U9]
  - command: "stomt *"
    target: "chatops-hub"
    allow: false
  - command: "*"
"""


@pytest.fixture(scope="module")
def targeted_app(shared_servers, tmp_path_factory):
    path = tmp_path_factory.mktemp("targeted")
    with app_with_policy(shared_servers, path, TARGETED) as running:
        yield running


@pytest.fixture
def targeted(shared_servers, targeted_app):
    return _fresh(shared_servers, targeted_app)


def _stomt_reads(sandbox) -> int:
    return sum(1 for c in _stomt_app(sandbox).state.calls if c.method == "GET")


@pytest.mark.parametrize("text", ["digest now", "digest daily 09:00"])
def test_digests_follow_target_rules(targeted, slack, sandbox, text):
    """A user denied every /stomt on the default target (STOMT_TARGET) could still post its
    feedback with `digest now` and subscribe a channel: the digest's target reaches the
    policy, so both are denied and STOMT is not asked; the allowed user may."""
    reads = _stomt_reads(sandbox)
    answer = targeted.client.command(text, command="/stomt", user_id="U3", channel_id="CT")
    assert "Not allowed" in answer.json()["text"]
    targeted.wait_quiet()
    assert _stomt_reads(sandbox) == reads
    assert [e.outcome for e in entries(targeted)] == ["denied"]
    assert not [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "CT"]
    targeted.client.command(text, command="/stomt", user_id="U9", channel_id="CT")
    wait_for(
        lambda: [c for c in slack.fake.calls_to("chat.postMessage") if c.args["channel"] == "CT"],
        timeout=10,
        message="the allowed user's digest command did nothing",
    )


def test_a_digest_is_not_set_up_where_the_app_cannot_post(app, slack):
    """Subscribing a channel the bot cannot post in used to succeed (and stay listed after
    `digest now` failed): now the subscription is refused with how to fix it."""
    slack.fake.inaccessible_channels.add("CPRIV")
    app.client.command("digest daily 09:00", command="/mint", user_id="U1", channel_id="CPRIV")
    reply = wait_for(lambda: slack.fake.responses, timeout=10)[-1]
    assert "/invite @chatops-hub" in reply["text"] and "not set up" in reply["text"]
    app.client.command("digest", command="/mint", user_id="U1", channel_id="CPRIV")
    wait_for(lambda: "no digests" in slack.fake.responses[-1]["text"], timeout=10)
    # Once invited, the same command subscribes and says so in the channel.
    slack.fake.inaccessible_channels.discard("CPRIV")
    app.client.command("digest daily 09:00", command="/mint", user_id="U1", channel_id="CPRIV")
    [said] = wait_for(
        lambda: [c for c in slack.fake.calls_to("chat.postMessage") if c.ok], timeout=10
    )
    assert said.args["channel"] == "CPRIV" and "<@U1> subscribed this channel" in said.args["text"]


def test_a_confirmed_form_runs_exactly_as_held(strict, slack, sandbox):
    """A STOMT form whose text says `hello --target other-page` was held as command text and
    parsed again on Confirm, so it posted to other-page: now the parsed request is held, and
    the wish goes to the form's target with that text, word for word."""
    from tests.fakes.slack_api import message_shortcut_body, view_submission_body

    stomts = _stomt_app(sandbox).state.sandbox.stomts
    before = set(stomts)
    text = "hello --target other-page --label sneaky"
    state = {
        "text": {"value": {"type": "plain_text_input", "value": text}},
        "kind": {"value": {"type": "static_select", "selected_option": {"value": "wish"}}},
        "target": {"value": {"type": "plain_text_input", "value": ""}},
        "labels": {"value": {"type": "plain_text_input", "value": "ok"}},
    }
    # The form as the shortcut opens it in CFORM (its metadata sealed for U4).
    message = {"type": "message", "user": "U1", "ts": "1700000000.000900", "text": "x"}
    shortcut = message_shortcut_body("stomt_wish_from_message", message, "CFORM", "U4")
    assert strict.client.post(shortcut, "application/x-www-form-urlencoded").status_code == 200
    [view] = wait_for(lambda: list(slack.fake.views.values()))
    body = view_submission_body("stomt_wish_modal", state, user_id="U4", view=view)
    assert strict.client.post(body, "application/x-www-form-urlencoded").status_code == 200
    [prompt] = wait_for(lambda: slack.fake.ephemeral)
    strict.wait_quiet()
    assert set(stomts) == before  # held, not sent
    strict.client.click("chatops_policy_confirm", _confirm_button(prompt), user_id="U4")
    new = wait_for(lambda: set(stomts) - before, timeout=10)
    [record] = [stomts[i] for i in new]
    assert record.target_id == "chatops-hub"
    assert text in record.text
    [ok] = wait_for(lambda: [e for e in entries(strict) if e.outcome == "ok"])
    assert ok.params == {"text": text, "labels": ["ok"]}
