"""The app's own log goes to a file while the console runs, never to the terminal."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path


class FirstError(logging.Handler):
    """Keeps the first error logged, to say why the app did not start."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.record: logging.LogRecord | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.record is None:
            self.record = record

    def reason(self) -> str | None:
        if self.record is None:
            return None
        exc = self.record.exc_info[1] if self.record.exc_info else None
        if exc is None:
            return _exception_line(self.record.getMessage())
        root = _root_cause(exc)
        return f"{type(root).__name__}: {root}"


def _root_cause(exc: BaseException) -> BaseException:
    """The last exception of the chain a traceback of ``exc`` would show."""
    while True:
        earlier = exc.__cause__
        if earlier is None and not exc.__suppress_context__:
            earlier = exc.__context__
        if earlier is None:
            return exc
        exc = earlier


def _exception_line(message: str) -> str:
    """A formatted traceback (as uvicorn logs a failed lifespan) → its exception line."""
    lines = message.strip().splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith("Traceback (")]
    if not headers:
        return message.strip()
    for line in lines[headers[-1] + 1 :]:
        if line and not line[0].isspace():
            return line
    return lines[-1]


@contextlib.contextmanager
def app_logs(path: Path) -> Iterator[FirstError]:
    """Every log line of the app (and of uvicorn) goes to ``path``, none to the terminal."""
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    first_error = FirstError()
    for old in saved_handlers:
        root.removeHandler(old)
    root.addHandler(handler)
    root.addHandler(first_error)
    root.setLevel(logging.INFO)
    noisy = ("apscheduler", "alembic", "httpx", "httpcore", "slack_bolt", "slack_sdk")
    saved_noisy = {name: logging.getLogger(name).level for name in noisy}
    for name in noisy:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    try:
        yield first_error
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        root.removeHandler(first_error)
        handler.close()
        for old in saved_handlers:
            root.addHandler(old)
        root.setLevel(saved_level)
        for name, level in saved_noisy.items():
            logging.getLogger(name).setLevel(level)
