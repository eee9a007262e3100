"""The Slack fakes behave like Slack for slack_sdk's and Bolt's own clients."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.devkit.slack_fake import SlackEvent
from tests.fakes.slack_api import (
    RunningSlackFake,
    block_actions_body,
    message_shortcut_body,
    running_slack_fake,
    sign,
    slash_command_body,
    slash_command_payload,
    view_submission_body,
    wait_for,
    wait_for_async,
)
from tests.fakes.socket_mode import SocketModeFake

TOKEN = "xoxb-test-token"
SECRET = "test-signing-secret"


@pytest.fixture(scope="module")
def slack() -> Iterator[RunningSlackFake]:
    with running_slack_fake() as handle:
        yield handle


@pytest.fixture(autouse=True)
def _fresh(slack: RunningSlackFake) -> None:
    slack.fake.reset()


@pytest.fixture
def client(slack: RunningSlackFake) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=slack.api_url)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


async def test_post_then_update_edits_the_message(slack, client):
    """chat.postMessage stores a message under (channel, ts) and chat.update edits it."""
    posted = await client.chat_postMessage(channel="C1", text="hi", blocks=[section("hi")])
    second = await client.chat_postMessage(channel="C1", text="again", thread_ts=posted["ts"])
    assert re.fullmatch(r"17\d{8}\.\d{6}", posted["ts"]) and second["ts"] > posted["ts"]
    await client.chat_update(channel="C1", ts=posted["ts"], text="bye", blocks=[section("bye")])
    message = slack.fake.messages[("C1", posted["ts"])]
    assert message["text"] == "bye" and message["blocks"] == [section("bye")]
    assert message["edits"] == 1 and message["user"] == "UBOTFAKE"
    assert slack.fake.messages[("C1", second["ts"])]["thread_ts"] == posted["ts"]
    assert [c.args["ts"] for c in slack.fake.calls_to("chat.update")] == [posted["ts"]]


async def test_update_of_unknown_ts_is_message_not_found(client):
    """chat.update on a ts nobody posted raises SlackApiError message_not_found."""
    with pytest.raises(SlackApiError) as caught:
        await client.chat_update(channel="C1", ts="1.000001", text="x")
    assert caught.value.response["error"] == "message_not_found"


async def test_invalid_blocks_are_rejected_like_slack(client):
    """A section over 3000 characters is refused with invalid_blocks and a json-pointer."""
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="x", blocks=[section("x" * 3001)])
    assert caught.value.response["error"] == "invalid_blocks"
    assert "/blocks/0/text/text" in caught.value.response["errors"][0]


async def test_files_upload_v2_round_trip_stores_the_content(slack, client):
    """files_upload_v2's three steps (URL, raw upload, complete) record the file and bytes."""
    posted = await client.chat_postMessage(channel="C1", text="card")
    result = await client.files_upload_v2(
        channel="C1",
        thread_ts=posted["ts"],
        content="line\n" * 1000,
        filename="output.txt",
        title="Full output",
        initial_comment="all of it",
    )
    [stored] = slack.fake.files
    assert stored["content"] == b"line\n" * 1000 and stored["title"] == "Full output"
    assert stored["channel_id"] == "C1" and stored["thread_ts"] == posted["ts"]
    assert stored["initial_comment"] == "all of it"
    assert result["file"]["id"] == stored["id"] and result["file"]["size"] == 5000


@pytest.mark.parametrize(
    ("token", "error"), [("bogus", "invalid_auth"), (None, "not_authed")], ids=["bad", "none"]
)
async def test_bad_or_missing_token_is_refused(slack, token, error):
    """A token without the bot prefix gives invalid_auth; none at all gives not_authed."""
    with pytest.raises(SlackApiError) as caught:
        await AsyncWebClient(token=token, base_url=slack.api_url).auth_test()
    assert caught.value.response["error"] == error


async def test_fail_next_injects_ratelimited_once(slack, client):
    """fail_next answers the next call 429 ratelimited with Retry-After, then recovers."""
    slack.fake.fail_next("chat.postMessage", retry_after=3)
    with pytest.raises(SlackApiError) as caught:
        await client.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response["error"] == "ratelimited"
    assert caught.value.response.headers["Retry-After"] == "3"
    assert (await client.chat_postMessage(channel="C1", text="hi"))["ok"]
    assert [c.error for c in slack.fake.calls_to("chat.postMessage")] == ["ratelimited", None]


async def test_inaccessible_channel_then_join(slack, client):
    """Posting where the bot is not a member fails not_in_channel until it joins."""
    slack.fake.inaccessible_channels.add("CPRIV")
    with pytest.raises(SlackApiError, match="not_in_channel"):
        await client.chat_postMessage(channel="CPRIV", text="hi")
    await client.conversations_join(channel="CPRIV")
    assert (await client.chat_postMessage(channel="CPRIV", text="hi"))["ok"]


async def test_response_url_posts_are_recorded_and_replace_the_message(slack, client):
    """A response_url bound to a message records the post and replaces that message."""
    events: list[SlackEvent] = []
    unsubscribe = slack.fake.on_event(events.append)
    try:
        posted = await client.chat_postMessage(channel="C1", text="before")
        url = slack.response_url(channel_id="C1", message_ts=posted["ts"])
        response = await AsyncWebhookClient(url).send(text="after", replace_original=True)
    finally:
        unsubscribe()
    assert response.status_code == 200
    [post] = slack.fake.responses
    assert post["text"] == "after" and post["replace_original"] is True
    assert post["response_type"] == "ephemeral"  # Slack's default
    assert slack.fake.messages[("C1", posted["ts"])]["text"] == "after"
    assert [e.kind for e in events] == ["posted", "response", "updated"]


async def test_views_are_recorded_and_updates_check_the_hash(slack, client):
    """views.open returns a view with an id; views.update with a stale hash is hash_conflict."""
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Run"}, "blocks": []}
    opened = (await client.views_open(trigger_id="t.1", view=modal))["view"]
    assert slack.fake.views[opened["id"]]["title"]["text"] == "Run"
    changed = {**modal, "title": {"type": "plain_text", "text": "Running"}}
    await client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    assert slack.fake.views[opened["id"]]["title"]["text"] == "Running"
    with pytest.raises(SlackApiError, match="hash_conflict"):
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal)


def test_sign_verifies_with_slack_sdk():
    """sign() produces the headers SignatureVerifier accepts, and only for that secret."""
    body = slash_command_body("/flint", "run demo:hello.rb")
    headers = sign(body, SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    old = sign(body, SECRET, timestamp=int(time.time()) - 600)
    assert not SignatureVerifier(SECRET).is_valid_request(body, old)


@pytest.mark.parametrize(
    ("body", "register"),
    [
        (
            slash_command_body("/flint", "help"),
            lambda app, listener: app.command("/flint")(listener),
        ),
        (
            block_actions_body("flint_rerun", "job-1"),
            lambda app, listener: app.action("flint_rerun")(listener),
        ),
        (
            view_submission_body("flint_form", {"b": {"a": "v"}}, "meta", "U1"),
            lambda app, listener: app.view("flint_form")(listener),
        ),
        (
            message_shortcut_body("flint_share", {"text": "hello", "ts": "1.000002"}),
            lambda app, listener: app.message_shortcut("flint_share")(listener),
        ),
    ],
    ids=["slash", "block_actions", "view_submission", "message_shortcut"],
)
async def test_built_requests_route_through_bolt(slack, body, register):
    """Each body builder, signed, passes Bolt's verification and reaches its listener."""
    app = AsyncApp(
        client=AsyncWebClient(token=TOKEN, base_url=slack.api_url), signing_secret=SECRET
    )
    seen: list[dict] = []

    async def listener(ack, body):
        await ack()
        seen.append(body)

    register(app, listener)
    headers = {**sign(body, SECRET), "Content-Type": "application/x-www-form-urlencoded"}
    response = await app.async_dispatch(AsyncBoltRequest(body=body.decode(), headers=headers))
    assert response.status == 200 and len(seen) == 1


async def test_bolt_socket_mode_acks_and_reconnects_after_disconnect():
    """Bolt's AsyncSocketModeHandler acks an envelope, reconnects after disconnect, acks again."""
    with (
        SocketModeFake() as socket_mode,
        running_slack_fake(socket_mode_url=socket_mode.new_url) as slack,
    ):
        app = AsyncApp(client=AsyncWebClient(token=TOKEN, base_url=slack.api_url))

        @app.command("/flint")
        async def flint(ack, command):
            await ack(f"got {command['text']}")

        handler = AsyncSocketModeHandler(app, app_token="xapp-1-test")
        await handler.connect_async()
        try:
            await socket_mode.wait_connected_async(1)
            first = socket_mode.send_envelope(
                "slash_commands", slash_command_payload("/flint", "a")
            )
            assert (await socket_mode.wait_ack_async(first))["payload"] == {"text": "got a"}

            socket_mode.disconnect()
            await socket_mode.wait_connected_async(2)
            await wait_for_async(lambda: socket_mode.open_connections == 1, timeout=5)
            second = socket_mode.send_envelope(
                "slash_commands", slash_command_payload("/flint", "b")
            )
            assert (await socket_mode.wait_ack_async(second))["payload"] == {"text": "got b"}
        finally:
            await handler.close_async()
        assert socket_mode.connections == 2
        assert len(slack.fake.calls_to("apps.connections.open")) == 2
        assert {c.token for c in slack.fake.calls_to("apps.connections.open")} == {"xapp-1-test"}


def test_wait_for_names_what_it_waited_for():
    """wait_for's timeout error says which predicate, its last result and the message."""
    with pytest.raises(AssertionError, match=r"last returned \[\].*state: empty"):
        wait_for(lambda: [], timeout=0.05, message=lambda: "state: empty")
