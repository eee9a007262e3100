"""The STOMT adapter against the STOMT sandbox over real HTTP, plus edge cases on MockTransport."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.errors import (
    VendorAuthError,
    VendorNotFound,
    VendorRateLimited,
    VendorRejected,
    VendorResponseInvalid,
    VendorUnavailable,
)
from adapters.redact import REDACTED
from adapters.stomt import (
    MAX_TEXT,
    PING_TARGET,
    Comment,
    Session,
    Stomt,
    StomtClient,
    Target,
    sentence,
    unix_seconds,
    validate_stomt_id,
    validate_target_id,
)
from adapters.stomt import sandbox as stomt_sandbox
from tests.fakes.servers import ThreadedServer, free_port

pytestmark = pytest.mark.timeout(30)

APPID = stomt_sandbox.DEMO_APPID
USER, PASSWORD = stomt_sandbox.DEMO_USERNAME, stomt_sandbox.DEMO_PASSWORD
HUB = stomt_sandbox.DEMO_TARGET
LOGIN = stomt_sandbox.SANDBOX_PREFIX + "/authentication/session"
SECRET = "s3cret-Pa55word-!"
TOKEN = "tok-Very-Secret-123"


# -- fixtures ---------------------------------------------------------------------------


class SwappableApp:
    """Forwards to whichever sandbox the current test made, so one server serves them all."""

    def __init__(self) -> None:
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.app is not None
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def swappable() -> SwappableApp:
    return SwappableApp()


@pytest.fixture(scope="module")
def server(swappable: SwappableApp) -> Iterator[ThreadedServer]:
    root = Starlette(routes=[Mount(stomt_sandbox.SANDBOX_PREFIX, app=swappable)])
    with ThreadedServer(root) as running:
        yield running


@pytest.fixture
def use_app(swappable: SwappableApp) -> Callable[..., Starlette]:
    """A fresh sandbox (``create_app(**kw)``) for this test, served at the sandbox URL."""

    def use(**kw: Any) -> Starlette:
        swappable.app = stomt_sandbox.create_app(**kw)
        return swappable.app

    return use


@pytest.fixture
def app(use_app: Callable[..., Starlette]) -> Starlette:
    return use_app()


@pytest.fixture
def sandbox(app: Starlette) -> stomt_sandbox.StomtSandbox:
    return app.state.sandbox


@pytest.fixture
def stomt_url(server: ThreadedServer) -> str:
    return server.url + stomt_sandbox.SANDBOX_PREFIX


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_client(
    http: httpx.AsyncClient, stomt_url: str, app: Starlette
) -> Callable[..., StomtClient]:
    def make(**kw: Any) -> StomtClient:
        kw.setdefault("base_url", stomt_url)
        kw.setdefault("appid", APPID)
        if "accesstoken" not in kw:
            kw.setdefault("username", USER)
            kw.setdefault("password", PASSWORD)
        return StomtClient(http, **kw)

    return make


@pytest.fixture
def stomt(make_client: Callable[..., StomtClient]) -> StomtClient:
    return make_client()


def calls(app: Starlette) -> list[tuple[str, str, int]]:
    return [(c.method, c.path, c.status) for c in app.state.calls]


def logins(app: Starlette) -> int:
    return sum(1 for c in app.state.calls if c.path == LOGIN)


async def sandbox_token(http: httpx.AsyncClient, stomt_url: str) -> str:
    response = await http.post(
        stomt_url + "/authentication/session",
        headers={"appid": APPID},
        json={"login_method": "normal", "emailusername": USER, "password": PASSWORD},
    )
    return response.json()["data"]["accesstoken"]


Handler = Callable[[httpx.Request], httpx.Response]


async def mock_client(handler: Handler, **kw: Any) -> tuple[StomtClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kw.setdefault("base_url", "http://stomt.example/v1")
    kw.setdefault("appid", APPID)
    if "username" not in kw:
        kw.setdefault("accesstoken", TOKEN)
    return StomtClient(http, **kw), http


def answer(status_code: int, content: str | bytes, content_type: str = "application/json"):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status_code, content=content, headers={"content-type": content_type})

    return handler


def envelope(data: Any, status_code: int = 200, **extra: Any) -> Handler:
    return answer(status_code, json.dumps({"meta": {}, "data": data, **extra}))


STOMT = {"id": "i-wish-x", "positive": False, "text": "x", "created_at": "2024-05-01T09:00:00Z"}


# -- posting and reading stomts ------------------------------------------------------------


@pytest.mark.parametrize("positive", [False, True])
async def test_wish_or_like_with_labels_reads_back(stomt: StomtClient, positive: bool):
    """A wish or a like posted with labels goes to the app's page and reads back the same."""
    created = await stomt.create_stomt(
        "the bot posted stomts", positive=positive, labels=["slack", "bot"]
    )
    assert created.positive is positive and created.kind == ("like" if positive else "wish")
    assert sentence(created) == f"I {'like' if positive else 'wish'} the bot posted stomts"
    assert created.labels == ["slack", "bot"]
    assert created.target and created.target.id == HUB
    assert created.creator and created.creator.id == USER
    assert re.fullmatch(r"https://stomt\.co/[A-Za-z0-9]{4}", created.shortlink or "")
    assert created.created_at and abs(created.created_at - datetime.now(UTC)) < timedelta(seconds=5)
    read = await stomt.get_stomt(created.id)
    assert read == created
    mine = await stomt.target_stomts(USER, "created")
    assert [s.id for s in mine] == [created.id]
    assert stomt.user and stomt.user.id == USER


async def test_create_with_target_lang_url_and_anonym(stomt: StomtClient):
    """target_id, lang and anonym reach STOMT: the stomt lands there without a creator name."""
    created = await stomt.create_stomt(
        "Feedback aus Slack", target_id=PING_TARGET, lang="de", url="https://x.example", anonym=True
    )
    assert created.target and created.target.id == PING_TARGET
    assert created.lang == "de" and created.anonym
    assert created.creator is None or created.creator.id != USER


async def test_text_of_exactly_the_limit_is_taken(stomt: StomtClient):
    """A text of exactly MAX_TEXT characters is posted (the limit is inclusive)."""
    created = await stomt.create_stomt("a" * MAX_TEXT)
    assert len(created.text or "") == MAX_TEXT


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * (MAX_TEXT + 1), r"1001 characters.*at most 1000"),
        ("", "needs some text"),
        (" \n", "needs some text"),
    ],
)
async def test_bad_text_is_refused_before_any_call(stomt: StomtClient, app, text, message):
    """Too long or empty text is a ValueError saying length and limit, and nothing is sent."""
    app.state.calls.clear()
    with pytest.raises(ValueError, match=message):
        await stomt.create_stomt(text)
    assert app.state.calls == []


# -- logging in ------------------------------------------------------------------------------


async def test_concurrent_first_requests_share_one_login(stomt: StomtClient, app):
    """Five requests at once with no token yet log in exactly once and all succeed."""
    targets = await asyncio.gather(*(stomt.get_target(HUB) for _ in range(5)))
    assert {t.id for t in targets} == {HUB}
    assert logins(app) == 1 and stomt.auth.logins == 1


async def test_expired_token_logs_in_again_once_and_retries(make_client, use_app):
    """After token_ttl the request gets 419, logs in once more, and succeeds on its retry."""
    app = use_app(token_ttl=0.3)
    stomt = make_client()
    await stomt.get_target(HUB)
    await asyncio.sleep(0.35)
    target = await stomt.get_target(PING_TARGET)
    assert target.id == PING_TARGET
    path = stomt_sandbox.SANDBOX_PREFIX + "/targets/"
    assert calls(app) == [
        ("POST", LOGIN, 200),
        ("GET", path + HUB, 200),
        ("GET", path + PING_TARGET, 419),
        ("POST", LOGIN, 200),
        ("GET", path + PING_TARGET, 200),
    ]


async def test_concurrent_requests_after_expiry_share_one_new_login(stomt: StomtClient, app):
    """When the token expires under several requests at once, they share one new login."""
    await stomt.get_target(HUB)
    app.state.sandbox.expire_sessions()
    await asyncio.gather(*(stomt.get_target(HUB) for _ in range(4)))
    assert logins(app) == 2


async def test_a_post_refused_with_419_is_sent_again_with_its_body(stomt: StomtClient, app):
    """A create refused for an expired token is posted again after the new login, body intact."""
    await stomt.get_target(HUB)
    app.state.sandbox.expire_sessions()
    created = await stomt.create_stomt("the retry kept my text", labels=["retry"])
    assert created.text == "the retry kept my text" and created.labels == ["retry"]
    posts = [c for c in calls(app) if c[0] == "POST" and c[1].endswith("/stomts")]
    assert [status for _m, _p, status in posts] == [419, 200]
    assert logins(app) == 2


async def test_a_token_that_keeps_expiring_is_an_auth_error(make_client, use_app):
    """When even the fresh token gets 419, the client gives up after one new login."""
    app = use_app(token_ttl=1e-6)
    stomt = make_client(password=PASSWORD)
    with pytest.raises(VendorAuthError, match="419") as caught:
        await stomt.get_target(HUB)
    assert logins(app) == 2
    assert PASSWORD not in str(caught.value)


async def test_expired_static_token_says_to_renew_it(make_client, http, stomt_url, app):
    """A fixed STOMT_ACCESSTOKEN that expires is VendorAuthError naming it, with no login tried."""
    token = await sandbox_token(http, stomt_url)
    stomt = make_client(accesstoken=token)
    assert (await stomt.ping()).id == PING_TARGET
    app.state.sandbox.expire_sessions()
    with pytest.raises(VendorAuthError, match="renew STOMT_ACCESSTOKEN") as caught:
        await stomt.get_target(HUB)
    assert caught.value.status_code == 419
    assert token not in str(caught.value) and token not in repr(stomt)
    assert logins(app) == 1  # only the test's own


@pytest.mark.parametrize(
    ("credentials", "status_code", "message"),
    [
        ({"password": SECRET}, 403, "Wrong password."),
        ({"username": "nobody"}, 404, "Account not found."),
    ],
)
async def test_login_refusals_are_auth_errors(make_client, credentials, status_code, message):
    """A wrong password or unknown account is VendorAuthError with STOMT's text, not the secret."""
    stomt = make_client(**credentials)
    with pytest.raises(VendorAuthError) as caught:
        await stomt.create_stomt("never posted")
    assert caught.value.status_code == status_code
    assert message in str(caught.value) and "STOMT_PASSWORD" in str(caught.value)
    assert SECRET not in str(caught.value) and SECRET not in repr(stomt)


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"appid": "not-our-app"}, "appid"), ({"accesstoken": "made-up"}, "accesstoken")],
)
async def test_unknown_appid_or_token_is_an_auth_error(make_client, kw, message):
    """STOMT's 401 for an appid or token it does not know is VendorAuthError from ping()."""
    with pytest.raises(VendorAuthError, match=message):
        await make_client(**kw).ping()


async def test_reads_need_no_login(make_client, app):
    """Without credentials the client still reads, sending only the appid, and never logs in."""
    stomt = make_client(username=None, password=None)
    assert (await stomt.get_target(HUB)).id == HUB
    assert len(await stomt.target_stomts(HUB)) > 0
    assert logins(app) == 0 and stomt.user is None


# -- not found, lists, deleting, comments, files ---------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.get_stomt("i-wish-nothing"), "Stomt not found."),
        (lambda s: s.delete_stomt("i-wish-nothing"), "Stomt not found."),
        (lambda s: s.comments("i-wish-nothing"), "Stomt not found."),
        (lambda s: s.get_target("no-such-page"), "Target not found."),
        (lambda s: s.target_stomts("no-such-page", "top"), "Target not found."),
        (lambda s: s.create_stomt("x", target_id="no-such-page"), "Target not found."),
    ],
)
async def test_unknown_things_are_not_found(stomt: StomtClient, call, message):
    """An unknown stomt or target is VendorNotFound carrying STOMT's message."""
    with pytest.raises(VendorNotFound, match=message) as caught:
        await call(stomt)
    assert caught.value.vendor == "STOMT" and caught.value.status_code == 404


async def test_received_lists_newest_first_with_polarity(stomt: StomtClient):
    """received lists the page's stomts newest first; positive and negative split them."""
    received = await stomt.target_stomts(HUB, limit=100)
    assert len(received) >= 6
    assert all(s.target and s.target.id == HUB for s in received)
    times = [s.created_at for s in received]
    assert times == sorted(times, reverse=True)
    likes = await stomt.target_stomts(HUB, "received", "positive", limit=100)
    wishes = await stomt.target_stomts(HUB, "received", "negative", limit=100)
    assert (
        likes and wishes and all(s.positive for s in likes) and not any(s.positive for s in wishes)
    )
    assert {s.id for s in likes} | {s.id for s in wishes} == {s.id for s in received}


async def test_created_and_top_lists(stomt: StomtClient):
    """created lists what the page wrote elsewhere; top orders by agreements."""
    created = await stomt.target_stomts(HUB, "created")
    assert created and all(s.creator and s.creator.id == HUB for s in created)
    assert all(s.target and s.target.id == PING_TARGET for s in created)
    top = await stomt.target_stomts(HUB, "top", limit=100)
    agreements = [s.amount_agreements for s in top]
    assert agreements == sorted(agreements, reverse=True) and agreements[0] > 0


async def test_newer_than_and_someone_elses_new_stomt(stomt: StomtClient, sandbox):
    """newer_than (datetime, unix text or ISO text) keeps only newer stomts, incl. a new arrival."""
    day_ago = datetime.now(UTC) - timedelta(days=1)
    recent = await stomt.target_stomts(HUB, newer_than=day_ago, limit=100)
    assert recent and all(s.created_at and s.created_at > day_ago for s in recent)
    assert len(recent) < len(await stomt.target_stomts(HUB, limit=100))
    for form in (str(int(day_ago.timestamp())), day_ago.isoformat()):
        assert [s.id for s in await stomt.target_stomts(HUB, newer_than=form, limit=100)] == [
            s.id for s in recent
        ]

    minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    assert await stomt.target_stomts(HUB, newer_than=minute_ago) == []
    added = sandbox.add_stomt("the digest had charts", creator_id="zoe", labels=["digest"])
    arrived = await stomt.target_stomts(HUB, newer_than=minute_ago)
    assert [s.id for s in arrived] == [added["id"]]
    assert arrived[0].creator and arrived[0].creator.id == "zoe"
    assert arrived[0].labels == ["digest"]


async def test_paging_walks_the_whole_list(stomt: StomtClient):
    """offset and limit page through the list: the pages put together are the whole list."""
    everything = [s.id for s in await stomt.target_stomts(HUB, limit=100)]
    pages = [
        [s.id for s in await stomt.target_stomts(HUB, offset=offset, limit=3)]
        for offset in range(0, len(everything) + 3, 3)
    ]
    assert all(len(page) <= 3 for page in pages) and pages[-1] == []
    assert [sid for page in pages for sid in page] == everything


async def test_delete_own_stomt(stomt: StomtClient, app):
    """Deleting our own stomt succeeds and it is gone afterwards."""
    created = await stomt.create_stomt("this is deleted soon")
    await stomt.delete_stomt(created.id)
    with pytest.raises(VendorNotFound):
        await stomt.get_stomt(created.id)
    assert ("DELETE", f"{stomt_sandbox.SANDBOX_PREFIX}/stomts/{created.id}", 200) in calls(app)


async def test_delete_received_stomt_as_page_owner(stomt: StomtClient, sandbox):
    """The page's owner may delete a stomt someone else posted to the page."""
    added = sandbox.add_stomt("spam spam spam", creator_id="spammer")
    await stomt.delete_stomt(added["id"])
    assert added["id"] not in sandbox.stomts


async def test_deleting_someone_elses_stomt_is_rejected(stomt: StomtClient, sandbox):
    """STOMT's 403 for a stomt that is not ours is VendorRejected, and the stomt stays."""
    added = sandbox.add_stomt("not yours", target_id=PING_TARGET, creator_id="ada")
    with pytest.raises(VendorRejected, match="not allowed") as caught:
        await stomt.delete_stomt(added["id"])
    assert caught.value.status_code == 403
    assert (await stomt.get_stomt(added["id"])).id == added["id"]


async def test_delete_without_credentials_is_an_auth_error(make_client):
    """A delete needs a login: without credentials STOMT's 401 is VendorAuthError."""
    stomt = make_client(username=None, password=None)
    with pytest.raises(VendorAuthError, match="logged in"):
        await stomt.delete_stomt("i-wish-nothing")


async def test_comments(stomt: StomtClient, sandbox):
    """Comments come back in order with their creators; a fresh stomt has none."""
    added = sandbox.add_stomt(
        "the bot had threads", comments=[("grace", "Yes!", 60), ("chatops-bot", "Planned.", 30)]
    )
    comments = await stomt.comments(added["id"])
    assert [c.text for c in comments] == ["Yes!", "Planned."]
    assert [c.creator.id for c in comments if c.creator] == ["grace", "chatops-bot"]
    assert [c.by_target_owner for c in comments] == [False, True]
    assert all(isinstance(c, Comment) and c.created_at for c in comments)
    assert (await stomt.get_stomt(added["id"])).amount_comments == 2
    fresh = await stomt.create_stomt("nobody commented")
    assert await stomt.comments(fresh.id) == []


async def test_upload_a_file_and_attach_it(stomt: StomtClient, http):
    """An uploaded file gets a file_uid and URL; a stomt posted with it lists the file."""
    uploaded = await stomt.upload_file("bot.log", b"line 1\nline 2\n")
    assert uploaded.file_uid and uploaded.filename == "bot.log" and uploaded.url
    assert (await http.get(uploaded.url)).content == b"line 1\nline 2\n"
    created = await stomt.create_stomt("logs were attached", file_uids=[uploaded.file_uid])
    assert [(f.file_uid, f.filename) for f in created.files] == [(uploaded.file_uid, "bot.log")]


async def test_unsupported_file_format_is_rejected(stomt: StomtClient):
    """STOMT takes txt, log and zip only: anything else is VendorRejected with its message."""
    with pytest.raises(VendorRejected, match="Supported file formats"):
        await stomt.upload_file("picture.exe", b"MZ")


async def test_ping(stomt: StomtClient, app):
    """ping() logs in and reads STOMT's own page, or the target it is given."""
    assert (await stomt.ping()).id == PING_TARGET
    hub = await stomt.ping(HUB)
    assert isinstance(hub, Target) and hub.stats and hub.stats.amount_stomts_received > 0
    assert logins(app) == 1


async def test_closed_port_is_unavailable_without_secrets(http):
    """A refused connection is VendorUnavailable saying "not reachable", never a secret."""
    stomt = StomtClient(
        http,
        base_url=f"http://127.0.0.1:{free_port()}/stomt",
        appid=APPID,
        username=USER,
        password=SECRET,
    )
    with pytest.raises(VendorUnavailable, match="not reachable") as caught:
        await stomt.get_target(HUB)
    assert SECRET not in str(caught.value) and SECRET not in repr(caught.value)


# -- answers that are wrong, on MockTransport ---------------------------------------------


@pytest.mark.parametrize(
    ("handler", "call"),
    [
        (answer(200, "{not json"), lambda s: s.get_stomt("x")),
        (answer(200, "<html>ok</html>", "text/html"), lambda s: s.get_stomt("x")),
        (answer(200, "[" * 100_000 + "]" * 100_000), lambda s: s.get_stomt("x")),
        (answer(200, "[]"), lambda s: s.get_stomt("x")),
        (answer(200, '{"meta": {}}'), lambda s: s.get_stomt("x")),
        (envelope(None), lambda s: s.get_stomt("x")),
        (envelope([STOMT]), lambda s: s.get_stomt("x")),
        (envelope({**STOMT, "id": None}), lambda s: s.get_stomt("x")),
        (envelope({**STOMT, "num": "twelve"}), lambda s: s.get_stomt("x")),
        (envelope({"stomt": STOMT}), lambda s: s.target_stomts("x")),
        (envelope(["not a stomt"]), lambda s: s.target_stomts("x")),
        (envelope("x"), lambda s: s.comments("x")),
        (envelope({"files": {}}), lambda s: s.upload_file("a.txt", b"a")),
        (envelope({"files": {"stomt": {"url": "u"}}}), lambda s: s.upload_file("a.txt", b"a")),
    ],
    ids=[
        "malformed",
        "html",
        "deep",
        "not-an-object",
        "no-data",
        "null-data",
        "list-for-object",
        "stomt-without-id",
        "bad-num",
        "no-list",
        "list-of-text",
        "comments-text",
        "upload-no-file",
        "upload-no-uid",
    ],
)
async def test_answers_we_cannot_understand_are_invalid(handler, call):
    """Malformed, incomplete or unexpected 200 answers are VendorResponseInvalid."""
    stomt, http = await mock_client(handler)
    async with http:
        with pytest.raises(VendorResponseInvalid, match="could not understand"):
            await call(stomt)


@pytest.mark.parametrize("data", [[STOMT], {"stomts": [STOMT], "total": 1}])
async def test_lists_come_as_array_or_object(data):
    """A list answer is the document's array, or an object holding it under ``stomts``."""
    stomt, http = await mock_client(envelope(data))
    async with http:
        assert [s.id for s in await stomt.target_stomts("x")] == ["i-wish-x"]


@pytest.mark.parametrize(
    ("status_code", "error"),
    [
        (200, VendorRejected),
        (400, VendorRejected),
        (401, VendorAuthError),
        (403, VendorRejected),
        (404, VendorNotFound),
        (422, VendorRejected),
        (429, VendorRateLimited),
        (500, VendorUnavailable),
        (503, VendorUnavailable),
    ],
)
async def test_error_envelopes_map_to_vendor_errors(status_code, error):
    """Each error envelope becomes its VendorError, with STOMT's own error text."""
    body = json.dumps({"data": [], "error": "Something is off.", "meta": []})
    stomt, http = await mock_client(answer(status_code, body))
    async with http:
        with pytest.raises(error, match=r"Something is off\.") as caught:
            await stomt.get_stomt("x")
    assert caught.value.vendor == "STOMT" and caught.value.status_code == status_code


@pytest.mark.parametrize(
    ("status_code", "error"),
    [(502, VendorUnavailable), (404, VendorNotFound), (400, VendorRejected)],
)
async def test_error_statuses_without_an_envelope(status_code, error):
    """A proxy's HTML error page still maps by status, saying the HTTP code."""
    stomt, http = await mock_client(answer(status_code, "<h1>Bad</h1>", "text/html"))
    async with http:
        with pytest.raises(error, match=f"HTTP {status_code}"):
            await stomt.get_target("x")


@pytest.mark.parametrize(
    ("status_code", "body", "error"),
    [
        (404, {"data": [], "error": "Account not found.", "meta": []}, VendorAuthError),
        (403, {"data": [], "error": "Wrong password.", "meta": []}, VendorAuthError),
        (422, {"data": [], "error": "Validation failed.", "meta": []}, VendorAuthError),
        (500, {"data": [], "error": "Oops.", "meta": []}, VendorUnavailable),
        (200, {"meta": {}, "data": {"user": {"id": "u"}}}, VendorResponseInvalid),
        (200, {"meta": {}, "data": []}, VendorResponseInvalid),
    ],
)
async def test_login_answers(status_code, body, error):
    """Every refusal of our login is VendorAuthError; a login without a token is invalid."""
    stomt, http = await mock_client(
        answer(status_code, json.dumps(body)), username=USER, password=SECRET
    )
    async with http:
        with pytest.raises(error) as caught:
            await stomt.get_target("x")
    assert SECRET not in str(caught.value)


async def test_secrets_are_scrubbed_from_vendor_messages():
    """Even when STOMT echoes our token or password, the error text shows [redacted] instead."""
    body = {"data": [], "error": f"token {TOKEN} is bad", "meta": []}
    stomt, http = await mock_client(answer(400, json.dumps(body)))
    async with http:
        with pytest.raises(VendorRejected, match=r"token \[redacted\] is bad") as caught:
            await stomt.get_stomt("x")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(stomt)

    body = {"data": [], "error": f"Wrong password {SECRET}.", "meta": []}
    stomt, http = await mock_client(answer(403, json.dumps(body)), username=USER, password=SECRET)
    async with http:
        with pytest.raises(VendorAuthError) as caught:
            await stomt.get_stomt("x")
    assert SECRET not in str(caught.value) and REDACTED in str(caught.value)
    assert SECRET not in repr(stomt) and SECRET not in repr(stomt.auth)


# -- what the client sends ---------------------------------------------------------------


async def sent_requests(call: Callable[[StomtClient], Any], data: Any, **kw: Any):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/authentication/session"):
            return httpx.Response(200, json={"meta": {}, "data": {"accesstoken": "fresh-tok"}})
        return httpx.Response(200, json={"meta": {}, "data": data})

    stomt, http = await mock_client(handler, **kw)
    async with http:
        await call(stomt)
    return seen


async def test_headers_and_login_request():
    """The login posts login_method normal with the appid; later calls add accesstoken."""
    seen = await sent_requests(
        lambda s: s.get_target("hub"), {"id": "hub"}, username=USER, password=SECRET
    )
    login, call = seen
    assert str(login.url) == "http://stomt.example/v1/authentication/session"
    assert json.loads(login.content) == {
        "login_method": "normal",
        "emailusername": USER,
        "password": SECRET,
    }
    assert login.headers["appid"] == APPID and "accesstoken" not in login.headers
    assert str(call.url) == "http://stomt.example/v1/targets/hub"
    assert call.headers["appid"] == APPID and call.headers["accesstoken"] == "fresh-tok"
    assert call.headers["accept"] == "application/json"


async def test_static_token_header():
    """A fixed access token is sent as the accesstoken header, with no login."""
    (call,) = await sent_requests(lambda s: s.get_stomt("a.b_c-1"), STOMT)
    assert call.headers["accesstoken"] == TOKEN and call.headers["appid"] == APPID
    assert call.url.path == "/v1/stomts/a.b_c-1"


async def test_create_body():
    """create_stomt sends the document's fields: labels in extradata, files by file_uid."""
    (call,) = await sent_requests(
        lambda s: s.create_stomt(
            "  the bot spoke German ",
            positive=True,
            target_id="hub",
            lang="de",
            url="https://x.example",
            anonym=False,
            labels=["i18n", "i18n", "bot"],
            file_uids=["f123"],
        ),
        STOMT,
    )
    assert call.method == "POST" and call.url.path == "/v1/stomts"
    assert call.headers["content-type"] == "application/json"
    assert json.loads(call.content) == {
        "text": "the bot spoke German",
        "positive": True,
        "target_id": "hub",
        "lang": "de",
        "url": "https://x.example",
        "anonym": False,
        "extradata": {"labels": ["i18n", "bot"]},
        "files": [{"file_uid": "f123"}],
    }


async def test_minimal_create_body():
    """A plain wish sends only text and positive: STOMT picks the app's page."""
    (call,) = await sent_requests(lambda s: s.create_stomt("x"), STOMT)
    assert json.loads(call.content) == {"text": "x", "positive": False}


@pytest.mark.parametrize(
    ("kw", "path", "query"),
    [
        ({}, "/v1/targets/hub/stomts/received", "offset=0&limit=20"),
        (
            {"kind": "top", "polarity": "negative", "offset": 20, "limit": 10},
            "/v1/targets/hub/stomts/top/negative",
            "offset=20&limit=10",
        ),
        (
            {"kind": "created", "newer_than": datetime(2015, 11, 30, 19, 23, 17)},
            "/v1/targets/hub/stomts/created",
            "offset=0&limit=20&newer_than=1448911397",
        ),
        (
            {"polarity": "positive", "newer_than": "1448911397"},
            "/v1/targets/hub/stomts/received/positive",
            "offset=0&limit=20&newer_than=1448911397",
        ),
    ],
)
async def test_target_stomts_url(kw, path, query):
    """target_stomts builds /targets/{id}/stomts/{type}/{secondType} and unix newer_than."""
    (call,) = await sent_requests(lambda s: s.target_stomts("hub", **kw), [])
    assert call.url.path == path and call.url.query.decode() == query


async def test_upload_body():
    """upload_file posts the file Base64-encoded in the stomt context."""
    data = {"files": {"stomt": {"file_uid": "f1", "url": "https://files.example/f1"}}}
    (call,) = await sent_requests(lambda s: s.upload_file("a.log", b"\x00hi"), data)
    assert call.url.path == "/v1/files"
    body = json.loads(call.content)
    assert body == {
        "files": {"stomt": [{"data": base64.b64encode(b"\x00hi").decode(), "filename": "a.log"}]}
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get_stomt("../admin"),
        lambda s: s.get_stomt("a/b"),
        lambda s: s.get_stomt("x" * 201),
        lambda s: s.get_stomt(".."),
        lambda s: s.delete_stomt("a b"),
        lambda s: s.comments("a?x=1"),
        lambda s: s.get_target("hub#x"),
        lambda s: s.target_stomts("hub/../x"),
        lambda s: s.target_stomts("hub", "everything"),
        lambda s: s.target_stomts("hub", "top", "neutral"),
        lambda s: s.target_stomts("hub", newer_than="yesterday"),
        lambda s: s.target_stomts("hub", offset=-1),
        lambda s: s.target_stomts("hub", limit=0),
        lambda s: s.create_stomt("x", target_id="a/b"),
        lambda s: s.create_stomt("x", positive="yes"),
        lambda s: s.create_stomt("x", labels="one"),
        lambda s: s.create_stomt("x", labels=[""]),
        lambda s: s.create_stomt("x", file_uids=["../f"]),
        lambda s: s.upload_file("../etc/passwd.txt", b"x"),
        lambda s: s.upload_file("", b"x"),
    ],
)
async def test_bad_arguments_never_reach_stomt(call):
    """Bad slugs, list options, times, labels or file names are ValueError before any request."""
    sent: list[httpx.Request] = []
    stomt, http = await mock_client(lambda r: sent.append(r) or httpx.Response(200, json={}))
    async with http:
        with pytest.raises(ValueError):
            await call(stomt)
    assert sent == []


@pytest.mark.parametrize(
    "kw",
    [
        {"base_url": "ftp://stomt.example"},
        {"base_url": "rest.stomt.com"},
        {"base_url": "https://rest.stomt.com/?accesstoken=abc"},
        {"appid": ""},
        {"accesstoken": None, "username": USER},
        {"accesstoken": None, "password": "abc"},
        {"accesstoken": "line\r\nabc"},
    ],
)
def test_bad_configuration_is_refused(kw):
    """A bad URL, a missing appid or half a login is refused at construction, echoing nothing."""
    settings = {"base_url": "https://rest.stomt.com", "appid": APPID, "accesstoken": TOKEN, **kw}
    with pytest.raises(ValueError) as caught:
        StomtClient(httpx.AsyncClient(), **settings)
    assert "abc" not in str(caught.value)


# -- models ------------------------------------------------------------------------------


def test_models_tolerate_nulls_and_missing_fields():
    """A stomt of nulls and unknown fields parses, with falsy defaults and extras kept."""
    stomt = Stomt.model_validate(
        {
            "id": "x",
            "positive": None,
            "anonym": None,
            "amountAgreements": None,
            "files": None,
            "creator": None,
            "target": {"id": "hub", "stats": {"amountFollowers": None}},
            "created_at": "not a time",
            "brandNew": 1,
        }
    )
    assert stomt.positive is False and stomt.anonym is False and stomt.amount_agreements == 0
    assert stomt.files == [] and stomt.creator is None and stomt.created_at is None
    assert stomt.target and stomt.target.stats and stomt.target.stats.amount_followers == 0
    assert stomt.model_extra == {"brandNew": 1}
    assert Stomt.model_validate({}).id is None
    assert Comment.model_validate({"subs": None, "byTargetOwner": None}).subs == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"labels": ["a", "b"]}, ["a", "b"]),
        ({"labels": [{"name": "a", "color": "#fff"}, {"name": ""}, None]}, ["a"]),
        ({"extradata": {"labels": ["x"]}}, ["x"]),
        ({"labels": None}, []),
        ({"labels": "a"}, []),
    ],
)
def test_labels_in_any_shape(raw, expected):
    """Labels read as names from strings, label objects, or extradata.labels."""
    assert Stomt.model_validate({"id": "x", **raw}).labels == expected


@pytest.mark.parametrize(
    "raw",
    [
        "2015-11-30T19:23:17Z",
        "2015-11-30T19:23:17+0000",
        "2015-11-30 19:23:17",
        1448911397,
        "1448911397",
        1448911397000,
    ],
)
def test_created_at_formats(raw):
    """ISO 8601 with or without offset, and unix seconds or ms, all read as the same aware time."""
    when = Stomt.model_validate({"created_at": raw}).created_at
    assert when == datetime(2015, 11, 30, 19, 23, 17, tzinfo=UTC)
    assert unix_seconds(raw) == 1448911397


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"text": "the bot spoke German"}, "I wish the bot spoke German"),
        ({"text": "the bot", "positive": True}, "I like the bot"),
        ({"text": "I wish for more"}, "I wish for more"),
        ({"textFull": "I like full text", "positive": True}, "I like full text"),
        ({}, "I wish …"),
    ],
)
def test_sentence(raw, expected):
    """sentence() reads a stomt as "I wish …"/"I like …" without doubling the prefix."""
    assert sentence(Stomt.model_validate(raw)) == expected


def test_session_hides_tokens_in_repr():
    """A Session's repr shows the user but never the tokens."""
    session = Session.model_validate(
        {"accesstoken": TOKEN, "refreshtoken": "r-xyz", "user": {"id": "u"}}
    )
    assert TOKEN not in repr(session) and "r-xyz" not in repr(session)


@pytest.mark.parametrize("validate", [validate_stomt_id, validate_target_id])
def test_slug_validation(validate):
    """Slugs are letters, digits, `_ - .`, 1 to 200; anything else is a ValueError."""
    assert validate(" i-wish_the.bot-2 ") == "i-wish_the.bot-2"
    assert validate("x" * 200) == "x" * 200
    for bad in ["", "x" * 201, "a/b", "..", ".", "a b", "ä", "a\nb", "a%2F", None]:
        with pytest.raises(ValueError, match="letters, digits"):
            validate(bad)


# -- the sandbox itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status_code", "error"),
    [
        ("GET", "/targets/chatops-hub", {}, None, 401, "appid"),
        ("GET", "/nothing/here", {"appid": APPID}, None, 404, "Resource not found."),
        ("PUT", "/stomts/x", {"appid": APPID}, None, 405, "Method not allowed."),
        (
            "POST",
            "/authentication/session",
            {"appid": APPID},
            {"login_method": "normal", "emailusername": "nobody", "password": "x"},
            404,
            "Account not found.",
        ),
        (
            "POST",
            "/authentication/session",
            {"appid": APPID},
            {"login_method": "normal", "emailusername": stomt_sandbox.DEMO_EMAIL, "password": "x"},
            403,
            "Wrong password.",
        ),
        ("POST", "/stomts", {"appid": APPID}, {"text": "x"}, 401, "logged in"),
        ("GET", "/targets/chatops-hub/stomts/all", {"appid": APPID}, None, 400, "type"),
        ("GET", "/targets/chatops-hub/stomts?newer_than=x", {"appid": APPID}, None, 400, "newer"),
    ],
)
async def test_sandbox_error_envelopes(
    http, stomt_url, app, method, path, headers, body, status_code, error
):
    """The sandbox answers errors exactly as the document shows: data [], error, meta []."""
    response = await http.request(method, stomt_url + path, headers=headers, json=body)
    assert response.status_code == status_code
    document = response.json()
    assert document["data"] == [] and document["meta"] == []
    assert error in document["error"]


async def test_sandbox_login_with_email_and_too_long_text(http, stomt_url, app):
    """The demo user logs in by email too, and the sandbox itself refuses 1001 characters."""
    response = await http.post(
        stomt_url + "/authentication/session",
        headers={"appid": APPID},
        json={
            "login_method": "normal",
            "emailusername": stomt_sandbox.DEMO_EMAIL,
            "password": PASSWORD,
        },
    )
    session = Session.model_validate(response.json()["data"])
    assert session.accesstoken and session.user and session.user.id == USER
    response = await http.post(
        stomt_url + "/stomts",
        headers={"appid": APPID, "accesstoken": session.accesstoken},
        json={"text": "x" * 1001},
    )
    assert response.status_code == 400 and "1000" in response.json()["error"]


async def test_sandbox_seed_has_recent_and_old_content(sandbox):
    """The demo page starts with wishes and likes from the last day and from weeks ago."""
    now = time.time()
    received = [s for s in sandbox.stomts.values() if s.target_id == HUB]
    ages = [now - s.created_at for s in received]
    assert any(age < 86400 for age in ages) and any(age > 7 * 86400 for age in ages)
    assert {s.positive for s in received} == {True, False}
    assert any(s.comments for s in received) and any(s.labels for s in received)
