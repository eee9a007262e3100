"""Job cards through the app in process (tests/inproc/harness.py): signed commands and
clicks in, real HTTP to the vendor sandboxes, the Slack fake holding what users see.
How long a job has run or took, the buttons each state offers (and none that cannot
help), Re-run for Mint and Stintmint under the access policy, the output modals, cards
of deleted stomts, and Mint's flow titles where a UUID was shown."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
import sqlalchemy as sa

from adapters.mint.sandbox import ADDRESS_FLOW_ID, KYC_FLOW_ID, ONBOARD_FLOW_ID
from bot.store import schema
from bot.store.jobs import DONE, TrackedJob
from handlers.common.text import duration
from handlers.flint.blocks import readable_output
from tests.fakes.servers import mounted_app
from tests.fakes.slack_api import posted_card, posted_cards, replies_in_thread, wait_for
from tests.inproc.harness import world

# U98 may do nothing; everyone else used here anything.
POLICY = """\
rules:
  - command: "*"
    users: [U1, U2, U99]
"""
CHANNEL = "C123"


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cards")
    policy = tmp / "policy.yml"
    policy.write_text(POLICY)
    with world(tmp, sandbox={"speed": 0.05}, chatops_policy=str(policy)) as running:
        yield running


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = message.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by action id (in actions blocks and as accessories)."""
    found = {}
    for block in blocks_of(message):
        elements = block.get("elements", []) if block["type"] == "actions" else []
        for element in [*elements, block.get("accessory")]:
            if element and element.get("type") == "button":
                found[element["action_id"]] = element
    return found


def text_of(message: dict[str, Any]) -> str:
    """Every text in the message's blocks, one a line, as Slack would show them."""
    return "\n".join(_texts(blocks_of(message)))


def _texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for value in node.values() for t in _texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def final_card(app, slack, word: str, n: int = 0) -> dict[str, Any]:
    """The n-th job's card once the job is done (its final card is up before then); it
    must say ``word``."""
    wait_for(lambda: len(jobs(app)) > n and jobs(app)[n].state == DONE, timeout=20)
    shown = posted_cards(slack)[n]
    assert word in text_of(shown), text_of(shown)
    return shown


def click(app, slack, action_id: str, value: str, message: dict[str, Any], **kw: Any):
    """A click on ``message`` (a card in the channel) as Slack sends it, answerable on a
    response URL bound to that card."""
    kw.setdefault("user_id", "U1")
    response = app.client.click(
        action_id,
        value,
        channel_id=message["channel"],
        message_ts=message["ts"],
        response_url=slack.response_url(channel_id=message["channel"], message_ts=message["ts"]),
        **kw,
    )
    assert response.status_code == 200
    return response


def jobs(app) -> list[TrackedJob]:
    """Every job in the state store, oldest first."""

    async def read() -> list[TrackedJob]:
        query = sa.select(schema.jobs.c.id).order_by(schema.jobs.c.created_at)
        async with app.runtime.store.engine.connect() as conn:
            ids = [row.id for row in (await conn.execute(query)).all()]
        found = [await app.runtime.store.jobs.get(job_id) for job_id in ids]
        return [job for job in found if job is not None]

    return app.run(read())


def job(app, n: int = 0) -> TrackedJob:
    return jobs(app)[n]


def modals(slack) -> list[dict[str, Any]]:
    return [v for v in slack.fake.views.values() if v["type"] == "modal"]


# -- Flint ----------------------------------------------------------------------------


def test_a_running_flint_card_shows_how_long_and_flints_status_and_only_refresh(tmp_path):
    """While Flint runs the job: its latest status and the time since the job was started
    ("1 min 12 s"), and only Refresh, which re-renders it with the time gone by."""
    with world(tmp_path, sandbox={"speed": 1.0}, chatops_poll_interval=30) as running:
        app, slack = running.app, running.slack
        app.client.command("run demo:slow.rb seconds=60", user_id="U1")
        first = posted_card(slack)
        wait_for(lambda: job(app).vendor_job_id, timeout=10)
        running_job = job(app)
        # Started 72 seconds ago, as far as the card can tell.
        app.run(app.runtime.store.jobs.update(running_job.id, created_at=time.time() - 72))
        time.sleep(0.3)  # the sandbox has it running after 0.2 s
        click(app, slack, "flint_refresh", running_job.id, first)
        shown = wait_for(
            lambda: (c := posted_cards(slack)[0]) and "running" in text_of(c) and c, timeout=10
        )
        assert re.search(r"\*Elapsed\*\n1 min 1[23] s", text_of(shown))
        assert "*Status*\nrunning" in text_of(shown)
        assert set(buttons(shown)) == {"flint_refresh"}
        assert "Finished in" not in text_of(shown)


def test_an_ended_flint_card_says_how_long_it_took_and_offers_running_it_again(app, slack):
    """The final card says how long the job took, from its start to its end, and offers
    Re-run and Re-run with changes (its tracked id); Refresh, which could change nothing
    any more, is gone, and so is the running time."""
    app.client.command("run demo:hello.rb name=Ada", user_id="U1")
    ended = final_card(app, slack, "complete")
    done = job(app)
    assert f"Finished in {duration(done.finished_at - done.created_at)}" in text_of(ended)
    assert "Elapsed" not in text_of(ended)
    assert {k: b["value"] for k, b in buttons(ended).items()} == {
        "flint_rerun": done.id,
        "flint_rerun_edit": done.id,
    }


def test_a_flint_run_that_never_started_offers_only_running_it_again(app, slack):
    """Flint refused it: no waiting time, no Refresh, no output; Re-run and Re-run with
    changes."""
    app.client.command("run demo:nope.rb", user_id="U1")
    ended = final_card(app, slack, "not started")
    assert set(buttons(ended)) == {"flint_rerun", "flint_rerun_edit"}
    assert "Elapsed" not in text_of(ended) and "Finished in" not in text_of(ended)


def test_full_output_opens_a_modal_with_the_output(app, slack):
    """An output too long for the card (but not for a modal): Full output opens a modal
    holding all of it, with nothing to say about a rest."""
    app.client.command("run demo:big.rb lines=200", user_id="U1")
    ended = final_card(app, slack, "complete")
    button = buttons(ended)["flint_full_output"]
    click(app, slack, "flint_full_output", button["value"], ended, trigger_id="1.2.full")
    [modal] = wait_for(lambda: modals(slack), timeout=10)
    assert modal["title"]["text"] == "Flint output"
    shown = text_of(modal)
    assert "demo:big.rb" in shown
    lines = readable_output(job(app).result["output"]).splitlines()
    assert len(lines) == 200 and all(line in shown for line in lines)
    assert modal["blocks"][-1]["type"] == "section"  # no note


def test_a_huge_outputs_modal_says_how_much_it_shows_and_where_the_rest_is(app, slack):
    """An output larger than a modal holds: its start, and a note with both lengths
    saying the file in the card's thread has the rest."""
    size = 100_000
    app.client.command(f"run demo:big.rb size={size}", user_id="U1")
    ended = final_card(app, slack, "complete")
    wait_for(lambda: slack.fake.files, timeout=20)  # the file the note speaks of
    click(app, slack, "flint_full_output", job(app).id, ended, trigger_id="1.2.huge")
    [modal] = wait_for(lambda: modals(slack), timeout=10)
    note = modal["blocks"][-1]["elements"][0]["text"]
    assert re.fullmatch(
        rf"Showing the first [\d,]+ of {size:,} characters\. The whole output is attached "
        r"in the card's thread as a file\.",
        note,
    )
    assert all(len(b["text"]["text"]) <= 3000 for b in modal["blocks"] if b["type"] == "section")


def test_full_output_is_refused_to_whoever_may_not_read_results(app, slack):
    """Full output reads the job's result: someone the access policy refuses gets no
    modal, and is told why."""
    app.client.command("run demo:big.rb lines=400", user_id="U1")
    ended = final_card(app, slack, "complete")
    before = len(slack.fake.responses)
    click(app, slack, "flint_full_output", job(app).id, ended, user_id="U98")
    wait_for(lambda: len(slack.fake.responses) > before, timeout=10)
    assert "Not allowed" in slack.fake.responses[-1]["text"]
    assert modals(slack) == []


# -- Mint -----------------------------------------------------------------------------


def _mint_calls(sandbox, part: str, method: str | None = None) -> list:
    calls = mounted_app(sandbox, "/mint").state.calls
    return [c for c in calls if part in c.path and (method is None or c.method == method)]


def test_an_ended_mint_card_says_how_long_and_offers_the_instance_and_running_again(app, slack):
    """The final card: how long it took, no Refresh (nothing would change), the instance's
    buttons with Full log, Re-run and Re-run with changes."""
    app.client.command(f"execute {ONBOARD_FLOW_ID}", command="/mint", user_id="U1")
    ended = final_card(app, slack, "Finished")
    done = job(app)
    assert f"Finished in {duration(done.finished_at - done.created_at)}" in text_of(ended)
    assert "Elapsed" not in text_of(ended)
    assert set(buttons(ended)) == {
        "mint_note",
        "mint_report",
        "mint_full_output",
        "mint_rerun",
        "mint_rerun_edit",
    }
    assert buttons(ended)["mint_rerun_edit"]["value"] == done.id


def test_mint_rerun_runs_the_flow_once_more_as_the_clicker_under_the_policy(app, slack, sandbox):
    """Re-run executes the same flow with the same input once, as whoever clicked, in the
    card's channel; someone the policy refuses is told so and nothing is executed."""
    data = {"email": "ada@example.com"}
    app.client.command(
        f"execute {ONBOARD_FLOW_ID} {json.dumps(data)}", command="/mint", user_id="U1"
    )
    first = final_card(app, slack, "Finished")
    rerun = buttons(first)["mint_rerun"]["value"]
    executed = _mint_calls(sandbox, "/execute", "POST")
    assert len(executed) == 1

    click(app, slack, "mint_rerun", rerun, first, user_id="U98")
    wait_for(lambda: slack.fake.responses, timeout=10)
    assert "Not allowed" in slack.fake.responses[-1]["text"]
    app.wait_quiet()
    assert len(_mint_calls(sandbox, "/execute", "POST")) == 1

    click(app, slack, "mint_rerun", rerun, first, user_id="U99")
    second = final_card(app, slack, "Finished", n=1)
    assert "<@U99>" in text_of(second) and second["channel"] == first["channel"]
    app.wait_quiet()
    assert len(_mint_calls(sandbox, "/execute", "POST")) == 2
    again = job(app, 1)
    assert (again.user_id, again.target, again.params["input"]) == ("U99", ONBOARD_FLOW_ID, data)


def test_full_log_opens_the_execution_log_in_a_modal(app, slack):
    """Full log shows each step of the instance's execution log, the fault's step with its
    message."""
    app.client.command(f"execute {KYC_FLOW_ID}", command="/mint", user_id="U1")
    ended = final_card(app, slack, "Faulted")
    instance_id = buttons(ended)["mint_full_output"]["value"]
    click(app, slack, "mint_full_output", instance_id, ended, trigger_id="2.3.log")
    [modal] = wait_for(lambda: modals(slack), timeout=10)
    assert modal["title"]["text"] == "Execution log"
    shown = text_of(modal)
    assert "KYC check" in shown and instance_id in shown
    assert ":x: *Verify identity*" in shown


def test_mint_names_flows_by_their_titles_not_their_ids(app, slack, sandbox):
    """`/mint instances` is headed by the flow's title, looked up in Mint once for two
    listings (no other test here asks about this flow); the thread's fault notice names
    the flow by its title too."""
    for n, command in enumerate(
        (f"instances {ADDRESS_FLOW_ID}", f"instances {ADDRESS_FLOW_ID} Faulted")
    ):
        app.client.command(command, command="/mint", user_id="U1")
        listing = (
            wait_for(lambda n=n: len(slack.fake.responses) > n, timeout=10)
            and slack.fake.responses[n]
        )
        head = blocks_of(listing)[0]["text"]["text"]
        assert head.startswith("*Instances of* *Address change*") and ADDRESS_FLOW_ID not in head
    lookups = [
        c for c in _mint_calls(sandbox, "/flows/", "GET") if c.path.endswith(ADDRESS_FLOW_ID)
    ]
    assert len(lookups) == 1

    app.client.command(f"execute {KYC_FLOW_ID}", command="/mint", user_id="U2")
    ended = final_card(app, slack, "Faulted")
    notice = wait_for(lambda: replies_in_thread(slack, ended["ts"]), timeout=10)[0]
    assert notice["text"].startswith(":x: <@U2> *KYC check* ended *Faulted*")
    assert KYC_FLOW_ID not in notice["text"]


# -- Stintmint ------------------------------------------------------------------------


def _stint(sandbox):
    return mounted_app(sandbox, "/stintmint")


def _posts(sandbox) -> list:
    return [c for c in _stint(sandbox).state.calls if c.path.endswith("/post")]


def test_a_request_stintmint_refused_keeps_no_fetch_and_no_waiting_time(app, slack, sandbox):
    """ "not sent": no Fetch now, no "Waiting 0.0 s", no "the humans are on it"; Send again
    and Send again with changes."""
    # The moderation flow requires a `content` descriptor.
    app.client.command("post moderation m-1 author=ada", command="/stint", user_id="U1")
    ended = final_card(app, slack, "not sent")
    assert set(buttons(ended)) == {"stint_rerun", "stint_rerun_edit"}
    assert "Waiting" not in text_of(ended) and "humans are on it" not in text_of(ended)


def test_send_again_posts_the_same_request_once_as_the_clicker_under_the_policy(
    app, slack, sandbox
):
    """Send again posts the very request once more, as whoever clicked, in that channel;
    someone the policy refuses is told so and nothing is posted."""
    app.client.command("post moderation m-2 author=ada", command="/stint", user_id="U1")
    first = final_card(app, slack, "not sent")
    value = buttons(first)["stint_rerun"]["value"]
    assert len(_posts(sandbox)) == 1

    click(app, slack, "stint_rerun", value, first, user_id="U98")
    wait_for(lambda: slack.fake.responses, timeout=10)
    assert "Not allowed" in slack.fake.responses[-1]["text"]
    app.wait_quiet()
    assert len(_posts(sandbox)) == 1

    click(app, slack, "stint_rerun", value, first, user_id="U99")
    second = final_card(app, slack, "not sent", n=1)
    assert "<@U99>" in text_of(second) and second["channel"] == first["channel"]
    app.wait_quiet()
    assert len(_posts(sandbox)) == 2
    again = job(app, 1)
    assert again.user_id == "U99" and again.params == job(app, 0).params


def test_a_completed_request_says_how_long_and_shows_all_responses_in_a_modal(app, slack):
    """The final card: how long it took, Send again with changes (the identifier is
    spent, so no Send again), no Fetch now; All responses opens every response."""
    app.client.command(
        "post demo c-1 note=hello photo=https://example.com/p.jpg", command="/stint", user_id="U1"
    )
    ended = final_card(app, slack, "completed")
    done = job(app)
    assert f"Finished in {duration(done.finished_at - done.created_at)}" in text_of(ended)
    assert set(buttons(ended)) == {"stint_rerun_edit"}
    click(app, slack, "stint_full_output", done.id, ended, trigger_id="3.4.resp")
    [modal] = wait_for(lambda: modals(slack), timeout=10)
    shown = text_of(modal)
    assert "`demo` / `c-1` · 2 responses" in shown
    assert "1. name: note" in shown and "2. name: photo" in shown


# -- STOMT ----------------------------------------------------------------------------


def test_a_deleted_stomts_card_loses_show_and_delete(app, slack):
    """A click on a card whose stomt is gone replaces the card with one saying so, with no
    buttons; a Show in a list is answered beside the list, which stays."""
    app.client.command("wish cards said what they can do", command="/stomt", user_id="U1")
    posted = wait_for(lambda: slack.fake.responses, timeout=10)[-1]
    stomt_id = buttons(posted)["stomt_show"]["value"]
    message = {"channel": CHANNEL, "ts": "1700000000.000900"}
    click(app, slack, "stomt_delete", stomt_id, message, block_id="stomt_card")
    wait_for(lambda: "deleted by" in json.dumps(slack.fake.responses[-1]), timeout=10)

    count = len(slack.fake.responses)
    click(app, slack, "stomt_show", stomt_id, message, block_id="stomt_card")
    gone = wait_for(lambda: len(slack.fake.responses) > count and slack.fake.responses[-1])
    assert gone["replace_original"] and "no longer exists" in gone["text"]
    assert not buttons(gone)

    count = len(slack.fake.responses)
    click(app, slack, "stomt_delete", stomt_id, message, block_id="stomt_card")
    again = wait_for(lambda: len(slack.fake.responses) > count and slack.fake.responses[-1])
    assert again["replace_original"] and not buttons(again)

    count = len(slack.fake.responses)
    click(app, slack, "stomt_show", stomt_id, message, block_id="Xy1z")  # a list's section
    beside = wait_for(lambda: len(slack.fake.responses) > count and slack.fake.responses[-1])
    assert not beside["replace_original"] and "no longer exists" in beside["text"]
