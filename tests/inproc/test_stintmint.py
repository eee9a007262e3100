"""/stint through the app in process (tests/inproc/harness.py): signed Slack requests in,
real HTTP to the Stintmint sandbox, callbacks posted to /hooks/stintmint through the app.
The sandbox's own callbacks into a running app (PUBLIC_URL on a real port) are in
tests/scenario/test_stintmint_http.py; here PUBLIC_URL is unset, so requests are polled."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from tests.fakes.servers import mounted_app
from tests.fakes.slack_api import posted_card, posted_cards, replies_in_thread, wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text

TEN = " ".join(f"d{i}=v{i}" for i in range(10))


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    sandbox = {"speed": 0.1, "stintmint_retry_interval": 0.1}
    with world(tmp_path_factory.mktemp("stint"), sandbox=sandbox) as running:
        yield running


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 401),
        ("?request=abc", 401),
        ("?request=abc&token=", 401),
        ("?request=abc&token=" + "0" * 64, 401),
        ("?token=" + "0" * 64, 401),
    ],
)
def test_callback_without_a_valid_token_is_401(app, query, status):
    """Missing or wrong tokens are refused before anything is looked up."""
    response = app.http.post(f"{app.url}/hooks/stintmint{query}", json={"identifier": "x"})
    assert response.status_code == status
    assert "abc" not in response.text


def test_callback_for_unknown_request_is_404_and_bad_body_400(app):
    """A valid token for a request that does not exist is 404; a malformed body is 400."""
    signer = app.runtime.deps.callbacks
    url = f"{app.url}/hooks/stintmint?request=nope&token={signer.token('nope')}"
    assert app.http.post(url, json={"identifier": "x", "sfId": "demo"}).status_code == 404
    assert app.http.post(url, content=b"{not json").status_code == 400
    assert app.http.post(url, content=b"[1, 2]").status_code == 400


def test_without_public_url_the_request_is_polled_to_completion(app, slack, sandbox):
    """No PUBLIC_URL: no callbackUrl is sent, and polling /fetch finds the result."""
    app.client.command("post demo order-3 note=poll", command="/stint")
    card = posted_card(slack)
    wait_for(lambda: replies_in_thread(slack, card["ts"]), timeout=15)
    text = blocks_text(posted_cards(slack)[0]["blocks"])
    assert "completed" in text and "polling" in text
    assert mounted_app(sandbox, "/stintmint").state.sandbox.callback_attempts == []


def test_eleven_descriptors_are_refused_before_any_call(app, slack, sandbox):
    """The 11th descriptor is refused with the limit, and Stintmint is never called."""
    response = app.client.command(f"post demo order-4 {TEN} d10=v10", command="/stint")
    assert "at most 10" in response.json()["text"]
    assert mounted_app(sandbox, "/stintmint").state.calls == []
    ok = app.client.command(f"post demo order-5 {TEN}", command="/stint")
    assert ok.status_code == 200 and not ok.content  # ten is fine: a plain ack
    wait_for(lambda: mounted_app(sandbox, "/stintmint").state.calls)


def test_descriptor_types_are_inferred_or_given(app, slack, sandbox):
    """A URL is HREF, `name:IMAGE=` says the type; the request body carries both."""
    app.client.command(
        "post demo order-6 site=https://example.com photo:image=https://example.com/p.jpg n=3",
        command="/stint",
    )
    posted_card(slack)
    requests = mounted_app(
        sandbox, "/stintmint"
    ).state.sandbox.requests  # the module's sandbox: by id
    wait_for(lambda: [r for r in requests.values() if r.identifier == "order-6"], timeout=10)
    [request] = [r for r in requests.values() if r.identifier == "order-6"]
    types = {d["name"]: d["type"] for d in request.descriptors}
    assert types == {"site": "HREF", "photo": "IMAGE", "n": "TEXT"}


def test_fetch_command_shows_not_ready_then_the_responses(tmp_path):
    """`/stint fetch` answers "not ready yet" normally, and the responses once complete."""
    with world(tmp_path, sandbox={"speed": 0.5}) as running:  # the humans take 2 s
        app, slack = running.app, running.slack
        app.client.command("post demo order-7 note=x", command="/stint")
        posted_card(slack)
        # Stintmint has the request once the card says "pending" (sent, not complete).
        wait_for(lambda: "pending" in blocks_text(posted_cards(slack)[0]["blocks"]), timeout=10)
        app.client.command("fetch demo order-7", command="/stint")
        wait_for(lambda: slack.fake.responses, timeout=10)
        assert "Not ready yet" in blocks_text(slack.fake.responses[-1]["blocks"])
        wait_for(lambda: "completed" in blocks_text(posted_cards(slack)[0]["blocks"]), timeout=10)
        app.client.command("fetch demo order-7", command="/stint")
        wait_for(lambda: len(slack.fake.responses) >= 2, timeout=10)
        assert "Responses (" in blocks_text(slack.fake.responses[-1]["blocks"])


def test_fetch_of_unknown_request_is_a_polite_answer(app, slack):
    """Fetching a request Stintmint does not know says so, visible only to the caller."""
    app.client.command("fetch demo never-posted", command="/stint")
    wait_for(lambda: slack.fake.responses, timeout=10)
    reply = slack.fake.responses[-1]
    assert reply["response_type"] == "ephemeral"
    assert "never-posted" in json.dumps(reply)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "post demo",
        "post demo id",
        "post demo id novalue=",
        "post demo id x:BOGUS=1",
        "post ../x id a=1",
        "post demo id a=1 --urgency",
        "post demo id a=1 --batch '../../x'",
        "fetch",
        "fetch a b c d",
        "nonsense",
        '"unbalanced',
    ],
)
def test_bad_stint_text_gets_usage(app, sandbox, text):
    """Malformed /stint input gets a readable usage answer and no vendor call."""
    response = app.client.command(text, command="/stint")
    assert response.status_code == 200
    assert "/stint" in response.json()["text"]
    assert mounted_app(sandbox, "/stintmint").state.calls == []


def test_a_callback_naming_another_stintflow_changes_nothing(app, slack, sandbox):
    """A callback with the request's valid token but another sfId completed the card: the
    body must be about the request the token names, StintFlow included."""
    stintmint = mounted_app(sandbox, "/stintmint").state.sandbox
    stintmint.complete_after = 60  # the real answer comes late
    try:
        _another_stintflow(app, slack, sandbox)
    finally:
        stintmint.complete_after = 0.4  # the module's sandbox (speed 0.1) again


def _another_stintflow(app, slack, sandbox) -> None:
    app.client.command("post demo order-9 note=hi", command="/stint")
    card = posted_card(slack)

    async def job_id() -> str:
        async with app.runtime.store.engine.connect() as conn:
            query = sa.text("SELECT id FROM jobs WHERE vendor = 'stintmint'")
            return (await conn.execute(query)).scalar_one()

    found = app.run(job_id())
    token = app.runtime.deps.callbacks.token(found)
    url = f"{app.url}/hooks/stintmint?request={found}&token={token}"
    body = {
        "identifier": "order-9",
        "sfId": "another-flow",
        "status": "COMPLETED",
        "created": 1,
        "completed": 2,
        "cost": 1,
        "responses": [{"answer": "forged"}],
    }
    answer = app.http.post(url, json=body)
    assert answer.status_code == 400 and "sfId" in answer.text
    time.sleep(0.3)
    assert "forged" not in blocks_text(posted_cards(slack)[0]["blocks"])
    assert replies_in_thread(slack, card["ts"]) == []
    # The same body about the right StintFlow is taken.
    assert app.http.post(url, json={**body, "sfId": "demo"}).status_code == 200
    wait_for(lambda: "forged" in blocks_text(posted_cards(slack)[0]["blocks"]), timeout=10)
