"""What every vendor client does alike at its edges, written once so a rule changes once.

Each adapter (adapters/<vendor>/client.py) knows its vendor's paths, bodies and answers.
What they all do the same way is here:

* the configured base URL is checked alike: http or https, a host, no query or fragment
  (a URL may carry credentials, so it is never echoed in the error);
* JSON is decoded by one function that refuses what JSON does not allow (NaN, Infinity)
  and runaway nesting as ``ValueError``, in clients, models and sandboxes;
* a vendor's own explanation of an error is found alike (a JSON string, the first
  message field of a JSON object, or a plain-text body), then scrubbed of our credentials
  by the product's one redactor (adapters/redact.py) and made printable and short, before
  it becomes part of a ``VendorError`` a user may see;
* every request goes through ``adapters.http.send`` with the client's tenacity retries
  (adapters/retries.py), each attempt first waiting for the client's turn (``_turn``:
  Mindstamp's client-side rate limiter).

``VendorClient`` is the base class of the clients; the module functions also serve code
that is not a client (models, sandboxes, ``httpx.Auth`` flows).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from adapters.errors import VendorError
from adapters.http import MAX_ANSWER_BYTES, error_for_status, invalid_response, printable, send
from adapters.redact import SecretRedactor
from adapters.retries import DEFAULT_RETRIES, Retries

log = logging.getLogger(__name__)

JSON = "application/json"
REQUEST_TIMEOUT_S = 10.0
CONNECT_TIMEOUT_S = 5.0
# The most of a vendor's explanation shown: enough for a sentence or three.
MAX_VENDOR_MESSAGE = 300
# Where vendors put the explanation in a JSON error body, in the order we look.
MESSAGE_KEYS = ("message", "error", "errors", "detail", "description")


def check_base_url(url: str, name: str, *, hint: str = "") -> str:
    """``url`` without a trailing slash, when it is an http(s) URL with a host and no query
    or fragment; else ValueError naming it by ``name`` ("The Flint URL", "MINT_URL")."""
    parts = urlsplit(str(url).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ValueError(f"{name} must not have a query or fragment{hint}")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def decode_json(body: bytes | str) -> Any:
    """JSON text to Python values; malformed text, NaN/Infinity and nesting too deep for
    Python to walk are all ValueError, so callers catch one exception."""
    try:
        return json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        raise ValueError("the JSON document is nested too deeply") from None


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def media_type(response: httpx.Response) -> str:
    """The answer's Content-Type without parameters, lower case ("" when there is none)."""
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def message_field(document: Mapping[str, Any], keys: Iterable[str] = MESSAGE_KEYS) -> str | None:
    """The first of ``keys`` in a JSON error object that holds some text; a list (the
    first three items) or an object (its first three fields) there is joined into one."""
    for key in keys:
        value = document.get(key)
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in list(value.items())[:3])
        if isinstance(value, list) and value:
            value = "; ".join(str(item) for item in value[:3])
        if isinstance(value, str) and value.strip():
            return value
    return None


def explanation(
    response: httpx.Response,
    pick: Callable[[dict[str, Any]], str | None] = message_field,
) -> str | None:
    """The vendor's own words in an error answer, unscrubbed: a JSON string, what ``pick``
    finds in a JSON object, or a body sent as plain text (or with no Content-Type)."""
    try:
        document = decode_json(response.content)
    except ValueError:
        return response.text if media_type(response) in ("", "text/plain") else None
    if isinstance(document, str):
        return document
    return pick(document) if isinstance(document, dict) else None


def vendor_text(text: str | None, secrets: Iterable[str]) -> str | None:
    """Vendor text made fit for an error message, or None when there is none: every one of
    ``secrets`` replaced (a vendor may echo what it was sent, our token included), then
    printable and at most ``MAX_VENDOR_MESSAGE`` characters. Redacted before it is cut, so
    a secret across the cut goes whole."""
    if not text or not text.strip():
        return None
    return printable(SecretRedactor(secrets)(text.strip()), MAX_VENDOR_MESSAGE)


def shorten(value: object, limit: int = 40) -> str:
    """What a user gave, fit to quote between backticks in a ValueError: printable, no
    backtick of its own, at most ``limit`` characters."""
    text = value if isinstance(value, str) else repr(value)
    text = "".join(ch if ch.isprintable() else "?" for ch in text).replace("`", "'")
    return text if len(text) <= limit else text[:limit] + "…"


class VendorClient:
    """The base of every vendor client: one shared ``httpx.AsyncClient`` (no base_url on
    it), the checked ``base_url``, retries, and the hooks a vendor overrides.

    Subclasses set ``vendor`` (the display name in every error) and ``base_url_name`` (how
    the base URL's setting is named in an error), and ``_auth`` when they have an
    ``httpx.Auth``. They override ``_secrets`` (what to scrub from vendor text),
    ``_explain`` (where their vendor puts an error's explanation), ``_error`` (their own
    status mapping) and ``_turn`` (a wait before each attempt) where theirs differ.
    """

    vendor: ClassVar[str]
    base_url_name: ClassVar[str]
    base_url_hint: ClassVar[str] = ""
    _auth: httpx.Auth | None = None

    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, retries: Retries = DEFAULT_RETRIES
    ) -> None:
        self._http = http
        self._retries = retries
        self.base_url = check_base_url(base_url, self.base_url_name, hint=self.base_url_hint)

    def __repr__(self) -> str:
        # Never the auth's values: a repr ends up in logs and tracebacks.
        return f"{type(self).__name__}({self.base_url!r})"

    async def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        read: bool | None = None,
        read_timeout: float = REQUEST_TIMEOUT_S,
        max_bytes: int = MAX_ANSWER_BYTES,
        retries: Retries | None = None,
        check: bool = True,
    ) -> httpx.Response:
        """Send ``method`` ``base_url + path`` (a JSON answer is asked for unless
        ``headers`` say otherwise) and return the answer, read in full.

        ``read`` (default: a GET) says the call only reads, so it may be tried again after
        any transient failure; other calls are tried again only when the vendor says it
        did not act (adapters/retries.py). With ``check``, an unsuccessful answer raises
        ``_error``'s VendorError.
        """
        timeout = httpx.Timeout(REQUEST_TIMEOUT_S, connect=CONNECT_TIMEOUT_S, read=read_timeout)
        request = self._http.build_request(
            method,
            self.base_url + path,
            params=params,
            json=json,
            content=content,
            headers={"Accept": JSON, **(headers or {})},
            timeout=timeout,
        )
        response = await send(
            self.vendor,
            self._http,
            request,
            auth=self._auth,
            max_bytes=max_bytes,
            retries=self._retries if retries is None else retries,
            read=method == "GET" if read is None else read,
            what=f"{method} {path}",
            before=self._turn,
        )
        log.debug("%s %s %s -> %s", self.vendor, method, path, response.status_code)
        if check and not response.is_success:
            raise self._error(response)
        return response

    async def _turn(self) -> None:
        """Wait until this client may send (before every attempt); most need not wait."""

    def _error(self, response: httpx.Response) -> VendorError:
        """The VendorError for an unsuccessful answer, with the vendor's scrubbed words."""
        return error_for_status(self.vendor, response, self._vendor_message(response))

    def _vendor_message(self, response: httpx.Response) -> str | None:
        return vendor_text(self._explain(response), self._secrets())

    def _explain(self, response: httpx.Response) -> str | None:
        """Where this vendor explains an error; see ``explanation``."""
        return explanation(response)

    def _secrets(self) -> Iterable[str]:
        """Every credential this client holds now (tokens it was given included)."""
        return ()

    def _document(self, response: httpx.Response) -> Any:
        """A successful answer's JSON; VendorResponseInvalid when it is not JSON."""
        try:
            return decode_json(response.content)
        except ValueError as exc:
            raise invalid_response(self.vendor, response, "malformed JSON") from exc
