"""adapters/base.py: the edges every vendor client shares (base URL, JSON, vendor messages
scrubbed by the one redactor, retries with a turn before each attempt), through real HTTP
to a scripted server where a client is involved."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.base import (
    MAX_VENDOR_MESSAGE,
    VendorClient,
    check_base_url,
    decode_json,
    explanation,
    shorten,
    vendor_text,
)
from adapters.errors import VendorRateLimited, VendorRejected, VendorUnavailable
from adapters.redact import REDACTED
from adapters.retries import Retries
from tests.fakes.servers import ThreadedServer

pytestmark = pytest.mark.timeout(30)

SECRET = "tok-4f1c9e2a7b"
FAST = Retries(attempts=3, backoff=0.01, max_wait=1.0)


# -- base URL ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (" https://api.example.com/v1/ ", "https://api.example.com/v1"),
        ("http://127.0.0.1:8700/flint", "http://127.0.0.1:8700/flint"),
        ("https://user:pw@api.example.com", "https://user:pw@api.example.com"),
    ],
)
def test_a_base_url_is_kept_without_its_trailing_slash(url, expected):
    """An http(s) URL with a host is taken, stripped, without a trailing slash (paths are
    appended to it as ``base_url + "/path"``)."""
    assert check_base_url(url, "The Probe URL") == expected


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://api.example.com", "http:// or https:// URL with a host"),
        ("https:///v1", "http:// or https:// URL with a host"),
        ("api.example.com/v1", "http:// or https:// URL with a host"),
        ("https://api.example.com/v1?key=pw-secret", "must not have a query or fragment!"),
        ("https://api.example.com/v1#pw-secret", "must not have a query or fragment!"),
    ],
)
def test_a_bad_base_url_is_refused_by_name_without_echoing_it(url, why):
    """The error names the setting and what is wrong, never the URL (it may hold a key)."""
    with pytest.raises(ValueError) as caught:
        check_base_url(url, "The Probe URL", hint="!")
    assert str(caught.value).startswith("The Probe URL must") and why in str(caught.value)
    assert "secret" not in str(caught.value) and "example" not in str(caught.value)


# -- JSON --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ['{"a": NaN}', "[Infinity]", "-Infinity", "[" * 100_000])
def test_what_json_does_not_allow_is_a_value_error(text):
    """NaN, Infinity and nesting too deep for Python are ValueError, like malformed text."""
    with pytest.raises(ValueError):
        decode_json(text)


def test_ordinary_json_is_decoded():
    """Everything JSON does allow comes through as Python values."""
    assert decode_json(b'{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}


# -- the vendor's explanation ------------------------------------------------------------


def _answer(body: bytes | str, media: str | None) -> httpx.Response:
    headers = {"content-type": media} if media else {}
    content = body.encode() if isinstance(body, str) else body
    return httpx.Response(400, content=content, headers=headers)


@pytest.mark.parametrize(
    ("body", "media", "expected"),
    [
        ('{"message": "name is taken", "error": "conflict"}', "application/json", "name is taken"),
        ('{"error": "", "errors": ["a", "b", "c", "d"]}', "application/json", "a; b; c"),
        ('{"errors": {"name": "taken", "id": "bad"}}', "application/json", "name: taken; id: bad"),
        ('"just a string"', "application/json", "just a string"),
        ("plain words", "text/plain; charset=utf-8", "plain words"),
        ("no type given", None, "no type given"),
        ("<html>Bad Gateway</html>", "text/html", None),
        ('[{"message": "in a list"}]', "application/json", None),
        ('{"status": 400}', "application/json", None),
    ],
)
def test_the_vendors_explanation_is_found_alike(body, media, expected):
    """A JSON string, the first message field of a JSON object, or a plain-text body; not
    an HTML page, nor JSON that says nothing."""
    assert explanation(_answer(body, media)) == expected


def test_vendor_text_redacts_every_spelling_of_a_secret():
    """The secret is replaced as itself and as JSON would escape it; nothing else changes."""
    quoted = 'pw"with\\quote'
    text = f"token {SECRET} and {json.dumps(quoted)[1:-1]} are wrong"
    assert vendor_text(text, [SECRET, quoted]) == f"token {REDACTED} and {REDACTED} are wrong"


def test_vendor_text_redacts_before_it_cuts():
    """A secret across the cut is replaced whole: none of it is left before the cut."""
    text = "x" * (MAX_VENDOR_MESSAGE - 5) + SECRET + " and more"
    shown = vendor_text(text, [SECRET])
    assert shown is not None and SECRET[:5] not in shown and len(shown) <= MAX_VENDOR_MESSAGE + 1


def test_vendor_text_is_printable_and_none_when_blank():
    """Control characters become spaces (one line in a message); blank text is no text."""
    assert vendor_text("line one\nline\x1btwo ", ()) == "line one line two"
    assert vendor_text("  \n", [SECRET]) is None and vendor_text(None, [SECRET]) is None


def test_shorten_makes_user_text_safe_between_backticks():
    """Backticks and control characters cannot end the quote or break the line; long text
    is cut."""
    assert shorten("a`b\nc") == "a'b?c"
    assert shorten("x" * 50, limit=10) == "x" * 10 + "…"
    assert shorten(None) == "None"


# -- a client on VendorClient, through real HTTP -----------------------------------------


@dataclass
class Script:
    """The server's next answers (status, JSON body), then 200 ``{}``; what it was asked."""

    answers: list[tuple[int, object]] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        self.seen.append(request.method)
        status, body = self.answers.pop(0) if self.answers else (200, {})
        return Response(json.dumps(body), status, media_type="application/json")


@pytest.fixture(scope="module")
def script_server() -> Iterator[tuple[Script, ThreadedServer]]:
    script = Script()
    app = Starlette(routes=[Route("/{path:path}", script.endpoint, methods=["GET", "POST"])])
    with ThreadedServer(app) as server:
        yield script, server


@pytest.fixture
def script(script_server: tuple[Script, ThreadedServer]) -> Script:
    script, _server = script_server
    script.answers.clear()
    script.seen.clear()
    return script


class Probe(VendorClient):
    """A vendor client with nothing of its own but a secret and a turn it counts."""

    vendor = "Probe"
    base_url_name = "The Probe URL"

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, refuse: bool = False) -> None:
        super().__init__(http, base_url=base_url, retries=FAST)
        self.turns = 0
        self.refuse = refuse

    async def _turn(self) -> None:
        self.turns += 1
        if self.refuse:
            raise VendorRateLimited(self.vendor, "our own budget is spent", retry_after=0.01)

    def _secrets(self) -> Iterable[str]:
        return (SECRET,)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def probe(http: httpx.AsyncClient, script_server: tuple[Script, ThreadedServer]) -> Probe:
    return Probe(http, script_server[1].url + "/api/")


async def test_an_echoed_secret_is_redacted_from_the_error(probe: Probe, script: Script):
    """A vendor repeating our token in its refusal: the VendorError shows [redacted]."""
    script.answers.append((422, {"message": f"token {SECRET} is not valid here"}))
    with pytest.raises(VendorRejected) as caught:
        await probe._send("GET", "/things")
    assert (
        str(caught.value)
        == f"Probe refused the request: token {REDACTED} is not valid here (HTTP 422)"
    )


async def test_the_turn_comes_before_every_attempt(probe: Probe, script: Script):
    """Two 503s, then the answer: three attempts, each after the client's turn."""
    script.answers += [(503, {}), (503, {})]
    response = await probe._send("GET", "/things")
    assert response.status_code == 200 and script.seen == ["GET"] * 3 and probe.turns == 3


async def test_a_refused_turn_is_not_retried(
    http: httpx.AsyncClient, script_server: tuple[Script, ThreadedServer], script: Script
):
    """Our own limiter's refusal (no answer from the vendor) is raised at once: nothing is
    sent, and the turn is not asked again."""
    refusing = Probe(http, script_server[1].url, refuse=True)
    with pytest.raises(VendorRateLimited, match="our own budget"):
        await refusing._send("GET", "/things")
    assert refusing.turns == 1 and script.seen == []


@pytest.mark.parametrize(("method", "attempts"), [("GET", 2), ("POST", 1)])
async def test_only_a_get_is_a_read_by_default(probe: Probe, script: Script, method, attempts):
    """A 502 is tried again for a GET; a POST may have acted, so it is reported at once."""
    script.answers.append((502, {}))
    if attempts == 1:
        with pytest.raises(VendorUnavailable):
            await probe._send(method, "/things")
    else:
        await probe._send(method, "/things")
    assert script.seen == [method] * attempts


def test_a_client_repr_shows_its_url_only(probe: Probe):
    """A client's repr (in logs and tracebacks) names its URL and nothing it holds."""
    assert repr(probe) == f"Probe({probe.base_url!r})" and probe.base_url.endswith("/api")
