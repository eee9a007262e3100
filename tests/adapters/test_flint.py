"""The Flint adapter against the Flint sandbox over real HTTP, plus edge cases on MockTransport."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.errors import (
    VendorAuthError,
    VendorNotFound,
    VendorRejected,
    VendorResponseInvalid,
    VendorUnavailable,
)
from adapters.flint import (
    FlintbitRef,
    FlintClient,
    FlintMeta,
    FlintResult,
    FlintStatus,
    parse_flintbit,
    validate_job_id,
    xmldoc,
)
from adapters.flint import sandbox as flint_sandbox
from adapters.flint.client import FLINT_DEFAULT_SYNC_MS, PING_JOB_ID
from adapters.redact import REDACTED
from tests.fakes.servers import ThreadedServer, free_port

pytestmark = pytest.mark.timeout(30)

SPEED = 0.02  # hello.rb's "second" is 20 ms
SLOW_PREFIX = "/slow-flint"
ANSWER_DELAY = 0.2
USER, PASSWORD, KEY = (
    flint_sandbox.DEMO_USERNAME,
    flint_sandbox.DEMO_PASSWORD,
    flint_sandbox.DEMO_KEY,
)


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def apps() -> dict[str, Starlette]:
    return {
        flint_sandbox.SANDBOX_PREFIX: flint_sandbox.create_app(speed=SPEED),
        SLOW_PREFIX: flint_sandbox.create_app(speed=SPEED, answer_delay=ANSWER_DELAY),
    }


@pytest.fixture(scope="module")
def server(apps: dict[str, Starlette]) -> Iterator[ThreadedServer]:
    root = Starlette(routes=[Mount(prefix, app=app) for prefix, app in apps.items()])
    with ThreadedServer(root) as running:
        yield running


@pytest.fixture
def flint_url(server: ThreadedServer) -> str:
    return server.url + flint_sandbox.SANDBOX_PREFIX


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def make_client(http: httpx.AsyncClient, flint_url: str) -> Callable[..., FlintClient]:
    def make(**kw: Any) -> FlintClient:
        kw.setdefault("base_url", flint_url)
        if "key" not in kw:
            kw.setdefault("username", USER)
            kw.setdefault("password", PASSWORD)
        return FlintClient(http, **kw)

    return make


@pytest.fixture
def flint(make_client: Callable[..., FlintClient]) -> FlintClient:
    return make_client()


async def wait_final(flint: FlintClient, job_id: str, within: float = 5.0) -> FlintResult:
    deadline = time.monotonic() + within
    while True:
        result = await flint.result(job_id)
        if result.is_final or time.monotonic() > deadline:
            return result
        await asyncio.sleep(0.01)


Handler = Callable[[httpx.Request], httpx.Response]


async def mock_client(handler: Handler, **kw: Any) -> tuple[FlintClient, httpx.AsyncClient]:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kw.setdefault("base_url", "http://flint.example:3501")
    if "key" not in kw:
        kw.setdefault("username", USER)
        kw.setdefault("password", PASSWORD)
    return FlintClient(http, **kw), http


def answer(status_code: int, content: str | bytes, content_type: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status_code, content=content, headers={"content-type": content_type})

    return handler


DONE = {
    "meta": {
        "job-id": "job-209bc504-887a-4614-b16d-480284364caa",
        "exit-code": 0,
        "context": "mybox:hello.rb",
        "message": "success",
        "timeout": 60000,
        "timestamp": 1435923867907,
        "status": "complete",
        "content-type": "application/json",
    },
    "output": {"message": "Welcome to Flint !!"},
}


# -- running flintbits against the sandbox ----------------------------------------------


async def test_async_run_is_submitted_then_polls_to_complete(flint: FlintClient):
    """An async run answers "submitted" with meta only; polling reaches complete with output."""
    started = await flint.run("demo:hello.rb", {"name": "Ada"})
    assert started.status is FlintStatus.SUBMITTED
    assert not started.is_final and started.output is None
    assert started.job_id and started.job_id.startswith("job-")
    assert started.meta.context == "demo:hello.rb"
    assert started.meta.timeout == FLINT_DEFAULT_SYNC_MS

    done = await wait_final(flint, started.job_id)
    assert done.status is FlintStatus.COMPLETE
    assert done.succeeded and not done.failed
    assert done.meta.exit_code == 0
    assert done.output == {"message": "Hello, Ada!"}
    assert done.job_id == started.job_id


@pytest.mark.parametrize(
    ("flintbit", "data", "check"),
    [
        ("demo:hello.rb", None, lambda out: out == {"message": "Hello, World!"}),
        ("demo:echo.rb", {"items": [1, 2], "n": {"x": True}}, lambda out: out["items"] == [1, 2]),
        ("demo:big.rb", {}, lambda out: len(out["message"].splitlines()) == 300),
    ],
)
async def test_sync_run_returns_the_output(flint: FlintClient, flintbit, data, check):
    """A sync run waits for the flintbit and answers complete with its output."""
    result = await flint.run(parse_flintbit(flintbit), data, sync=True)
    assert result.is_final and result.succeeded
    assert check(result.output)


async def test_sync_run_with_an_expiring_timeout_is_not_final(flint: FlintClient):
    """When Flint's sync wait runs out first, the answer has a non-final status to poll later."""
    result = await flint.run("demo:slow.rb", {"seconds": 100}, timeout_ms=500)
    assert result.status in (FlintStatus.SUBMITTED, FlintStatus.RUNNING)
    assert not result.is_final and not result.failed
    assert result.meta.timeout == 500
    assert not (await flint.result(result.job_id)).is_final


async def test_sync_run_with_a_long_enough_timeout_completes(flint: FlintClient):
    """A timeout longer than the flintbit's run gets the finished job back."""
    result = await flint.run("demo:hello.rb", timeout_ms=5000)
    assert result.succeeded and result.output == {"message": "Hello, World!"}


@pytest.mark.parametrize(
    ("flintbit", "status"),
    [("demo:fail.rb", FlintStatus.ERROR), ("demo:abort.rb", FlintStatus.ABORTED)],
)
async def test_failing_flintbits_end_failed(flint: FlintClient, flintbit, status):
    """fail.rb and abort.rb end final with a non-zero exit code, so the result is failed."""
    result = await flint.run(flintbit, sync=True)
    assert result.status is status
    assert result.is_final and result.failed and not result.succeeded
    assert result.meta.exit_code == 1
    if status is FlintStatus.ERROR:
        assert "error" in result.output


@pytest.mark.parametrize("sync", [False, True])
async def test_xml_requests_get_xml_answers(make_client, sync):
    """With request_format="xml" the body is escaped XML and the XML answer parses back."""
    flint = make_client(request_format="xml")
    data = {"name": "<b>&'\"", "tags": ["a", "b"], "nested": {"n": 1}}
    result = await flint.run("demo:echo.rb", data, sync=sync)
    assert result.meta.content_type == "application/xml"
    if not sync:
        result = await wait_final(flint, result.job_id)
    assert result.succeeded
    assert result.output == {"name": "<b>&'\"", "tags": ["a", "b"], "nested": {"n": "1"}}


async def test_key_in_header_authenticates(make_client):
    """A Flint key alone (the flint-key header) is enough to run flintbits and ping."""
    flint = make_client(key=KEY)
    await flint.ping()
    assert (await flint.run("demo:hello.rb", sync=True)).succeeded


@pytest.mark.parametrize(
    "credentials",
    [{"password": "wrong-secret-123"}, {"username": "nobody"}, {"key": "wrong-secret-123"}],
)
@pytest.mark.parametrize("call", ["run", "result", "ping"])
async def test_bad_credentials_are_an_auth_error(make_client, credentials, call):
    """Flint's 401 becomes VendorAuthError carrying Flint's message and never the secret."""
    flint = make_client(**credentials)
    with pytest.raises(VendorAuthError) as caught:
        if call == "run":
            await flint.run("demo:hello.rb")
        elif call == "result":
            await flint.result(PING_JOB_ID)
        else:
            await flint.ping()
    assert caught.value.status_code == 401
    assert "authentication failed" in str(caught.value)
    assert "wrong-secret-123" not in str(caught.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda flint: flint.run("demo:nope.rb"),
        lambda flint: flint.run("nobox:hello.rb", sync=True),
        lambda flint: flint.result("job-3f1e2c4d-0000-4000-8000-000000000000"),
    ],
    ids=["unknown-flintbit", "unknown-box", "unknown-job"],
)
async def test_unknown_things_are_not_found(flint: FlintClient, call):
    """An unknown flintbit, box or job is VendorNotFound with Flint's message."""
    with pytest.raises(VendorNotFound, match="not found"):
        await call(flint)


async def test_ping_treats_404_for_the_probe_job_as_success(flint: FlintClient):
    """ping() passes when Flint is reachable and accepts us, though the probe job never exists."""
    await flint.ping()


@pytest.mark.parametrize("call", ["run", "result", "ping"])
async def test_closed_port_is_unavailable_without_the_password(http, call):
    """A refused connection is VendorUnavailable saying "not reachable", never the password."""
    secret = "s3cret-password-!"
    flint = FlintClient(
        http, base_url=f"http://127.0.0.1:{free_port()}/flint", username=USER, password=secret
    )
    with pytest.raises(VendorUnavailable, match="not reachable") as caught:
        if call == "run":
            await flint.run("demo:hello.rb")
        elif call == "result":
            await flint.result(PING_JOB_ID)
        else:
            await flint.ping()
    assert secret not in str(caught.value) and secret not in repr(caught.value)


# -- answers that are wrong, on MockTransport ---------------------------------------------

ENTITY_DOCUMENTS = [
    '<?xml version="1.0"?><!DOCTYPE flint [<!ENTITY lol "lol">]>'
    "<flint><meta><job-id>&lol;</job-id><status>complete</status></meta></flint>",
    '<?xml version="1.0"?><!DOCTYPE flint [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    "<flint><meta><job-id>job-1</job-id><message>&x;</message></meta></flint>",
    '<!DOCTYPE flint SYSTEM "http://evil.example/flint.dtd"><flint><meta/></flint>',
]


@pytest.mark.parametrize("document", ENTITY_DOCUMENTS)
async def test_xml_with_a_dtd_or_entities_is_refused(document):
    """An XML answer that declares a DTD or entities is VendorResponseInvalid, never expanded."""
    flint, http = await mock_client(answer(200, document, "application/xml"))
    async with http:
        with pytest.raises(VendorResponseInvalid, match="DTD"):
            await flint.result("job-1")


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"output": {}}', "application/json"),
        ('{"meta": {"status": "complete"}}', "application/json"),
        ('{"meta": {"job-id": "../../x", "status": "complete"}}', "application/json"),
        (
            '{"meta": {"job-id": "job-1", "status": "complete", "exit-code": "x"}}',
            "application/json",
        ),
        ("<flint><meta><job-id>job-1</job-id>", "application/xml"),
        ("<html>Bad gateway</html>", "text/html"),
        ("[" * 100_000 + "]" * 100_000, "application/json"),
    ],
    ids=[
        "malformed",
        "no-meta",
        "no-job-id",
        "bad-job-id",
        "bad-exit-code",
        "bad-xml",
        "html",
        "deep",
    ],
)
async def test_answers_we_cannot_understand_are_invalid(content, content_type):
    """Malformed, incomplete or unexpected 200 answers are VendorResponseInvalid."""
    flint, http = await mock_client(answer(200, content, content_type))
    async with http:
        with pytest.raises(VendorResponseInvalid):
            await flint.result("job-1")


@pytest.mark.parametrize(
    ("status_code", "error"),
    [
        (400, VendorRejected),
        (403, VendorAuthError),
        (404, VendorNotFound),
        (409, VendorRejected),
        (500, VendorUnavailable),
        (502, VendorUnavailable),
    ],
)
async def test_http_errors_map_to_vendor_errors(status_code, error):
    """Each HTTP failure becomes its VendorError, with Flint's meta.message when it sent one."""
    body = json.dumps({"meta": {"status": "error", "exit-code": 1, "message": "bad input x"}})
    flint, http = await mock_client(answer(status_code, body, "application/json"))
    async with http:
        with pytest.raises(error, match="bad input x") as caught:
            await flint.run("demo:hello.rb")
    assert caught.value.vendor == "Flint" and caught.value.status_code == status_code


@pytest.mark.parametrize("credentials", [{"key": KEY}, {"username": USER, "password": PASSWORD}])
async def test_credentials_flint_repeats_are_redacted(credentials):
    """Flint's meta.message repeating our key or password shows [redacted] in its place."""
    secret = credentials.get("key") or credentials["password"]
    body = json.dumps({"meta": {"status": "error", "message": f"nothing runs as {secret}"}})
    flint, http = await mock_client(answer(400, body, "application/json"), **credentials)
    async with http:
        with pytest.raises(VendorRejected) as caught:
            await flint.run("demo:hello.rb")
    assert secret not in str(caught.value) and f"as {REDACTED}" in str(caught.value)


async def test_doc_examples_parse():
    """Both of the vendor document's example answers, JSON and XML, parse to the same result."""
    xml_answer = """<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<flint>
    <meta>
        <job-id>job-209bc504-887a-4614-b16d-480284364caa</job-id>
        <exit-code>0</exit-code>
        <context>mybox:hello.rb</context>
        <content-type>application/json</content-type>
        <message>success</message>
        <timeout>60000</timeout>
        <timestamp>1435923867907</timestamp>
        <status>complete</status>
    </meta>
    <output>
        <message>Welcome to Flint !!</message>
    </output>
</flint>"""
    results = []
    for content, content_type in [
        (json.dumps(DONE), "application/json"),
        (xml_answer, "application/xml"),
    ]:
        flint, http = await mock_client(answer(200, content, content_type))
        async with http:
            results.append(await flint.result("job-209bc504-887a-4614-b16d-480284364caa"))
    assert results[0] == results[1]
    assert results[0].succeeded and results[0].as_dict() == DONE


# -- what the client sends ---------------------------------------------------------------


async def sent_request(call: Callable[[FlintClient], Any], **kw: Any) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=DONE)

    flint, http = await mock_client(handler, **kw)
    async with http:
        await call(flint)
    return seen[0]


@pytest.mark.parametrize(
    ("call", "url", "read_timeout"),
    [
        (lambda f: f.run("demo:hello.rb"), "/flint/v1/bit/run/demo:hello.rb", 10.0),
        (lambda f: f.run("demo:hello.rb", sync=True), "/flint/v1/bit/run/demo:hello.rb/sync", 16.0),
        (
            lambda f: f.run("demo:a_b-c.rb", timeout_ms=60000),
            "/flint/v1/bit/run/demo:a_b-c.rb/sync/60000",
            70.0,
        ),
        (lambda f: f.result("job-abc_1"), "/flint/v1/bit/result/job-abc_1", 10.0),
        (lambda f: f.ping(), f"/flint/v1/bit/result/{PING_JOB_ID}", 10.0),
    ],
)
async def test_urls_and_timeouts(call, url, read_timeout):
    """URLs are the base URL plus Flint's paths; sync reads wait past Flint's own timeout."""
    request = await sent_request(call, base_url="http://flint.example:3501/flint/")
    assert str(request.url) == "http://flint.example:3501" + url
    assert request.extensions["timeout"]["read"] == read_timeout


@pytest.mark.parametrize(
    ("credentials", "expected", "absent"),
    [
        (
            {"username": "u", "password": "p"},
            {"x-flint-username": "u", "x-flint-password": "p"},
            ["flint-key"],
        ),
        ({"key": "k-1"}, {"flint-key": "k-1"}, ["x-flint-username", "x-flint-password"]),
    ],
)
async def test_auth_headers(credentials, expected, absent):
    """FlintAuth sends username/password headers, or only the flint-key header when given a key."""
    request = await sent_request(lambda f: f.result("job-1"), **credentials)
    for name, value in expected.items():
        assert request.headers[name] == value
    assert not any(name in request.headers for name in absent)


@pytest.mark.parametrize(
    ("request_format", "content_type", "decode"),
    [
        ("json", "application/json", json.loads),
        ("xml", "application/xml", lambda body: body.decode()),
    ],
)
async def test_request_bodies(request_format, content_type, decode):
    """Bodies are JSON, or an escaped <flint> XML document, with the matching Content-Type."""
    request = await sent_request(
        lambda f: f.run("demo:echo.rb", {"a": "<x>&"}), request_format=request_format
    )
    assert request.headers["content-type"] == content_type
    body = decode(request.content)
    if request_format == "json":
        assert body == {"a": "<x>&"}
    else:
        assert "<flint><a>&lt;x&gt;&amp;</a></flint>" in body


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.run("../x:y"),
        lambda f: f.run("demo:hello.rb", timeout_ms=0),
        lambda f: f.run("demo:hello.rb", timeout_ms=-5),
        lambda f: f.run("demo:hello.rb", timeout_ms=True),
        lambda f: f.result("job/../../admin"),
        lambda f: f.result("job-1?flint-key=x"),
        lambda f: f.run("demo:echo.rb", {"not a tag": 1}, sync=True),
    ],
)
async def test_bad_arguments_never_reach_flint(call):
    """Bad refs, job ids, timeouts or XML names raise ValueError before any request is sent."""
    sent: list[httpx.Request] = []
    flint, http = await mock_client(lambda r: sent.append(r) or httpx.Response(200, json=DONE))
    flint.request_format = "xml"
    async with http:
        with pytest.raises(ValueError):
            await call(flint)
    assert sent == []


@pytest.mark.parametrize(
    "kw",
    [
        {"base_url": "ftp://flint.example"},
        {"base_url": "flint.example:3501"},
        {"base_url": "http://flint.example/?flint-key=abc"},
        {"username": None, "password": None},
        {"password": "line\r\nbreak"},
    ],
)
def test_bad_configuration_is_refused(kw):
    """A bad base URL or unusable credentials are refused at construction, without echoing them."""
    settings = {"base_url": "http://flint.example", "username": USER, "password": PASSWORD, **kw}
    with pytest.raises(ValueError) as caught:
        FlintClient(httpx.AsyncClient(), **settings)
    assert "abc" not in str(caught.value) and "break" not in str(caught.value)


# -- models ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "../x:y",
        "a:b/c",
        "a:b?x=1",
        "a",
        ":b",
        "a:",
        "a:b:c",
        ".:b",
        "a:..",
        "a b:c",
        "box:bït.rb",
        "bóx:bit",
        "a:b%2Fc",
        "a:b#c",
        "a:b\nc",
        "x" * 101 + ":b",
        "a:" + "y" * 10_000,
        "",
    ],
)
def test_parse_flintbit_rejects(text):
    """Anything but BOX:BIT of plain names is refused with a ValueError showing the right form."""
    with pytest.raises(ValueError, match=r"demo:hello\.rb"):
        parse_flintbit(text)


@pytest.mark.parametrize(
    ("text", "box", "bit"),
    [("demo:hello.rb", "demo", "hello.rb"), (" my_box-1:a.b-c_d ", "my_box-1", "a.b-c_d")],
)
def test_parse_flintbit_accepts(text, box, bit):
    """Plain names parse, and str() writes the ref back as box:bit."""
    ref = parse_flintbit(text)
    assert ref == FlintbitRef(box, bit)
    assert str(ref) == f"{box}:{bit}"


@pytest.mark.parametrize(
    "text", ["", "job 1", "job/1", "../job", "job.1", "jöb-1", "j" * 129, "job-1\nx", "job-1?x"]
)
def test_validate_job_id_rejects(text):
    """Job ids are letters, digits, `_` and `-` only, at most 128 characters."""
    with pytest.raises(ValueError, match="job id"):
        validate_job_id(text)


def test_validate_job_id_returns_the_id():
    """A valid job id comes back as is, ready for the URL."""
    assert validate_job_id("job-e381654d-065f-48f3-bbd4-f3420da18495") == (
        "job-e381654d-065f-48f3-bbd4-f3420da18495"
    )


def test_meta_coerces_xml_text_and_keeps_unknown_status():
    """Numbers as XML text become ints, and a status Flint invents later is kept, not fatal."""
    meta = FlintMeta.model_validate(
        {
            "job-id": "job-1",
            "exit-code": "0",
            "timeout": "60000",
            "timestamp": "",
            "status": "paused",
            "node": "a",
        }
    )
    assert meta.exit_code == 0 and meta.timeout == 60000 and meta.timestamp is None
    assert meta.status is None and meta.status_text == "paused"
    assert meta.model_extra == {"node": "a"}
    result = FlintResult(meta=meta)
    assert not result.is_final and not result.failed
    assert result.as_dict()["meta"]["status"] == "paused"


@pytest.mark.parametrize(
    ("status", "exit_code", "succeeded", "failed"),
    [
        ("complete", 0, True, False),
        ("complete", None, True, False),
        ("COMPLETE", 0, True, False),
        ("complete", 2, False, True),
        ("error", 1, False, True),
        ("aborted", None, False, True),
        ("running", None, False, False),
        ("submitted", None, False, False),
    ],
)
def test_result_outcome(status, exit_code, succeeded, failed):
    """succeeded means complete with exit code 0 (or none); failed means final and not succeeded."""
    result = FlintResult(meta=FlintMeta(job_id="job-1", status=status, exit_code=exit_code))
    assert (result.succeeded, result.failed) == (succeeded, failed)
    assert result.is_final == (succeeded or failed)


# -- the sandbox itself ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "content", "status_code", "message"),
    [
        (
            "/v1/bit/run/demo:hello.rb/sync",
            {"content-type": "text/plain"},
            b"x",
            400,
            "Content-Type",
        ),
        ("/v1/bit/run/demo:hello.rb/sync/0", {}, b"{}", 400, "timeout"),
        ("/v1/bit/run/demo:hello.rb/sync/abc", {}, b"{}", 400, "timeout"),
        ("/v1/bit/run/demo:hello.rb", {"content-type": "application/json"}, b"{oops", 400, "JSON"),
        ("/v1/bit/run/hello.rb", {}, b"{}", 400, "flintbit"),
        ("/v1/bit/run/demo:echo.rb", {}, b'{"x": NaN}', 400, "JSON"),
        (
            "/v1/bit/run/demo:echo.rb",
            {"content-type": "application/xml"},
            ENTITY_DOCUMENTS[0].encode(),
            400,
            "DTD",
        ),
    ],
)
async def test_sandbox_refuses_bad_requests(
    http, flint_url, path, headers, content, status_code, message
):
    """The sandbox answers malformed requests with 400 and a meta envelope saying why."""
    headers = {"x-flint-username": USER, "x-flint-password": PASSWORD, **headers}
    response = await http.post(flint_url + path, headers=headers, content=content)
    assert response.status_code == status_code
    if response.headers["content-type"] == "application/xml":
        meta = xmldoc.parse(response.content)[1]["meta"]
        meta["exit-code"] = int(meta["exit-code"])
    else:
        meta = response.json()["meta"]
    assert meta["status"] == "error" and meta["exit-code"] != 0 and message in meta["message"]


async def test_sandbox_takes_key_in_query_and_body_without_content_type(http, flint_url):
    """As documented, ?flint-key= authenticates and a body without Content-Type is read as JSON."""
    response = await http.post(
        flint_url + "/v1/bit/run/demo:hello.rb/sync",
        params={"flint-key": KEY},
        content=b'{"name": "Query"}',
    )
    assert response.status_code == 200
    assert response.json()["output"] == {"message": "Hello, Query!"}


async def test_sandbox_401_is_a_meta_envelope(http, flint_url):
    """Without credentials the sandbox answers 401 with status error and "authentication failed"."""
    response = await http.get(flint_url + f"/v1/bit/result/{PING_JOB_ID}")
    assert response.status_code == 401
    assert response.json()["meta"] == {
        "exit-code": 1,
        "message": "authentication failed",
        "status": "error",
    }


async def test_sandbox_answer_delay_and_call_log(make_client, server, apps):
    """answer_delay holds every run answer back, and app.state.calls records answers in order."""
    slow = make_client(base_url=server.url + SLOW_PREFIX)
    calls = apps[SLOW_PREFIX].state.calls
    calls.clear()
    before = time.monotonic()
    started = await slow.run("demo:hello.rb")
    assert time.monotonic() - before >= ANSWER_DELAY
    await slow.result(started.job_id)
    assert [(c.method, c.path, c.status) for c in calls] == [
        ("POST", SLOW_PREFIX + "/v1/bit/run/demo:hello.rb", 200),
        ("GET", f"{SLOW_PREFIX}/v1/bit/result/{started.job_id}", 200),
    ]
    assert before + ANSWER_DELAY <= calls[0].at <= calls[1].at
