"""The Signicat Mint adapter against its sandbox over real HTTP; edge cases on MockTransport."""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, unquote_plus

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
from adapters.mint import (
    ExecutionLogEntry,
    Flow,
    FlowStatus,
    Instance,
    MintClient,
    failing_step,
    list_items,
    validate_id,
)
from adapters.mint import sandbox as mint_sandbox
from adapters.redact import REDACTED
from tests.fakes.servers import ThreadedServer, free_port

pytestmark = pytest.mark.timeout(30)

PREFIX = mint_sandbox.SANDBOX_PREFIX
CLIENT_ID, SECRET = mint_sandbox.DEMO_CLIENT_ID, mint_sandbox.DEMO_CLIENT_SECRET
TOKEN = PREFIX + mint_sandbox.TOKEN_PATH
ONBOARD, KYC = mint_sandbox.ONBOARD_FLOW_ID, mint_sandbox.KYC_FLOW_ID
CONTRACT, INVOICE = mint_sandbox.CONTRACT_FLOW_ID, mint_sandbox.INVOICE_FLOW_ID
SPEED = 0.1  # every sandbox step takes a tenth of its time
WRONG_SECRET = "Wr0ng-Secret-value-!"
SEEDED_NAMES = [
    "Address change",
    "Contract signing",
    "Invoice approval",
    "KYC check",
    "Onboard customer",
]


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
    root = Starlette(routes=[Mount(PREFIX, app=swappable)])
    with ThreadedServer(root) as running:
        yield running


@pytest.fixture
def use_app(swappable: SwappableApp) -> Callable[..., Starlette]:
    """A fresh sandbox (``create_app(**kw)``) for this test, served at the sandbox URL."""

    def use(**kw: Any) -> Starlette:
        kw.setdefault("speed", SPEED)
        swappable.app = mint_sandbox.create_app(**kw)
        return swappable.app

    return use


@pytest.fixture
def app(use_app: Callable[..., Starlette]) -> Starlette:
    return use_app()


@pytest.fixture
def sandbox(app: Starlette) -> mint_sandbox.MintSandbox:
    return app.state.sandbox


@pytest.fixture
def mint_url(server: ThreadedServer) -> str:
    return server.url + PREFIX


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_client(
    http: httpx.AsyncClient, mint_url: str, app: Starlette
) -> Callable[..., MintClient]:
    def make(**kw: Any) -> MintClient:
        kw.setdefault("base_url", mint_url)
        kw.setdefault("token_url", mint_url + mint_sandbox.TOKEN_PATH)
        kw.setdefault("client_id", CLIENT_ID)
        kw.setdefault("client_secret", SECRET)
        return MintClient(http, **kw)

    return make


@pytest.fixture
def mint(make_client: Callable[..., MintClient]) -> MintClient:
    return make_client()


def calls(app: Starlette) -> list[tuple[str, str, int]]:
    return [(c.method, c.path, c.status) for c in app.state.calls]


async def wait_final(mint: MintClient, instance_id: str, within: float = 5.0) -> Instance:
    deadline = time.monotonic() + within
    while True:
        instance = await mint.get_instance(instance_id)
        if instance.is_final or time.monotonic() > deadline:
            return instance
        await asyncio.sleep(0.03)


Handler = Callable[[httpx.Request], httpx.Response]
MOCK_BASE = "http://mint.example/mint"
MOCK_TOKEN_URL = "http://mint.example/auth/token"


def token_answer(**extra: Any) -> httpx.Response:
    return httpx.Response(200, json={"access_token": "tok-1", "token_type": "Bearer", **extra})


async def mock_client(api: Handler, token: Handler | None = None) -> tuple[MintClient, list]:
    """A client on MockTransport: ``token`` answers the token URL, ``api`` everything else."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if str(request.url) == MOCK_TOKEN_URL:
            return (token or (lambda _r: token_answer(expires_in=3600)))(request)
        return api(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    client = MintClient(
        http, base_url=MOCK_BASE, token_url=MOCK_TOKEN_URL, client_id="cid", client_secret=SECRET
    )
    return client, seen


def api_calls(seen: list[httpx.Request]) -> list[httpx.Request]:
    return [r for r in seen if str(r.url) != MOCK_TOKEN_URL]


FLOW = {"definitionId": "f-1", "title": "One", "isPublished": True, "version": 1}
INSTANCE = {"id": "i-1", "definitionId": "f-1", "status": "Running", "started": "2024-05-01T09:00Z"}


# -- the token ------------------------------------------------------------------------------


async def test_twenty_concurrent_requests_share_one_token(mint: MintClient, app, sandbox):
    """Twenty requests at once with no token yet cause exactly one token request."""
    results = await asyncio.gather(*(mint.list_flows() for _ in range(20)))
    assert all([f.name for f in flows] == SEEDED_NAMES for flows in results)
    assert sandbox.token_grants == 1 and mint.auth.token_fetches == 1
    assert [c for c in calls(app) if c[1] == TOKEN] == [("POST", TOKEN, 200)]


async def test_expired_token_is_fetched_again_once_and_requests_succeed(mint, app, sandbox):
    """After the sandbox expires every token, concurrent 401s lead to one new token and retries."""
    await mint.get_flow(ONBOARD)
    sandbox.expire_tokens()
    app.state.calls.clear()
    flows = await asyncio.gather(*(mint.get_flow(KYC) for _ in range(5)))
    assert {f.definition_id for f in flows} == {KYC}
    assert sandbox.token_grants == 2 and mint.auth.token_fetches == 2 and mint.auth.refreshes == 1
    statuses = [status for _method, path, status in calls(app) if path != TOKEN]
    assert statuses.count(401) == 5 and statuses.count(200) == 5


async def test_execute_after_token_expiry_runs_the_flow_once(mint: MintClient, sandbox):
    """A 401 on execute means Mint did nothing: the retry with a new token starts one run."""
    await mint.ping()
    before = len(await mint.flow_instances(ONBOARD))
    sandbox.expire_tokens()
    instance = await mint.execute(ONBOARD, {"n": 1})
    assert instance.input == {"n": 1} and mint.auth.refreshes == 1
    assert len(await mint.flow_instances(ONBOARD)) == before + 1


async def test_sandbox_token_endpoint_and_bearer_check_follow_the_rfcs(http, mint_url, app):
    """The sandbox answers RFC 6749 errors at /token and 401 with a Bearer challenge to the API."""
    token_url = mint_url + mint_sandbox.TOKEN_PATH
    wrong_grant = await http.post(
        token_url, data={"grant_type": "password"}, auth=(CLIENT_ID, SECRET)
    )
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")
    anonymous = await http.post(token_url, data={"grant_type": "client_credentials"})
    assert (anonymous.status_code, anonymous.json()["error"]) == (401, "invalid_client")
    bad_scope = await http.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "admin"},
        auth=(CLIENT_ID, SECRET),
    )
    assert bad_scope.json()["error"] == "invalid_scope"
    granted = await http.post(
        token_url,
        data={"grant_type": "client_credentials", "scope": "signicat-api"},
        auth=(CLIENT_ID, SECRET),
    )
    body = granted.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert granted.headers["cache-control"] == "no-store"
    refused = await http.get(mint_url + "/flows")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await http.get(mint_url + "/flows", headers=headers)).status_code == 200


async def test_token_is_renewed_shortly_before_it_expires(make_client, use_app):
    """A token is kept until 10% (at most 60 s) before expires_in, then renewed without a 401."""
    app = use_app(token_ttl=100)
    mint = make_client()
    now = [1000.0]
    mint.auth.clock = lambda: now[0]
    await mint.list_flows(limit=1)
    now[0] += 89.0
    await mint.list_flows(limit=1)
    assert mint.auth.token_fetches == 1
    now[0] += 2.0  # past 100 - 10 seconds
    await mint.list_flows(limit=1)
    assert mint.auth.token_fetches == 2 and app.state.sandbox.token_grants == 2
    assert all(status == 200 for _m, _p, status in calls(app))


@pytest.mark.parametrize("client_auth", ["basic", "post"])
async def test_wrong_secret_is_auth_error_without_the_secret(make_client, sandbox, client_auth):
    """A refused secret is VendorAuthError naming the variables, never the secret; asked once."""
    mint = make_client(client_secret=WRONG_SECRET, client_auth=client_auth)
    results = await asyncio.gather(*(mint.list_flows() for _ in range(5)), return_exceptions=True)
    for error in results:
        assert isinstance(error, VendorAuthError)
        assert "MINT_CLIENT_ID" in str(error) and "MINT_CLIENT_SECRET" in str(error)
        assert "invalid_client" in str(error)
        assert WRONG_SECRET not in str(error) and WRONG_SECRET not in repr(mint)
    assert sandbox.token_refusals == 1 and mint.auth.token_fetches == 1


async def test_right_secret_works_as_basic_or_form_fields(make_client, sandbox):
    """The sandbox takes the client credentials as HTTP Basic and as form fields alike."""
    for client_auth in ("basic", "post"):
        await make_client(client_auth=client_auth).ping()
    assert sandbox.token_grants == 2


async def test_basic_credentials_are_form_encoded_per_rfc_6749():
    """Basic auth carries the form-urlencoded id and secret, with grant_type and scope."""
    client, seen = await mock_client(lambda r: httpx.Response(200, json=[]))
    await client.list_flows()
    token_request = seen[0]
    scheme, _, value = token_request.headers["authorization"].partition(" ")
    user, _, password = base64.b64decode(value).decode().partition(":")
    assert scheme == "Basic" and (user, unquote_plus(password)) == ("cid", SECRET)
    form = parse_qs(token_request.content.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": ["signicat-api"]}
    assert api_calls(seen)[0].headers["authorization"] == "Bearer tok-1"


async def test_401_after_a_new_token_is_auth_error():
    """When Mint refuses even a fresh token, the request goes twice, then VendorAuthError."""
    client, seen = await mock_client(lambda r: httpx.Response(401))
    with pytest.raises(VendorAuthError, match="even a new one"):
        await client.get_flow("f-1")
    assert len(api_calls(seen)) == 2 and client.auth.token_fetches == 2


async def test_403_says_which_roles_the_api_client_needs():
    """403 is VendorAuthError telling the admin to grant Flow Editor and Flow Viewer."""
    client, _seen = await mock_client(lambda r: httpx.Response(403))
    with pytest.raises(VendorAuthError, match="Flow Editor and Flow Viewer"):
        await client.list_flows()


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (500, {"error": "server_error"}, VendorUnavailable),
        (429, {"error": "slow_down"}, VendorRateLimited),
        (200, {"token_type": "Bearer"}, VendorResponseInvalid),
        (400, {"error": "invalid_scope"}, VendorAuthError),
    ],
)
async def test_token_endpoint_failures(status, body, error):
    """Token endpoint outages, rate limits, bad answers and refusals map to the error tree."""
    client, seen = await mock_client(
        lambda r: httpx.Response(200, json=[]), lambda r: httpx.Response(status, json=body)
    )
    with pytest.raises(error) as caught:
        await client.list_flows()
    assert SECRET not in str(caught.value) and api_calls(seen) == []


LONG_TOKEN = "tok-5d1e0c7a9f"


@pytest.mark.parametrize(
    ("api", "token", "secret", "error"),
    [
        (
            lambda r: httpx.Response(422, json={"detail": f"token {LONG_TOKEN} is not for this"}),
            lambda r: httpx.Response(
                200, json={"access_token": LONG_TOKEN, "token_type": "Bearer"}
            ),
            LONG_TOKEN,
            VendorRejected,
        ),
        (
            lambda r: httpx.Response(200, json=[]),
            lambda r: httpx.Response(
                400, json={"error": "invalid_client", "error_description": f"no secret {SECRET}"}
            ),
            SECRET,
            VendorAuthError,
        ),
    ],
)
async def test_an_echoed_token_or_secret_is_redacted(api, token, secret, error):
    """Mint (or its token endpoint) repeating our access token or client secret in its
    explanation: the error shows [redacted] in its place."""
    client, _seen = await mock_client(api, token)
    with pytest.raises(error) as caught:
        await client.list_flows()
    assert secret not in str(caught.value) and REDACTED in str(caught.value)


# -- flows ------------------------------------------------------------------------------------


async def test_list_search_filter_page_and_order(mint: MintClient):
    """Search, version filters, offset/limit and ordering reach the sandbox and shape the list."""
    flows = await mint.list_flows()
    assert [f.name for f in flows] == SEEDED_NAMES
    onboard = next(f for f in flows if f.definition_id == ONBOARD)
    assert onboard.published and onboard.version == 2 and onboard.link
    assert onboard.description and onboard.created_at and "customers" in onboard.tags
    assert next(f for f in flows if f.definition_id == CONTRACT).state == "draft"

    found = await mint.list_flows("CUSTOMER")
    assert [f.name for f in found] == ["Address change", "KYC check", "Onboard customer"]
    drafts = await mint.list_flows(is_draft=True, is_latest=True)
    assert {(f.name, f.version) for f in drafts} == {
        ("Contract signing", 1),
        ("Invoice approval", 3),
    }
    published = await mint.list_flows(is_published=True)
    assert ("Invoice approval", 2) in {(f.name, f.version) for f in published}
    assert len(await mint.list_flows(all_versions=True)) == 8

    newest = await mint.list_flows(all_versions=True, order_by="CreatedAt", sort_by="descending")
    assert [f.created_at for f in newest] == sorted((f.created_at for f in newest), reverse=True)
    page = await mint.list_flows(order_by="Name", sort_by="Descending", offset=1, limit=2)
    assert [f.name for f in page] == ["KYC check", "Invoice approval"]


async def test_query_parameters_are_spelled_as_the_document():
    """Filters, paging and ordering go out under the document's exact parameter names."""

    client, seen = await mock_client(lambda r: httpx.Response(200, json=[]))
    await client.list_flows(
        "kyc",
        is_published=True,
        all_versions=False,
        version=2,
        offset=5,
        limit=10,
        order_by="createdat",
        sort_by="descending",
    )
    await client.flow_instances("f-1", "faulted", order_by="lastexecuted", limit=3)
    flows, instances = (dict(r.url.params) for r in api_calls(seen))
    assert flows == {
        "IsPublished": "true",
        "AllVersions": "false",
        "Version": "2",
        "searchTerm": "kyc",
        "offset": "5",
        "limit": "10",
        "orderBy": "CreatedAt",
        "sortBy": "Descending",
    }
    assert instances == {"status": "Faulted", "orderby": "LastExecuted", "limit": "3"}
    assert [r.url.path for r in api_calls(seen)] == ["/mint/flows", "/mint/flows/f-1/instances"]


async def test_publish_returns_the_link_and_unpublish_removes_it(mint: MintClient, http):
    """Publishing a draft gives a working link and makes it executable; unpublishing undoes it."""
    with pytest.raises(VendorRejected, match="no published version"):
        await mint.execute(CONTRACT)
    published = await mint.publish(CONTRACT)
    assert published.published and published.link
    assert (await http.get(published.link)).status_code == 200
    assert (await mint.get_flow(CONTRACT)).published
    assert (await mint.execute(CONTRACT)).status == FlowStatus.RUNNING
    unpublished = await mint.unpublish(CONTRACT)
    assert not unpublished.published and unpublished.link is None
    assert (await http.get(published.link)).status_code == 404
    with pytest.raises(VendorRejected):
        await mint.execute(CONTRACT)


@pytest.mark.parametrize(
    ("body", "link"),
    [
        (b"", None),
        (b'"https://mint.example/w/f-1"', "https://mint.example/w/f-1"),
        (json.dumps({**FLOW, "url": "https://x.example/f"}).encode(), "https://x.example/f"),
    ],
)
async def test_publish_answer_may_be_empty_a_link_or_a_flow(body, link):
    """Whatever publish answers, the caller gets a Flow for the id asked, keeping any link."""
    client, _seen = await mock_client(lambda r: httpx.Response(200, content=body))
    flow = await client.publish("f-1")
    assert isinstance(flow, Flow) and flow.definition_id == "f-1" and flow.published
    assert flow.link == link


# -- instances ------------------------------------------------------------------------------


async def test_execute_then_poll_until_finished(mint: MintClient, app):
    """Onboard customer runs, then is Finished with every step logged as Finished."""
    started = await mint.execute(ONBOARD, {"email": "ada@example.com"}, workflow_url_ttl=600)
    assert started.status == FlowStatus.RUNNING and started.definition_id == ONBOARD
    assert started.link and started.started
    execute = next(c for c in app.state.calls if c.path.endswith("/execute"))
    assert execute.status == 200
    done = await wait_final(mint, started.id)
    assert done.status == FlowStatus.FINISHED and done.finished and done.ended
    assert done.input == {"email": "ada@example.com"}
    log = await mint.execution_log(started.id)
    assert [e.step_name for e in log] == [
        "Collect customer details",
        "Verify email address",
        "Create customer account",
    ]
    assert all(e.status == "Finished" and e.when for e in log) and failing_step(log) is None
    assert started.id in {i.id for i in await mint.flow_instances(ONBOARD, "Finished")}
    assert started.id not in {i.id for i in await mint.instances(status="Faulted")}


async def test_faulting_flow_ends_faulted_and_failing_step_names_the_step(mint: MintClient):
    """KYC check faults; failing_step finds "Verify identity" with the vendor's error message."""
    started = await mint.execute(KYC)
    done = await wait_final(mint, started.id)
    assert done.is_faulted and done.faulted_at and done.fault
    assert done.fault.text == mint_sandbox.KYC_FAULT
    step = failing_step(await mint.execution_log(started.id))
    assert step is not None and step.step_name == mint_sandbox.KYC_FAILING_STEP
    assert step.activity_type == "IdentityVerification"
    assert step.error_message == mint_sandbox.KYC_FAULT


async def test_instances_filter_by_status_search_and_paging(mint: MintClient):
    """The seeded history is listed newest first and filters by status, search and limit."""
    everything = await mint.instances()
    assert [i.started for i in everything] == sorted((i.started for i in everything), reverse=True)
    faulted = await mint.instances("faulted")
    assert faulted and all(i.status == FlowStatus.FAULTED for i in faulted)
    assert {i.definition_id for i in faulted} == {KYC}
    assert [i.status for i in await mint.instances(search="crm-1043")] == [FlowStatus.SUSPENDED]
    assert len(await mint.instances(limit=2)) == 2
    assert len(await mint.flow_instances(ONBOARD, offset=1)) == 1


def test_failing_step_reads_event_style_logs():
    """An Elsa-style event log whose Faulted record names no step gets the name from its peers."""
    log = [
        ExecutionLogEntry.model_validate(item)
        for item in [
            {"activityId": "a1", "activityName": "Collect", "eventName": "Executed"},
            {
                "activityId": "a2",
                "activityName": "Check",
                "activityType": "Script",
                "eventName": "Executing",
            },
            {"activityId": "a2", "eventName": "Faulted", "exception": {"message": "boom"}},
        ]
    ]
    step = failing_step(log)
    assert step is not None and (step.step_name, step.activity_type) == ("Check", "Script")
    assert step.error_message == "boom"


# -- notes and reports ----------------------------------------------------------------------


async def test_a_note_is_added_to_the_instance(mint: MintClient):
    """A note is added to an instance and read back with it; an unknown instance is not found."""
    instance_id = (await mint.instances(search="crm-1044"))[0].id
    note = await mint.create_note(instance_id, "  Called the customer  ")
    assert note.id and note.note == "Called the customer" and note.created_by == CLIENT_ID
    notes = (await mint.get_instance(instance_id)).notes
    assert [(n.id, n.note) for n in notes] == [(note.id, "Called the customer")]
    with pytest.raises(VendorNotFound):
        await mint.create_note("no-such-instance", "x")
    with pytest.raises(ValueError, match="needs some text"):
        await mint.create_note(instance_id, "   ")


async def test_note_body_is_the_contracts_shape():
    """A note is POSTed as exactly {"note": "..."}; an empty answer is still a Note."""
    client, seen = await mock_client(lambda r: httpx.Response(201))
    note = await client.create_note("i-1", "hello")
    request = api_calls(seen)[0]
    assert (request.method, request.url.path) == ("POST", "/mint/instances/i-1/notes")
    assert json.loads(request.content) == {"note": "hello"}
    assert (note.note, note.instance_id) == ("hello", "i-1")


async def test_reports_are_a_csv_and_a_valid_pdf(mint: MintClient):
    """An instance's CSV has a row per step; its PDF is well formed; names come from Mint."""
    instance_id = (await mint.instances(search="crm-1044"))[0].id
    filename, content, content_type = await mint.instance_report(instance_id, "csv")
    assert filename == f"instance-{instance_id}.csv" and content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert [(r["Step"], r["Status"]) for r in rows] == [
        ("Collect ID document", "Finished"),
        ("Verify identity", "Faulted"),
    ]
    assert rows[1]["Message"] == mint_sandbox.KYC_FAULT
    report = await mint.instance_report(instance_id, "pdf")
    assert report.filename.endswith(".pdf") and report.content_type == "application/pdf"
    pdf = report.content
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    startxref = int(re.search(rb"startxref\s+(\d+)", pdf).group(1))
    assert pdf[startxref:].startswith(b"xref")


async def test_a_pdf_report_that_is_not_a_pdf_is_invalid():
    """A 'PDF' that does not start with %PDF- is VendorResponseInvalid, not bytes to pass on."""
    client, _seen = await mock_client(lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(VendorResponseInvalid, match="not a PDF"):
        await client.instance_report("i-1", "pdf")


# -- check ------------------------------------------------------------------------------------


async def test_ping_lists_one_flow(mint: MintClient, app):
    """ping is one authenticated read that changes nothing: a token, then the flow list."""
    await mint.ping()
    assert calls(app) == [("POST", TOKEN, 200), ("GET", PREFIX + "/flows", 200)]


# -- list shapes, errors, ids ---------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        lambda items: items,
        lambda items: {"data": items, "total": 1},
        lambda items: {"items": items},
        lambda items: {"flows": items, "instances": items},
    ],
    ids=["array", "data", "items", "resource-name"],
)
async def test_lists_come_as_an_array_or_an_object(shape):
    """Flow and instance lists read the same whether Mint answers an array or an object."""

    def api(request: httpx.Request) -> httpx.Response:
        item = FLOW if request.url.path.endswith("/flows") else INSTANCE
        return httpx.Response(200, json=shape([item]))

    client, _seen = await mock_client(api)
    assert [f.definition_id for f in await client.list_flows()] == ["f-1"]
    assert [i.id for i in await client.instances()] == ["i-1"]
    assert [i.status for i in await client.flow_instances("f-1")] == [FlowStatus.RUNNING]


def test_list_items_refuses_an_object_without_a_list():
    """An object holding no array is ValueError, so the client reports an invalid answer."""
    assert list_items({"data": {"items": [1], "totalCount": 9}}) == ([1], 9)
    with pytest.raises(ValueError):
        list_items({"flow": FLOW}, "flows")


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "text"),
    [
        (404, {"title": "Not Found", "status": 404}, {}, VendorNotFound, "Not Found"),
        (
            400,
            {"title": "One or more validation errors occurred.", "errors": {"input": ["bad"]}},
            {},
            VendorRejected,
            "input: bad",
        ),
        (409, {"detail": "The flow is locked."}, {}, VendorRejected, "The flow is locked."),
        # (a Retry-After within the retry cap is waited for and tried again: test_retries.py)
        (429, {}, {"Retry-After": "70"}, VendorRateLimited, "HTTP 429"),
        (503, b"", {}, VendorRateLimited, "HTTP 503"),
        (500, b"oops", {"content-type": "text/plain"}, VendorUnavailable, "oops"),
        (200, b"{not json", {}, VendorResponseInvalid, "may have started"),
        (200, {"status": "Running"}, {}, VendorResponseInvalid, "no instance id"),
    ],
)
async def test_execute_errors_map_to_the_tree_and_are_never_retried(
    status, body, headers, error, text
):
    """Each failure of execute is the right VendorError with Mint's message, sent exactly once."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    client, seen = await mock_client(
        lambda r: httpx.Response(status, content=content, headers=headers)
    )
    with pytest.raises(error, match=re.escape(text)) as caught:
        await client.execute("f-1", {"a": 1})
    assert len(api_calls(seen)) == 1
    if status == 429:
        assert caught.value.retry_after == 70


async def test_execute_body_is_input_and_workflow_url_ttl():
    """execute sends {"input": {...}, "workflowUrlTtl": N} to POST /flows/{id}/execute."""
    client, seen = await mock_client(lambda r: httpx.Response(200, json=INSTANCE))
    instance = await client.execute("f-1", {"name": "Ada"}, workflow_url_ttl=300)
    request = api_calls(seen)[0]
    assert (request.method, request.url.path) == ("POST", "/mint/flows/f-1/execute")
    assert json.loads(request.content) == {"input": {"name": "Ada"}, "workflowUrlTtl": 300}
    assert instance.id == "i-1"


@pytest.mark.parametrize("bad", ["", "../flows", "a/b", "x y", "id?x=1", "%2e%2e", "é", "a" * 129])
async def test_bad_ids_are_refused_before_any_call(mint: MintClient, app, bad):
    """An id that could change the URL path is ValueError and nothing is sent."""
    app.state.calls.clear()
    with pytest.raises(ValueError, match="not a Mint"):
        await mint.get_instance(bad)
    with pytest.raises(ValueError):
        validate_id(bad)
    assert app.state.calls == []


async def test_unknown_status_is_refused_before_any_call(mint: MintClient, app):
    """A status outside FlowStatus is ValueError listing the valid ones."""
    app.state.calls.clear()
    with pytest.raises(ValueError, match="Idle, Running, Finished, Suspended, Faulted, Cancelled"):
        await mint.instances("Broken")
    assert app.state.calls == []


async def test_unreachable_mint_is_vendor_unavailable(http: httpx.AsyncClient):
    """Nothing listening at the token URL or the API is VendorUnavailable, promptly."""
    dead = f"http://127.0.0.1:{free_port()}/mint"
    mint = MintClient(
        http, base_url=dead, token_url=dead + "/token", client_id=CLIENT_ID, client_secret=SECRET
    )
    with pytest.raises(VendorUnavailable, match="not reachable"):
        await mint.ping()


async def test_unreachable_api_after_a_token_is_vendor_unavailable(http, mint_url, app):
    """A token from the sandbox but an API that does not answer is VendorUnavailable too."""
    dead = f"http://127.0.0.1:{free_port()}/mint"
    mint = MintClient(
        http,
        base_url=dead,
        token_url=mint_url + mint_sandbox.TOKEN_PATH,
        client_id=CLIENT_ID,
        client_secret=SECRET,
    )
    with pytest.raises(VendorUnavailable):
        await mint.list_flows()
    assert mint.auth.token_fetches == 1
