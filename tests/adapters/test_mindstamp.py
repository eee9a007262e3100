"""The Mindstamp adapter against the Mindstamp sandbox over real HTTP, plus edge cases on
MockTransport."""

from __future__ import annotations

import asyncio
import dataclasses
import json
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
from adapters.mindstamp import (
    CALLER_SHARE,
    DEFAULT_RATES,
    MAX_LIMIT,
    RESERVE_SHARE,
    Count,
    MindstampClient,
    Rate,
    RateLimiter,
    Shares,
    Summary,
    Video,
    View,
    acting_for,
    current_caller,
    numeric_fields,
    period_start,
    readable_name,
    validate_id,
)
from adapters.mindstamp import sandbox as ms_sandbox
from adapters.mindstamp.client import RETRIES
from adapters.redact import REDACTED
from adapters.retries import NO_RETRIES, Retries
from tests.fakes.servers import ThreadedServer

pytestmark = pytest.mark.timeout(30)

TOKEN = ms_sandbox.DEMO_TOKEN
EXAMPLE = ms_sandbox.EXAMPLE_VIDEO


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
    root = Starlette(routes=[Mount(ms_sandbox.SANDBOX_PREFIX, app=swappable)])
    with ThreadedServer(root) as running:
        yield running


@pytest.fixture
def use_app(swappable: SwappableApp) -> Callable[..., Starlette]:
    """A fresh sandbox (``create_app(**kw)``) for this test, served at the sandbox URL."""

    def use(**kw: Any) -> Starlette:
        swappable.app = ms_sandbox.create_app(**kw)
        return swappable.app

    return use


@pytest.fixture
def app(use_app: Callable[..., Starlette]) -> Starlette:
    return use_app()


@pytest.fixture
def sandbox(app: Starlette) -> ms_sandbox.MindstampSandbox:
    return app.state.sandbox


@pytest.fixture
def base_url(server: ThreadedServer) -> str:
    return server.url + ms_sandbox.SANDBOX_PREFIX


@pytest.fixture
def sent() -> list[tuple[float, httpx.Request]]:
    """Every request the test's clients sent, with the moment it was sent."""
    return []


@pytest.fixture
async def http(sent: list[tuple[float, httpx.Request]]) -> AsyncIterator[httpx.AsyncClient]:
    async def record(request: httpx.Request) -> None:
        sent.append((time.monotonic(), request))

    async with httpx.AsyncClient(event_hooks={"request": [record]}) as client:
        yield client


def roomy() -> RateLimiter:
    """A limiter that never gets in a test's way."""
    return RateLimiter([Rate(100_000, 60.0)])


def backoff(seconds: float) -> Retries:
    """The client's retries, waiting ``seconds`` before the first retry instead of 1."""
    return dataclasses.replace(RETRIES, backoff=seconds)


@pytest.fixture
def make_client(
    http: httpx.AsyncClient, base_url: str, app: Starlette
) -> Callable[..., MindstampClient]:
    def make(**kw: Any) -> MindstampClient:
        kw.setdefault("base_url", base_url)
        kw.setdefault("token", TOKEN)
        kw.setdefault("limiter", roomy())
        kw.setdefault("retries", backoff(0.02))
        return MindstampClient(http, **kw)

    return make


@pytest.fixture
def client(make_client: Callable[..., MindstampClient]) -> MindstampClient:
    return make_client()


Handler = Callable[[httpx.Request], httpx.Response]


def mock_client(handler: Handler, **kw: Any) -> tuple[MindstampClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kw.setdefault("base_url", "http://mindstamp.example/api/v1")
    kw.setdefault("token", TOKEN)
    kw.setdefault("limiter", roomy())
    kw.setdefault("retries", backoff(0.0))
    return MindstampClient(http, **kw), http


def answer(status_code: int, body: Any, headers: dict[str, str] | None = None) -> Handler:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        merged = {"content-type": "application/json", **(headers or {})}
        return httpx.Response(status_code, content=content, headers=merged)

    return handler


def paths(sent: list[tuple[float, httpx.Request]]) -> list[str]:
    return [
        f"{request.method} {request.url.path}?{request.url.query.decode()}" for _, request in sent
    ]


# -- paging ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", ms_sandbox.LIST_SHAPES)
async def test_counting_reads_pages_of_100_or_takes_the_stated_total(
    use_app, make_client, sent, shape
):
    """video_counts counts 250 views: page by page (≤ 100 each) from a bare array, in one
    call from an object that states its total, whatever the list's shape."""
    sandbox = use_app(list_shape=shape).state.sandbox
    have = sum(1 for v in sandbox.views.values() if v.video == EXAMPLE)
    for _ in range(250 - have):
        sandbox.add_view(EXAMPLE)
    counts = await make_client().video_counts(EXAMPLE)
    assert counts.views == Count(250, True)
    prefix = f"GET {ms_sandbox.SANDBOX_PREFIX}/videos/{EXAMPLE}/views?"
    offsets = [0, 100, 200] if shape == "array" else [0]
    assert [p for p in paths(sent) if p.startswith(prefix)] == [
        f"{prefix}offset={offset}&limit=100" for offset in offsets
    ]


async def test_counting_stops_after_max_items_and_says_so(client: MindstampClient, sandbox):
    """Past max_items, counting stops at the end of that page and the count is incomplete."""
    for _ in range(250):
        sandbox.add_view(EXAMPLE)
    count = await client.count(client.video_views, EXAMPLE, max_items=150)
    assert count == Count(200, False)


async def test_single_pages(client: MindstampClient):
    """videos(offset, limit) answers one page of that size, and the next page follows on."""
    first = await client.videos(limit=5)
    second = await client.videos(offset=5, limit=5)
    assert len(first.items) == len(second.items) == 5 and first.has_more
    assert not {v.token for v in first.items} & {v.token for v in second.items}
    assert second.next_offset == 10


async def test_sandbox_refuses_a_limit_over_100(http: httpx.AsyncClient, base_url: str, app):
    """The sandbox answers 422 for limit=101, as the client never asks for more than 100."""
    response = await http.get(
        base_url + "/videos?limit=101", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 422 and "limit" in response.json()["message"]


# -- every endpoint the client reads ------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda c: c.user(), "User"),
        (lambda c: c.summary(), "Summary"),
        (lambda c: c.summary("week"), "Summary"),
        (lambda c: c.summary("month"), "Summary"),
        (lambda c: c.views(), "page"),
        (lambda c: c.videos(), "page"),
        (lambda c: c.video(EXAMPLE), "Video"),
        (lambda c: c.video_views(EXAMPLE), "page"),
        (lambda c: c.video_interactions(EXAMPLE), "page"),
    ],
)
async def test_every_endpoint_the_client_reads(client, call, kind):
    """Each endpoint the client calls answers through it with a non-empty result."""
    result = await call(client)
    if kind == "page":
        assert result.items and all(item.model_extra is not None for item in result.items)
    else:
        assert type(result).__name__ == kind and result.model_dump(exclude_none=True)


async def test_video_reads_the_documented_fields(client: MindstampClient):
    """The document's example video reads back with its token, title, duration and link."""
    video = await client.video(EXAMPLE)
    assert video.token == EXAMPLE and video.key == EXAMPLE
    assert video.title == "Interactive Video #12" and video.duration == 45
    assert video.url == f"https://api.mindstamp.com/watch/{EXAMPLE}"
    assert video.created and video.created.tzinfo is not None and video.id


async def test_ping_proves_the_token(client: MindstampClient, sandbox):
    """ping reads /user/me once and answers the account."""
    user = await client.ping()
    assert user.email == "bot@chatops-hub.example" and sandbox.count("/user/me") == 1


# -- summaries, counts, top videos -------------------------------------------------------


@pytest.mark.parametrize("period", [None, "week", "month"])
async def test_summary_numeric_fields_are_named_and_verbatim(
    client: MindstampClient, http: httpx.AsyncClient, base_url: str, period
):
    """Every numeric field of a summary is listed with a readable name and its exact value."""
    summary = await client.summary(period)
    fields = dict(numeric_fields(summary))
    path = "/views/summary" + (f"/{period}" if period else "")
    raw = (await http.get(base_url + path, headers={"Authorization": f"Bearer {TOKEN}"})).json()
    numbers = {k: v for k, v in raw.items() if type(v) in (int, float)}
    assert len(fields) == len(numbers) >= 5
    assert fields["Total views"] == raw["total_views"]
    assert fields["Avg watch time"] == raw["avgWatchTime"]
    assert fields["Unique viewers"] == raw["uniqueViewers"]
    assert fields["Completion rate"] == raw["completion_rate"]
    assert "Period" not in fields and "Live" not in fields and "Top video" not in fields
    assert summary.model_extra and summary.model_extra["period"] == (period or "all")
    assert summary.model_extra["engagementScore"] is None


@pytest.mark.parametrize(
    ("key", "name"),
    [
        ("total_views", "Total views"),
        ("avgWatchTime", "Avg watch time"),
        ("viewsLast7Days", "Views last 7 days"),
        ("avgCTR", "Avg CTR"),
        ("completion-rate", "Completion rate"),
        ("views", "Views"),
    ],
)
def test_readable_names(key, name):
    """Keys in snake, camel or kebab case read as words; acronyms stay upper case."""
    assert readable_name(key) == name


def test_numeric_fields_skip_flags_texts_and_nulls():
    """Booleans, texts, nulls and lists are not numbers; nested numbers are "Parent: child"."""
    summary = Summary.model_validate(
        {"a": 1, "b": True, "c": "2", "d": None, "e": [1], "byDevice": {"mobile": 2.5}}
    )
    assert numeric_fields(summary) == [("A", 1), ("By device: mobile", 2.5)]


async def test_video_counts_and_top_videos_match_the_sandbox(client: MindstampClient, sandbox):
    """video_counts and top_videos count exactly the views the sandbox holds."""
    counts = await client.video_counts(EXAMPLE)
    views = [v for v in sandbox.views.values() if v.video == EXAMPLE]
    assert counts.views.total == len(views) and counts.views.complete
    assert counts.interactions.total == sum(
        1 for i in sandbox.interactions.values() if i.video == EXAMPLE
    )
    top = await client.top_videos("week", 3)
    since = period_start("week").timestamp()
    recent = [v.video for v in sandbox.views.values() if v.created_at >= since]
    expected = sorted({t: recent.count(t) for t in set(recent)}.items(), key=lambda kv: -kv[1])
    assert [c.views for c in top.videos] == [n for _, n in expected[:3]]
    assert top.complete and top.views_read == len(sandbox.views)
    assert all(c.video is not None and c.video.token == c.video_id for c in top.videos)


# -- nulls -------------------------------------------------------------------------------


async def test_null_fields_are_normal(client: MindstampClient, sandbox):
    """Videos with a null title, duration or thumbnail and views with null fields read fine."""
    videos = {v.token: v for v in (await client.videos(limit=MAX_LIMIT)).items}
    assert len(videos) == len(sandbox.videos)
    untitled = next(v for v in videos.values() if v.title is None)
    assert untitled.name == untitled.token
    unfinished = next(v for v in videos.values() if v.duration is None)
    assert unfinished.thumbnail is None and unfinished.title == "Holiday party invitation"
    views = (await client.views(limit=MAX_LIMIT)).items
    assert len(views) == MAX_LIMIT < len(sandbox.views)
    assert all(v.model_extra["location"] is None for v in views)


def test_models_tolerate_nulls_odd_values_and_extras():
    """A video of nulls, odd types and unknown fields parses; nested video refs are read."""
    video = Video.model_validate(
        {"id": 7, "title": None, "duration": "n/a", "created": "yesterday", "new": 1}
    )
    assert video.id == "7" and video.duration is None and video.created is None
    assert video.model_extra == {"new": 1} and video.name == "7"
    assert Video.model_validate({}).name == "Untitled video"
    view = View.model_validate({"video": {"token": "abc", "title": "T"}, "createdAt": 1700000000})
    assert view.video_id == "abc" and view.created_at == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=UTC
    )
    assert View.model_validate({"video": "tok"}).video_id == "tok"


# -- 503, the vendor's rate limit --------------------------------------------------------


async def test_503_on_a_read_is_retried_with_backoff(make_client, sandbox):
    """Two 503s without Retry-After, then success: the read waits and tries three times."""
    client = make_client(retries=backoff(0.1))
    sandbox.force_503(2)
    started = time.monotonic()
    video = await client.video(EXAMPLE)
    assert video.token == EXAMPLE
    assert sandbox.count(f"/videos/{EXAMPLE}") == 3
    assert time.monotonic() - started >= 0.1 + 0.2  # backoff, then twice the backoff


async def test_503_retry_honours_retry_after(make_client, sandbox):
    """A 503 with Retry-After: 1 makes the read wait at least that second before trying again."""
    client = make_client(retries=backoff(0.0))
    sandbox.force_503(1, retry_after=1)
    started = time.monotonic()
    await client.videos()
    assert time.monotonic() - started >= 1.0 and sandbox.count("/videos") == 2


@pytest.mark.parametrize(
    ("retry_after", "calls", "seconds"),
    [(None, 4, 60), (30, 1, 30)],
)
async def test_persistent_503_is_vendor_rate_limited(
    client: MindstampClient, sandbox, retry_after, calls, seconds
):
    """Still 503 after the retries (or a Retry-After too long to wait): a plain message."""
    sandbox.force_503(10, retry_after=retry_after)
    with pytest.raises(VendorRateLimited) as caught:
        await client.videos()
    assert str(caught.value) == f"Mindstamp's rate limit is reached; try again in {seconds} s"
    assert caught.value.retry_after == seconds and TOKEN not in str(caught.value)
    assert sandbox.count("/videos") == calls


@pytest.mark.parametrize(("header", "seconds"), [(True, range(55, 61)), (False, [60])])
async def test_sandbox_rate_limit_answers_503(use_app, make_client, header, seconds):
    """More than per_minute calls a minute make the sandbox answer 503, with Retry-After or not."""
    use_app(per_minute=3, retry_after_header=header)
    client = make_client(retries=NO_RETRIES)
    for _ in range(3):
        await client.user()
    with pytest.raises(VendorRateLimited) as caught:
        await client.user()
    assert caught.value.retry_after in seconds


# -- the client-side limiter -------------------------------------------------------------


async def test_limiter_keeps_to_its_rate_across_two_clients(make_client, sent):
    """Two clients sharing a 5-a-second limiter send 12 calls with never 6 in one second."""
    limiter = RateLimiter([Rate(5, 1.0)])
    first, second = make_client(limiter=limiter), make_client(limiter=limiter)
    started = time.monotonic()
    await asyncio.gather(*((first if n % 2 else second).user() for n in range(12)))
    elapsed = time.monotonic() - started
    times = sorted(at for at, _ in sent)
    assert len(times) == 12 and 2.0 <= elapsed < 4.0
    assert all(times[i + 5] - times[i] >= 0.9 for i in range(len(times) - 5))


def test_a_limiter_keeps_the_documents_rates_by_default():
    """A limiter built without rates (as the wiring builds the process's one) keeps
    Mindstamp's 100 calls a minute and 1,000 an hour."""
    assert RateLimiter().rates == (Rate(100, 60.0), Rate(1000, 3600.0))


async def test_spent_hour_budget_is_rate_limited_at_once(make_client, sandbox):
    """With the hour's budget spent, the next call fails at once with retry_after ≈ an hour."""
    client = make_client(limiter=RateLimiter([Rate(100, 60.0), Rate(3, 3600.0)]))
    for _ in range(3):
        await client.user()
    started = time.monotonic()
    with pytest.raises(VendorRateLimited, match=r"try again in \d+ s") as caught:
        await client.user()
    assert time.monotonic() - started < 0.5
    assert 3590 <= (caught.value.retry_after or 0) <= 3600
    assert sandbox.count("/user/me") == 3


async def test_limiter_waits_a_short_wait():
    """A slot a short moment away is waited for; further than max_wait it is refused."""
    limiter = RateLimiter([Rate(2, 0.3)], max_wait=0.5)
    started = time.monotonic()
    for _ in range(3):
        await limiter.acquire()
    assert 0.28 <= time.monotonic() - started < 1.0
    slow = RateLimiter([Rate(1, 5.0)], max_wait=1.0)
    await slow.acquire()
    with pytest.raises(VendorRateLimited):
        await slow.acquire()
    assert 4 < slow.delay() <= 5


# -- fair shares of the budget -----------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_default_shares_are_a_quarter_per_caller_and_a_fifth_kept():
    """With the document's rates: 25 a minute and 250 an hour per caller, 80 and 800 for
    all callers together, the rest (20 and 200) kept for background work."""
    shares = RateLimiter().shares
    assert (shares.caller, shares.reserve) == (CALLER_SHARE, RESERVE_SHARE) == (0.25, 0.20)
    assert [shares.caller_calls(rate) for rate in DEFAULT_RATES] == [25, 250]
    assert [shares.interactive_calls(rate) for rate in DEFAULT_RATES] == [80, 800]


async def test_a_caller_past_their_share_is_refused_while_others_go_on():
    """8 a second (2 per caller): a caller's 3rd call in the second is refused at once with
    retry_after, costing nothing; another caller and background work go at once; a second
    later the caller's share is back."""
    clock = FakeClock()
    limiter = RateLimiter([Rate(8, 1.0)], clock=clock)
    for _ in range(2):
        await limiter.acquire("U1")
    with pytest.raises(VendorRateLimited, match=r"share .* try again in 1 s") as caught:
        await limiter.acquire("U1")
    assert caught.value.retry_after == 1.0 and caught.value.vendor == "Mindstamp"
    assert limiter.delay("U1") == pytest.approx(1.0)
    assert limiter.delay("U2") == limiter.delay(None) == 0
    await limiter.acquire("U2")
    await limiter.acquire(None)
    clock.now += 1.0
    await limiter.acquire("U1")


async def test_callers_together_leave_the_reserve_to_background_work():
    """20 a minute: 5 per caller, 16 for callers together. Once four callers used 16, a
    fifth is refused, yet background work still gets the 4 kept for it at once."""
    clock = FakeClock()
    limiter = RateLimiter([Rate(20, 60.0)], clock=clock)
    for user in ("U1", "U2", "U3", "U4"):
        for _ in range(4):
            await limiter.acquire(user)
    with pytest.raises(VendorRateLimited, match="kept for background work") as caught:
        await limiter.acquire("U5")
    assert caught.value.retry_after == 60.0
    for _ in range(4):
        await limiter.acquire(None)  # the reserve
    with pytest.raises(VendorRateLimited, match="rate limit is reached"):
        await limiter.acquire(None)  # the whole budget is spent now


async def test_each_rate_has_its_shares():
    """Shares hold for every rate: with 1,000 a minute but 8 an hour, a caller gets 2 an
    hour, refused with retry_after of about an hour."""
    clock = FakeClock()
    limiter = RateLimiter([Rate(1000, 60.0), Rate(8, 3600.0)], clock=clock)
    await limiter.acquire("U1")
    clock.now += 120
    await limiter.acquire("U1")
    clock.now += 120
    with pytest.raises(VendorRateLimited) as caught:
        await limiter.acquire("U1")
    assert caught.value.retry_after == 3600 - 240


async def test_idle_callers_are_forgotten():
    """A caller none of whose calls count any more is dropped, so the table stays small."""
    clock = FakeClock()
    limiter = RateLimiter([Rate(100, 60.0)], clock=clock)
    for n in range(50):
        await limiter.acquire(f"U{n}")
    assert limiter.callers == 50
    clock.now += 61
    await limiter.acquire("U0")
    assert limiter.callers == 1


@pytest.mark.parametrize(
    "shares", [{"caller": 0}, {"caller": 1.5}, {"reserve": 1}, {"reserve": -0.1}]
)
def test_impossible_shares_are_refused(shares):
    with pytest.raises(ValueError):
        Shares(**shares)


async def test_client_calls_are_made_on_behalf_of_the_caller_set_around_them(make_client, sandbox):
    """`acting_for` decides on whose behalf the client's calls go, through real HTTP: the
    caller past their share is refused before anything is sent; the same code in a block
    acting for nobody (a digest) goes; leaving a block restores the caller before it."""
    client = make_client(limiter=RateLimiter([Rate(8, 60.0)]))
    assert current_caller() is None
    with acting_for("U1"):
        await client.user()
        await client.user()
        with pytest.raises(VendorRateLimited, match="try again in"):
            await client.user()
        with acting_for(None):
            await client.user()
        assert current_caller() == "U1"
    with acting_for("U2"):
        await client.user()
    assert current_caller() is None
    assert sandbox.count("/user/me") == 4


async def test_concurrent_tasks_keep_their_own_caller():
    """The caller is per task: two commands running at once never see each other's."""

    async def one(user: str) -> str | None:
        with acting_for(user):
            await asyncio.sleep(0.01)
            return current_caller()

    assert await asyncio.gather(one("U1"), one("U2")) == ["U1", "U2"]


# -- other errors ------------------------------------------------------------------------


async def test_bad_token_is_auth_error(make_client):
    """A token the sandbox does not know is VendorAuthError, and the token is not shown."""
    client = make_client(token="not-the-token-xyz")
    with pytest.raises(VendorAuthError) as caught:
        await client.ping()
    assert "not-the-token-xyz" not in str(caught.value) and "xyz" not in repr(client)


async def test_unknown_video_is_not_found(client: MindstampClient):
    """A video id Mindstamp does not have is VendorNotFound."""
    with pytest.raises(VendorNotFound):
        await client.video("NoSuchVideo1")


@pytest.mark.parametrize(
    ("handler", "error", "text"),
    [
        (answer(422, {"message": "status is invalid"}), VendorRejected, "status is invalid"),
        (answer(400, {"errors": ["a", "b"]}), VendorRejected, "a; b"),
        (answer(403, {"message": "no"}), VendorAuthError, "no"),
        (answer(500, b"oops"), VendorUnavailable, "HTTP 500"),
        (answer(200, b"{not json"), VendorResponseInvalid, "malformed JSON"),
        (answer(200, {"nothing": "here"}), VendorResponseInvalid, "no list"),
        (answer(422, {"message": f"bad token {TOKEN}"}), VendorRejected, f"bad token {REDACTED}"),
    ],
)
async def test_errors_map_to_the_shared_tree(handler, error, text):
    """4xx, 5xx and unreadable answers become the shared VendorError kinds with a message."""
    client, http = mock_client(handler)
    async with http:
        with pytest.raises(error) as caught:
            await client.videos()
    assert text in str(caught.value) and TOKEN not in str(caught.value)


async def test_transport_failure_is_unavailable():
    """A connection that cannot be made is VendorUnavailable."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    client, http = mock_client(refuse)
    async with http:
        with pytest.raises(VendorUnavailable, match="not reachable"):
            await client.video(EXAMPLE)


@pytest.mark.parametrize(
    "body",
    [
        {"id": "u", "token": "T1", "title": "x"},
        {"data": {"id": "u", "token": "T1", "title": "x"}},
        {"video": {"id": "u", "token": "T1", "title": "x"}},
    ],
)
async def test_single_objects_bare_or_wrapped(body):
    """A single video reads the same bare, under data, or under its own name."""
    client, http = mock_client(answer(200, body))
    async with http:
        video = await client.video("T1")
    assert video.token == "T1" and video.title == "x"


async def test_headers_and_query():
    """Requests carry the bearer token, JSON accept and offset/limit as query parameters."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[])

    client, http = mock_client(handler)
    async with http:
        await client.video_views(EXAMPLE, offset=10, limit=20)
    (get,) = seen
    assert get.method == "GET" and get.headers["authorization"] == f"Bearer {TOKEN}"
    assert get.headers["accept"] == "application/json"
    assert str(get.url) == (
        f"http://mindstamp.example/api/v1/videos/{EXAMPLE}/views?offset=10&limit=20"
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.video("../admin"),
        lambda c: c.video("a/b"),
        lambda c: c.video(""),
        lambda c: c.video("a.b"),
        lambda c: c.video_views("x?y=1"),
        lambda c: c.video("x" * 129),
        lambda c: c.videos(limit=101),
        lambda c: c.videos(limit=0),
        lambda c: c.videos(offset=-1),
        lambda c: c.summary("year"),
        lambda c: c.top_videos("week", 0),
    ],
)
async def test_bad_arguments_never_reach_mindstamp(call):
    """Bad ids, paging values and periods are ValueError before any request."""
    seen: list[httpx.Request] = []
    client, http = mock_client(lambda r: seen.append(r) or httpx.Response(200, json={}))
    async with http:
        with pytest.raises(ValueError):
            await call(client)
    assert seen == []


def test_id_validation_accepts_tokens_and_uuids():
    """Tokens and UUIDs are ids; numbers become text."""
    assert validate_id(" KMxPjRVlrPnH ") == "KMxPjRVlrPnH"
    assert validate_id("5e358f49-fb1f-400a-9abf-5bd5d71839e6")
    assert validate_id(42) == "42"


@pytest.mark.parametrize(
    "kw",
    [{"token": ""}, {"token": "a\nb"}, {"base_url": "ftp://x"}, {"base_url": "https://x/?t=1"}],
)
def test_bad_configuration_is_refused(kw):
    """An empty token, a control character or a bad URL is refused at construction."""
    settings = {"base_url": "https://api.mindstamp.com/api/v1", "token": "tok", **kw}
    with pytest.raises(ValueError):
        MindstampClient(httpx.AsyncClient(), limiter=roomy(), **settings)


async def test_sandbox_seed_spans_recent_weeks(sandbox):
    """The seed has a dozen videos and views from the last days and from weeks ago."""
    assert len(sandbox.videos) == 12 and EXAMPLE in sandbox.videos
    ages = [time.time() - v.created_at for v in sandbox.views.values()]
    assert min(ages) < 2 * 86400 and max(ages) > 21 * 86400
    assert sandbox.interactions and sandbox.viewers
    assert timedelta(seconds=max(ages)) < timedelta(days=43)
