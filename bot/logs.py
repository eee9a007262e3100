"""Logging set-up: one line per event, as text or JSON, with secrets redacted.

``configure(level, fmt, secrets)`` puts one handler on the root logger that writes each
event as exactly one line to stderr:

* ``text``: ``2026-11-22T10:00:00.123Z INFO bot.tracking: job done job_id=42 vendor=flint``
* ``json``: ``{"ts": "2026-11-22T10:00:00.123Z", "level": "INFO", "logger": "bot.tracking",
  "msg": "job done", "job_id": 42, "vendor": "flint"}``

Structured fields are whatever the caller passes as ``extra={...}``. Newlines and other
line-breaking characters in a message (vendor text included) are escaped, so one event can
never span, or forge, several lines; a traceback goes on the same line (text) or in an
``"exc"`` field (JSON). Every secret value given to ``configure`` is replaced by
``[redacted]`` in the finished line, as a last line of defence, by the product's one
redactor (adapters/redact.py, which the vendor clients use too).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from pydantic import SecretStr

# Read from here by bot/audit.py and the tests: the logs' placeholder is the product's one.
from adapters.redact import REDACTED as REDACTED
from adapters.redact import SecretRedactor, one_line

# The longest a message, a field value or a traceback may be in one line: a vendor's 40 MiB
# answer or an attacker's body must neither fill the disk nor block the event loop while
# it is escaped and redacted. Cut a little further out first, so a secret across the cut
# is still redacted whole before the final cut.
MAX_PART = 8_000
_CUT_MARGIN = 1_024
# Third-party chatter that would drown our own lines at INFO.
NOISY_LOGGERS = ("apscheduler", "alembic", "httpx", "slack_bolt", "slack_sdk")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",  # Python 3.12+
    "color_message",  # uvicorn's ANSI-coloured copy of the message
}
# The JSON format's own fields; an extra of the same name is renamed extra_<name>.
_JSON_FIELDS = frozenset({"ts", "level", "logger", "msg", "exc", "stack"})
# json.dumps(ensure_ascii=False) escapes C0 controls but leaves these raw.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029]")


def _safe_str(value: object) -> str:
    try:
        return value if isinstance(value, str) else str(value)
    except Exception:
        try:
            return repr(value)
        except Exception:
            return f"<unprintable {type(value).__name__}>"


def cut(text: str, limit: int = MAX_PART) -> str:
    """``text`` of at most about ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit:,} more characters]"


class _Formatter(logging.Formatter):
    """Shared parts of the text and JSON formats: message, extras, exception, redaction."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.redact = SecretRedactor(secrets)

    def bounded(self, text: str) -> str:
        """``text`` redacted and cut to ``MAX_PART`` (it was cut wider before redacting)."""
        return cut(self.redact(cut(text, MAX_PART + _CUT_MARGIN)))

    @staticmethod
    def timestamp(record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    @staticmethod
    def message(record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except Exception:  # bad %-arguments: still one line, never a "--- Logging error ---"
            return f"{_safe_str(record.msg)} (unformattable arguments: {_safe_str(record.args)})"

    @staticmethod
    def extras(record: logging.LogRecord) -> dict[str, Any]:
        return {
            key: value
            for key, value in record.__dict__.items()
            if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
        }

    def exception(self, record: logging.LogRecord) -> str | None:
        """The traceback of the record's exception, if it has one."""
        try:
            if record.exc_info and record.exc_info[0] is not None:
                text = self.formatException(record.exc_info)
            else:
                text = record.exc_text or ""
        except Exception:
            text = f"<unformattable exception {_safe_str(record.exc_info)}>"
        return text.rstrip("\n") or None

    def stack(self, record: logging.LogRecord) -> str | None:
        """The call stack logged with ``stack_info=True``, if any."""
        return self.formatStack(record.stack_info).rstrip("\n") if record.stack_info else None

    def format(self, record: logging.LogRecord) -> str:
        try:
            return self.render(record)
        except Exception as exc:  # the formatter must never raise, nor break a line
            line = f"{self.timestamp(record)} {record.levelname} {record.name}: "
            line += f"{_safe_str(record.msg)} (log formatting failed: {type(exc).__name__})"
            return one_line(self.bounded(line))

    def render(self, record: logging.LogRecord) -> str:
        raise NotImplementedError


class TextFormatter(_Formatter):
    """``TS LEVEL logger: message key=value … | Traceback … (newlines escaped)``."""

    def render(self, record: logging.LogRecord) -> str:
        bounded = self.bounded
        line = f"{self.timestamp(record)} {record.levelname} {record.name}: "
        line += one_line(bounded(self.message(record)))
        for key, value in self.extras(record).items():
            line += f" {one_line(bounded(_safe_str(key)))}={_text_value(bounded(_safe_str(value)))}"
        for trace in (self.exception(record), self.stack(record)):
            if trace:
                line += " | " + one_line(bounded(trace))
        return self.redact(line)


def _text_value(value: str) -> str:
    if value and not re.search(r'[\s="\\]', value):
        return one_line(value)
    return one_line(json.dumps(value, ensure_ascii=False))


class JsonFormatter(_Formatter):
    """One JSON object per line: ts, level, logger, msg, the extras, "exc" and "stack" if any."""

    def render(self, record: logging.LogRecord) -> str:
        bounded = self.bounded
        event: dict[str, Any] = {
            "ts": self.timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": bounded(self.message(record)),
        }
        for key, value in self.extras(record).items():
            name = f"extra_{key}" if key in _JSON_FIELDS else key
            event[name] = _jsonable(bounded(value) if isinstance(value, str) else value)
        for field, trace in (("exc", self.exception(record)), ("stack", self.stack(record))):
            if trace:
                event[field] = bounded(trace)
        line = json.dumps(event, ensure_ascii=False, allow_nan=False, default=_safe_str)
        return self.redact(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line))


def _jsonable(value: object) -> object:
    """``value`` if json.dumps takes it (objects it does not know become str), else its str."""
    try:
        json.dumps(value, allow_nan=False, default=_safe_str)
    except Exception:  # non-str keys, circular references, NaN…
        return _safe_str(value)
    return value


class _Handler(logging.StreamHandler):
    """Our root handler; ``configure`` replaces it rather than adding another."""


def configure(
    level: str = "INFO",
    fmt: str = "text",
    secrets: Iterable[str] = (),
    *,
    stream: TextIO | None = None,
) -> None:
    """Log one line per event to stderr (``stream`` in tests), as ``fmt`` "text" or "json".

    ``level`` is a level name (CHATOPS_LOG_LEVEL; unknown names mean INFO), ``fmt`` is
    CHATOPS_LOG_FORMAT, and every value in ``secrets`` (see ``secret_values``) is replaced by
    ``[redacted]`` wherever it would appear in a line. Calling it again replaces the handler
    it put on the root logger, so there are never two; other root handlers (pytest's
    caplog, the console's) are left alone.

    uvicorn's loggers lose their own handlers and propagate to this one. For that to last,
    run uvicorn with ``log_config=None`` (``uvicorn.run(app, log_config=None, ...)``):
    otherwise uvicorn installs its own multi-line, unredacted handlers when it starts.
    """
    if fmt not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', not {fmt!r}")
    secrets = list(secrets)
    formatter = JsonFormatter(secrets) if fmt == "json" else TextFormatter(secrets)
    handler = _Handler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    level_number = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    root.setLevel(level_number if isinstance(level_number, int) else logging.INFO)

    for noisy in NOISY_LOGGERS:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        for theirs in list(logger.handlers):
            logger.removeHandler(theirs)
        logger.propagate = True
        # A dictConfig/fileConfig run earlier (uvicorn's, Alembic's) may have disabled it.
        logger.disabled = False
        logger.setLevel(logging.NOTSET)  # and given it a level of its own: ours decides


def secret_values(settings: object) -> list[str]:
    """Every secret set in ``settings``: the value of each of its SecretStr fields.

    Goes through the model's fields, so a SecretStr field added later is covered too.
    """
    fields: Mapping[str, Any] = getattr(type(settings), "model_fields", {})
    values = []
    for name in fields:
        value = getattr(settings, name, None)
        if isinstance(value, SecretStr):
            secret = value.get_secret_value()
            if secret and secret not in values:
                values.append(secret)
    return values
