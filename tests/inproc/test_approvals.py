"""Two-person approvals (a policy rule's ``approvers``) through the app in process
(tests/inproc/harness.py): signed commands, clicks and form submissions into the app, the
Slack fake for user groups, cards and answers, the vendor sandboxes counting what reached
them, and the approvals and audit log in the real state store."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.mint.sandbox import ONBOARD_FLOW_ID
from bot.devkit.slack_requests import event_callback_body
from bot.policy import Policy, parse_rules
from bot.store.schema import approvals, jobs
from handlers.common.approve import START_GRACE
from tests.fakes.slack_api import posted_cards, view_submission_body, wait_for
from tests.inproc.harness import World, servers
from tests.scenario.harness import blocks_text, flint_sandbox_app, mounted_app

APPROVE = "chatops_approval_approve"
REJECT = "chatops_approval_reject"
CHANNEL = "C0OPS"

POLICY = """\
rules:
  # one approval, by the lead or anyone in the SRE group
  - command: "flint run"
    target: "demo:hello.rb"
    approvers: {users: [U0LEAD], usergroups: [S0SRE]}
  # two approvals, by two different people of the two named
  - command: "flint run"
    target: "demo:echo.rb"
    approvers:
      users: [U0LEAD, U0OPS]
    approvals: 2
  - command: "flint result"
    approvers: {users: [U0LEAD]}
  - command: "stomt delete"
    approvers: {users: [U0LEAD]}
  - command: "mint execute"
    approvers: {users: [U0LEAD]}
  - command: "*"
"""


@pytest.fixture(scope="module")
def shared_servers():
    with servers() as running:
        running.slack.fake.usergroups = {"S0SRE": ["U0SRE1", "U0SRE2"]}
        yield running


@pytest.fixture(scope="module")
def module_app(shared_servers, tmp_path_factory):
    path = tmp_path_factory.mktemp("approvals")
    (path / "policy.yml").write_text(POLICY)
    with shared_servers.app(path, chatops_policy=str(path / "policy.yml")) as running:
        yield running


@pytest.fixture
def app(shared_servers, module_app):
    World(shared_servers, module_app).reset()
    return module_app


@pytest.fixture
def slack(shared_servers):
    return shared_servers.slack


@pytest.fixture
def sandbox(shared_servers):
    return shared_servers.sandbox


# -- helpers ----------------------------------------------------------------------------


def flint_runs(sandbox) -> int:
    return sum(1 for c in flint_sandbox_app(sandbox).state.calls if c.method == "POST")


def entries(app) -> list[Any]:
    return app.run(app.runtime.store.audit.entries())


def outcomes(app) -> list[tuple[str, str]]:
    return [(e.user_id, e.outcome) for e in entries(app)]


def approval_cards(slack) -> list[dict]:
    """The approval cards the app posted (for everyone in the channel), oldest first."""
    found = [m for m in slack.fake.messages.values() if m["text"].startswith("Approval needed")]
    return sorted(found, key=lambda m: m["ts"])


def approval_card(slack, n: int = 0) -> dict:
    wait_for(lambda: len(approval_cards(slack)) > n, message=lambda: str(slack.fake.calls))
    return approval_cards(slack)[n]


def buttons(card: dict) -> dict[str, str]:
    """The card's buttons: action id → value."""
    return {
        element["action_id"]: element["value"]
        for block in card["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
    }


def click(app, action_id: str, card: dict, user: str, **kw: Any) -> None:
    """``user`` clicks ``action_id`` on the card as it was posted (a click on a card that
    has changed since, e.g. in a client not yet updated, sends the same value)."""
    kw.setdefault("channel_id", card["channel"])
    app.client.click(action_id, buttons(card)[action_id], user_id=user, message_ts=card["ts"], **kw)


def said_to(slack) -> list[str]:
    """What the app answered on response URLs (to whoever clicked or typed)."""
    return [r["text"] for r in slack.fake.responses]


def ask(app, slack, text: str, user: str = "U1", n: int = 0) -> dict:
    """``/flint <text>`` by ``user`` in the ops channel; the approval card it posted."""
    reply = app.client.command(text, user_id=user, channel_id=CHANNEL)
    assert reply.status_code == 200
    card = approval_card(slack, n)
    wait_for(lambda: any("Waiting for approval" in t for t in said_to(slack)))
    return card


def current(slack, card: dict) -> dict:
    return slack.fake.messages[(card["channel"], card["ts"])]


def job_users(app) -> list[str]:
    async def query() -> list[str]:
        async with app.runtime.store.engine.connect() as conn:
            return list((await conn.execute(sa.select(jobs.c.user_id))).scalars())

    return app.run(query())


# -- asking -----------------------------------------------------------------------------


def test_a_held_request_is_posted_for_everyone_and_runs_once_as_the_requester(app, slack, sandbox):
    """The card names who asked and exactly what will run; the requester cannot approve
    it; one approver's click runs it once, as the requester, where it was asked; a
    replayed click and a second click by the same approver change nothing."""
    card = ask(app, slack, 'run demo:hello.rb {"name": "Ada"}')
    shown = blocks_text(card["blocks"])
    assert card["channel"] == CHANNEL
    assert '/flint run demo:hello.rb {\\"name\\": \\"Ada\\"}' in shown and "<@U1>" in shown
    assert "<@U0LEAD>" in shown and "<!subteam^S0SRE>" in shown and "<!date^" in shown
    assert set(buttons(card)) == {APPROVE, REJECT}
    assert not slack.fake.ephemeral  # the card itself is no ephemeral message
    app.wait_quiet()
    assert flint_runs(sandbox) == 0

    click(app, APPROVE, card, "U1")
    wait_for(lambda: "cannot approve your own request" in said_to(slack)[-1])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0 and buttons(current(slack, card))

    click(app, APPROVE, card, "U0LEAD", trigger_id="7.7.replayed")
    wait_for(lambda: flint_runs(sandbox) == 1)
    click(app, APPROVE, card, "U0LEAD", trigger_id="7.7.replayed")  # the same payload again
    click(app, APPROVE, card, "U0LEAD")  # the same approver, a new click
    wait_for(lambda: "was approved already" in said_to(slack)[-1])
    app.wait_quiet()
    assert flint_runs(sandbox) == 1
    assert job_users(app) == ["U1"]  # run as the requester, not as the approver
    [run_card] = [m for m in posted_cards(slack) if not m["text"].startswith("Approval")]
    assert run_card["channel"] == CHANNEL

    final = current(slack, card)
    shown = blocks_text(final["blocks"])
    assert not buttons(final) and "Approved by <@U0LEAD> <!date^" in shown
    assert "*Approved*" in shown
    [*_, ok] = wait_for(lambda: (found := entries(app)) and found[-1].outcome == "ok" and found)
    assert (ok.user_id, ok.command, ok.target) == ("U1", "flint run", "demo:hello.rb")
    assert outcomes(app) == [
        ("U1", "approval requested"),
        ("U1", "self-approval refused"),
        ("U0LEAD", "approved"),
        ("U1", "ok"),
    ]


def test_the_card_hides_secrets_from_the_channel_but_the_held_request_runs(app, slack, sandbox):
    """The whole channel sees the card: values that look like secrets are hidden there
    (as in the audit log), while what runs is the request as typed."""
    card = ask(app, slack, 'run demo:hello.rb password=hunter2hunter2 {"api_key": "k-123456"}')
    shown = json.dumps(card)
    assert "hunter2hunter2" not in shown and "k-123456" not in shown
    assert "password=[redacted]" in shown and '\\"api_key\\": \\"[redacted]\\"' in shown
    click(app, APPROVE, card, "U0LEAD")
    wait_for(lambda: flint_runs(sandbox) == 1)

    async def inputs() -> list[Any]:
        async with app.runtime.store.engine.connect() as conn:
            return list((await conn.execute(sa.select(jobs.c.params))).scalars())

    [params] = app.run(inputs())
    assert params["input"] == {"password": "hunter2hunter2", "api_key": "k-123456"}


def test_two_approvals_need_two_different_approvers(app, slack, sandbox):
    """`approvals: 2`: the same approver twice counts once, someone not named does not
    count, and the second different approver's click runs it."""
    card = ask(app, slack, "run demo:echo.rb")
    assert "Needs 2 approvals" in blocks_text(card["blocks"])
    click(app, APPROVE, card, "U0LEAD")
    wait_for(lambda: "Approved by <@U0LEAD>" in blocks_text(current(slack, card)["blocks"]))
    click(app, APPROVE, card, "U0LEAD")  # counts once
    wait_for(lambda: "approved this already; it waits for 1 more" in said_to(slack)[-1])
    click(app, APPROVE, card, "U0SRE1")  # in S0SRE, but this rule names two users only
    wait_for(lambda: "not one of the approvers" in said_to(slack)[-1])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0 and buttons(current(slack, card))
    click(app, APPROVE, card, "U0OPS")
    wait_for(lambda: flint_runs(sandbox) == 1)
    app.wait_quiet()
    assert flint_runs(sandbox) == 1
    shown = blocks_text(current(slack, card)["blocks"])
    assert "Approved by <@U0LEAD>" in shown and "Approved by <@U0OPS>" in shown
    approved = [e for e in entries(app) if e.outcome == "approved"]
    assert [(e.user_id, e.detail.split(";")[0]) for e in approved] == [
        ("U0LEAD", "1 of 2"),
        ("U0OPS", "2 of 2"),
    ]


def test_a_user_group_member_may_approve_and_anyone_else_is_refused(app, slack, sandbox):
    """Approvers by user group are looked up in Slack; a user in no group and not named
    is refused, and audited."""
    card = ask(app, slack, "run demo:hello.rb")
    click(app, APPROVE, card, "U9")
    wait_for(lambda: "not one of the approvers" in said_to(slack)[-1])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0
    click(app, APPROVE, card, "U0SRE2")
    wait_for(lambda: flint_runs(sandbox) == 1)
    assert ("U9", "approval refused") in outcomes(app)
    assert ("U0SRE2", "approved") in outcomes(app)


def test_simultaneous_approvals_each_count_and_it_runs_once(app, slack, sandbox):
    """Two approvers clicking at the same moment: both decisions are kept (neither write
    overwrites the other), and the one whose write completed it runs it, once."""
    card = ask(app, slack, "run demo:echo.rb")
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda user: click(app, APPROVE, card, user), ["U0LEAD", "U0OPS"]))
    wait_for(lambda: flint_runs(sandbox) == 1, message=lambda: str(said_to(slack)))
    app.wait_quiet()
    assert flint_runs(sandbox) == 1
    assert sorted(u for u, o in outcomes(app) if o == "approved") == ["U0LEAD", "U0OPS"]


def test_the_store_decides_and_closes_by_compare_and_set(app, slack):
    """The store itself, as two processes would use it: a decision written from a stale
    read is refused (the caller reads again), so neither overwrites the other's approval;
    of two sweeps that both found it expired, one closes it; and a decision read before
    the expiry but written after it is refused."""
    ask(app, slack, "run demo:echo.rb")
    ask(app, slack, "run demo:hello.rb", n=1)
    store = app.runtime.store.approvals

    async def race() -> dict[str, Any]:
        first, second = await _open_rows(app)
        seen: dict[str, Any] = {
            "first": await store.decide(first, "U0LEAD", "approve"),
            "stale": await store.decide(first, "U0OPS", "approve"),
            "now": await store.get(first.id),
        }
        await _age(app, second.id)
        seen["late"] = await store.decide(second, "U0LEAD", "approve", close="approved")
        replica_a, replica_b = await store.expired(), await store.expired()
        assert [a.id for a in replica_a] == [b.id for b in replica_b] == [second.id]
        seen["closed"] = [await store.close(second.id, "expired") for _ in (replica_a, replica_b)]
        return seen

    seen = app.run(race())
    assert seen["first"] is not None and seen["stale"] is None
    assert seen["now"].approved_by == ("U0LEAD",) and seen["now"].version == 1
    assert seen["late"] is None
    closed, again = seen["closed"]
    assert closed.state == "expired" and closed.request == {} and again is None


async def _age(app, approval_id: str) -> None:
    async with app.runtime.store.engine.begin() as conn:
        await conn.execute(
            sa.update(approvals)
            .where(approvals.c.id == approval_id)
            .values(expires_at=time.time() - 1)
        )


async def _open_rows(app) -> list[Any]:
    query = sa.select(approvals.c.id).order_by(approvals.c.created_at)
    async with app.runtime.store.engine.connect() as conn:
        ids = (await conn.execute(query)).scalars().all()
    return [await app.runtime.store.approvals.get(i) for i in ids]


@pytest.mark.parametrize(
    ("user", "channel", "says"),
    [
        # U0LEAD is the rule's only approver, and never approves their own request.
        ("U0LEAD", CHANNEL, "too few approvers besides you: it could never be approved"),
        # In a direct message no approver would see the card.
        ("U1", "D0DIRECT", "approvers can only be asked in a channel"),
    ],
)
def test_a_request_no_one_could_approve_is_refused_at_once(
    app, slack, sandbox, user, channel, says
):
    """A request nobody could ever approve is not posted: the requester is told why."""
    app.client.command("result job-1", user_id=user, channel_id=channel)
    wait_for(lambda: slack.fake.responses)
    assert says in said_to(slack)[-1] and "Nothing was run" in said_to(slack)[-1]
    app.wait_quiet()
    assert approval_cards(slack) == [] and len(flint_sandbox_app(sandbox).state.calls) == 0
    assert outcomes(app) == [(user, "approval not asked")]


def test_a_confirmation_click_is_no_approval(app, slack, sandbox):
    """A request held for its requester's Confirm, when the policy has come to need
    approval meanwhile: the Confirm click posts it for approval instead of running it."""
    runtime = app.runtime
    approving = runtime.deps.policy
    confirming = Policy(
        parse_rules('rules:\n  - command: "*"\n    confirm: true\n', "p.yml"), source="p.yml"
    )
    runtime.deps.policy = confirming
    try:
        app.client.command("run demo:hello.rb", user_id="U1", channel_id=CHANNEL)
        prompt = wait_for(lambda: slack.fake.responses)[-1]
    finally:
        runtime.deps.policy = approving
    confirm = next(
        element["value"]
        for block in prompt["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element["action_id"] == "chatops_policy_confirm"
    )
    app.client.click("chatops_policy_confirm", confirm, user_id="U1", channel_id=CHANNEL)
    card = approval_card(slack)
    app.wait_quiet()
    assert flint_runs(sandbox) == 0
    click(app, APPROVE, card, "U0LEAD")
    wait_for(lambda: flint_runs(sandbox) == 1)


# -- rejecting, withdrawing, expiring ----------------------------------------------------


def test_an_approver_rejects_it_and_nothing_runs(app, slack, sandbox):
    """One approver's Reject closes it: the card says who and when, and a later Approve
    finds it rejected."""
    card = ask(app, slack, "run demo:hello.rb")
    click(app, REJECT, card, "U9")  # not an approver: cannot reject either
    wait_for(lambda: "not one of the approvers" in said_to(slack)[-1])
    click(app, REJECT, card, "U0SRE1")
    wait_for(lambda: not buttons(current(slack, card)))
    shown = blocks_text(current(slack, card)["blocks"])
    assert "Rejected by <@U0SRE1> <!date^" in shown and "*Rejected*" in shown
    click(app, APPROVE, card, "U0LEAD")
    wait_for(lambda: "was rejected" in said_to(slack)[-1])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0
    assert outcomes(app) == [
        ("U1", "approval requested"),
        ("U9", "approval refused"),
        ("U0SRE1", "rejected"),
    ]


def test_the_requester_may_withdraw_it(app, slack, sandbox):
    """The requester's own Reject withdraws it (audited as cancelled)."""
    card = ask(app, slack, "run demo:hello.rb")
    click(app, REJECT, card, "U1")
    wait_for(lambda: not buttons(current(slack, card)))
    shown = blocks_text(current(slack, card)["blocks"])
    assert "Withdrawn by <@U1>" in shown and "*Withdrawn*" in shown
    click(app, APPROVE, card, "U0LEAD")
    wait_for(lambda: "was withdrawn" in said_to(slack)[-1])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0
    assert outcomes(app) == [("U1", "approval requested"), ("U1", "cancelled")]


def test_it_expires_after_the_ttl_once_and_never_runs(shared_servers, tmp_path):
    """CHATOPS_APPROVAL_TTL: the sweep (run twice at once, as by two replicas) closes it once;
    an Approve click after the expiry, before any sweep, finds it expired too."""
    (tmp_path / "policy.yml").write_text(POLICY)
    shared_servers.clear()
    slack, sandbox = shared_servers.slack, shared_servers.sandbox
    settings = {"chatops_policy": str(tmp_path / "policy.yml"), "chatops_approval_ttl": 0.5}
    with shared_servers.app(tmp_path, **settings) as app:
        [sweep] = [job for job in app.runtime.deps.periodic if job.name == "approvals-expiry"]
        assert sweep.seconds == 0.5
        card = ask(app, slack, "run demo:hello.rb")
        time.sleep(0.6)

        async def two_replicas_sweep() -> None:
            await asyncio.gather(sweep.run(), sweep.run())

        app.run(two_replicas_sweep())
        final = current(slack, card)
        assert not buttons(final) and "*Expired*" in blocks_text(final["blocks"])
        click(app, APPROVE, card, "U0LEAD")
        wait_for(lambda: "has expired" in said_to(slack)[-1])

        late = ask(app, slack, "run demo:hello.rb", n=1)
        time.sleep(0.6)
        click(app, APPROVE, late, "U0LEAD")  # no sweep yet
        wait_for(lambda: "has expired" in said_to(slack)[-1])
        wait_for(lambda: not buttons(current(slack, late)))
        app.wait_quiet()
        assert flint_runs(sandbox) == 0
        assert [o for _u, o in outcomes(app)] == [
            "approval requested",
            "expired",
            "approval requested",
            "expired",
        ]


# -- buttons and forms -------------------------------------------------------------------


def _stomt(sandbox):
    return mounted_app(sandbox, "/stomt")


def test_a_button_is_held_for_approval_and_runs_as_the_requester(app, slack, sandbox):
    """A card's Delete under an approval rule is posted for approval where it was
    clicked; once approved it runs once, and its answer reaches the requester alone."""
    added = _stomt(sandbox).state.sandbox.add_stomt("remove me")
    deletes = lambda: [c for c in _stomt(sandbox).state.calls if c.method == "DELETE"]  # noqa: E731
    app.client.click("stomt_delete", added["id"], user_id="U3", channel_id=CHANNEL)
    card = approval_card(slack)
    assert f"/stomt delete {added['id']}" in blocks_text(card["blocks"])
    wait_for(lambda: any("Waiting for approval" in t for t in said_to(slack)))
    app.wait_quiet()
    assert deletes() == []
    click(app, APPROVE, card, "U0LEAD")
    wait_for(deletes)
    # The answer is the requester's, in the channel, seen by the requester alone.
    [answer] = wait_for(lambda: slack.fake.ephemeral)
    assert (answer["user"], answer["channel"]) == ("U3", CHANNEL)
    assert "deleted by" in json.dumps(answer)
    app.wait_quiet()
    assert len(deletes()) == 1
    assert [(e.user_id, e.command, e.outcome) for e in entries(app)][-1] == (
        "U3",
        "stomt delete",
        "ok",
    )


def test_a_click_that_cannot_be_held_does_not_bypass_the_approval(app, slack, sandbox):
    """A card's Refresh (``flint result`` on its job) stands for no request to hold: under
    an approval rule it is refused with what to do instead, and nothing is asked of Flint.
    (An ended job's card has no Refresh any more: this is the click on one shown while it
    ran, its value the tracked id, as Re-run's.)"""
    app.client.command("run demo:fail.rb", user_id="U1", channel_id=CHANNEL)
    app.wait_quiet()
    [card] = posted_cards(slack)
    job_id = next(
        element["value"]
        for block in card["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "flint_rerun"
    )
    calls = len(flint_sandbox_app(sandbox).state.calls)
    app.client.click(
        "flint_refresh", job_id, user_id="U1", channel_id=CHANNEL, message_ts=card["ts"]
    )
    wait_for(lambda: slack.fake.responses)
    assert "cannot ask for approval" in said_to(slack)[-1]
    assert "Type the command (`/flint result` on" in said_to(slack)[-1]
    app.wait_quiet()
    assert approval_cards(slack) == []
    assert len(flint_sandbox_app(sandbox).state.calls) == calls
    assert ("U1", "approval not asked") in outcomes(app)


def test_a_form_is_held_for_approval_and_runs_exactly_as_submitted(app, slack, sandbox):
    """A submitted form under an approval rule is held as the parsed request; once
    approved exactly that runs, once, as the requester."""
    mint = mounted_app(sandbox, "/mint")
    executes = lambda: [c for c in mint.state.calls if "/execute" in c.path]  # noqa: E731
    app.client.click("mint_execute", ONBOARD_FLOW_ID, channel_id=CHANNEL, user_id="U4")
    [view] = wait_for(lambda: list(slack.fake.views.values()))
    body = view_submission_body(
        "mint_execute_form",
        {**_flow_chosen(view), "input": {"value": '{"email": "ada@example.com"}'}},
        user_id="U4",
        view=view,
    )
    assert app.client.post(body, "application/x-www-form-urlencoded").status_code == 200
    card = approval_card(slack)
    assert f"/mint execute {ONBOARD_FLOW_ID}" in blocks_text(card["blocks"])
    [told] = wait_for(lambda: slack.fake.ephemeral)
    assert (told["user"], told["channel"]) == ("U4", CHANNEL) and "Waiting" in told["text"]
    app.wait_quiet()
    assert executes() == []
    click(app, APPROVE, card, "U0LEAD")
    wait_for(executes)
    [ok] = wait_for(lambda: [e for e in entries(app) if e.outcome == "ok"])
    assert (ok.user_id, ok.command) == ("U4", "mint execute")
    assert ok.params == {"input": {"email": "ada@example.com"}}
    app.wait_quiet()
    assert len(executes()) == 1


def _flow_chosen(view: dict) -> dict:
    """The Mint form's flow picker as submitted with the flow it was opened with."""
    chosen = next(b for b in view["blocks"] if b["block_id"] == "flow")["element"]
    return {"flow": {"mint_form_flow": {"selected_option": chosen["initial_option"]}}}


# -- approved, and run at most once -------------------------------------------------------


def _sweep(app) -> None:
    [sweep] = [job for job in app.runtime.deps.periodic if job.name == "approvals-expiry"]
    app.run(sweep.run())


def _state(app, approval_id: str) -> str:
    return app.run(app.runtime.store.approvals.get(approval_id)).state


def _approved_then_stopped(app) -> Any:
    """The completing approval written, as the approver's click writes it, and nothing
    after it: the process stopped right there."""

    async def decide() -> Any:
        [held] = await _open_rows(app)
        return await app.runtime.store.approvals.decide(held, "U0LEAD", "approve", close="approved")

    return app.run(decide())


def _approved_long_ago(app, approval_id: str) -> None:
    async def age() -> None:
        async with app.runtime.store.engine.begin() as conn:
            await conn.execute(
                sa.update(approvals)
                .where(approvals.c.id == approval_id)
                .values(closed_at=approvals.c.closed_at - START_GRACE - 1)
            )

    app.run(age())


def _told_u1(slack) -> list[dict]:
    return [e for e in slack.fake.ephemeral if e["user"] == "U1"]


def test_it_is_marked_running_before_it_runs_and_then_left_alone(app, slack, sandbox):
    """The approved request is marked running before the vendor is called (here: when its
    card is posted, the run is under way), and a sweep long after finds nothing to do."""
    card = ask(app, slack, "run demo:hello.rb")
    seen: list[str] = []

    def on_event(event: Any) -> None:
        if event.kind == "posted" and not event.data["text"].startswith("Approval"):
            seen.append(_state(app, buttons(card)[APPROVE]))

    unsubscribe = slack.fake.on_event(on_event)
    try:
        click(app, APPROVE, card, "U0LEAD")
        wait_for(lambda: flint_runs(sandbox) == 1)
        app.wait_quiet()
    finally:
        unsubscribe()
    assert seen == ["running"]
    _approved_long_ago(app, buttons(card)[APPROVE])
    _sweep(app)
    app.wait_quiet()
    assert _state(app, buttons(card)[APPROVE]) == "running" and flint_runs(sandbox) == 1
    assert "*Approved* — it runs as <@U1>" in blocks_text(current(slack, card)["blocks"])
    assert ("U1", "approval not run") not in outcomes(app) and _told_u1(slack) == []


def test_approved_but_never_started_is_told_once_and_never_run(app, slack, sandbox):
    """The process stopped between the approval and the start: within the grace period
    the sweep leaves it (its process may yet start it); after it, the sweep (run twice at
    once, as by two replicas) closes it once, says so on the card and to the requester,
    and audits it. It never runs, not even on a later click."""
    card = ask(app, slack, "run demo:hello.rb")
    approval_id = _approved_then_stopped(app).id
    _sweep(app)
    assert _state(app, approval_id) == "approved"
    _approved_long_ago(app, approval_id)
    [sweep] = [job for job in app.runtime.deps.periodic if job.name == "approvals-expiry"]

    async def two_replicas_sweep() -> None:
        await asyncio.gather(sweep.run(), sweep.run())

    app.run(two_replicas_sweep())
    assert _state(app, approval_id) == "interrupted"
    final = current(slack, card)
    shown = blocks_text(final["blocks"])
    assert not buttons(final) and "*Approved, not run*" in shown and "restarted" in shown
    [told] = _told_u1(slack)
    assert told["channel"] == CHANNEL
    assert "was approved, but the app restarted before it could run it" in told["text"]
    assert "`/flint run demo:hello.rb`" in told["text"]
    click(app, APPROVE, card, "U0SRE1")
    wait_for(lambda: "the app restarted before running it" in said_to(slack)[-1])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0 and len(_told_u1(slack)) == 1
    assert outcomes(app) == [("U1", "approval requested"), ("U1", "approval not run")]
    assert "restarted" in entries(app)[-1].detail


def test_a_step_whose_approval_was_never_started_ends_saying_so(app, slack, sandbox):
    """A workflow step held for approval: approved, then the process stopped. The sweep
    ends the step with the reason instead of leaving it waiting, and nothing runs."""
    event = slack.fake.execute_function(
        "flint_run", {"user_id": "U1", "flintbit": "demo:hello.rb", "channel_id": CHANNEL}
    )
    assert app.client.post(event_callback_body(event), "application/json").status_code == 200
    card = approval_card(slack)
    approval_id = _approved_then_stopped(app).id
    _approved_long_ago(app, approval_id)
    _sweep(app)
    execution = slack.fake.executions[event["function_execution_id"]]
    assert execution.state == "failed" and "restarted" in str(execution.error)
    assert "*Approved, not run*" in blocks_text(current(slack, card)["blocks"])
    app.wait_quiet()
    assert flint_runs(sandbox) == 0 and _state(app, approval_id) == "interrupted"


async def _occupy(app, user: str) -> asyncio.Event:
    """Work of ``user``'s in the app up to their limit, until the event is set."""
    work = app.runtime.work
    release = asyncio.Event()
    for _ in range(work.per_user):
        work.adopt(asyncio.create_task(release.wait()), user)
    return release


async def _release(release: asyncio.Event) -> None:
    release.set()


def test_with_no_room_for_the_requester_the_approval_waits_unrecorded(app, slack, sandbox):
    """The requester already has as many commands in progress as allowed: the approver's
    click is not recorded (they are told why), and works once there is room."""
    card = ask(app, slack, "run demo:hello.rb")
    release = app.run(_occupy(app, "U1"))
    try:
        click(app, APPROVE, card, "U0LEAD")
        wait_for(lambda: "<@U1> already has 20 commands in progress" in said_to(slack)[-1])
        assert "not recorded" in said_to(slack)[-1] and buttons(current(slack, card))
    finally:
        app.run(_release(release))
    click(app, APPROVE, card, "U0LEAD")
    wait_for(lambda: flint_runs(sandbox) == 1)
    app.wait_quiet()
    assert job_users(app) == ["U1"]
    assert [o for u, o in outcomes(app) if u == "U0LEAD"] == ["approved"]


def test_no_room_once_it_starts_closes_it_unrun_and_says_so(app, slack, sandbox):
    """The run counts as the requester's work, not the approver's: when the requester has
    no room by the time it starts (here: work of theirs begun while the card was being
    updated), it is closed unrun, audited, and the card and the requester say so."""
    card = ask(app, slack, "run demo:hello.rb")
    releases: list[asyncio.Event] = []

    def on_event(event: Any) -> None:
        approved = event.kind == "updated" and event.data["ts"] == card["ts"]
        if approved and "*Approved*" in blocks_text(event.data["blocks"]) and not releases:
            releases.append(app.run(_occupy(app, "U1")))

    unsubscribe = slack.fake.on_event(on_event)
    try:
        click(app, APPROVE, card, "U0LEAD")
        wait_for(lambda: _told_u1(slack))
    finally:
        unsubscribe()
        for release in releases:
            app.run(_release(release))
    app.wait_quiet()
    assert _state(app, buttons(card)[APPROVE]) == "no room"
    [told] = _told_u1(slack)
    assert "was approved, but you already had 20 commands in progress" in told["text"]
    shown = blocks_text(current(slack, card)["blocks"])
    assert "*Approved, not run*" in shown and "no room" in shown
    assert flint_runs(sandbox) == 0
    assert outcomes(app)[-1] == ("U1", "approval not run")


def test_a_requester_may_have_at_most_20_requests_waiting(app, slack, sandbox):
    """The 21st open request of one requester is refused, audited, and not posted; other
    users are not held back by it, and one of the 20 closing makes room again."""
    store = app.runtime.store.approvals

    async def twenty() -> list[str]:
        made = []
        for n in range(20):
            made.append(
                await store.create(
                    requester="U1",
                    channel_id=CHANNEL,
                    command="/flint",
                    text=f"run demo:hello.rb n={n}",
                    action="flint run",
                    target="demo:hello.rb",
                    request={},
                    origin=None,
                    users=("U0LEAD",),
                    usergroups=(),
                    needed=1,
                    ttl=3600,
                )
            )
        return [approval.id for approval in made]

    waiting = app.run(twenty())
    app.client.command("run demo:hello.rb", user_id="U1", channel_id=CHANNEL)
    wait_for(lambda: slack.fake.responses)
    assert "you already have 20 requests waiting for approval" in said_to(slack)[-1]
    assert "Nothing was run" in said_to(slack)[-1]
    app.wait_quiet()
    assert approval_cards(slack) == [] and flint_runs(sandbox) == 0
    assert outcomes(app) == [("U1", "approval not asked")]
    assert "20 requests waiting" in entries(app)[-1].detail

    ask(app, slack, "run demo:hello.rb", user="U2")
    app.run(store.close(waiting[0], "cancelled"))
    ask(app, slack, "run demo:hello.rb", user="U1", n=1)
