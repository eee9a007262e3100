"""Flint's answers as typed values, and the names a user may type for flintbits and jobs."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from adapters.base import shorten

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class FlintStatus(StrEnum):
    SUBMITTED = "submitted"
    RUNNING = "running"
    COMPLETE = "complete"
    ABORTED = "aborted"
    ERROR = "error"


FINAL_STATUSES = frozenset({FlintStatus.COMPLETE, FlintStatus.ABORTED, FlintStatus.ERROR})


class FlintMeta(BaseModel):
    """The ``meta`` object Flint returns with every answer.

    ``status`` is the known status or ``None``; ``status_text`` always keeps what Flint
    said, so a status this code does not know yet is shown rather than crashing.
    """

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    job_id: str | None = Field(None, alias="job-id")
    exit_code: int | None = Field(None, alias="exit-code")
    context: str | None = None
    message: str | None = None
    timeout: int | None = None
    timestamp: int | None = None
    status: FlintStatus | None = None
    status_text: str | None = None
    content_type: str | None = Field(None, alias="content-type")

    @model_validator(mode="before")
    @classmethod
    def _keep_raw_status(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("status") is None:
            return data
        raw = data["status"]
        text = raw.value if isinstance(raw, FlintStatus) else str(raw)
        known = text.strip().lower()
        return {
            **data,
            "status_text": data.get("status_text") or text,
            "status": known if known in FlintStatus._value2member_map_ else None,
        }

    @field_validator("exit_code", "timeout", "timestamp", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # XML leaves arrive as text; an empty one means "not given".
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("job_id", "context", "message", "content_type", mode="before")
    @classmethod
    def _scalar_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        return value


class FlintResult(BaseModel):
    """One Flint answer: ``meta`` always, ``output`` once a job has finished (or never)."""

    meta: FlintMeta
    output: Any | None = None

    @property
    def job_id(self) -> str | None:
        return self.meta.job_id

    @property
    def status(self) -> FlintStatus | None:
        return self.meta.status

    @property
    def is_final(self) -> bool:
        return self.meta.status in FINAL_STATUSES

    @property
    def succeeded(self) -> bool:
        return self.meta.status is FlintStatus.COMPLETE and self.meta.exit_code in (0, None)

    @property
    def failed(self) -> bool:
        return self.is_final and not self.succeeded

    def as_dict(self) -> dict[str, Any]:
        """The answer as Flint spelled it (``job-id``, raw ``status``), JSON-serialisable."""
        meta = self.meta.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"status", "status_text"}
        )
        if self.meta.status_text is not None:
            meta["status"] = self.meta.status_text
        return {"meta": meta, "output": self.output}


@dataclass(frozen=True)
class FlintbitRef:
    """A flintbit as ``box:bit``; only ever built through ``parse_flintbit``'s rules."""

    box: str
    bit: str

    def __post_init__(self) -> None:
        for part, value in (("box", self.box), ("flintbit", self.bit)):
            _check_name(part, value)

    def __str__(self) -> str:
        return f"{self.box}:{self.bit}"


def _check_name(part: str, value: object) -> None:
    if not isinstance(value, str) or not _NAME.fullmatch(value) or value in (".", ".."):
        raise ValueError(
            f"The {part} name `{shorten(value)}` is not valid: use up to 100 letters, "
            "digits, `_`, `.` or `-` (e.g. `demo:hello.rb`)."
        )


def parse_flintbit(text: str) -> FlintbitRef:
    """``"box:bit"`` → FlintbitRef; raises ValueError saying what is wrong."""
    if not isinstance(text, str):
        raise ValueError("A flintbit is written BOX:BIT, e.g. `demo:hello.rb`.")
    text = text.strip()
    if text.count(":") != 1:
        raise ValueError(
            f"`{shorten(text)}` is not a flintbit: write BOX:BIT with exactly one colon, "
            "e.g. `demo:hello.rb`."
        )
    box, _, bit = text.partition(":")
    if not box or not bit:
        raise ValueError(
            f"`{shorten(text)}` is not a flintbit: both the box and the flintbit name are "
            "needed, e.g. `demo:hello.rb`."
        )
    return FlintbitRef(box, bit)


def validate_job_id(text: str) -> str:
    """The job id when it is one (letters, digits, `_`, `-`, at most 128); else ValueError."""
    if isinstance(text, str):
        text = text.strip()
        if _JOB_ID.fullmatch(text):
            return text
    raise ValueError(
        f"`{shorten(text)}` is not a Flint job id: job ids are letters, digits, `_` and `-` "
        "(e.g. `job-209bc504-887a-4614-b16d-480284364caa`)."
    )
