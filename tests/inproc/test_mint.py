"""/mint through the app in process (tests/inproc/harness.py): signed Slack requests in,
real HTTP (OAuth included) to the Signicat Mint sandbox, executions tracked to their end,
modals and the faulted/cancelled digest. The happy path over a real socket is in
tests/scenario/test_mint_http.py."""

from __future__ import annotations

import json
import time

import pytest

from adapters.mint.sandbox import CONTRACT_FLOW_ID, KYC_FLOW_ID, ONBOARD_FLOW_ID
from bot.devkit.slack_requests import view_submission_body
from tests.fakes.slack_api import posted_cards, wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text


def _mint(server):
    return next(r.app for r in server.app.routes if getattr(r, "path", "") == "/mint")


def _calls(sandbox, part=""):
    return [c for c in _mint(sandbox).state.calls if part in c.path]


def _card_text(slack, n=0) -> str:
    wait_for(lambda: len(posted_cards(slack)) > n, timeout=10)
    return blocks_text(posted_cards(slack)[n]["blocks"])


def _buttons(message) -> dict[str, dict]:
    return {
        e["action_id"]: e
        for b in message["blocks"]
        for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
        if e.get("type") == "button"
    }


@pytest.fixture
def last(slack):
    def latest():
        wait_for(lambda: slack.fake.responses, timeout=10)
        return slack.fake.responses[-1]

    return latest


def test_flows_show_cards_with_the_next_steps(app, last):
    """`/mint flows` lists flows (published and drafts) with Execute/Publish/Instances."""
    app.client.command("flows", command="/mint")
    reply = last()
    text = blocks_text(reply["blocks"])
    assert "Onboard customer" in text and "published" in text and "draft" in text
    actions = {
        e["action_id"] for b in reply["blocks"] if b["type"] == "actions" for e in b["elements"]
    }
    assert {"mint_execute", "mint_instances", "mint_publish", "mint_unpublish"} <= actions


def test_faulted_instance_shows_the_failing_step(app, slack):
    """A faulted execution names the failing step on the card and in the thread."""
    app.client.command(f"execute {KYC_FLOW_ID}", command="/mint", user_id="U5")
    wait_for(lambda: "Faulted" in _card_text(slack), timeout=20)
    assert "Failed at" in _card_text(slack) and "Verify identity" in _card_text(slack)
    wait_for(
        lambda: [c for c in slack.fake.calls_to("chat.postMessage") if c.args.get("thread_ts")],
        timeout=10,
    )
    [reply] = [c for c in slack.fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert "<@U5>" in reply.args["text"] and "Verify identity" in reply.args["text"]


def test_token_expiry_is_refreshed_without_the_user_noticing(app, sandbox, last):
    """An expired OAuth token is fetched again once and the command still works."""
    app.client.command("flows", command="/mint")
    last()
    before = _mint(sandbox).state.sandbox.token_grants
    _mint(sandbox).state.sandbox.expire_tokens()
    app.client.command("flows Onboard", command="/mint")
    wait_for(
        lambda: (
            "Onboard customer" in blocks_text(last()["blocks"])
            and "matching" in blocks_text(last()["blocks"])
        ),
        timeout=10,
    )
    assert _mint(sandbox).state.sandbox.token_grants == before + 1


def test_publish_shows_the_link_and_unpublish(app, slack, last):
    """Publishing a draft says who did it and shows the link Mint returns."""
    app.client.command(f"publish {CONTRACT_FLOW_ID}", command="/mint", user_id="U6")
    reply = last()
    assert reply["response_type"] == "in_channel"
    assert "published" in reply["text"] and "http" in blocks_text(reply["blocks"])
    app.client.command(f"unpublish {CONTRACT_FLOW_ID}", command="/mint")
    wait_for(lambda: "unpublished" in slack.fake.responses[-1]["text"])


def test_instances_and_instance_detail_with_log(app, slack, last):
    """`/mint instances` lists a flow's instances; `/mint instance` shows the log and buttons
    (no Refresh for a faulted instance: it would not change)."""
    app.client.command(f"instances {KYC_FLOW_ID} Faulted", command="/mint")
    listing = last()
    assert "Faulted" in blocks_text(listing["blocks"])
    details = _buttons(listing)["mint_refresh"]["value"]
    instance_id = details.removeprefix("inst:")
    app.client.command(f"instance {instance_id}", command="/mint")
    wait_for(lambda: "Execution log" in blocks_text(slack.fake.responses[-1].get("blocks")))
    detail = slack.fake.responses[-1]
    assert {"mint_note", "mint_report"} <= set(_buttons(detail))
    assert "mint_refresh" not in _buttons(detail)


def test_note_command_and_report_button(app, slack, sandbox, last):
    """A note is saved on the instance; Download report attaches the CSV."""
    app.client.command(f"instances {ONBOARD_FLOW_ID}", command="/mint")
    instance_id = _buttons(last())["mint_refresh"]["value"].removeprefix("inst:")
    app.client.command(f"note {instance_id} checked it's fine", command="/mint")
    wait_for(lambda: "Note added" in slack.fake.responses[-1]["text"])
    assert _calls(sandbox, f"/instances/{instance_id}/notes")
    app.client.click("mint_report", instance_id, channel_id="C123", message_ts="1700000000.000100")
    wait_for(lambda: slack.fake.files, timeout=10)
    assert slack.fake.files[0]["filename"].endswith(".csv")


def test_a_note_modal_is_saved_for_the_channel_its_seal_names(app, slack, sandbox, last):
    """The Add note modal counts as opened where its sealed metadata says: the note is
    audited (and the policy asked) for that channel; metadata changed to name another
    channel, and a note modal opened before forms were sealed, count as the user's own
    space instead."""
    app.client.command(f"instances {ONBOARD_FLOW_ID}", command="/mint", user_id="U9")
    instance_id = _buttons(last())["mint_refresh"]["value"].removeprefix("inst:")
    app.client.click("mint_note", instance_id, channel_id="CNOTE", user_id="U9")
    view = wait_for(
        lambda: [v for v in slack.fake.views.values() if v["callback_id"] == "mint_note_modal"],
        timeout=10,
    )[0]
    forged = view["private_metadata"].replace("CNOTE", "CSECRET")
    old = json.dumps({"i": instance_id, "c": "COLD"})
    for n, metadata in enumerate((view["private_metadata"], forged, old), start=1):
        body = view_submission_body(
            "mint_note_modal", {"text": {"value": f"note {n}"}}, metadata, "U9", view=view
        )
        assert app.client.post(body, "application/x-www-form-urlencoded").content == b""
        wait_for(lambda n=n: len(_calls(sandbox, f"/instances/{instance_id}/notes")) == n)
    app.wait_quiet()
    entries = app.run(app.runtime.store.audit.entries(user_id="U9"))
    notes = [(e.params["note"], e.channel_id) for e in entries if e.command == "mint note"]
    assert sorted(notes) == [("note 1", "CNOTE"), ("note 2", "U9"), ("note 3", "U9")]


def test_execute_button_opens_the_mint_form_with_its_flow(app, slack, sandbox):
    """The Execute button opens the Mint form with that flow chosen (its title shown);
    bad JSON keeps it open with the error; good JSON starts the flow in the channel."""
    app.client.click("mint_execute", ONBOARD_FLOW_ID, channel_id="CMOD", user_id="U9")
    wait_for(lambda: slack.fake.views, timeout=10)
    [view] = slack.fake.views.values()
    assert view["callback_id"] == "mint_execute_form"
    chosen = next(b for b in view["blocks"] if b["block_id"] == "flow")["element"]
    assert chosen["initial_option"] == {
        "text": {"type": "plain_text", "text": "Onboard customer"},
        "value": ONBOARD_FLOW_ID,
    }
    flow = {"flow": {"mint_form_flow": {"selected_option": chosen["initial_option"]}}}
    bad = view_submission_body(
        "mint_execute_form", {**flow, "input": {"value": "{nope"}}, user_id="U9", view=view
    )
    answer = app.client.post(bad, "application/x-www-form-urlencoded").json()
    assert answer["response_action"] == "errors" and "not valid JSON" in answer["errors"]["input"]
    assert not _calls(sandbox, "/execute")
    good = view_submission_body(
        "mint_execute_form", {**flow, "input": {"value": '{"a": 1}'}}, user_id="U9", view=view
    )
    assert app.client.post(good, "application/x-www-form-urlencoded").content == b""
    wait_for(lambda: _calls(sandbox, "/execute"), timeout=10)
    wait_for(lambda: [m for m in posted_cards(slack) if m["channel"] == "CMOD"], timeout=10)


def test_the_old_execute_modal_still_executes_in_the_users_own_space(app, slack, sandbox):
    """A one-field Execute modal opened before the Mint form still executes when sent,
    with its JSON checked; its metadata has no seal, so it runs in the user's own space,
    never in the channel the metadata names."""
    old = json.dumps({"d": ONBOARD_FLOW_ID, "c": "CMOD"})
    bad = view_submission_body("mint_execute_modal", {"text": {"value": "[1]"}}, old, "U9")
    answer = app.client.post(bad, "application/x-www-form-urlencoded").json()
    assert answer["errors"] == {"text": 'The input must be an object, like {"key": "value"}.'}
    good = view_submission_body("mint_execute_modal", {"text": {"value": '{"a": 1}'}}, old, "U9")
    assert app.client.post(good, "application/x-www-form-urlencoded").status_code == 200
    wait_for(lambda: _calls(sandbox, "/execute"), timeout=10)
    job = wait_for(lambda: app.run(app.runtime.store.jobs.recent_for_user("U9", 1)), timeout=10)
    assert (job[0].target, job[0].channel_id) == (ONBOARD_FLOW_ID, "U9")
    assert not [m for m in posted_cards(slack) if m["channel"] == "CMOD"]


def test_digest_posts_faulted_and_cancelled_per_flow(tmp_path):
    """A due Mint digest lists faulted and cancelled instances since the last one, by flow."""
    with world(tmp_path, chatops_digest_check_interval=0.2) as running:
        app, slack, sandbox = running.app, running.slack, running.sandbox
        app.client.command("digest daily 07:00", command="/mint", channel_id="CMD")
        wait_for(lambda: slack.fake.responses)
        _mint(sandbox).state.sandbox.add_instance(KYC_FLOW_ID, age=5)  # KYC checks fault

        async def make_due():
            from bot.store.digests import DigestStore

            digests = DigestStore(app.runtime.store.engine)
            sub = await digests.get("mint", "CMD")
            await digests.update(
                sub.id, next_run_at=time.time() - 1, cursor={"since": time.time() - 60}
            )

        app.run(make_due())
        wait_for(
            lambda: [
                c
                for c in slack.fake.calls_to("chat.postMessage")
                if c.args["channel"] == "CMD" and c.args.get("blocks")
            ],
            timeout=10,
        )
        [posted] = [
            c
            for c in slack.fake.calls_to("chat.postMessage")
            if c.args["channel"] == "CMD" and c.args.get("blocks")
        ]
        text = blocks_text(posted.args["blocks"])
        assert "KYC check" in text and "Faulted" in text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "flows " + "x" * 300,
        "execute a b",
        "execute ../x",
        f"execute {ONBOARD_FLOW_ID} [1]",
        f"execute {ONBOARD_FLOW_ID} {{bad",
        "instances",
        "instances x Sleeping",
        "instance",
        "publish",
        "note",
        "note only-id",
        "nonsense",
        "digest weekly 7",
    ],
)
def test_bad_mint_text_gets_usage(app, sandbox, text):
    """Malformed /mint input gets a readable usage answer and Mint is never called."""
    response = app.client.command(text, command="/mint")
    assert response.status_code == 200
    assert "/mint" in response.json()["text"]
    assert _mint(sandbox).state.calls == []


def test_every_button_with_forged_values_answers_politely(app, slack):
    """Mint buttons given nonsense values answer readably, never a 5xx."""
    for action in (
        "mint_publish",
        "mint_unpublish",
        "mint_instances",
        "mint_more",
        "mint_refresh",
        "mint_note",
        "mint_report",
        "mint_execute",
    ):
        assert app.client.click(action, "../../etc 🙂 " + "x" * 300).status_code == 200
    wait_for(lambda: len(slack.fake.responses) >= 8, timeout=10)
    assert all("Traceback" not in json.dumps(r) for r in slack.fake.responses)
