"""Signicat Mint's answers as typed values, and the ids and options a user may give for them.

Every model allows extra fields and tolerates missing or ``null`` ones: the document shows
no response samples at all, so a field this code does not know must never make a flow or an
instance unreadable, and whatever else Mint sends (a link, a count …) stays on the model
(``model_extra``). Python names are snake_case; Mint's camelCase spelling
(``definitionId``, ``isPublished`` …) is the alias, and both are accepted on input. Where
Mint may plausibly spell a field in more than one way (``createdAt``/``created``), every
spelling listed on the field is read.

Lists may come as a JSON array or as an object holding the array (``data``, ``items`` or
the resource's name): ``list_items`` takes both.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from adapters.base import shorten
from adapters.timestamps import parse_time

MAX_ID = 128
MAX_NOTE = 4000
MAX_SEARCH = 200
INT32_MAX = 2**31 - 1

# Mint's ids are GUIDs; names, numbers and ``:`` ``.`` ``_`` ``-`` are let through too, but
# never ``/``, ``?``, ``#``, ``%`` or spaces, so an id cannot change the path it goes into.
_ID = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.:-]{{0,{MAX_ID - 1}}}")


class FlowStatus(StrEnum):
    """An instance's status: the document's FlowStatus enum."""

    IDLE = "Idle"
    RUNNING = "Running"
    FINISHED = "Finished"
    SUSPENDED = "Suspended"
    FAULTED = "Faulted"
    CANCELLED = "Cancelled"


FLOW_STATUSES: tuple[str, ...] = tuple(status.value for status in FlowStatus)
# Statuses an instance never leaves.
FINAL_STATUSES = frozenset({FlowStatus.FINISHED, FlowStatus.FAULTED, FlowStatus.CANCELLED})
# Some .NET APIs send enums as their numbers; this is the enum's order in the document.
_STATUS_BY_NUMBER = dict(enumerate(FlowStatus))

FlowOrderBy = Literal["Name", "Description", "CreatedAt"]  # FlowDefinitionOrderByDto
SortBy = Literal["Ascending", "Descending"]  # SortByDto
InstanceOrderBy = Literal["Started", "LastExecuted", "Finished"]  # InstanceOrderByDto
ReportFormat = Literal["csv", "pdf"]
FLOW_ORDER_BY: tuple[FlowOrderBy, ...] = ("Name", "Description", "CreatedAt")
SORT_BY: tuple[SortBy, ...] = ("Ascending", "Descending")
INSTANCE_ORDER_BY: tuple[InstanceOrderBy, ...] = ("Started", "LastExecuted", "Finished")
REPORT_FORMATS: tuple[ReportFormat, ...] = ("csv", "pdf")

# Execution log events and step statuses that mean "this step failed".
_FAULT_WORDS = frozenset({"faulted", "fault", "failed", "failure", "error", "errored"})


def parse_status(value: Any) -> FlowStatus:
    """A FlowStatus from its name in any case (or its number); else ValueError listing them."""
    status = _status(value)
    if isinstance(status, FlowStatus):
        return status
    shown = value if isinstance(value, str) else repr(value)
    raise ValueError(
        f"`{shorten(shown)}` is not a flow status: use one of {', '.join(FLOW_STATUSES)}."
    )


def _status(value: Any) -> FlowStatus | str | None:
    """A known status as FlowStatus, an unknown text as it is, nothing as None."""
    if value is None or isinstance(value, FlowStatus):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return _STATUS_BY_NUMBER.get(value, str(value))
    if isinstance(value, str):
        text = value.strip()
        for status in FlowStatus:
            if status.value.lower() == text.lower():
                return status
        if text.isdigit():
            return _STATUS_BY_NUMBER.get(int(text), text)
        return text or None
    return str(value)


S = TypeVar("S", bound=str)


def _choice(value: Any, allowed: tuple[S, ...], what: str) -> S:
    """``value`` spelled as the document spells it, matched without regard to case."""
    if isinstance(value, str):
        for option in allowed:
            if option.lower() == value.strip().lower():
                return option
    raise ValueError(f"`{shorten(value)}` is not a {what}: use one of {', '.join(allowed)}.")


def flow_order_by(value: Any) -> FlowOrderBy:
    return _choice(value, FLOW_ORDER_BY, "flow order")


def sort_direction(value: Any) -> SortBy:
    return _choice(value, SORT_BY, "sort direction")


def instance_order_by(value: Any) -> InstanceOrderBy:
    return _choice(value, INSTANCE_ORDER_BY, "instance order")


def report_format(value: Any) -> ReportFormat:
    return _choice(value, REPORT_FORMATS, "report format")


# -- ids and texts going to Mint ---------------------------------------------------------


def validate_id(value: Any, what: str = "id") -> str:
    """The id, stripped, when it is safe in a URL path (a GUID or a simple name); else ValueError.

    Letters, digits and ``_ . : -``, starting with a letter or digit, at most 128 long.
    """
    if isinstance(value, str):
        text = value.strip()
        if _ID.fullmatch(text):
            return text
    raise ValueError(
        f"`{shorten(value)}` is not a Mint {what}: use the id Mint shows, letters, digits "
        f"and `-` (e.g. `0b1e1a5e-0000-4000-8000-000000000001`)."
    )


def validate_definition_id(value: Any) -> str:
    """A flow's id (``definitionId``) when it is one; else ValueError."""
    return validate_id(value, "flow id")


def validate_instance_id(value: Any) -> str:
    """An instance's id when it is one; else ValueError."""
    return validate_id(value, "instance id")


def check_note(text: Any) -> str:
    """A note's text, stripped, when Mint will take it; else ValueError saying why."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("A note needs some text, e.g. `Called the customer, retrying tomorrow`.")
    text = text.strip()
    if len(text) > MAX_NOTE:
        raise ValueError(
            f"The note is {len(text)} characters long; at most {MAX_NOTE} are kept. "
            f"Shorten it by {len(text) - MAX_NOTE}."
        )
    return text


def check_search(text: Any) -> str | None:
    """A search term, stripped (``None`` for nothing to search); ValueError when unusable."""
    if text is None:
        return None
    if not isinstance(text, str):
        raise ValueError("A search term is text")
    text = text.strip()
    if not text:
        return None
    if len(text) > MAX_SEARCH or any(not ch.isprintable() for ch in text):
        raise ValueError(f"A search term is at most {MAX_SEARCH} printable characters")
    return text


# -- models ------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def as_dict(self) -> dict[str, Any]:
        """The value as Mint spells it, JSON-serialisable, with whatever extra Mint sent."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _dicts(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [item for item in value if isinstance(item, dict)]
    return [value] if isinstance(value, dict) else []


def _text(value: Any) -> str | None:
    """A text field that Mint may send as a number, an object or null."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("message", "Message", "text", "name", "title", "value"):
            if isinstance(value.get(key), str):
                return value[key]
        return None
    if isinstance(value, bool | int | float):
        return str(value)
    return None


_LINK_KEYS = ("workflowUrl", "url", "link", "publishedUrl", "invitationUrl", "flowUrl", "href")


def _find_link(model: BaseModel, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    extra = model.model_extra or {}
    for key in _LINK_KEYS:
        value = extra.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return None


class Flow(_Model):
    """A flow (one version of a flow definition): what is listed, executed and published.

    ``definition_id`` is the flow's id in every later call; when Mint sends only ``id``,
    that is taken for it.
    """

    definition_id: str | None = Field(
        None, validation_alias=AliasChoices("definitionId", "definition_id", "flowId")
    )
    id: str | None = None
    version: int | None = None
    title: str | None = Field(
        None, validation_alias=AliasChoices("title", "name", "displayName", "display_name")
    )
    description: str | None = None
    is_published: bool | None = None
    is_latest: bool | None = None
    is_draft: bool | None = None
    created_at: datetime | None = Field(
        None, validation_alias=AliasChoices("createdAt", "created", "created_at", "createdOn")
    )
    updated_at: datetime | None = Field(
        None,
        validation_alias=AliasChoices(
            "updatedAt", "updated", "updated_at", "lastModified", "modifiedAt", "publishedAt"
        ),
    )
    tags: list[str] = Field(default_factory=list)
    steps: list[dict[str, Any]] = Field(default_factory=list)
    connections: list[dict[str, Any]] = Field(default_factory=list)
    workflow_url: str | None = Field(
        None, validation_alias=AliasChoices("workflowUrl", "workflow_url")
    )

    @field_validator("created_at", "updated_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        if not isinstance(value, list):
            return []
        return [str(tag) for tag in value if isinstance(tag, str | int) and str(tag).strip()]

    @field_validator("steps", "connections", mode="before")
    @classmethod
    def _objects(cls, value: Any) -> list[Any]:
        return _dicts(value)

    @field_validator("title", "description", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> str | None:
        return _text(value)

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @model_validator(mode="after")
    def _ids(self) -> Flow:
        if not self.definition_id and self.id:
            self.definition_id = self.id
        return self

    @property
    def name(self) -> str:
        """The name to show: the title, else the id."""
        return (self.title or "").strip() or self.definition_id or "untitled flow"

    @property
    def published(self) -> bool:
        """Whether this version is published (a version that is not a draft is)."""
        if self.is_published is not None:
            return self.is_published
        return self.is_draft is False

    @property
    def state(self) -> Literal["published", "draft"]:
        return "published" if self.published else "draft"

    @property
    def link(self) -> str | None:
        """The end-user link Mint made when the flow was published, when it sent one."""
        return _find_link(self, self.workflow_url)


class Note(_Model):
    """A note on an instance, or on one activity (step) of it."""

    id: str | None = Field(None, validation_alias=AliasChoices("id", "noteId"))
    note: str | None = Field(None, validation_alias=AliasChoices("note", "text", "content"))
    instance_id: str | None = Field(
        None, validation_alias=AliasChoices("instanceId", "instance_id", "workflowInstanceId")
    )
    activity_id: str | None = Field(
        None, validation_alias=AliasChoices("activityId", "activity_id")
    )
    created_at: datetime | None = Field(
        None, validation_alias=AliasChoices("createdAt", "created", "created_at", "timestamp")
    )
    updated_at: datetime | None = Field(
        None, validation_alias=AliasChoices("updatedAt", "updated", "updated_at")
    )
    created_by: str | None = Field(
        None, validation_alias=AliasChoices("createdBy", "created_by", "author", "user", "userId")
    )

    @field_validator("created_at", "updated_at", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator("created_by", "note", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> str | None:
        return _text(value)

    @field_validator("id", "instance_id", "activity_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Fault(_Model):
    """Why an instance faulted, as far as Mint says: the step and the message."""

    faulted_activity_id: str | None = Field(
        None, validation_alias=AliasChoices("faultedActivityId", "activityId", "stepId")
    )
    faulted_activity_name: str | None = Field(
        None, validation_alias=AliasChoices("faultedActivityName", "activityName", "stepName")
    )
    message: str | None = None
    exception: Any = None

    @field_validator("message", mode="before")
    @classmethod
    def _message(cls, value: Any) -> str | None:
        return _text(value)

    @property
    def text(self) -> str | None:
        """The message, else the exception's message."""
        return (self.message or "").strip() or _text(self.exception)


class Instance(_Model):
    """One execution of a flow, as Mint's Instance endpoints answer it."""

    id: str | None = Field(
        None, validation_alias=AliasChoices("id", "instanceId", "workflowInstanceId")
    )
    definition_id: str | None = Field(
        None, validation_alias=AliasChoices("definitionId", "definition_id", "flowId")
    )
    version: int | None = None
    title: str | None = Field(
        None,
        validation_alias=AliasChoices("title", "flowTitle", "definitionTitle", "name"),
    )
    status: FlowStatus | str | None = Field(
        None, validation_alias=AliasChoices("status", "workflowStatus", "flowStatus")
    )
    correlation_id: str | None = None
    started: datetime | None = Field(
        None, validation_alias=AliasChoices("started", "startedAt", "createdAt", "created")
    )
    last_executed: datetime | None = Field(
        None, validation_alias=AliasChoices("lastExecuted", "lastExecutedAt", "last_executed")
    )
    finished: datetime | None = Field(None, validation_alias=AliasChoices("finished", "finishedAt"))
    faulted_at: datetime | None = None
    cancelled_at: datetime | None = None
    input: Any = None
    output: Any = None
    workflow_url: str | None = Field(
        None, validation_alias=AliasChoices("workflowUrl", "workflow_url")
    )
    faults: list[Fault] = Field(
        default_factory=list, validation_alias=AliasChoices("faults", "fault")
    )
    notes: list[Note] = Field(default_factory=list)

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> FlowStatus | str | None:
        return _status(value)

    @field_validator(
        "started", "last_executed", "finished", "faulted_at", "cancelled_at", mode="before"
    )
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator("faults", "notes", mode="before")
    @classmethod
    def _objects(cls, value: Any) -> list[Any]:
        return _dicts(value)

    @field_validator("id", "definition_id", "correlation_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    @property
    def is_final(self) -> bool:
        """Finished, Faulted or Cancelled: the instance will not change any more."""
        return self.status in FINAL_STATUSES

    @property
    def is_faulted(self) -> bool:
        return self.status == FlowStatus.FAULTED

    @property
    def status_text(self) -> str:
        if isinstance(self.status, FlowStatus):
            return self.status.value
        return self.status or "unknown"

    @property
    def ended(self) -> datetime | None:
        """When it finished, faulted or was cancelled, whichever Mint says."""
        return self.finished or self.faulted_at or self.cancelled_at

    @property
    def fault(self) -> Fault | None:
        """The (last) fault Mint reports on the instance itself, if any."""
        return self.faults[-1] if self.faults else None

    @property
    def link(self) -> str | None:
        """The end-user link of this instance (``workflowUrlTtl``), when Mint sent one."""
        return _find_link(self, self.workflow_url)


class ExecutionLogEntry(_Model):
    """One record of an instance's execution log: a step (activity) and what happened to it.

    Mint's log is undocumented. This reads both per-step records (``status``, ``started``,
    ``finished``) and per-event records (``eventName`` Executing/Executed/Faulted with a
    ``timestamp``), with the error as ``message``, ``exception`` or ``error``.
    """

    id: str | None = None
    activity_id: str | None = Field(
        None, validation_alias=AliasChoices("activityId", "activity_id", "stepId")
    )
    activity_type: str | None = Field(
        None, validation_alias=AliasChoices("activityType", "activity_type", "stepType", "type")
    )
    activity_name: str | None = Field(
        None,
        validation_alias=AliasChoices(
            "activityName", "activity_name", "stepName", "displayName", "name", "title"
        ),
    )
    event_name: str | None = Field(
        None, validation_alias=AliasChoices("eventName", "event_name", "event")
    )
    status: str | None = None
    message: str | None = None
    timestamp: datetime | None = Field(
        None, validation_alias=AliasChoices("timestamp", "time", "createdAt", "created")
    )
    started: datetime | None = Field(None, validation_alias=AliasChoices("started", "startedAt"))
    finished: datetime | None = Field(
        None, validation_alias=AliasChoices("finished", "finishedAt", "completedAt")
    )
    exception: Any = Field(None, validation_alias=AliasChoices("exception", "error", "fault"))
    data: Any = None

    @field_validator("timestamp", "started", "finished", mode="before")
    @classmethod
    def _time(cls, value: Any) -> datetime | None:
        return parse_time(value)

    @field_validator(
        "activity_name", "activity_type", "event_name", "status", "message", mode="before"
    )
    @classmethod
    def _texts(cls, value: Any) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            status = _status(value)
            return status.value if isinstance(status, FlowStatus) else str(value)
        return _text(value)

    @field_validator("id", "activity_id", mode="before")
    @classmethod
    def _ids(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def step_name(self) -> str:
        """The step's name to show: its name, else its id, else its type."""
        for value in (self.activity_name, self.activity_id, self.activity_type):
            if value and value.strip():
                return value.strip()
        return "unnamed step"

    @property
    def when(self) -> datetime | None:
        return self.timestamp or self.finished or self.started

    @property
    def is_fault(self) -> bool:
        """Whether this record says the step failed."""
        for word in (self.event_name, self.status):
            if word and word.strip().lower() in _FAULT_WORDS:
                return True
        return bool(self.exception)

    @property
    def error_message(self) -> str | None:
        """What went wrong at this step: the exception's message, else the record's message."""
        from_exception = _text(self.exception)
        if from_exception and from_exception.strip():
            return from_exception.strip()
        if self.is_fault and self.message and self.message.strip():
            return self.message.strip()
        return None


def failing_step(log: list[ExecutionLogEntry]) -> ExecutionLogEntry | None:
    """The step at which an instance faulted: the last fault record in its log, or None.

    When that record names no step but an earlier record of the same activity does, the
    name and type are filled in from it.
    """
    for index in range(len(log) - 1, -1, -1):
        entry = log[index]
        if not entry.is_fault:
            continue
        if entry.activity_name and entry.activity_type:
            return entry
        update: dict[str, Any] = {}
        for other in log:
            if other is entry or not entry.activity_id or other.activity_id != entry.activity_id:
                continue
            if not entry.activity_name and other.activity_name:
                update.setdefault("activity_name", other.activity_name)
            if not entry.activity_type and other.activity_type:
                update.setdefault("activity_type", other.activity_type)
        return entry.model_copy(update=update) if update else entry
    return None


# The keys an object answer may hold its array under, besides the resource's own name.
LIST_KEYS = ("data", "items", "results", "value", "content")
_TOTAL_KEYS = ("total", "totalCount", "count", "totalItems", "totalResults")


def list_items(document: Any, *names: str) -> tuple[list[Any], int | None]:
    """The array of a list answer and the total it states (or None).

    The answer is the array itself, or an object holding it under ``data``, ``items`` (and
    a few common synonyms) or one of ``names`` (the resource's name, e.g. ``flows``).
    ValueError when there is no array.
    """
    if isinstance(document, list):
        return document, None
    if isinstance(document, dict):
        for key in (*LIST_KEYS, *names):
            value = document.get(key)
            if isinstance(value, list):
                return value, _total(document)
            if isinstance(value, dict):  # e.g. {"data": {"items": [...], "total": 3}}
                for inner in (*LIST_KEYS, *names):
                    if isinstance(value.get(inner), list):
                        return value[inner], _total(value) or _total(document)
    raise ValueError(f"no list of {names[0] if names else 'items'}")


def _total(document: dict[str, Any]) -> int | None:
    for key in _TOTAL_KEYS:
        value = document.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None
