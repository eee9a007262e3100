"""App Home through the app in process (tests/inproc/harness.py): signed Events API
``app_home_opened`` requests, clicks in the published view and form submissions as Slack
sends them, the Slack fake's ``home_views`` as each user's page, the vendor sandboxes
counting what reached them, and an access policy that lets each user do different things."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from adapters.mint.sandbox import CONTRACT_FLOW_ID
from bot.devkit.slack_fake import block_problems
from bot.devkit.slack_requests import (
    app_home_opened_event,
    event_callback_body,
    interaction_body,
    view_block_actions_payload,
    view_submission_body,
)
from bot.policy import Policy, parse_rules
from bot.store.jobs import DONE, SUCCEEDED, NewJob, TrackedJob
from handlers.common.home_blocks import (
    DigestLine,
    JobLine,
    Page,
    QuickAction,
    VendorLine,
    home_view,
)
from tests.fakes.slack_api import posted_cards, wait_for
from tests.inproc.harness import World, world
from tests.scenario.harness import blocks_text, flint_sandbox_app

POLICY = """\
rules:
  - command: "*"
    users: [U0ALL, U0OTHER]
  - command: "flint *"
    users: [U1]
  - command: "stomt wish"
    users: [U1]
  - command: "mint *"
    usergroups: [S0MINT]
"""
FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One world for the module: the policy above, and Mindstamp left unconfigured."""
    tmp = tmp_path_factory.mktemp("home")
    policy = tmp / "policy.yml"
    policy.write_text(POLICY)
    with world(tmp, chatops_policy=str(policy), mindstamp_token="") as running:
        running.slack.fake.usergroups = {"S0MINT": ["U2"]}
        yield running


def open_home(app, user_id: str, tab: str = "home"):
    body = event_callback_body(app_home_opened_event(user_id, tab=tab))
    response = app.client.post(body, "application/json")
    assert response.status_code == 200
    return response


def publishes(slack, user_id: str) -> list:
    return [c for c in slack.fake.calls_to("views.publish") if c.args.get("user_id") == user_id]


def page(slack, user_id: str, after: int = 0, timeout: float = 10.0) -> dict[str, Any]:
    """The user's Home view once it has been published more than ``after`` times."""
    wait_for(lambda: len([c for c in publishes(slack, user_id) if c.ok]) > after, timeout=timeout)
    return slack.fake.home_views[user_id]


def buttons(view: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(block_id, element) for every button on the page."""
    found = []
    for block in view["blocks"]:
        elements = block.get("elements") if block["type"] == "actions" else [block.get("accessory")]
        for element in elements or []:
            if isinstance(element, dict) and element.get("type") == "button":
                found.append((block.get("block_id", ""), element))
    return found


def action_ids(view: dict[str, Any]) -> set[str]:
    return {element["action_id"] for _, element in buttons(view)}


def click(app, slack, user_id: str, action_id: str, value: str | None = None):
    """The user clicks the first button with this action id (and value) on their page."""
    view = slack.fake.home_views[user_id]
    block_id, element = next(
        (b, e)
        for b, e in buttons(view)
        if e["action_id"] == action_id and (value is None or e.get("value") == value)
    )
    payload = view_block_actions_payload(view, element, block_id=block_id, user_id=user_id)
    response = app.client.post(interaction_body(payload), FORM)
    assert response.status_code == 200
    return response


def submit(app, slack, user_id: str, values: dict[str, Any]):
    """Submit the form the user last opened, with ``values`` by block id."""
    view = wait_for(lambda: [v for v in slack.fake.views.values() if v["type"] == "modal"])[-1]
    state = {}
    for block_id, value in values.items():
        if block_id == "chatops_post_in":
            entry = {"type": "conversations_select", "selected_conversation": value}
        elif isinstance(value, dict):
            entry = value
        else:
            entry = {"type": "plain_text_input", "value": value}
        state[block_id] = {"value": entry}
    body = view_submission_body(view["callback_id"], state, user_id=user_id, view=view)
    response = app.client.post(body, FORM)
    assert response.status_code == 200
    return response


def flint_runs(sandbox) -> list:
    return [c for c in flint_sandbox_app(sandbox).state.calls if "/run/" in c.path]


# -- who sees what --------------------------------------------------------------------


def test_each_user_sees_their_own_jobs_and_the_quick_actions_the_policy_allows(fresh: World):
    """U1 may run Flint and STOMT wishes, U2 (in S0MINT) Mint: each page lists only that
    user's jobs, with Re-run and a link to the card where there is one, and only their
    quick actions; the STOMT form offers U1 "wish" alone."""
    app, slack = fresh.app, fresh.slack
    app.client.command("run demo:hello.rb", user_id="U1", channel_id="C0ONE")
    app.client.command(f"execute {CONTRACT_FLOW_ID}", command="/mint", user_id="U2")
    wait_for(lambda: len(posted_cards(slack)) == 2)
    app.wait_quiet()
    # A Flint job of U2's (from before the policy said otherwise): listed, never re-run.
    old = NewJob(vendor="flint", target="demo:old.rb", channel_id="C0TWO", user_id="U2")
    jobs = app.runtime.store.jobs
    row = app.run(jobs.create(old, deadline_at=0, start_grace=60))
    app.run(jobs.update(row.id, state=DONE, outcome=SUCCEEDED))
    open_home(app, "U1")
    open_home(app, "U2")
    mine, theirs = page(slack, "U1"), page(slack, "U2")

    assert "demo:hello.rb" in blocks_text(mine) and "Contract signing" not in blocks_text(mine)
    # The Mint job by its flow's title (as its card shows it), not the flow's UUID.
    assert "Contract signing" in blocks_text(theirs) and "demo:hello.rb" not in blocks_text(theirs)
    assert CONTRACT_FLOW_ID not in blocks_text(theirs)
    assert "demo:old.rb" in blocks_text(theirs) and "demo:old.rb" not in blocks_text(mine)
    assert "/archives/C0ONE/p" in blocks_text(mine)  # the card's permalink
    assert "flint_rerun" in action_ids(mine) and "flint_rerun" not in action_ids(theirs)
    forms = "chatops_home_form_"
    assert {a for a in action_ids(mine) if a.startswith(forms)} == {
        forms + "flint_run",
        forms + "stomt_post",
    }
    assert {a for a in action_ids(theirs) if a.startswith(forms)} == {forms + "mint_execute"}

    click(app, slack, "U1", forms + "stomt_post")
    modal = wait_for(lambda: [v for v in slack.fake.views.values() if v["type"] == "modal"])[-1]
    kind = next(b for b in modal["blocks"] if b.get("block_id") == "kind")
    assert [o["value"] for o in kind["element"]["options"]] == ["wish"]


def test_re_run_on_the_page_runs_the_job_again_in_its_channel(fresh: World):
    """Flint's own Re-run button, clicked on Home (no channel, no response URL)."""
    app, slack, sandbox = fresh.app, fresh.slack, fresh.sandbox
    app.client.command("run demo:hello.rb name=Ada", user_id="U1", channel_id="C0ONE")
    app.wait_quiet()
    open_home(app, "U1")
    page(slack, "U1")
    [job] = app.run(app.runtime.store.jobs.recent_for_user("U1", 10))
    click(app, slack, "U1", "flint_rerun", job.id)
    app.wait_quiet()
    _first, again = posted_cards(slack)
    assert again["channel"] == "C0ONE" and "Hello, Ada!" in blocks_text(again["blocks"])
    assert len(flint_runs(sandbox)) == 2


def test_a_re_run_that_fails_on_the_page_is_told_to_the_user_by_dm(fresh: World):
    """Home has no response URL: what the re-run answers (here: the app cannot post in
    the job's channel any more) reaches the user in a direct message, not nowhere."""
    app, slack = fresh.app, fresh.slack
    app.client.command("run demo:hello.rb", user_id="U1", channel_id="C0GONE")
    app.wait_quiet()
    [job] = app.run(app.runtime.store.jobs.recent_for_user("U1", 10))
    slack.fake.inaccessible_channels.add("C0GONE")
    try:
        open_home(app, "U1")
        page(slack, "U1")
        click(app, slack, "U1", "flint_rerun", job.id)
        app.wait_quiet()
    finally:
        slack.fake.inaccessible_channels.discard("C0GONE")
    told = [
        call.args
        for call in slack.fake.calls_to("chat.postMessage")
        if call.ok and call.args.get("channel") == "U1"
    ]
    assert told and "`not_in_channel`" in str(told[-1].get("text")), told


def test_unconfigured_vendor_shows_the_variables_to_set_and_no_quick_action(fresh: World):
    """Mindstamp has its URL (the sandbox's) but no token: the page says what to set."""
    app, slack = fresh.app, fresh.slack
    open_home(app, "U0ALL")
    text = blocks_text(page(slack, "U0ALL"))
    assert (
        "*Mindstamp* — MINDSTAMP_TOKEN is not set (MINDSTAMP_URL is); set MINDSTAMP_TOKEN" in text
    )
    assert "*Flint* — configured and reachable" in text
    assert "chatops_home_form_mindstamp_summary" not in action_ids(page(slack, "U0ALL"))
    assert "chatops_home_form_flint_run" in action_ids(page(slack, "U0ALL"))


def test_the_messages_tab_is_ignored(fresh: World):
    app, slack = fresh.app, fresh.slack
    open_home(app, "U0ALL", tab="messages")
    app.wait_quiet()
    assert slack.fake.calls_to("views.publish") == [] and "U0ALL" not in slack.fake.home_views


# -- keeping it current ---------------------------------------------------------------


def test_a_job_ending_refreshes_its_owners_page_once_and_nobody_elses(fresh: World):
    """Three jobs ending together: one publish for their owner, none for another user who
    also has a page."""
    app, slack = fresh.app, fresh.slack
    open_home(app, "U0ALL")
    open_home(app, "U0OTHER")
    page(slack, "U0ALL")
    page(slack, "U0OTHER")
    for n in range(3):
        # Each in its own channel: final cards in one channel take turns a second apart
        # (bot/pacing.py), and these three are to end together.
        app.client.command(
            f"run demo:slow.rb seconds=1 n={n}", user_id="U0ALL", channel_id=f"C0JOBS{n}"
        )
    refreshed = page(slack, "U0ALL", after=1)
    app.wait_quiet()
    assert blocks_text(refreshed).count("demo:slow.rb") == 3
    assert "succeeded" in blocks_text(slack.fake.home_views["U0ALL"])
    assert len(publishes(slack, "U0ALL")) == 2
    assert len(publishes(slack, "U0OTHER")) == 1


def test_refresh_shows_what_changed_and_off_ends_the_digest(fresh: World):
    """A digest subscribed after the page was published shows on Refresh, with Off; Off
    turns it off through `/stomt digest off`'s own code and the page drops it."""
    app, slack = fresh.app, fresh.slack
    open_home(app, "U0ALL")
    assert "C0NEWS" not in blocks_text(page(slack, "U0ALL"))
    app.client.command("digest daily", command="/stomt", user_id="U0ALL", channel_id="C0NEWS")
    wait_for(lambda: app.run(app.runtime.digests.subscriptions("C0NEWS")))

    click(app, slack, "U0ALL", "chatops_home_refresh")
    refreshed = page(slack, "U0ALL", after=1)
    assert "<#C0NEWS>" in blocks_text(refreshed)
    click(app, slack, "U0ALL", "chatops_home_digest_off", "stomt C0NEWS")
    after_off = page(slack, "U0ALL", after=2)
    assert app.run(app.runtime.digests.subscriptions("C0NEWS")) == []
    assert "C0NEWS" not in blocks_text(after_off)
    told = wait_for(lambda: [e for e in slack.fake.ephemeral if e["channel"] == "C0NEWS"])
    assert "digest for this channel is off" in told[-1]["text"]


def test_off_is_offered_only_where_the_policy_allows_it(fresh: World):
    """U1 may not run `stomt digest`: their subscription shows, without Off."""
    app, slack = fresh.app, fresh.slack
    app.run(
        app.runtime.digests.subscribe(
            "stomt", "C0MINE", frequency="weekly", at_time="08:00", user_id="U1"
        )
    )
    open_home(app, "U1")
    view = page(slack, "U1")
    assert "<#C0MINE>" in blocks_text(view) and "Mondays at 08:00" in blocks_text(view)
    assert "chatops_home_digest_off" not in action_ids(view)


def test_a_rate_limited_publish_waits_for_retry_after(fresh: World):
    """views.publish answering 429 (past the client's own retries): the page is published
    again only after the Retry-After Slack gave."""
    app, slack = fresh.app, fresh.slack
    slack.fake.fail_next("views.publish", retry_after=3, times=3)
    open_home(app, "U0ALL")
    page(slack, "U0ALL", timeout=20)
    calls = publishes(slack, "U0ALL")
    assert [c.ok for c in calls] == [False, False, False, True]
    assert calls[3].at - calls[2].at >= 2.9


# -- quick actions --------------------------------------------------------------------


def test_a_quick_action_form_runs_the_command_as_its_user_where_they_chose(fresh: World):
    app, slack, sandbox = fresh.app, fresh.slack, fresh.sandbox
    open_home(app, "U1")
    page(slack, "U1")
    click(app, slack, "U1", "chatops_home_form_flint_run")
    modal = wait_for(lambda: [v for v in slack.fake.views.values() if v["type"] == "modal"])[-1]
    assert [b.get("block_id") for b in modal["blocks"] if b["type"] == "input"] == [
        "flintbit",
        "inputs",
        "chatops_post_in",
    ]
    response = submit(
        app,
        slack,
        "U1",
        {
            "flintbit": "demo:hello.rb",
            "inputs": "name=Ada &amp; <Bob>",
            "chatops_post_in": "C0FORM",
        },
    )
    assert not response.content or "errors" not in response.json()
    wait_for(lambda: flint_runs(sandbox))
    app.wait_quiet()
    [card] = posted_cards(slack)
    assert card["channel"] == "C0FORM" and "<@U1>" in blocks_text(card["blocks"])
    # The input exactly as typed (an entity in it is text, not markup), escaped on the card.
    assert "Hello, Ada &amp;amp; &lt;Bob&gt;!" in blocks_text(card["blocks"])
    assert len(flint_runs(sandbox)) == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"flintbit": "no-colon"}, "flintbit"),
        ({"flintbit": "demo:hello.rb", "inputs": '{"broken": '}, "inputs"),
    ],
)
def test_a_bad_form_shows_the_error_on_its_field(fresh: World, values, field):
    app, slack, sandbox = fresh.app, fresh.slack, fresh.sandbox
    open_home(app, "U1")
    page(slack, "U1")
    click(app, slack, "U1", "chatops_home_form_flint_run")
    response = submit(app, slack, "U1", {**values, "chatops_post_in": "C0FORM"})
    answer = response.json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == [field]
    app.wait_quiet()
    assert flint_runs(sandbox) == [] and slack.fake.calls_to("chat.postMessage") == []
    assert slack.fake.calls_to("chat.postEphemeral") == []


# -- the page itself ------------------------------------------------------------------


def test_the_page_keeps_within_slacks_limits_and_shows_vendor_text_inert():
    """However much there is, the page is at most 100 valid blocks; a hostile target,
    status, schedule or vendor error is shown as text, never as a mention or a link."""
    hostile = "<!channel> <https://evil.example|click> `x`"
    job = TrackedJob(
        id="j" * 32, vendor="flint", target=hostile, params={}, channel_id="C1", user_id="U1",
        state="active", created_at=1.7e9, updated_at=1.7e9, deadline_at=2e9,
        vendor_status=hostile,
    )  # fmt: skip
    many = Page(
        jobs=[JobLine(job, "Flint", "https://x.slack.com/archives/C1/p1", None)] * 60,
        digests=[DigestLine("STOMT", "C1", hostile, "stomt C1")] * 60,
        more_digests=3,
        vendors=[VendorLine("Flint", True, "FLINT_URL", "", problem=hostile)],
        actions=[QuickAction(f"step{n}", "Run") for n in range(30)],
    )
    view = home_view(many)
    assert block_problems(view["blocks"], 100) == [] and len(view["blocks"]) == 100
    text = blocks_text(view)
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt;" in text


def _line(**fields: Any) -> JobLine:
    job = TrackedJob(
        id="j1", vendor="mint", target=CONTRACT_FLOW_ID, params={}, channel_id="C1",
        user_id="U1", state="active", created_at=1.7e9, updated_at=1.7e9, deadline_at=2e9,
    )  # fmt: skip
    return JobLine(replace(job, **fields), "Signicat Mint", None, None)


def _job_text(line: JobLine) -> str:
    page = Page(jobs=[line], digests=[], more_digests=0, vendors=[], actions=[])
    return blocks_text(home_view(page)["blocks"][3])


@pytest.mark.parametrize(
    ("fields", "shown", "not_shown"),
    [
        # The vendor's status is said once, not "running (running)" ...
        ({"vendor_status": "Running"}, ":arrows_counterclockwise: running ·", "(Running)"),
        # ... and kept where it says more than the state word.
        ({"vendor_status": "queued"}, "running (queued)", None),
        # A recorded title stands for the id; hostile, it stays text.
        ({"params": {"title": "<!here> KYC"}}, "*Signicat Mint* &lt;!here&gt; KYC ·", "0b1e"),
        # No title (or the id itself, as a job records when the lookup failed): the id.
        ({"params": {"title": CONTRACT_FLOW_ID}}, f"`{CONTRACT_FLOW_ID}`", None),
        ({"outcome": SUCCEEDED}, f"`{CONTRACT_FLOW_ID}` · :white_check_mark: succeeded", None),
    ],
)
def test_a_job_line_shows_the_title_and_the_status_once(fields, shown, not_shown):
    text = _job_text(_line(**fields))
    assert shown in text, text
    assert not_shown is None or not_shown not in text, text


def test_a_form_under_an_approval_rule_is_posted_for_approval_where_they_chose(fresh: World):
    """Home is nowhere: the approvers are asked in the channel the form names, exactly as
    for the command typed there, and once approved it runs there, as the form's user."""
    app, slack, sandbox = fresh.app, fresh.slack, fresh.sandbox
    runtime = app.runtime
    before = runtime.deps.policy
    rules = 'rules:\n  - command: "flint run"\n    approvers: {users: [U0LEAD]}\n  - command: "*"\n'
    runtime.deps.policy = Policy(parse_rules(rules, "p.yml"), source="p.yml")
    try:
        open_home(app, "U1")
        page(slack, "U1")
        click(app, slack, "U1", "chatops_home_form_flint_run")
        submit(app, slack, "U1", {"flintbit": "demo:hello.rb", "chatops_post_in": "C0FORM"})
        card = wait_for(
            lambda: [m for m in slack.fake.messages.values() if m["text"].startswith("Approval")]
        )[0]
        assert card["channel"] == "C0FORM" and "/flint run demo:hello.rb" in card["text"]
        [told] = wait_for(lambda: slack.fake.ephemeral)
        assert (told["channel"], told["user"]) == ("C0FORM", "U1") and "Waiting" in told["text"]
        app.wait_quiet()
        assert flint_runs(sandbox) == []
        approve = next(
            element["value"]
            for block in card["blocks"]
            if block["type"] == "actions"
            for element in block["elements"]
            if element["action_id"] == "chatops_approval_approve"
        )
        app.client.click(
            "chatops_approval_approve",
            approve,
            user_id="U0LEAD",
            channel_id="C0FORM",
            message_ts=card["ts"],
        )
        wait_for(lambda: flint_runs(sandbox))
        app.wait_quiet()
    finally:
        runtime.deps.policy = before
    [run_card] = [m for m in posted_cards(slack) if not m["text"].startswith("Approval")]
    assert run_card["channel"] == "C0FORM" and "<@U1>" in blocks_text(run_card["blocks"])
    assert len(flint_runs(sandbox)) == 1


def test_re_run_on_the_page_is_decided_for_the_jobs_channel(fresh: World):
    """A Re-run runs in the job's channel, so a rule about that channel decides it, on
    the page (the button is not offered) and when the click comes anyway (refused, nothing
    runs): Home is no way around a channel's rules."""
    app, slack, sandbox = fresh.app, fresh.slack, fresh.sandbox
    runtime = app.runtime
    app.client.command("run demo:hello.rb", user_id="U1", channel_id="C0PROD")
    app.wait_quiet()
    [job] = app.run(runtime.store.jobs.recent_for_user("U1", 10))
    before = runtime.deps.policy
    rules = (
        'rules:\n  - command: "flint run"\n    channels: [C0PROD]\n    allow: false\n'
        '  - command: "*"\n'
    )
    runtime.deps.policy = Policy(parse_rules(rules, "p.yml"), source="p.yml")
    try:
        app.wait_quiet()
        earlier = len([c for c in publishes(slack, "U1") if c.ok])  # U1 opened Home before
        open_home(app, "U1")
        assert "flint_rerun" not in action_ids(page(slack, "U1", after=earlier))
        view = slack.fake.home_views["U1"]
        element = {"action_id": "flint_rerun", "value": job.id, "type": "button"}
        payload = view_block_actions_payload(view, element, block_id="forged", user_id="U1")
        assert app.client.post(interaction_body(payload), FORM).status_code == 200
        app.wait_quiet()
    finally:
        runtime.deps.policy = before
    assert len(flint_runs(sandbox)) == 1  # only the first run
    [denied] = [e for e in app.run(runtime.store.audit.entries(limit=10)) if e.outcome == "denied"]
    assert (denied.channel_id, denied.command) == ("C0PROD", "flint run")


def test_a_long_retry_after_puts_pages_off_for_every_user_and_then_publishes_them(
    fresh: World, monkeypatch
):
    """views.publish is limited per app: a 429 longer than MAX_DEFER holds every user's
    page, and each is published once when the wait is over (never dropped)."""
    from handlers.common import home as home_module

    monkeypatch.setattr(home_module, "MAX_DEFER", 0.5)
    app, slack = fresh.app, fresh.slack
    slack.fake.fail_next("views.publish", retry_after=2, times=3)
    open_home(app, "U0ALL")
    wait_for(lambda: len(publishes(slack, "U0ALL")) >= 3, timeout=15)
    open_home(app, "U0OTHER")  # within the wait: put off too, not sent to Slack now
    page(slack, "U0OTHER", timeout=15)
    page(slack, "U0ALL", timeout=15)
    app.wait_quiet()
    assert [c.ok for c in publishes(slack, "U0ALL")] == [False, False, False, True]
    [other] = publishes(slack, "U0OTHER")
    assert other.ok and other.at - publishes(slack, "U0ALL")[2].at >= 1.9


def test_a_form_field_is_its_own_field_never_an_option(fresh: World):
    """What a quick-action form's field holds is that field: a STOMT text with
    ``--target`` and quotes in it is posted exactly so, to the default target, and a
    Flint Inputs line ``--sync`` is refused on its field, nothing run."""
    from tests.fakes.servers import mounted_app

    app, slack, sandbox = fresh.app, fresh.slack, fresh.sandbox
    stomts = mounted_app(sandbox, "/stomt").state.sandbox.stomts
    known = set(stomts)
    open_home(app, "U1")
    page(slack, "U1")
    click(app, slack, "U1", "chatops_home_form_flint_run")
    values = {"flintbit": "demo:hello.rb", "inputs": "name=Ada\n--sync", "chatops_post_in": "C0F"}
    answer = submit(app, slack, "U1", values).json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["inputs"]
    assert "Did not understand \u201c--sync\u201d" in answer["errors"]["inputs"]  # plain text
    click(app, slack, "U1", "chatops_home_form_stomt_post")
    wait_for(
        lambda: [v for v in slack.fake.views.values() if v["callback_id"].endswith("stomt_post")]
    )
    text = 'please fix --target other-page, it\'s "urgent"'
    response = submit(app, slack, "U1", {"text": text, "chatops_post_in": "C0FORM"})
    assert not response.content or "errors" not in response.json()
    [stomt] = wait_for(lambda: [s for key, s in list(stomts.items()) if key not in known])
    assert (stomt.text, stomt.target_id) == (text, app.runtime.deps.settings.stomt_target)
    app.wait_quiet()
    assert flint_runs(sandbox) == []


def test_a_stintmint_form_without_descriptors_says_so_on_the_descriptors_field(
    fresh: World,
):
    """The error names no filled-in field: it goes on the field it is about, not on the
    first one of the form."""
    app, slack = fresh.app, fresh.slack
    app.wait_quiet()
    earlier = len([c for c in publishes(slack, "U0ALL") if c.ok])
    open_home(app, "U0ALL")
    page(slack, "U0ALL", after=earlier)
    click(app, slack, "U0ALL", "chatops_home_form_stint_post")
    values = {"sf_id": "sf-demo", "identifier": "order-1", "chatops_post_in": "C0FORM"}
    answer = submit(app, slack, "U0ALL", values).json()
    assert answer["response_action"] == "errors" and list(answer["errors"]) == ["descriptors"]
    assert "descriptor" in answer["errors"]["descriptors"]
