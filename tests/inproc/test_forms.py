"""Forms instead of syntax, through the app in process (tests/inproc/harness.py): signed
slash commands typed bare open a modal (the Slack fake stores it), typeahead options
requests (``block_suggestion``) answered in the HTTP response, view submissions answered
with field errors or carried out as the submitter in the channel, "Re-run with changes"
opening a prefilled form, and the STOMT shortcut's form kept open on a vendor refusal.
The vendor sandboxes count what reached them; an access policy lets each user do
different things."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from adapters.mindstamp.sandbox import EXAMPLE_VIDEO
from adapters.mint.sandbox import CONTRACT_FLOW_ID, KYC_FLOW_ID, ONBOARD_FLOW_ID
from bot.devkit.slack_requests import (
    block_suggestion_body,
    interaction_body,
    message_shortcut_body,
    view_block_actions_payload,
    view_submission_body,
)
from handlers.common import forms
from tests.fakes.slack_api import posted_cards, sign, wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text, flint_sandbox_app

FORM = "application/x-www-form-urlencoded"
POLICY = f"""\
rules:
  - command: "mint execute"
    target: "{CONTRACT_FLOW_ID}"
    allow: false
  - command: "mint execute"
    target: "{KYC_FLOW_ID}"
    users: [U1]
    confirm: true
  - command: "flint run"
    target: "prod:*"
    allow: false
  - command: "mindstamp video"
    target: "{EXAMPLE_VIDEO}"
    allow: false
  - command: "mint note"
    channels: [CNOTES]
  - command: "*"
    users: [U1, U3]
  - command: "stomt *"
"""


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("forms")
    policy = tmp / "policy.yml"
    policy.write_text(POLICY)
    with world(tmp, chatops_policy=str(policy)) as running:
        yield running


def mounted(sandbox, path: str):
    return next(r.app for r in sandbox.app.routes if getattr(r, "path", "") == path)


def vendor_posts(sandbox, path: str, part: str) -> int:
    calls = mounted(sandbox, path).state.calls
    return sum(1 for c in calls if c.method == "POST" and part in c.path)


def opened(slack, callback_id: str, before: int = 0) -> dict[str, Any]:
    """The newest view the app opened with ``callback_id`` once more than ``before`` were."""

    def found() -> list[dict[str, Any]]:
        return [v for v in slack.fake.views.values() if v["callback_id"] == callback_id]

    wait_for(lambda: len(found()) > before, timeout=10)
    return found()[-1]


def elements(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each input block's element, by block id."""
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def suggest(app, view: dict[str, Any], action_id: str, query: str, user: str) -> list[dict]:
    block_id = next(b for b, e in elements(view).items() if e.get("action_id") == action_id)
    body = block_suggestion_body(action_id, query, block_id=block_id, view=view, user_id=user)
    started = time.monotonic()
    response = app.client.post(body, FORM)
    assert response.status_code == 200 and time.monotonic() - started < 3
    return response.json()["options"]


def submit(app, view: dict[str, Any], values: dict[str, Any], user: str) -> dict[str, Any]:
    """Submit ``view`` with ``values`` ({block_id: text, or a selected option's value
    as ``("option", value)``}); the app's HTTP answer ({} for a bare ack)."""
    state = {}
    for block_id, value in values.items():
        action_id = elements(view)[block_id]["action_id"]
        if isinstance(value, tuple):
            entry = {"selected_option": {"text": {"type": "plain_text", "text": value[1]}}}
            entry["selected_option"]["value"] = value[1]
            state[block_id] = {action_id: entry}
        else:
            state[block_id] = {action_id: value}
    body = view_submission_body(view["callback_id"], state, user_id=user, view=view)
    response = app.client.post(body, FORM)
    assert response.status_code == 200
    answer = response.json() if response.content else {}
    if answer.get("response_action") == "errors":
        shown_as_errors(view, answer["errors"])
    return answer


def shown_as_errors(view: dict[str, Any], errors: dict[str, str]) -> None:
    """Field errors Slack can show: each under an input block the view has, in plain
    text (Slack does not render mrkdwn there, so a code span would show its backticks)."""
    assert errors and set(errors) <= set(elements(view)), errors
    for message in errors.values():
        assert message.strip() and not any(mark in message for mark in ("`", "&lt;", "*")), message


def jobs_of(app, user: str) -> list:
    return app.run(app.runtime.store.jobs.recent_for_user(user, 10))


def ephemerals_to(slack, user: str) -> list[str]:
    return [
        c.args.get("text") or blocks_text(c.args.get("blocks"))
        for c in slack.fake.calls_to("chat.postEphemeral")
        if c.args.get("user") == user
    ]


# -- Mint ----------------------------------------------------------------------------


def test_mint_flow_options_match_the_search_and_respect_the_policy(app, slack, sandbox):
    """The flow picker offers Mint's flows matching what is typed, leaves out a flow the
    policy denies this user, offers nothing to a user who may not execute at all, and
    answers a huge or hostile query at once with no trace."""
    app.client.command("execute", command="/mint", user_id="U1", channel_id="CF1")
    view = opened(slack, "mint_execute_form")
    found = suggest(app, view, "mint_form_flow", "onboard", "U1")
    assert [o["value"] for o in found] == [ONBOARD_FLOW_ID]
    assert found[0]["text"]["text"] == "Onboard customer"
    everything = {o["value"] for o in suggest(app, view, "mint_form_flow", "", "U1")}
    assert ONBOARD_FLOW_ID in everything and KYC_FLOW_ID in everything
    assert CONTRACT_FLOW_ID not in everything  # denied to everyone by the policy
    listed = len(mounted(sandbox, "/mint").state.calls)
    assert suggest(app, view, "mint_form_flow", "onboard", "U2") == []
    assert len(mounted(sandbox, "/mint").state.calls) == listed  # not even asked
    assert suggest(app, view, "mint_form_flow", "x" * 100_000, "U1") == []
    assert suggest(app, view, "mint_form_flow", "\u0000\u202e{", "U1") == []


def test_mint_form_errors_stay_on_their_field(app, slack, sandbox):
    """A submission with bad JSON, JSON that is no object, or no flow answers
    ``response_action: errors`` on that field; nothing is posted and Mint never called."""
    app.client.command("execute", command="/mint", user_id="U1", channel_id="CF1")
    view = opened(slack, "mint_execute_form")
    flow = ("option", ONBOARD_FLOW_ID)
    answer = submit(app, view, {"flow": flow, "input": "{nope"}, "U1")
    assert answer["response_action"] == "errors", answer
    assert list(answer["errors"]) == ["input"] and "not valid JSON" in answer["errors"]["input"]
    answer = submit(app, view, {"flow": flow, "input": "[1, 2]"}, "U1")
    assert list(answer["errors"]) == ["input"] and "must be an object" in answer["errors"]["input"]
    answer = submit(app, view, {"input": '{"a": 1}'}, "U1")
    assert list(answer["errors"]) == ["flow"]
    answer = submit(app, view, {"flow": ("option", "../x"), "input": ""}, "U1")
    assert list(answer["errors"]) == ["flow"]
    app.wait_quiet()
    assert vendor_posts(sandbox, "/mint", "/execute") == 0
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.fake.calls_to("chat.postEphemeral") == []


def test_mint_form_runs_as_the_submitter_in_the_channel(app, slack, sandbox):
    """A valid submission executes the flow as the submitter: its card in the channel the
    command was typed in, the job tracked with the submitter and the input."""
    app.client.command("execute", command="/mint", user_id="U1", channel_id="CF1")
    view = opened(slack, "mint_execute_form")
    answer = submit(
        app, view, {"flow": ("option", ONBOARD_FLOW_ID), "input": '{"email": "a@b.c"}'}, "U1"
    )
    assert answer == {}
    wait_for(lambda: [m for m in posted_cards(slack) if m["channel"] == "CF1"], timeout=10)
    [job] = jobs_of(app, "U1")
    assert (job.vendor, job.target, job.channel_id) == ("mint", ONBOARD_FLOW_ID, "CF1")
    assert job.params["input"] == {"email": "a@b.c"}
    wait_for(lambda: vendor_posts(sandbox, "/mint", "/execute") == 1, timeout=10)


def test_mint_form_goes_through_the_policy_confirmation(app, slack, sandbox):
    """A flow the policy asks to confirm is held, as typed: the submitter is asked in the
    channel, and nothing reaches Mint."""
    app.client.command("execute", command="/mint", user_id="U1", channel_id="CF1")
    view = opened(slack, "mint_execute_form")
    submit(app, view, {"flow": ("option", KYC_FLOW_ID)}, "U1")
    wait_for(lambda: any("Please confirm" in t for t in ephemerals_to(slack, "U1")), timeout=10)
    app.wait_quiet()
    assert vendor_posts(sandbox, "/mint", "/execute") == 0 and jobs_of(app, "U1") == []


def test_bare_mint_execute_is_refused_without_a_form_when_the_policy_denies(app, slack):
    """A user the policy lets run no `/mint execute` is told so, and no form opens."""
    response = app.client.command("execute", command="/mint", user_id="U2", channel_id="CF1")
    assert "access policy" in response.json()["text"]
    app.wait_quiet()
    assert slack.fake.calls_to("views.open") == []


def test_mint_rerun_with_changes_opens_the_form_prefilled(app, slack):
    """Re-run with changes on an execution's card opens the form with its flow and input;
    someone else, elsewhere, is refused without seeing them."""
    app.client.command(
        f'execute {ONBOARD_FLOW_ID} {{"email": "ada@example.com"}}',
        command="/mint",
        user_id="U1",
        channel_id="CF2",
    )
    job = wait_for(lambda: jobs_of(app, "U1"), timeout=10)[0]
    app.client.click("mint_rerun_edit", job.id, user_id="U3", channel_id="CF2")
    view = opened(slack, "mint_execute_form")
    fields = elements(view)
    assert fields["flow"]["initial_option"]["value"] == ONBOARD_FLOW_ID
    assert json.loads(fields["input"]["initial_value"]) == {"email": "ada@example.com"}
    assert json.loads(view["private_metadata"])["c"] == "CF2"
    app.client.click("mint_rerun_edit", job.id, user_id="U3", channel_id="COTHER")
    wait_for(lambda: any("only in the channel" in r["text"] for r in slack.fake.responses))
    assert len(slack.fake.calls_to("views.open")) == 1


def test_a_mint_note_modal_is_decided_for_where_it_was_opened(app, slack, sandbox):
    """The policy decides a note from the Add note modal for the channel sealed into it:
    U2 may add notes only in CNOTES, and does from a modal opened there; a submission
    whose metadata names CNOTES without a seal for U2 is decided in U2's own space, and
    denied there."""
    app.client.command(f"instances {ONBOARD_FLOW_ID}", command="/mint", user_id="U1")
    listing = wait_for(lambda: slack.fake.responses, timeout=10)[-1]
    instance_id = next(
        e["value"].removeprefix("inst:")
        for b in listing["blocks"]
        for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
        if e.get("action_id") == "mint_refresh"
    )
    app.client.click("mint_note", instance_id, user_id="U2", channel_id="CNOTES")
    view = opened(slack, "mint_note_modal")
    assert submit(app, view, {"text": "seen in CNOTES"}, "U2") == {}
    wait_for(lambda: vendor_posts(sandbox, "/mint", "/notes") == 1, timeout=10)
    unsealed = {**view, "private_metadata": json.dumps({"i": instance_id, "c": "CNOTES"})}
    assert submit(app, unsealed, {"text": "not sealed"}, "U2") == {}
    app.wait_quiet()
    assert vendor_posts(sandbox, "/mint", "/notes") == 1
    entries = app.run(app.runtime.store.audit.entries(user_id="U2"))
    assert [(e.channel_id, e.outcome) for e in entries if e.command == "mint note"] == [
        ("CNOTES", "ok"),
        ("U2", "denied"),
    ]


# -- Flint ---------------------------------------------------------------------------


def test_flint_form_offers_recent_and_typed_flintbits_and_runs_in_the_channel(app, slack, sandbox):
    """`/flint run` bare opens the form; the picker offers a flintbit run here lately and
    what is typed when it is BOX:BIT (never one the policy denies); a valid submission
    runs it as the submitter, its card in the channel."""
    app.client.command("run demo:echo.rb a=1", user_id="U3", channel_id="CF9")
    wait_for(lambda: jobs_of(app, "U3"), timeout=10)
    response = app.client.command("run", user_id="U1", channel_id="CF3")
    assert response.status_code == 200 and "Usage" not in response.text
    view = opened(slack, "flint_run_form")
    assert elements(view)["flintbit"]["type"] == "external_select"
    assert [o["value"] for o in suggest(app, view, "flint_form_flintbit", "ech", "U1")] == [
        "demo:echo.rb"
    ]
    # Only the query's first 100 characters are read: the rest never reaches a search.
    cut = suggest(app, view, "flint_form_flintbit", "ech" + " " * 200 + "zzz", "U1")
    assert [o["value"] for o in cut] == ["demo:echo.rb"]
    typed = suggest(app, view, "flint_form_flintbit", "demo:hello.rb", "U1")
    assert [o["value"] for o in typed] == ["demo:hello.rb"]
    assert suggest(app, view, "flint_form_flintbit", "prod:deploy.rb", "U1") == []
    assert suggest(app, view, "flint_form_flintbit", "demo:hello.rb", "U2") == []
    answer = submit(
        app, view, {"flintbit": ("option", "demo:hello.rb"), "inputs": "name=Ada"}, "U1"
    )
    assert answer == {}
    wait_for(lambda: [m for m in posted_cards(slack) if m["channel"] == "CF3"], timeout=10)
    [job] = jobs_of(app, "U1")
    assert (job.target, job.channel_id, job.params["input"]) == (
        "demo:hello.rb",
        "CF3",
        {"name": "Ada"},
    )


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"inputs": "name=Ada"}, "flintbit", "Choose a flintbit"),
        ({"flintbit": ("option", "demo:../x")}, "flintbit", "not valid"),
        ({"flintbit": ("option", "demo:hello.rb"), "inputs": "=value"}, "inputs", "name"),
        ({"flintbit": ("option", "demo:hello.rb"), "inputs": "bare-word"}, "inputs", "key=value"),
        ({"flintbit": ("option", "demo:hello.rb"), "inputs": "{bad"}, "inputs", "JSON"),
    ],
)
def test_flint_form_errors_stay_on_their_field(app, slack, sandbox, values, field, says):
    """Each wrong field answers ``response_action: errors`` on that field with the typed
    command's message; Flint is never called and nothing is posted."""
    app.client.command("run", user_id="U1", channel_id="CF3")
    view = opened(slack, "flint_run_form")
    answer = submit(app, view, values, "U1")
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [field]
    assert says in answer["errors"][field]
    app.wait_quiet()
    assert not [c for c in flint_sandbox_app(sandbox).state.calls if c.method == "POST"]
    assert slack.fake.calls_to("chat.postMessage") == []


def test_flint_form_inputs_are_read_as_the_command_reads_them(app, slack, sandbox):
    """The Inputs field goes through the typed command's parsers: a JSON object followed
    by more gets the command's message (as plain text), not the JSON decoder's; key=value
    lines before one JSON object are merged with it as typed pairs are."""
    said = "The JSON object must come last, but `a=2` follows it: put it before the object."
    typed = app.client.command('run demo:hello.rb {"a": 1} a=2', user_id="U1", channel_id="CF3")
    assert said in typed.json()["text"]
    app.client.command("run", user_id="U1", channel_id="CF3")
    view = opened(slack, "flint_run_form")
    flintbit = ("option", "demo:hello.rb")
    answer = submit(app, view, {"flintbit": flintbit, "inputs": '{"a": 1} a=2'}, "U1")
    assert answer["errors"] == {"inputs": forms.plain_error(said)}
    merged = 'a=2\nname=x {y}\n{"a": 1,\n "items": [1]}'
    assert submit(app, view, {"flintbit": flintbit, "inputs": merged}, "U1") == {}
    [job] = wait_for(lambda: jobs_of(app, "U1"), timeout=10)
    assert job.params["input"] == {"a": "2", "name": "x {y}", "items": [1]}


def test_flint_rerun_with_changes_opens_the_form_prefilled(app, slack):
    """Re-run with changes opens the form with the job's flintbit, inputs and way of
    running; its submission runs the changed request in the job's channel."""
    app.client.command("run demo:hello.rb name=Ada --sync", user_id="U1", channel_id="CF4")
    job = wait_for(lambda: jobs_of(app, "U1"), timeout=10)[0]
    app.client.click("flint_rerun_edit", job.id, user_id="U1", channel_id="CF4")
    view = opened(slack, "flint_run_form")
    fields = elements(view)
    assert fields["flintbit"]["initial_option"]["value"] == "demo:hello.rb"
    assert fields["inputs"]["initial_value"] == "name=Ada"
    assert fields["wait"]["initial_option"]["value"] == "sync"
    submit(app, view, {"flintbit": ("option", "demo:hello.rb"), "inputs": "name=Bo"}, "U1")
    wait_for(lambda: len(jobs_of(app, "U1")) == 2, timeout=10)
    assert jobs_of(app, "U1")[0].params["input"] == {"name": "Bo"}
    assert jobs_of(app, "U1")[0].channel_id == "CF4"


# -- Stintmint -----------------------------------------------------------------------


def stint_values(**more: Any) -> dict[str, Any]:
    return {"sf_id": "demo", "identifier": "form-1", **more}


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        (stint_values(), "d1_name", "at least one descriptor"),
        (stint_values(sf_id="../x", d1_name="note", d1_value="hi"), "sf_id", ""),
        (stint_values(identifier="a b", d1_name="note", d1_value="hi"), "identifier", ""),
        (stint_values(d1_name="a=b", d1_value="hi"), "d1_name", "not a valid descriptor name"),
        (stint_values(d2_value="hi"), "d2_name", "Name this descriptor"),
        (stint_values(d1_name="note"), "d1_value", "has no value"),
        (stint_values(d1_name="n", d1_value="x", batch_id="../b"), "batch_id", "batch id"),
        (stint_values(d1_name="n", d1_value="x", urgency="!!"), "urgency", "urgency"),
    ],
)
def test_stint_form_errors_stay_on_their_field(app, slack, sandbox, values, field, says):
    """Each wrong field answers ``response_action: errors`` on that field with the typed
    command's message; Stintmint is never called."""
    app.client.command("post", command="/stint", user_id="U1", channel_id="CF5")
    view = opened(slack, "stint_post_form")
    answer = submit(app, view, values, "U1")
    assert answer["response_action"] == "errors", answer
    assert field in answer["errors"] and says in answer["errors"][field]
    app.wait_quiet()
    assert vendor_posts(sandbox, "/stintmint", "/post") == 0


def test_stint_form_posts_typed_descriptors_as_the_submitter(app, slack, sandbox):
    """A valid form posts the request with each row's type, as the submitter, its card in
    the channel; Add a descriptor shows one more row; Re-run with changes prefills it."""
    app.client.command("post", command="/stint", user_id="U1", channel_id="CF5")
    view = opened(slack, "stint_post_form")
    assert "d4_name" not in elements(view)
    more = {"type": "button", "action_id": "stint_form_more", "value": "4"}
    payload = view_block_actions_payload(view, more, block_id="more", user_id="U1")
    app.client.post(interaction_body(payload), FORM)
    wait_for(lambda: "d4_name" in elements(slack.fake.views[view["id"]]), timeout=10)
    view = slack.fake.views[view["id"]]
    values = stint_values(
        d1_name="note",
        d1_value="check it",
        d2_name="photo",
        d2_type=("option", "IMAGE"),
        d2_value="https://example.com/p.jpg",
    )
    assert submit(app, view, values, "U1") == {}
    wait_for(lambda: vendor_posts(sandbox, "/stintmint", "/post") == 1, timeout=10)
    [job] = jobs_of(app, "U1")
    assert job.channel_id == "CF5" and job.params["identifier"] == "form-1"
    kinds = [(d["name"], d["type"]) for d in job.params["descriptors"]]
    assert kinds == [("note", "TEXT"), ("photo", "IMAGE")]
    app.client.click("stint_rerun_edit", job.id, user_id="U1", channel_id="CF5")
    again = opened(slack, "stint_post_form", before=1)
    fields = elements(again)
    assert fields["sf_id"]["initial_value"] == "demo"
    assert fields["d2_type"]["initial_option"]["value"] == "IMAGE"
    assert fields["d2_value"]["initial_value"] == "https://example.com/p.jpg"


# -- STOMT shortcut ------------------------------------------------------------------


def test_stomt_shortcut_form_stays_open_when_stomt_refuses(app, slack, sandbox):
    """The shortcut's form sent to a page STOMT does not know answers with the error on
    the target field (the form stays open with the text typed); nothing is posted, and
    the right page then sends it."""
    message = {"type": "message", "user": "U1", "ts": "1700000000.000900", "text": "CSV export"}
    body = message_shortcut_body("stomt_wish_from_message", message, channel_id="C77", user_id="U2")
    assert app.client.post(body, FORM).status_code == 200
    view = opened(slack, "stomt_wish_modal")
    values = {
        "text": "an export to CSV, please",
        "kind": ("option", "wish"),
        "target": "no-such-page",
    }
    answer = submit(app, view, values, "U2")
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["target"]
    assert "Target not found" in answer["errors"]["target"]
    assert slack.fake.calls_to("chat.postMessage") == []
    assert submit(app, view, {**values, "target": "chatops-hub"}, "U2") == {}
    wait_for(lambda: slack.fake.calls_to("chat.postMessage"), timeout=10)
    assert slack.fake.calls_to("chat.postMessage")[-1].args["thread_ts"] == "1700000000.000900"


def test_stomt_shortcut_replies_only_where_its_own_form_was_opened(app, slack, sandbox):
    """The shortcut's form with its metadata changed to name another channel is still
    sent, but the reply goes to the user directly, never to the channel it names; its
    field errors are plain text."""
    message = {"type": "message", "user": "U1", "ts": "1700000000.000901", "text": "Dark mode"}
    body = message_shortcut_body("stomt_wish_from_message", message, channel_id="C77", user_id="U2")
    app.client.post(body, FORM)
    view = opened(slack, "stomt_wish_modal")
    values = {"text": "dark mode", "kind": ("option", "wish"), "target": "not a slug!"}
    answer = submit(app, view, values, "U2")
    assert answer["errors"]["target"].startswith("\u201cnot a slug!\u201d")
    forged = {**view, "private_metadata": view["private_metadata"].replace("C77", "CSECRET")}
    assert submit(app, forged, {**values, "target": "chatops-hub"}, "U2") == {}
    reply = wait_for(lambda: slack.fake.calls_to("chat.postMessage"), timeout=10)[-1]
    assert reply.args["channel"] == "U2" and "sent this to STOMT" in reply.args["text"]
    app.wait_quiet()
    assert [c.args["channel"] for c in slack.fake.calls_to("chat.postMessage")] == ["U2"]


# -- every form ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "text", "callback_id", "pickers"),
    [
        ("/mint", "execute", "mint_execute_form", ["flow"]),
        ("/mindstamp", "video", "mindstamp_video_form", ["video"]),
        ("/flint", "run", "flint_run_form", ["flintbit"]),
        ("/stint", "post", "stint_post_form", []),
    ],
)
def test_a_bare_subcommand_opens_its_form(app, slack, sandbox, command, text, callback_id, pickers):
    """The subcommand with nothing after it answers with no usage and opens its form for
    the channel it was typed in; a picker over vendor objects is an external_select
    (typeahead), never a static list; nothing reaches the vendor."""
    response = app.client.command(text, command=command, user_id="U1", channel_id="CF1")
    assert response.status_code == 200 and "Usage" not in response.text
    view = opened(slack, callback_id)
    for block in pickers:
        picker = elements(view)[block]
        assert picker["type"] == "external_select" and "options" not in picker
    assert json.loads(view["private_metadata"])["c"] == "CF1"
    app.wait_quiet()
    vendors = ("/flint", "/mint", "/stintmint", "/mindstamp")
    assert not [c for path in vendors for c in mounted(sandbox, path).state.calls]


def test_a_form_runs_only_where_and_as_whom_it_was_opened(app, slack):
    """The channel a form runs in is sealed into it for its opener: metadata changed to
    name another channel, or a form submitted by someone it was not opened for, runs in
    the submitter's own space and posts nothing in any channel."""
    app.client.command("run", user_id="U1", channel_id="CF3")
    view = opened(slack, "flint_run_form")
    forged = {**view, "private_metadata": view["private_metadata"].replace("CF3", "CSECRET")}
    values = {"flintbit": ("option", "demo:hello.rb"), "inputs": "name=Ada"}
    assert submit(app, forged, values, "U1") == {}
    assert submit(app, view, values, "U3") == {}
    wait_for(lambda: jobs_of(app, "U1") and jobs_of(app, "U3"), timeout=10)
    app.wait_quiet()
    assert [j.channel_id for j in jobs_of(app, "U1")] == ["U1"]
    assert [j.channel_id for j in jobs_of(app, "U3")] == ["U3"]
    assert {m["channel"] for m in posted_cards(slack)} <= {"U1", "U3"}


def test_errors_about_blocks_the_form_lacks_go_under_its_first_field(app, slack, sandbox):
    """An error about a block the view does not show (Slack would refuse the whole
    answer) is shown under the form's first input instead."""
    app.client.command("post", command="/stint", user_id="U1", channel_id="CF5")
    view = opened(slack, "stint_post_form")
    state = {
        "sf_id": {"value": {"type": "plain_text_input", "value": "demo"}},
        "identifier": {"value": {"type": "plain_text_input", "value": "form-9"}},
        "d9_value": {"value": {"type": "plain_text_input", "value": "not shown"}},
    }
    body = view_submission_body("stint_post_form", state, user_id="U1", view=view)
    answer = app.client.post(body, FORM).json()
    assert list(answer["errors"]) == ["sf_id"] and "Name this descriptor" in str(answer)
    shown_as_errors(view, answer["errors"])
    assert vendor_posts(sandbox, "/stintmint", "/post") == 0


def test_options_count_against_the_users_requests_in_flight(app, slack, sandbox):
    """A user with as many requests in flight as allowed gets no options, and the
    vendor is not asked; with room again, the picker works."""
    app.client.command("execute", command="/mint", user_id="U1", channel_id="CF1")
    view = opened(slack, "mint_execute_form")
    work = app.runtime.deps.work
    listed = len(mounted(sandbox, "/mint").state.calls)
    work.per_user, allowed = 0, work.per_user
    try:
        assert suggest(app, view, "mint_form_flow", "onboard", "U1") == []
    finally:
        work.per_user = allowed
    assert len(mounted(sandbox, "/mint").state.calls) == listed
    assert [o["value"] for o in suggest(app, view, "mint_form_flow", "onboard", "U1")] == [
        ONBOARD_FLOW_ID
    ]


@pytest.mark.parametrize("kind", ["block_suggestion", "view_submission"])
def test_an_unsigned_form_request_causes_nothing(app, slack, sandbox, kind):
    """An options request or a form submission that does not carry Slack's signature is
    refused at the door: no options, no vendor call, nothing posted."""
    app.client.command("execute", command="/mint", user_id="U1", channel_id="CF1")
    view = opened(slack, "mint_execute_form")
    app.wait_quiet()
    before = len(mounted(sandbox, "/mint").state.calls), len(slack.fake.calls)
    if kind == "block_suggestion":
        body = block_suggestion_body("mint_form_flow", "", block_id="flow", view=view, user_id="U1")
    else:
        flow = {"mint_form_flow": {"selected_option": {"value": ONBOARD_FLOW_ID}}}
        body = view_submission_body("mint_execute_form", {"flow": flow}, user_id="U1", view=view)
    headers = {"Content-Type": FORM, **sign(body, "not-the-signing-secret")}
    response = app.http.post(app.url + "/slack/events", content=body, headers=headers)
    assert response.status_code == 401 and b"options" not in response.content
    app.wait_quiet()
    assert (len(mounted(sandbox, "/mint").state.calls), len(slack.fake.calls)) == before
    assert jobs_of(app, "U1") == []


def test_options_are_shaped_as_slack_takes_them():
    """An option's text is cut to 75 characters, its value never (a cut value would name
    something else): one Slack would refuse is left out, and at most 100 are offered."""
    long_text = forms.option("v", "t" * 200)
    assert long_text["text"]["text"] == "t" * 74 + "\u2026" and long_text["value"] == "v"
    too_long = forms.option("x" * 151)
    assert too_long["value"] == "x" * 151
    many = [forms.option(f"v{i}") for i in range(150)]
    assert forms.offered([too_long, forms.option("ok"), *many])[:2] == [
        forms.option("ok"),
        forms.option("v0"),
    ]
    assert len(forms.offered(many)) == 100


# -- Mindstamp -----------------------------------------------------------------------


def video_lists(sandbox) -> int:
    """How many times Mindstamp's list of videos was read."""
    calls = mounted(sandbox, "/mindstamp").state.calls
    return sum(1 for c in calls if c.path == "/mindstamp/videos")


def video_token(sandbox, title: str) -> str:
    videos = mounted(sandbox, "/mindstamp").state.sandbox.videos
    return next(token for token, v in videos.items() if v.title == title)


def test_bare_mindstamp_video_says_what_to_configure_without_mindstamp(tmp_path):
    """With Mindstamp not configured, `/mindstamp video` says what to set; no form opens."""
    with world(tmp_path, vendors=False) as running:
        response = running.app.client.command("video", command="/mindstamp", user_id="U1")
        assert "MINDSTAMP_TOKEN" in response.json()["text"]
        running.app.wait_quiet()
        assert running.slack.fake.calls_to("views.open") == []


def test_mindstamp_video_options_match_titles_and_respect_the_policy(app, slack, sandbox):
    """The picker offers the account's videos whose title (or id) holds what is typed,
    leaves out a video the policy denies this user, offers nothing to a user who may not
    look at videos at all, and answers a huge or hostile query at once."""
    app.client.command("video", command="/mindstamp", user_id="U1", channel_id="CF7")
    view = opened(slack, "mindstamp_video_form")
    found = suggest(app, view, "mindstamp_form_video", "ONBOARDING", "U1")
    onboarding = video_token(sandbox, "Onboarding: your first week")
    assert [(o["value"], o["text"]["text"]) for o in found] == [
        (onboarding, "Onboarding: your first week")
    ]
    by_id = suggest(app, view, "mindstamp_form_video", onboarding[2:9], "U1")
    assert [o["value"] for o in by_id] == [onboarding]
    everything = [o["value"] for o in suggest(app, view, "mindstamp_form_video", "", "U1")]
    assert onboarding in everything and len(everything) == 11  # 12 seeded, one denied
    assert EXAMPLE_VIDEO not in everything
    assert suggest(app, view, "mindstamp_form_video", "Interactive Video #12", "U1") == []
    assert suggest(app, view, "mindstamp_form_video", "onboarding", "U2") == []
    assert suggest(app, view, "mindstamp_form_video", "x" * 100_000, "U1") == []
    assert suggest(app, view, "mindstamp_form_video", "\u0000\u202e{", "U1") == []


def test_mindstamp_video_picker_reads_a_bounded_list_briefly_kept(tmp_path):
    """Mindstamp has no search: the picker reads at most 300 videos (3 calls) once for
    every keystroke and user of the next minute, none for a user who may not look at
    videos; a video beyond them is offered when its id is typed in full."""
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    with world(tmp_path, chatops_policy=str(policy)) as running:
        app, slack, sandbox = running.app, running.slack, running.sandbox
        mounted(sandbox, "/mindstamp").state.sandbox.add_videos(300)  # newer than the seed
        app.client.command("video", command="/mindstamp", user_id="U1", channel_id="CF8")
        view = opened(slack, "mindstamp_video_form")
        assert suggest(app, view, "mindstamp_form_video", "Generated", "U2") == []
        assert video_lists(sandbox) == 0
        found = suggest(app, view, "mindstamp_form_video", "Generated video 300", "U1")
        assert [o["text"]["text"] for o in found] == ["Generated video 300"]
        assert video_lists(sandbox) == 3
        assert len(suggest(app, view, "mindstamp_form_video", "generated", "U3")) == 25
        welcome = video_token(sandbox, "Welcome to ChatOps Hub")  # not among the 300 read
        typed = suggest(app, view, "mindstamp_form_video", welcome, "U1")
        assert [(o["value"], o["text"]["text"]) for o in typed] == [
            (welcome, f"Video id {welcome}")
        ]
        assert suggest(app, view, "mindstamp_form_video", EXAMPLE_VIDEO, "U1") == []
        assert video_lists(sandbox) == 3


def test_mindstamp_video_form_shows_the_video_in_the_channel(app, slack, sandbox):
    """A chosen video is shown as `/mindstamp video ID` shows it, to the submitter in the
    channel the form was opened in; no video or a bad id stays on the field, and a video
    the policy denies is refused as typed, Mindstamp never asked for it."""
    app.client.command("video", command="/mindstamp", user_id="U1", channel_id="CF7")
    view = opened(slack, "mindstamp_video_form")
    answer = submit(app, view, {}, "U1")
    assert answer["response_action"] == "errors" and "Choose a video" in answer["errors"]["video"]
    answer = submit(app, view, {"video": ("option", "../x")}, "U1")
    assert list(answer["errors"]) == ["video"] and "not a Mindstamp video id" in str(answer)
    assert submit(app, view, {"video": ("option", EXAMPLE_VIDEO)}, "U1") == {}
    wait_for(lambda: any("access policy" in t for t in ephemerals_to(slack, "U1")), timeout=10)
    app.wait_quiet()
    assert mounted(sandbox, "/mindstamp").state.calls == []
    welcome = video_token(sandbox, "Welcome to ChatOps Hub")
    assert submit(app, view, {"video": ("option", welcome)}, "U1") == {}
    shown = wait_for(
        lambda: [
            c.args
            for c in slack.fake.calls_to("chat.postEphemeral")
            if "Welcome to ChatOps Hub" in blocks_text(c.args.get("blocks"))
        ],
        timeout=10,
    )
    [card] = shown
    assert (card["channel"], card["user"]) == ("CF7", "U1")
    assert "Views" in blocks_text(card["blocks"]) and welcome in blocks_text(card["blocks"])
    assert slack.fake.calls_to("chat.postMessage") == []
