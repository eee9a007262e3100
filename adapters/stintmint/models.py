"""Stintmint's requests and answers as typed values, and the names a user may type for them.

Field names are Python's (``sf_id``); each also accepts and serialises as Stintmint's
spelling (``sfId``), so ``PostRequest(sfId="demo", ...)`` and ``PostRequest(sf_id="demo",
...)`` are the same request, and ``payload()`` is exactly the JSON body the vendor wants.
Every check raises ValueError (pydantic's ValidationError is one) before anything is sent.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.base import shorten

MAX_DESCRIPTORS = 10  # "A maximum of 10 descriptors are allowed per request."
MAX_NAME_CHARS = 100
MAX_INFO_CHARS = 10_000
MAX_CAPTION_CHARS = 1_000
MAX_URL_CHARS = 2_000
COMPLETED = "COMPLETED"
PENDING = "PENDING"

# "Unique alphanumeric string": letters and digits, plus the separators ids usually carry.
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
_URGENCY = re.compile(r"[A-Za-z0-9_-]{1,20}")


class DescriptorType(StrEnum):
    """The kinds of data a descriptor carries; every type but TEXT may be a URL."""

    TEXT = "TEXT"
    IMAGE = "IMAGE"
    PDF = "PDF"
    HREF = "HREF"
    AUDIO = "AUDIO"
    VIDEO = "VIDEO"


class OptionType(StrEnum):
    """The kinds of option a module (state) may offer its workers."""

    TEXT = "TEXT"
    IMAGE = "IMAGE"


_WIRE = ConfigDict(
    validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, frozen=True
)


class Descriptor(BaseModel):
    """One input of a request: the StintFlow's descriptor ``name``, its ``type`` and value."""

    model_config = _WIRE

    name: str
    type: DescriptorType
    info: str
    caption: str | None = None

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("A descriptor needs a name (the StintFlow's input name).")
        value = value.strip()
        if len(value) > MAX_NAME_CHARS or not value.isprintable():
            raise ValueError(
                f"The descriptor name `{shorten(value)}` is not valid: use up to "
                f"{MAX_NAME_CHARS} printable characters."
            )
        return value

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        return parse_descriptor_type(value) if isinstance(value, str) else value

    @field_validator("info", mode="before")
    @classmethod
    def _info(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise ValueError("A descriptor needs a value (its `info`).")
        if len(value) > MAX_INFO_CHARS or "\x00" in value:
            raise ValueError(f"A descriptor value must be text of at most {MAX_INFO_CHARS} chars.")
        return value

    @field_validator("caption", mode="before")
    @classmethod
    def _caption(cls, value: Any) -> Any:
        return _optional_caption(value)


class ModuleOption(BaseModel):
    """One option/class a module offers; Stintmint uses ``info`` when ``optionId`` is blank."""

    model_config = _WIRE

    option_id: str | None = Field(None, alias="optionId")
    type: OptionType = OptionType.TEXT
    info: str
    caption: str | None = None

    @field_validator("option_id", mode="before")
    @classmethod
    def _option_id(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return _check_id("option id", value)

    @field_validator("type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip().upper()
            if text not in OptionType.__members__:
                raise ValueError(
                    f"`{shorten(value)}` is not an option type: use one of TEXT, IMAGE."
                )
            return text
        return value

    @field_validator("info", mode="before")
    @classmethod
    def _info(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("An option needs its name (`info`).")
        if len(value) > MAX_INFO_CHARS:
            raise ValueError(f"An option name must be at most {MAX_INFO_CHARS} characters.")
        return value

    @field_validator("caption", mode="before")
    @classmethod
    def _caption(cls, value: Any) -> Any:
        return _optional_caption(value)


class StateOption(BaseModel):
    """The options/classes for one module (``stateId``) of the StintFlow."""

    model_config = _WIRE

    state_id: str = Field(alias="stateId")
    options: list[ModuleOption] = Field(min_length=1)

    @field_validator("state_id", mode="before")
    @classmethod
    def _state_id(cls, value: Any) -> Any:
        return _check_id("state id", value)


class PostRequest(BaseModel):
    """The body of ``POST /post``: data for one ``identifier`` sent to StintFlow ``sfId``."""

    model_config = _WIRE

    identifier: str
    sf_id: str = Field(alias="sfId")
    batch_id: str | None = Field(None, alias="batchId")
    urgency: str | None = None
    callback_url: str | None = Field(None, alias="callbackUrl")
    descriptors: list[Descriptor]
    state_options: list[StateOption] | None = Field(None, alias="stateOptions")

    @field_validator("identifier", mode="before")
    @classmethod
    def _identifier(cls, value: Any) -> Any:
        return _check_id("identifier", value)

    @field_validator("sf_id", mode="before")
    @classmethod
    def _sf_id(cls, value: Any) -> Any:
        return _check_id("StintFlow id", value)

    @field_validator("batch_id", mode="before")
    @classmethod
    def _batch_id(cls, value: Any) -> Any:
        return None if value is None or value == "" else _check_id("batch id", value)

    @field_validator("urgency", mode="before")
    @classmethod
    def _urgency(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not _URGENCY.fullmatch(value.strip()):
            raise ValueError(
                f"`{shorten(value)}` is not an urgency code: use letters and digits, e.g. `U1`."
            )
        return value.strip()

    @field_validator("callback_url", mode="before")
    @classmethod
    def _callback_url(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if not isinstance(value, str) or not is_http_url(value) or len(value) > MAX_URL_CHARS:
            raise ValueError("The callback URL must be an http:// or https:// URL with a host.")
        return value.strip()

    @field_validator("descriptors", mode="before")
    @classmethod
    def _descriptors(cls, value: Any) -> Any:
        if not isinstance(value, list | tuple) or not value:
            raise ValueError("A request needs at least one descriptor (name=value).")
        if len(value) > MAX_DESCRIPTORS:
            raise ValueError(
                f"A request takes at most {MAX_DESCRIPTORS} descriptors, not {len(value)}."
            )
        return list(value)

    def payload(self) -> dict[str, Any]:
        """The JSON body Stintmint expects, without the fields left unset."""
        return self.model_dump(mode="json", exclude_none=True)


class PostAnswer(BaseModel):
    """Stintmint's answer to ``/post``. It is undocumented, so every field is kept as sent."""

    model_config = ConfigDict(extra="allow", frozen=True)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class FlowResponse(BaseModel):
    """A request's state and responses, from ``/fetch``, a module fetch or a callback.

    Every field may be missing or null: a request still being worked on has no
    ``completed`` time and no responses. Fields Stintmint adds later are kept as extras.
    """

    model_config = ConfigDict(
        validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, extra="allow"
    )

    identifier: str | None = None
    status: str | None = None
    created: int | None = None  # epoch milliseconds
    completed: int | None = None  # epoch milliseconds
    sf_id: str | None = Field(None, alias="sfId")
    batch_id: str | None = Field(None, alias="batchId")
    state_id: str | None = Field(None, alias="stateId")
    cost: int | float | str | None = None
    responses: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("identifier", "status", "sf_id", "batch_id", "state_id", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str):
            return value.strip() or None
        return value

    @field_validator("created", "completed", mode="before")
    @classmethod
    def _epoch_ms(cls, value: Any) -> Any:
        return _epoch_ms(value)

    @field_validator("cost", mode="before")
    @classmethod
    def _cost(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return None
        if isinstance(value, float) and not math.isfinite(value):
            return None  # JSON's 1e999, read as infinity: no cost anyone can use
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return None
            try:
                number = float(text)
            except ValueError:
                return text
            if not math.isfinite(number):
                return text  # "NaN", "Infinity", "1e999": text, like any other that is no number
            return int(number) if number.is_integer() and "." not in text else number
        return value

    @field_validator("responses", mode="before")
    @classmethod
    def _responses(cls, value: Any) -> Any:
        if value is None or value == "":
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            return [{"value": value}]
        return [item if isinstance(item, dict) else {"value": item} for item in value]

    @property
    def is_complete(self) -> bool:
        return (self.status or "").upper() == COMPLETED

    @property
    def created_at(self) -> datetime | None:
        return _datetime(self.created)

    @property
    def completed_at(self) -> datetime | None:
        return _datetime(self.completed)

    @property
    def duration(self) -> timedelta | None:
        """How long the humans took (``completed - created``), when both times are known."""
        if self.created is None or self.completed is None or self.completed < self.created:
            return None
        return timedelta(milliseconds=self.completed - self.created)

    def as_dict(self) -> dict[str, Any]:
        """The answer in Stintmint's spelling, JSON-serialisable, unset fields left out."""
        return self.model_dump(mode="json", exclude_none=True)


# -- helpers ---------------------------------------------------------------------------


def parse_descriptor_type(text: str) -> DescriptorType:
    """``"image"`` → DescriptorType.IMAGE; ValueError naming the six types otherwise."""
    if isinstance(text, str):
        key = text.strip().upper()
        if key in DescriptorType.__members__:
            return DescriptorType(key)
    names = ", ".join(DescriptorType.__members__)
    raise ValueError(f"`{shorten(text)}` is not a descriptor type: use one of {names}.")


def is_http_url(text: str) -> bool:
    """True for an absolute http(s) URL with a host and no whitespace."""
    if not isinstance(text, str):
        return False
    text = text.strip()
    if not text or any(ch.isspace() or not ch.isprintable() for ch in text):
        return False
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def infer_descriptor(name: str, value: str, explicit_type: str | None = None) -> Descriptor:
    """A descriptor from ``name=value``: an http(s) URL is HREF, anything else TEXT.

    ``explicit_type`` (any case) overrides the guess and must be one of the six types.
    """
    if explicit_type is not None and str(explicit_type).strip():
        kind = parse_descriptor_type(explicit_type)
    else:
        kind = DescriptorType.HREF if is_http_url(value) else DescriptorType.TEXT
    info = value.strip() if isinstance(value, str) and kind is not DescriptorType.TEXT else value
    return Descriptor(name=name, type=kind, info=info)


def validate_identifier(text: str) -> str:
    return _check_id("identifier", text)


def validate_sf_id(text: str) -> str:
    return _check_id("StintFlow id", text)


def validate_state_id(text: str) -> str:
    return _check_id("state id", text)


def validation_message(exc: ValidationError | ValueError) -> str:
    """The first problem of a failed validation, as one sentence to show a user."""
    if isinstance(exc, ValidationError):
        errors = exc.errors()
        if errors:
            first = errors[0]
            message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
            where = ".".join(str(part) for part in first.get("loc", ()))
            if first.get("type") == "value_error" or not where:
                return message
            return f"{where}: {message}"
    return str(exc)


def flow_response(document: Any, **defaults: str) -> FlowResponse:
    """A FlowResponse from a decoded JSON document; ValueError when it is not one.

    ``defaults`` (``identifier=``, ``sfId=``, ``stateId=``) fill fields the answer left
    out, e.g. the ``sfId`` a module answer does not repeat.
    """
    if not isinstance(document, dict):
        raise ValueError("the answer is not a JSON object")
    data = dict(document)
    for key, value in defaults.items():
        if data.get(key) in (None, ""):
            data[key] = value
    try:
        return FlowResponse.model_validate(data)
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]) for err in exc.errors()[:3] if err["loc"])
        raise ValueError(f"unexpected values in {fields or 'the answer'}") from None


def _optional_caption(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > MAX_CAPTION_CHARS:
        raise ValueError(f"A caption must be text of at most {MAX_CAPTION_CHARS} characters.")
    return value


def _check_id(what: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        text = value.strip()
        if _ID.fullmatch(text):
            return text
    raise ValueError(
        f"`{shorten(value)}` is not a valid {what}: use up to 100 letters, digits, `_`, `.` "
        "or `-`, starting with a letter or digit."
    )


def _epoch_ms(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            return int(float(text))
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None  # a time we cannot read is not worth losing the responses over
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return int(when.timestamp() * 1000)
    return None


def _datetime(ms: int | None) -> datetime | None:
    if ms is None:
        return None
    try:
        return datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
