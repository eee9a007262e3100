"""STOMT's REST API: post wishes and likes, read, list and delete stomts, upload files.

Every URL is the configured base URL plus a fixed path and validated slugs, so nothing a
user types can change the path. Every answer is STOMT's envelope ``{meta, data, error}``;
the client returns what ``data`` holds and turns ``error`` into a VendorError carrying
STOMT's own message. Every failure is a VendorError; bad arguments are ValueError raised
before anything is sent.

Where the document is silent, these are our choices:

- Errors: 404 → VendorNotFound, 401 → VendorAuthError, 403 → VendorRejected (STOMT
  refused that action, e.g. deleting someone else's stomt; our credentials are fine),
  429 → VendorRateLimited, other 4xx → VendorRejected, 5xx and transport → VendorUnavailable,
  an answer that is not the envelope → VendorResponseInvalid. A 2xx answer that carries
  ``error`` is VendorRejected.
- The login (``POST /authentication/session``) is about *our* credentials, so every refusal
  there, including 404 "Account not found." and 403 "Wrong password.", is VendorAuthError
  naming STOMT_USERNAME and STOMT_PASSWORD.
- 419 means the access token expired. With a username and password the client logs in again
  once and repeats the request once; with a fixed STOMT_ACCESSTOKEN it is VendorAuthError
  saying to renew it. No other status triggers a new login.
- ``ping`` reads a target (STOMT_TARGET, or STOMT's own page ``stomt``, the document's own
  example target): the request carries the appid and the token (logging in first when we
  have a username and password), so it proves both, and it changes nothing.
- ``target_stomts`` sends ``newer_than`` as whole unix seconds, ``offset`` and ``limit`` as
  query parameters, and accepts ``data`` as the array of stomts the document shows or an
  object holding it under ``stomts``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import AsyncGenerator, Generator, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from adapters.base import JSON, VendorClient, decode_json, vendor_text
from adapters.errors import VendorAuthError, VendorError, VendorRejected, http_context
from adapters.http import MAX_ANSWER_BYTES, error_for_status, invalid_response, read_capped
from adapters.retries import DEFAULT_RETRIES, Retries
from adapters.stomt.models import (
    MAX_TEXT,
    POLARITIES,
    STOMT_KINDS,
    Comment,
    File,
    Polarity,
    Session,
    Stomt,
    StomtKind,
    Target,
    parse_time,
    validate_stomt_id,
    validate_target_id,
)

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

VENDOR = "STOMT"
LOGIN_PATH = "/authentication/session"
# The document's own example target: STOMT's page, which every STOMT server has.
PING_TARGET = "stomt"
# The context files are uploaded in for attaching them to a stomt.
FILE_CONTEXT = "stomt"
TOKEN_EXPIRED = 419
MAX_LABELS = 20
MAX_LABEL = 100
MAX_FILENAME = 200
DEFAULT_LIMIT = 20


class StomtAuth(httpx.Auth):
    """STOMT's headers: ``appid`` always, ``accesstoken`` when we have or can get one.

    With a fixed ``accesstoken`` it is sent as is. With ``username`` and ``password`` the
    first request logs in through ``POST /authentication/session`` (concurrent first
    requests share that one login) and the token is kept; a 419 answer (token expired)
    logs in again once and repeats the request once. Works with ``httpx.AsyncClient``.
    """

    def __init__(
        self,
        *,
        base_url: str,
        appid: str,
        accesstoken: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if not appid or not isinstance(appid, str):
            raise ValueError("STOMT needs an appid (STOMT_APPID)")
        if accesstoken:
            self.kind = "token"
        elif username and password:
            self.kind = "password"
        elif username or password:
            raise ValueError("STOMT needs both STOMT_USERNAME and STOMT_PASSWORD")
        else:
            self.kind = "anonymous"
        for value in (appid, accesstoken, username, password):
            if value is not None and any(ch < " " or ch == "\x7f" for ch in value):
                # Never say which value: it may be a credential.
                raise ValueError("STOMT settings must not contain control characters")
        self._login_url = base_url + LOGIN_PATH
        self._appid = appid
        self._static_token = accesstoken or None
        self._username = username if self.kind == "password" else None
        self._password = password if self.kind == "password" else None
        self._token: str | None = None
        self._lock = asyncio.Lock()
        self.session: Session | None = None
        self.logins = 0

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret this auth knows, for scrubbing text before it is shown."""
        values = (self._static_token, self._password, self._token)
        return tuple(value for value in values if value)

    def sync_auth_flow(
        self, request: httpx.Request
    ) -> Generator[httpx.Request, httpx.Response, None]:
        raise RuntimeError("StomtAuth works with httpx.AsyncClient only")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["appid"] = self._appid
        request.headers.setdefault("Accept", JSON)
        if self.kind != "password":
            if self._static_token:
                request.headers["accesstoken"] = self._static_token
            yield request
            return

        stale: str | None = None
        for attempt in (1, 2):
            if self._token is None or self._token == stale:
                async with self._lock:
                    # Whoever waited here may find the token another request just got.
                    if self._token is None or self._token == stale:
                        login_response = yield self._login_request(request)
                        await read_capped(VENDOR, login_response, MAX_ANSWER_BYTES)
                        self._accept_login(login_response)
            token = self._token
            assert token is not None
            request.headers["accesstoken"] = token
            response = yield request
            if response.status_code != TOKEN_EXPIRED or attempt == 2:
                return
            # httpx reads an answer the flow moves past in full: read it capped first.
            await read_capped(VENDOR, response, MAX_ANSWER_BYTES)
            log.info("stomt: the access token expired; logging in again")
            stale = token

    def _login_request(self, request: httpx.Request) -> httpx.Request:
        body = {
            "login_method": "normal",
            "emailusername": self._username,
            "password": self._password,
        }
        login = httpx.Request(
            "POST",
            self._login_url,
            json=body,
            headers={"appid": self._appid, "Accept": JSON},
        )
        if "timeout" in request.extensions:
            login.extensions["timeout"] = request.extensions["timeout"]
        return login

    def _accept_login(self, response: httpx.Response) -> None:
        data = _data(response, self.secrets, login=True)
        try:
            session = Session.model_validate(data) if isinstance(data, dict) else None
        except ValidationError:
            session = None
        if session is None or not session.accesstoken or not isinstance(session.accesstoken, str):
            raise invalid_response(VENDOR, response, "the login answer has no accesstoken")
        if any(ch < " " or ch == "\x7f" for ch in session.accesstoken):
            raise invalid_response(VENDOR, response, "the login answer has an unusable accesstoken")
        self._token = session.accesstoken
        self.session = session
        self.logins += 1
        log.info("stomt: logged in")

    def __repr__(self) -> str:
        return f"StomtAuth({self.kind})"


class StomtClient(VendorClient):
    """Talks to one STOMT server through a shared ``httpx.AsyncClient`` (no base_url on it)."""

    vendor = VENDOR
    base_url_name = "The STOMT URL"
    _auth: StomtAuth

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        appid: str,
        accesstoken: str | None = None,
        username: str | None = None,
        password: str | None = None,
        retries: Retries = DEFAULT_RETRIES,
    ) -> None:
        super().__init__(http, base_url=base_url, retries=retries)
        self._auth = StomtAuth(
            base_url=self.base_url,
            appid=appid,
            accesstoken=accesstoken,
            username=username,
            password=password,
        )

    def __repr__(self) -> str:
        return f"StomtClient({self.base_url!r}, {self._auth!r})"

    @property
    def auth(self) -> StomtAuth:
        return self._auth

    @property
    def user(self) -> Target | None:
        """The account we logged in as (after the first request), when we log in."""
        session = self._auth.session
        return session.user if session is not None else None

    # -- API ----------------------------------------------------------------------------

    async def create_stomt(
        self,
        text: str,
        *,
        positive: bool = False,
        target_id: str | None = None,
        lang: str | None = None,
        url: str | None = None,
        anonym: bool | None = None,
        labels: list[str] | None = None,
        file_uids: list[str] | None = None,
    ) -> Stomt:
        """Post a wish (``positive=False``) or a like to ``target_id`` (default: the app's page).

        Never retried: a retry could post it twice.
        """
        body: dict[str, Any] = {"text": check_text(text), "positive": _flag("positive", positive)}
        if target_id is not None:
            body["target_id"] = validate_target_id(target_id)
        if lang is not None:
            body["lang"] = _short_text("lang", lang, 10)
        if url is not None:
            body["url"] = _short_text("url", url, 2000)
        if anonym is not None:
            body["anonym"] = _flag("anonym", anonym)
        if labels:
            body["extradata"] = {"labels": _labels(labels)}
        if file_uids:
            body["files"] = [{"file_uid": _file_uid(uid)} for uid in _as_list(file_uids)]
        response, data = await self._call("POST", "/stomts", json=body)
        return _stomt(response, data)

    async def get_stomt(self, stomt_id: str) -> Stomt:
        path = f"/stomts/{_segment(validate_stomt_id(stomt_id))}"
        response, data = await self._call("GET", path)
        return _stomt(response, data)

    async def delete_stomt(self, stomt_id: str) -> None:
        """Delete a stomt (STOMT allows it to its creator and the target's owners)."""
        stomt_id = validate_stomt_id(stomt_id)
        _response, data = await self._call("DELETE", f"/stomts/{_segment(stomt_id)}")
        if isinstance(data, dict) and data.get("success") is False:
            raise VendorRejected(VENDOR, f"{VENDOR} did not delete the stomt {stomt_id}")

    async def comments(self, stomt_id: str) -> list[Comment]:
        path = f"/stomts/{_segment(validate_stomt_id(stomt_id))}/comments"
        response, data = await self._call("GET", path)
        items = _items(response, data, "comments")
        return [_model(response, Comment, item, "comment") for item in items]

    async def get_target(self, target_id: str) -> Target:
        path = f"/targets/{_segment(validate_target_id(target_id))}"
        response, data = await self._call("GET", path)
        return _model(response, Target, data, "target")

    async def target_stomts(
        self,
        target_id: str,
        kind: StomtKind = "received",
        polarity: Polarity | None = None,
        newer_than: datetime | str | int | None = None,
        offset: int = 0,
        limit: int = DEFAULT_LIMIT,
    ) -> list[Stomt]:
        """Stomts the target received or created, or its top stomts, newest first."""
        if kind not in STOMT_KINDS:
            raise ValueError(f"The list kind is one of {', '.join(STOMT_KINDS)}, not `{kind}`.")
        if polarity is not None and polarity not in POLARITIES:
            raise ValueError(f"Polarity is positive or negative, not `{polarity}`.")
        path = f"/targets/{_segment(validate_target_id(target_id))}/stomts/{kind}"
        if polarity is not None:
            path += f"/{polarity}"
        params: dict[str, str] = {
            "offset": str(_count("offset", offset, 0)),
            "limit": str(_count("limit", limit, 1)),
        }
        if newer_than is not None:
            params["newer_than"] = str(unix_seconds(newer_than))
        response, data = await self._call("GET", path, params=params)
        return [_stomt(response, item) for item in _items(response, data, "stomts")]

    async def upload_file(self, filename: str, content: bytes) -> File:
        """Upload a file (STOMT takes txt, log and zip) to attach to a stomt by its file_uid."""
        filename = _filename(filename)
        if not isinstance(content, bytes | bytearray):
            raise TypeError("The file content must be bytes")
        encoded = base64.b64encode(bytes(content)).decode("ascii")
        body = {"files": {FILE_CONTEXT: [{"data": encoded, "filename": filename}]}}
        response, data = await self._call("POST", "/files", json=body)
        files = data.get("files") if isinstance(data, dict) else None
        uploaded = files.get(FILE_CONTEXT) if isinstance(files, dict) else None
        if isinstance(uploaded, list):
            uploaded = uploaded[0] if uploaded else None
        if not isinstance(uploaded, dict):
            raise invalid_response(VENDOR, response, "the upload answer has no file")
        try:
            file = File.model_validate({"filename": filename, **uploaded})
        except ValidationError as exc:
            raise invalid_response(
                VENDOR, response, "unexpected values in the uploaded file"
            ) from exc
        if not file.file_uid:
            raise invalid_response(VENDOR, response, "the upload answer has no file_uid")
        return file

    async def ping(self, target_id: str | None = None) -> Target:
        """Prove STOMT answers and takes our appid and credentials (for ``chatops check``).

        Reads ``target_id`` (default: STOMT's own page): with a username and password the
        first request logs in, and a token that STOMT no longer takes is refused.
        """
        return await self.get_target(target_id or PING_TARGET)

    # -- plumbing -----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, Any]:
        # Every answer, an error too, is STOMT's envelope: read by ``_data``, not ``_error``.
        response = await self._send(method, path, json=json, params=params, check=False)
        if response.status_code == TOKEN_EXPIRED:
            raise self._expired(response)
        return response, _data(response, self._auth.secrets)

    def _expired(self, response: httpx.Response) -> VendorAuthError:
        if self._auth.kind == "token":
            why = "the access token has expired: renew STOMT_ACCESSTOKEN"
        elif self._auth.kind == "password":
            why = "it refused the session token it had just given us"
        else:
            why = "it wants a login: set STOMT_USERNAME and STOMT_PASSWORD, or STOMT_ACCESSTOKEN"
        return VendorAuthError(
            VENDOR,
            f"{VENDOR} rejected our credentials: {why} (HTTP {response.status_code})",
            request=response.request,
            response=response,
        )


# -- arguments ---------------------------------------------------------------------------


def check_text(text: str) -> str:
    """The stomt text, stripped, when STOMT will take it; else ValueError saying why."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("A stomt needs some text, e.g. `the bot spoke German`.")
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise ValueError(
            f"The text is {len(text)} characters long; STOMT takes at most {MAX_TEXT}. "
            f"Shorten it by {len(text) - MAX_TEXT}."
        )
    return text


def unix_seconds(value: datetime | str | int | float) -> int:
    """A time as the whole unix seconds STOMT's ``newer_than`` takes (naive means UTC)."""
    if isinstance(value, bool):
        raise ValueError("newer_than is a time, not a flag")
    when = parse_time(value)
    if when is None:
        raise ValueError(
            f"newer_than `{str(value)[:40]}` is not a time: give a datetime, unix seconds "
            "(e.g. `1448911397`) or ISO 8601 (e.g. `2024-05-01T09:00:00Z`)."
        )
    return int(when.astimezone(UTC).timestamp())


def _segment(slug: str) -> str:
    return quote(slug, safe="")


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false")
    return value


def _count(name: str, value: object, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{name} must be a whole number, at least {least}")
    return value


def _short_text(name: str, value: object, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise ValueError(f"{name} must be a text of 1 to {limit} characters")
    text = value.strip()
    if any(not ch.isprintable() for ch in text):
        raise ValueError(f"{name} must not contain control characters")
    return text


def _as_list(values: Iterable[str]) -> list[str]:
    if isinstance(values, str | bytes):
        raise ValueError("Give a list of values, not one text")
    return list(values)


def _labels(labels: Iterable[str]) -> list[str]:
    names = [_short_text("A label", label, MAX_LABEL) for label in _as_list(labels)]
    if len(names) > MAX_LABELS:
        raise ValueError(f"At most {MAX_LABELS} labels, not {len(names)}")
    return list(dict.fromkeys(names))


def _file_uid(uid: object) -> str:
    try:
        return validate_stomt_id(uid)
    except ValueError:
        raise ValueError(
            "A file_uid is the one STOMT gave for an upload (letters, digits, `_ - .`)."
        ) from None


def _filename(name: object) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_FILENAME:
        raise ValueError(f"A file name is 1 to {MAX_FILENAME} characters, e.g. `bot.log`")
    name = name.strip()
    if "/" in name or "\\" in name or any(not ch.isprintable() for ch in name):
        raise ValueError("A file name must not contain `/`, `\\` or control characters")
    return name


# -- answers -----------------------------------------------------------------------------


def _data(response: httpx.Response, secrets: tuple[str, ...], *, login: bool = False) -> Any:
    """``data`` of STOMT's envelope; raises the VendorError for an error answer."""
    try:
        document = decode_json(response.content)
    except ValueError:
        document = None
        understood = False
    else:
        understood = True
    error = document.get("error") if isinstance(document, dict) else None
    message = vendor_text(error if isinstance(error, str) else None, secrets)
    if not response.is_success or message is not None:
        raise _error(response, message, login=login)
    if not understood:
        raise invalid_response(VENDOR, response, "malformed JSON")
    if not isinstance(document, dict):
        raise invalid_response(VENDOR, response, "the answer is not a JSON object")
    if "data" not in document or document["data"] is None:
        raise invalid_response(VENDOR, response, "the answer has no data")
    return document["data"]


def _items(response: httpx.Response, data: Any, key: str) -> list[Any]:
    """The array of an answer: ``data`` itself, or ``data[key]`` when it is an object."""
    if isinstance(data, dict) and isinstance(data.get(key), list):
        return data[key]
    if isinstance(data, list):
        return data
    raise invalid_response(VENDOR, response, f"no list of {key}")


def _stomt(response: httpx.Response, data: Any) -> Stomt:
    stomt = _model(response, Stomt, data, "stomt")
    if not stomt.id:
        raise invalid_response(VENDOR, response, "a stomt without an id")
    return stomt


def _model(response: httpx.Response, model: type[M], data: Any, what: str) -> M:
    if not isinstance(data, dict):
        raise invalid_response(VENDOR, response, f"no {what} object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]) for err in exc.errors()[:3] if err["loc"])
        raise invalid_response(
            VENDOR, response, f"unexpected values in the {what} ({fields})"
        ) from exc


def _error(response: httpx.Response, message: str | None, *, login: bool) -> VendorError:
    code = response.status_code
    detail = f"{message} (HTTP {code})" if message else f"HTTP {code}"
    kw = http_context(response)
    if login and (400 <= code < 500 and code != 429):
        return VendorAuthError(
            VENDOR,
            f"{VENDOR} refused our login: {detail}. Check STOMT_USERNAME and STOMT_PASSWORD.",
            **kw,
        )
    if code == 403 or (response.is_success and message):
        return VendorRejected(VENDOR, f"{VENDOR} refused the request: {detail}", **kw)
    return error_for_status(VENDOR, response, message)
