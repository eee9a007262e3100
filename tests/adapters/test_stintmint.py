"""The Stintmint adapter against its sandbox over real HTTP, plus edge cases on MockTransport."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from adapters.errors import (
    VendorAuthError,
    VendorNotFound,
    VendorRejected,
    VendorResponseInvalid,
    VendorUnavailable,
)
from adapters.redact import REDACTED
from adapters.stintmint import (
    MAX_DESCRIPTORS,
    Descriptor,
    DescriptorType,
    FlowResponse,
    PostAnswer,
    PostRequest,
    StintmintClient,
    infer_descriptor,
    parse_callback,
    validation_message,
)
from adapters.stintmint import sandbox as stint_sandbox
from adapters.stintmint.client import PING_IDENTIFIER, PING_SF_ID
from tests.fakes.servers import ThreadedServer, free_port

pytestmark = pytest.mark.timeout(30)

USER, KEY = stint_sandbox.DEMO_USERNAME, stint_sandbox.DEMO_KEY
COMPLETE_AFTER = 0.3
RETRY_INTERVAL = 0.05
MAX_ATTEMPTS = 4
ACCOUNT_PREFIX = "/stintmint-account"  # a second sandbox with an account default callback URL
FAILURES_BEFORE_OK = 2


# -- fixtures ---------------------------------------------------------------------------


class Receiver:
    """A callback endpoint: each ``/hook/{name}`` answers 500 twice, then 200; ``/down`` 500."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.bodies: dict[str, list[bytes]] = {}
        self.queries: dict[str, str] = {}

    async def hook(self, request: Request) -> JSONResponse:
        name = request.path_params["name"]
        self.hits[name] += 1
        self.bodies.setdefault(name, []).append(await request.body())
        self.queries[name] = request.url.query
        if self.hits[name] <= FAILURES_BEFORE_OK:
            return JSONResponse({"error": "try again"}, 500)
        return JSONResponse({"ok": True})

    async def down(self, request: Request) -> JSONResponse:
        self.hits["down"] += 1
        return JSONResponse({"error": "down"}, 500)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hook/{name}", self.hook, methods=["POST"]),
                Route("/down", self.down, methods=["POST"]),
            ]
        )


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    hooks = Receiver()
    with ThreadedServer(hooks.app()) as running:
        yield hooks, running.url


@pytest.fixture(scope="module")
def apps(receiver: tuple[Receiver, str]) -> dict[str, Starlette]:
    settings = {
        "complete_after": COMPLETE_AFTER,
        "retry_interval": RETRY_INTERVAL,
        "max_attempts": MAX_ATTEMPTS,
    }
    return {
        stint_sandbox.SANDBOX_PREFIX: stint_sandbox.create_app(**settings),
        ACCOUNT_PREFIX: stint_sandbox.create_app(
            callback_url=receiver[1] + "/hook/account-default", **settings
        ),
    }


def mounted(apps: dict[str, Starlette]) -> Starlette:
    """The sandboxes under their prefixes, with their lifespans run by the parent."""

    @contextlib.asynccontextmanager
    async def lifespan(_root: Starlette) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    routes = [Mount(prefix, app=app) for prefix, app in apps.items()]
    return Starlette(routes=routes, lifespan=lifespan)


@pytest.fixture(scope="module")
def server(apps: dict[str, Starlette]) -> Iterator[ThreadedServer]:
    with ThreadedServer(mounted(apps)) as running:
        yield running


@pytest.fixture
def stint_url(server: ThreadedServer) -> str:
    return server.url + stint_sandbox.SANDBOX_PREFIX


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_client(http: httpx.AsyncClient, stint_url: str) -> Callable[..., StintmintClient]:
    def make(**kw: Any) -> StintmintClient:
        kw.setdefault("base_url", stint_url)
        kw.setdefault("username", USER)
        kw.setdefault("key", KEY)
        return StintmintClient(http, **kw)

    return make


@pytest.fixture
def stint(make_client: Callable[..., StintmintClient]) -> StintmintClient:
    return make_client()


def new_id() -> str:
    return f"item-{uuid.uuid4().hex[:12]}"


def request(identifier: str | None = None, **kw: Any) -> PostRequest:
    kw.setdefault("sfId", stint_sandbox.DEMO_SF_ID)
    kw.setdefault(
        "descriptors",
        [infer_descriptor("title", "Blue mug"), infer_descriptor("photo", "https://x.test/a.png")],
    )
    return PostRequest(identifier=identifier or new_id(), **kw)


async def wait_until(check: Callable[[], Any], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def wait_complete(stint: StintmintClient, sf_id: str, identifier: str) -> FlowResponse:
    deadline = time.monotonic() + 5
    while True:
        result = await stint.fetch(sf_id, identifier)
        if result.is_complete or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.03)


Handler = Callable[[httpx.Request], httpx.Response]


def mock_client(handler: Handler, **kw: Any) -> tuple[StintmintClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kw.setdefault("base_url", "https://stintmint.example/api/v1")
    kw.setdefault("username", USER)
    kw.setdefault("key", KEY)
    return StintmintClient(http, **kw), http


def answer(status_code: int, content: str | bytes, content_type: str = "application/json"):
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(status_code, content=content, headers={"content-type": content_type})

    return handler


# -- posting and fetching against the sandbox -------------------------------------------


async def test_post_then_fetch_pending_then_complete(stint: StintmintClient):
    """A post is answered at once; fetch says PENDING (not an error) until humans answered."""
    posted = request(batchId="batch-7", urgency="U1")
    answer = await stint.post(posted)
    assert isinstance(answer, PostAnswer)
    assert answer.as_dict()["identifier"] == posted.identifier

    pending = await stint.fetch("demo", posted.identifier)
    assert not pending.is_complete and pending.status == "PENDING"
    assert pending.responses == [] and pending.completed is None and pending.duration is None
    assert pending.created_at is not None

    done = await wait_complete(stint, "demo", posted.identifier)
    assert done.is_complete and done.status == "COMPLETED"
    assert done.identifier == posted.identifier and done.sf_id == "demo"
    assert [r["name"] for r in done.responses] == ["title", "photo"]
    assert all(r["answer"] and r["worker"] for r in done.responses)
    assert done.cost == pytest.approx(1.0)  # 2 descriptors x 2 modules x 0.25 credits
    assert done.duration == timedelta(milliseconds=round(COMPLETE_AFTER * 1000))


async def test_module_responses(stint: StintmintClient):
    """fetch_module answers one module's responses, with the sfId filled in from the request."""
    posted = request(
        stateOptions=[
            {"stateId": "review", "options": [{"optionId": "yes", "info": "Yes"}, {"info": "No"}]}
        ]
    )
    await stint.post(posted)
    pending = await stint.fetch_module("demo", posted.identifier, "review")
    assert not pending.is_complete and pending.state_id == "review"
    await wait_complete(stint, "demo", posted.identifier)
    for state_id in ("check", "review"):
        module = await stint.fetch_module("demo", posted.identifier, state_id)
        assert module.is_complete and module.state_id == state_id and module.sf_id == "demo"
        assert len(module.responses) == 2 and module.cost == pytest.approx(0.5)
    review = await stint.fetch_module("demo", posted.identifier, "review")
    assert {r["answer"] for r in review.responses} <= {"yes", "No"}


async def test_sandbox_retries_the_callback_until_200(stint: StintmintClient, apps, receiver):
    """The callback is retried every retry_interval on 500 and stops at the first 200."""
    hooks, hooks_url = receiver
    name = uuid.uuid4().hex
    posted = request(callbackUrl=f"{hooks_url}/hook/{name}?t=abc123", batchId="b1")
    await stint.post(posted)
    await wait_until(lambda: hooks.hits[name] > FAILURES_BEFORE_OK)
    await asyncio.sleep(RETRY_INTERVAL * 3)  # room for a wrong extra attempt
    assert hooks.hits[name] == FAILURES_BEFORE_OK + 1
    assert hooks.queries[name] == "t=abc123"

    sandbox = apps[stint_sandbox.SANDBOX_PREFIX].state.sandbox
    attempts = [a for a in sandbox.callback_attempts if a.identifier == posted.identifier]
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 500), (3, 200)]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= RETRY_INTERVAL * 0.9 for gap in gaps)

    delivered = parse_callback(hooks.bodies[name][-1])
    assert delivered.is_complete and delivered.identifier == posted.identifier
    assert delivered.batch_id == "b1" and len(delivered.responses) == 2
    fetched = await stint.fetch("demo", posted.identifier)
    assert (fetched.responses, fetched.completed) == (delivered.responses, delivered.completed)


async def test_sandbox_gives_up_after_max_attempts(stint: StintmintClient, apps, receiver):
    """A callback URL that never answers 200 gets exactly max_attempts tries, then none."""
    hooks, hooks_url = receiver
    before = hooks.hits["down"]
    posted = request(callbackUrl=f"{hooks_url}/down")
    await stint.post(posted)
    sandbox = apps[stint_sandbox.SANDBOX_PREFIX].state.sandbox

    def attempts() -> list[stint_sandbox.CallbackAttempt]:
        return [a for a in sandbox.callback_attempts if a.identifier == posted.identifier]

    await wait_until(lambda: len(attempts()) >= MAX_ATTEMPTS)
    await asyncio.sleep(RETRY_INTERVAL * 3)
    assert [a.status_code for a in attempts()] == [500] * MAX_ATTEMPTS
    assert hooks.hits["down"] - before == MAX_ATTEMPTS


async def test_account_default_callback_url(make_client, server, receiver):
    """Without callbackUrl in the post, the sandbox calls back the account's default URL."""
    hooks, _ = receiver
    stint = make_client(base_url=server.url + ACCOUNT_PREFIX)
    posted = request()
    await stint.post(posted)
    await wait_until(lambda: hooks.hits["account-default"] > FAILURES_BEFORE_OK)
    assert parse_callback(hooks.bodies["account-default"][-1]).identifier == posted.identifier


async def test_shutdown_cancels_pending_callbacks(http):
    """Stopping the server runs the sandbox lifespan, which cancels callbacks not yet due."""
    app = stint_sandbox.create_app(complete_after=60)
    with ThreadedServer(app) as running:
        stint = StintmintClient(http, base_url=running.url, username=USER, key=KEY)
        await stint.post(request(callbackUrl=f"http://127.0.0.1:{free_port()}/cb"))
        assert len(app.state.sandbox.tasks) == 1
    assert app.state.sandbox.tasks == set()
    assert app.state.sandbox.callback_attempts == []


# -- refusals ------------------------------------------------------------------------------


async def test_eleven_descriptors_are_refused_before_any_call():
    """More than 10 descriptors is a ValueError, whether building the request or posting it."""
    descriptors = [infer_descriptor(f"field{i}", "x") for i in range(MAX_DESCRIPTORS + 1)]
    with pytest.raises(ValueError, match="at most 10 descriptors") as caught:
        PostRequest(identifier="a1", sfId="demo", descriptors=descriptors)
    assert validation_message(caught.value) == "A request takes at most 10 descriptors, not 11."

    sent: list[httpx.Request] = []
    stint, http = mock_client(lambda r: sent.append(r) or httpx.Response(200, json={}))
    grown = request(descriptors=descriptors[:MAX_DESCRIPTORS])
    grown.descriptors.append(descriptors[-1])  # lists inside a model can still be changed
    async with http:
        with pytest.raises(ValueError, match="at most 10"):
            await stint.post(grown)
    assert sent == []


@pytest.mark.parametrize(
    "kw",
    [
        {"identifier": "a b"},
        {"identifier": "../x"},
        {"sfId": ""},
        {"sfId": "demo?x=1"},
        {"descriptors": []},
        {"batchId": "b/1"},
        {"urgency": "U 1"},
        {"callbackUrl": "ftp://x.test/cb"},
        {"descriptors": [{"name": "a", "type": "GIF", "info": "x"}]},
        {"descriptors": [{"name": "a", "type": "TEXT", "info": "  "}]},
        {"stateOptions": [{"stateId": "review", "options": []}]},
        {"stateOptions": [{"stateId": "review", "options": [{"info": "x", "type": "PDF"}]}]},
    ],
)
def test_post_request_validation(kw):
    """Bad ids, codes, URLs, descriptors or state options are a ValueError saying what is wrong."""
    fields = {"identifier": "a1", "sfId": "demo", "descriptors": [infer_descriptor("t", "x")]}
    with pytest.raises(ValueError) as caught:
        PostRequest(**{**fields, **kw})
    assert validation_message(caught.value)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda s: s.post(request(sfId="nosuchflow")), VendorNotFound, "nosuchflow not found"),
        (
            lambda s: s.post(request(sfId="moderation", descriptors=[infer_descriptor("a", "b")])),
            VendorRejected,
            "no descriptor 'a'",
        ),
        (
            lambda s: s.post(
                request(sfId="moderation", descriptors=[infer_descriptor("author", "b")])
            ),
            VendorRejected,
            "needs the descriptors: content",
        ),
        (lambda s: s.fetch("demo", "never-posted"), VendorNotFound, "no request never-posted"),
        (lambda s: s.fetch_module("demo", "never-posted", "zzz"), VendorNotFound, "no module"),
    ],
    ids=["unknown-flow", "unknown-descriptor", "mandatory-missing", "unknown-id", "no-module"],
)
async def test_sandbox_refusals_carry_its_message(stint, call, error, message):
    """What the sandbox refuses becomes the matching VendorError with the sandbox's reason."""
    with pytest.raises(error, match=message) as caught:
        await call(stint)
    assert caught.value.vendor == "Stintmint"


async def test_posting_an_identifier_twice_is_rejected(stint):
    """The identifier is unique per StintFlow: a second post of it is a 409 VendorRejected."""
    posted = request()
    await stint.post(posted)
    with pytest.raises(VendorRejected, match="already posted") as caught:
        await stint.post(posted)
    assert caught.value.status_code == 409


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"identifier": "a", "sfId": "demo"}, "descriptors"),
        (
            {"sfId": "demo", "descriptors": [{"name": "a", "type": "TEXT", "info": "x"}]},
            "mandatory",
        ),
        (
            {"identifier": "a", "sfId": "demo", "descriptors": [{"name": "a", "type": "GIF"}]},
            "needs 'info'",
        ),
        (
            {
                "identifier": "a",
                "sfId": "demo",
                "descriptors": [{"name": "a", "type": "GIF", "info": "x"}],
            },
            "TEXT, IMAGE, PDF, HREF, AUDIO, VIDEO",
        ),
        (
            {
                "identifier": "a",
                "sfId": "demo",
                "descriptors": [{"name": f"n{i}", "type": "TEXT", "info": "x"} for i in range(11)],
            },
            "maximum of 10",
        ),
        ([1, 2], "JSON object"),
    ],
)
async def test_sandbox_validates_post_bodies(http, stint_url, body, message):
    """The sandbox checks bodies like the service would and answers 400 with a clear message."""
    response = await http.post(stint_url + "/post", json=body, auth=(USER, KEY))
    assert response.status_code == 400
    assert message in response.json()["message"]


async def test_sandbox_401_asks_for_basic_auth(http, stint_url):
    """Without valid credentials the sandbox answers 401, a JSON reason and a Basic challenge."""
    response = await http.post(stint_url + "/fetch", json={"identifier": "a", "sfId": "demo"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["error"] == "unauthorized"


@pytest.mark.parametrize("call", ["post", "fetch", "ping"])
async def test_bad_key_is_an_auth_error(make_client, call):
    """A wrong developer key is VendorAuthError (401) whose message never holds the key."""
    stint = make_client(key="wrong-secret-123")
    with pytest.raises(VendorAuthError) as caught:
        if call == "post":
            await stint.post(request())
        elif call == "fetch":
            await stint.fetch("demo", "x1")
        else:
            await stint.ping()
    assert caught.value.status_code == 401
    assert "wrong-secret-123" not in str(caught.value)


async def test_ping_passes_against_the_sandbox(stint, apps, stint_url):
    """ping() succeeds on the sandbox's JSON 404 for a request that cannot exist."""
    calls = apps[stint_sandbox.SANDBOX_PREFIX].state.calls
    calls.clear()
    await stint.ping()
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("POST", stint_sandbox.SANDBOX_PREFIX + "/fetch", 404)
    ]


@pytest.mark.parametrize("call", ["post", "fetch", "fetch_module", "ping"])
async def test_unreachable_is_unavailable_without_the_key(http, call):
    """A refused connection is VendorUnavailable saying "not reachable", never the key."""
    secret = "s3cret-developer-key!"
    stint = StintmintClient(
        http, base_url=f"http://127.0.0.1:{free_port()}/api/v1", username=USER, key=secret
    )
    with pytest.raises(VendorUnavailable, match="not reachable") as caught:
        if call == "post":
            await stint.post(request())
        elif call == "fetch":
            await stint.fetch("demo", "x1")
        elif call == "fetch_module":
            await stint.fetch_module("demo", "x1", "review")
        else:
            await stint.ping()
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert secret not in repr(stint)


# -- answers on MockTransport ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status_code", "body", "error"),
    [
        (400, {"message": "bad input x"}, VendorRejected),
        (422, {"error": "bad input x"}, VendorRejected),
        (403, {"detail": "bad input x"}, VendorAuthError),
        (404, {"message": "bad input x"}, VendorNotFound),
        (500, {"errors": ["bad input x"]}, VendorUnavailable),
        (502, "bad input x", VendorUnavailable),
    ],
)
async def test_http_errors_map_to_vendor_errors(status_code, body, error):
    """Each HTTP failure becomes its VendorError, with the vendor's own message when it sent one."""
    content = json.dumps(body) if isinstance(body, dict) else body
    media = "application/json" if isinstance(body, dict) else "text/plain"
    stint, http = mock_client(answer(status_code, content, media))
    async with http:
        with pytest.raises(error, match="bad input x") as caught:
            await stint.fetch("demo", "a1")
    assert caught.value.vendor == "Stintmint" and caught.value.status_code == status_code


async def test_vendor_message_echoing_the_key_is_masked():
    """An error message that repeats the developer key is shown with the key masked."""
    stint, http = mock_client(answer(400, json.dumps({"message": f"bad key {KEY}"})))
    async with http:
        with pytest.raises(VendorRejected) as caught:
            await stint.fetch("demo", "a1")
    assert KEY not in str(caught.value) and REDACTED in str(caught.value)


@pytest.mark.parametrize(
    "content", ["{not json", "<html>oops</html>", "[1, 2]", '"done"', "[" * 50_000 + "]" * 50_000]
)
async def test_fetch_answers_we_cannot_understand_are_invalid(content):
    """A 2xx fetch answer that is not a JSON object is VendorResponseInvalid."""
    stint, http = mock_client(answer(200, content))
    async with http:
        with pytest.raises(VendorResponseInvalid):
            await stint.fetch("demo", "a1")


@pytest.mark.parametrize("content", ["", "{}", '{"status": null, "responses": null}'])
async def test_an_empty_fetch_answer_is_not_ready_yet(content):
    """An empty or bare 2xx fetch answer means "not ready": a FlowResponse, not an error."""
    stint, http = mock_client(answer(200, content))
    async with http:
        result = await stint.fetch("demo", "a1")
    assert not result.is_complete and result.responses == []
    assert (result.identifier, result.sf_id) == ("a1", "demo")


@pytest.mark.parametrize(
    ("status_code", "content", "expected"),
    [
        (200, '{"requestId": "r-1", "queued": true}', {"requestId": "r-1", "queued": True}),
        (201, "", {}),
        (200, '"OK"', {"answer": "OK"}),
    ],
)
async def test_post_answers_are_kept_as_sent(status_code, content, expected):
    """The undocumented /post answer is kept whole, whatever JSON it is, or empty."""
    stint, http = mock_client(answer(status_code, content))
    async with http:
        result = await stint.post(request())
    assert result.as_dict() == expected


async def test_a_post_answer_that_is_not_json_warns_before_a_repost():
    """An unreadable 2xx answer to a post is invalid, saying the request may still be accepted."""
    stint, http = mock_client(answer(200, "<html>thanks</html>", "text/html"))
    async with http:
        with pytest.raises(VendorResponseInvalid, match="may still have been accepted"):
            await stint.post(request())


async def test_ping_on_a_url_that_is_not_the_api():
    """A non-JSON 404 to the ping means the URL is wrong, not that all is well."""
    stint, http = mock_client(answer(404, "<html>Not Found</html>", "text/html"))
    async with http:
        with pytest.raises(VendorNotFound, match="no Stintmint API"):
            await stint.ping()


async def test_what_the_client_sends():
    """Every call is a JSON POST to base URL + path with Basic auth of (email, developer key)."""
    seen: list[httpx.Request] = []

    def handler(sent: httpx.Request) -> httpx.Response:
        seen.append(sent)
        return httpx.Response(200, json={"status": "PENDING"})

    stint, http = mock_client(handler, base_url="https://stintmint.example/api/v1/")
    posted = request(identifier="a1", callbackUrl="https://hub.example/hooks/stintmint?t=x")
    async with http:
        await stint.post(posted)
        await stint.fetch("demo", "a1")
        await stint.fetch_module("demo", "a1", "review")
        await stint.ping()
    assert [str(r.url) for r in seen] == [
        "https://stintmint.example/api/v1/post",
        *["https://stintmint.example/api/v1/fetch"] * 3,
    ]
    assert all(r.method == "POST" for r in seen)
    expected_auth = httpx.BasicAuth(USER, KEY)._auth_header
    assert all(r.headers["authorization"] == expected_auth for r in seen)
    assert all(r.headers["content-type"] == "application/json" for r in seen)
    assert json.loads(seen[0].content) == {
        "identifier": "a1",
        "sfId": "demo",
        "callbackUrl": "https://hub.example/hooks/stintmint?t=x",
        "descriptors": [
            {"name": "title", "type": "TEXT", "info": "Blue mug"},
            {"name": "photo", "type": "HREF", "info": "https://x.test/a.png"},
        ],
    }
    assert json.loads(seen[1].content) == {"identifier": "a1", "sfId": "demo"}
    assert json.loads(seen[2].content) == {"identifier": "a1", "sfId": "demo", "stateId": "review"}
    assert json.loads(seen[3].content) == {"identifier": PING_IDENTIFIER, "sfId": PING_SF_ID}


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.fetch("demo", "a/../b"),
        lambda s: s.fetch("demo?x", "a1"),
        lambda s: s.fetch_module("demo", "a1", "re view"),
    ],
)
async def test_bad_ids_never_reach_stintmint(call):
    """Ids that are not plain alphanumeric names raise ValueError before any request is sent."""
    sent: list[httpx.Request] = []
    stint, http = mock_client(lambda r: sent.append(r) or httpx.Response(200, json={}))
    async with http:
        with pytest.raises(ValueError, match="not a valid"):
            await call(stint)
    assert sent == []


@pytest.mark.parametrize(
    "kw",
    [
        {"base_url": "ftp://stintmint.example"},
        {"base_url": "stintmint.example/api"},
        {"base_url": "https://stintmint.example/api?key=abc"},
        {"username": ""},
        {"key": ""},
        {"key": "line\r\nbreak"},
    ],
)
def test_bad_configuration_is_refused(kw):
    """A bad base URL or unusable credentials are refused at construction, without echoing them."""
    settings = {"base_url": "https://stintmint.example", "username": USER, "key": KEY, **kw}
    with pytest.raises(ValueError) as caught:
        StintmintClient(httpx.AsyncClient(), **settings)
    assert "abc" not in str(caught.value) and "break" not in str(caught.value)


# -- models ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "explicit", "kind", "info"),
    [
        ("Blue mug", None, DescriptorType.TEXT, "Blue mug"),
        ("https://x.test/a.png", None, DescriptorType.HREF, "https://x.test/a.png"),
        (" http://x.test ", None, DescriptorType.HREF, "http://x.test"),
        ("HTTPS://X.TEST/p", None, DescriptorType.HREF, "HTTPS://X.TEST/p"),
        ("ftp://x.test/a", None, DescriptorType.TEXT, "ftp://x.test/a"),
        ("https://", None, DescriptorType.TEXT, "https://"),
        ("see https://x.test", None, DescriptorType.TEXT, "see https://x.test"),
        ("https://x.test/a.png", "image", DescriptorType.IMAGE, "https://x.test/a.png"),
        ("https://x.test/a.pdf", "Pdf", DescriptorType.PDF, "https://x.test/a.pdf"),
        ("https://x.test", "TEXT", DescriptorType.TEXT, "https://x.test"),
        ("clip", " video ", DescriptorType.VIDEO, "clip"),
    ],
)
def test_infer_descriptor(value, explicit, kind, info):
    """http(s) URLs become HREF, anything else TEXT, and an explicit type (any case) wins."""
    assert infer_descriptor("field", value, explicit) == Descriptor(
        name="field", type=kind, info=info
    )


@pytest.mark.parametrize(("name", "explicit"), [("a", "gif"), ("a", "url"), ("", None)])
def test_infer_descriptor_rejects(name, explicit):
    """An unknown type names the six types; an empty descriptor name is refused."""
    with pytest.raises(ValueError, match=r"TEXT, IMAGE, PDF, HREF, AUDIO, VIDEO|needs a name"):
        infer_descriptor(name, "x", explicit)


CALLBACK = {
    "identifier": "item-1",
    "status": "COMPLETED",
    "created": 1_700_000_000_000,
    "completed": 1_700_000_090_000,
    "sfId": "demo",
    "batchId": "b1",
    "cost": 1.5,
    "responses": [{"name": "title", "answer": "approved", "worker": "w1", "extra": [1]}],
}


@pytest.mark.parametrize(
    ("body", "check"),
    [
        (CALLBACK, lambda r: r.duration == timedelta(seconds=90) and r.cost == 1.5),
        (
            {**CALLBACK, "created": "1700000000000", "completed": "", "cost": "", "batchId": None},
            lambda r: r.completed is None and r.cost is None and r.batch_id is None,
        ),
        (
            {**CALLBACK, "responses": None, "status": "completed", "newField": {"x": 1}},
            lambda r: (
                r.is_complete and r.responses == [] and r.model_extra == {"newField": {"x": 1}}
            ),
        ),
        ({**CALLBACK, "cost": "2"}, lambda r: r.cost == 2),
    ],
)
def test_parse_callback_accepts(body, check):
    """A callback body parses with strings for numbers, nulls and unknown fields tolerated."""
    result = parse_callback(json.dumps(body).encode())
    assert result.identifier == "item-1" and result.sf_id == "demo"
    assert result.responses in ([], CALLBACK["responses"])
    assert check(result)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"x": NaN}',
        b"[" * 50_000 + b"]" * 50_000,
        json.dumps({**CALLBACK, "identifier": None}).encode(),
        json.dumps({k: v for k, v in CALLBACK.items() if k != "sfId"}).encode(),
        json.dumps({**CALLBACK, "identifier": "a/../b"}).encode(),
        json.dumps({**CALLBACK, "responses": [], "cost": {"credits": 1}}).encode(),
        b" " * 2_000_000,
    ],
)
def test_parse_callback_rejects(body):
    """A callback that is not a JSON object naming a valid identifier and sfId is a ValueError."""
    with pytest.raises(ValueError):
        parse_callback(body)


def test_flow_response_helpers():
    """created/completed are epoch ms; datetimes are UTC; duration is completed minus created."""
    result = FlowResponse.model_validate(CALLBACK)
    assert result.created_at is not None and result.created_at.tzinfo is not None
    assert result.completed_at - result.created_at == result.duration == timedelta(seconds=90)
    assert result.as_dict() == CALLBACK
    assert not FlowResponse(status="PENDING").is_complete
