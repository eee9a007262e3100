"""bot.logs: one line per event (text or JSON), extras as fields, secrets redacted."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest

from bot import logs
from bot.config import Settings
from bot.logs import configure, secret_values

SECRET = "xoxb-1111-2222-very-secret"
OTHER_SECRET = "flint-key-0123456789abcdef"
LINE = re.compile(
    r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: "
)

LOGGERS = ("", *logs.NOISY_LOGGERS, *logs.UVICORN_LOGGERS)


@pytest.fixture(autouse=True)
def restore_logging():
    """Put back the handlers, levels and propagation configure() changed."""
    saved = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), logger.level, logger.propagate)
    yield
    for name, (handlers, level, propagate) in saved.items():
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if handler not in handlers:
                logger.removeHandler(handler)
                handler.close()
        for handler in handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def capture(fmt: str = "text", level: str = "INFO", secrets=()) -> io.StringIO:
    stream = io.StringIO()
    configure(level, fmt, secrets, stream=stream)
    return stream


def lines(stream: io.StringIO) -> list[str]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return text.splitlines()


def boom(message: str) -> None:
    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        raise ValueError("wrapped\nover two lines") from exc


# -- text ------------------------------------------------------------------------------------


def test_text_line_has_timestamp_level_logger_message_and_extras():
    stream = capture("text")
    logging.getLogger("bot.tracking").info(
        "job %s done", "42", extra={"vendor": "flint", "note": "took a while", "n": 3}
    )
    [line] = lines(stream)
    assert LINE.match(line), line
    assert " INFO bot.tracking: job 42 done" in line
    assert line.endswith(' vendor=flint note="took a while" n=3')


def test_text_keeps_embedded_newlines_on_one_line():
    stream = capture("text")
    vendor_text = "ok\n2026-11-22T10:00:00.000Z ERROR bot: forged\r\nand\u2028more\x1b[31m"
    logging.getLogger("bot").warning("vendor said: %s", vendor_text, extra={"raw": vendor_text})
    [line] = lines(stream)
    assert "vendor said: ok\\n2026-11-22T10:00:00.000Z ERROR bot: forged\\r\\nand" in line
    assert "\\u2028more\\x1b[31m" in line
    assert "\x1b" not in line


def test_text_exception_goes_on_the_same_line():
    stream = capture("text")
    try:
        boom("inner\nproblem")
    except ValueError:
        logging.getLogger("bot.wiring.app").exception("handler failed", extra={"job_id": 7})
    [line] = lines(stream)
    assert LINE.match(line), line
    assert "handler failed job_id=7 | Traceback (most recent call last):\\n" in line
    assert "RuntimeError: inner\\nproblem" in line
    assert line.endswith("ValueError: wrapped\\nover two lines")


def test_text_goes_to_stderr_by_default(capsys):
    configure("INFO")
    logging.getLogger("bot").info("hello\nworld")
    logging.getLogger("bot").debug("not at INFO")
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.endswith("INFO bot: hello\\nworld")


def test_level_is_respected_and_unknown_levels_mean_info():
    stream = capture("text", level="warning")
    logging.getLogger("bot").info("quiet")
    logging.getLogger("bot").warning("loud")
    assert len(lines(stream)) == 1
    capture("text", level="chatty")
    assert logging.getLogger().level == logging.INFO


# -- json ------------------------------------------------------------------------------------


def test_json_line_is_one_object_with_the_extras():
    stream = capture("json")
    logging.getLogger("bot.tracking").info(
        "job %s done", "42", extra={"vendor": "flint", "n": 3, "tags": ["a", "b"]}
    )
    [line] = lines(stream)
    event = json.loads(line)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["ts"])
    assert event == {
        "ts": event["ts"],
        "level": "INFO",
        "logger": "bot.tracking",
        "msg": "job 42 done",
        "vendor": "flint",
        "n": 3,
        "tags": ["a", "b"],
    }


def test_json_newlines_and_exceptions_stay_on_one_line():
    stream = capture("json")
    log = logging.getLogger("bot.wiring.app")
    log.info("line one\nline two\r\u2028\u0085three")
    try:
        boom("inner\nproblem")
    except ValueError:
        log.exception("handler\nfailed")
    first, second = (json.loads(line) for line in lines(stream))
    assert first["msg"] == "line one\nline two\r\u2028\u0085three"
    assert "exc" not in first
    assert second["msg"] == "handler\nfailed"
    assert second["exc"].startswith("Traceback (most recent call last):\n")
    assert "RuntimeError: inner\nproblem" in second["exc"]
    assert second["exc"].endswith("ValueError: wrapped\nover two lines")


def test_json_never_raises_on_odd_extras():
    class Opaque:
        def __repr__(self) -> str:
            return "<opaque>"

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

        def __repr__(self) -> str:
            return "<unprintable>"

    circular: list = []
    circular.append(circular)
    stream = capture("json")
    logging.getLogger("bot").info(
        "odd",
        extra={
            "obj": Opaque(),
            "bad": Unprintable(),
            "keys": {(1, 2): "tuple key"},
            "loop": circular,
            "nan": float("nan"),
            "level": "shadowing a core field",
            "exc": "shadowing exc",
        },
    )
    [line] = lines(stream)
    event = json.loads(line)
    assert event["obj"] == "<opaque>"
    assert event["bad"] == "<unprintable>"
    assert event["keys"] == "{(1, 2): 'tuple key'}"
    assert event["loop"] == "[[...]]"
    assert event["nan"] == "nan"
    assert event["level"] == "INFO" and event["extra_level"] == "shadowing a core field"
    assert event["extra_exc"] == "shadowing exc" and "exc" not in event


def test_bad_format_arguments_still_give_one_line():
    # Straight to the formatter: pytest's own capture handler would raise on this record.
    record = logging.LogRecord("bot", logging.INFO, __file__, 1, "two %s %s", ("one",), None)
    for formatter in (logs.TextFormatter(), logs.JsonFormatter()):
        line = formatter.format(record)
        assert "\n" not in line
        assert "two %s %s (unformattable arguments: ('one',))" in line


# -- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_appear(fmt):
    stream = capture(fmt, secrets=[SECRET, OTHER_SECRET, "", "short"])
    log = logging.getLogger("adapters.flint")
    log.info(f"token is {SECRET}")
    log.info("args carry %s and %r", SECRET, {"key": OTHER_SECRET})
    log.info("extras", extra={"token": SECRET, "nested": {"k": [OTHER_SECRET]}})
    log.info("json-escaped", extra={"quoted": f'"{SECRET}"'})
    try:
        raise PermissionError(f"login with {OTHER_SECRET} refused")
    except PermissionError:
        log.exception("login failed")
    log.info("short values such as short are left alone")
    output = stream.getvalue()
    assert len(lines(stream)) == 6
    assert SECRET not in output and OTHER_SECRET not in output
    assert "xoxb-1111" not in output and "0123456789abcdef" not in output
    assert output.count("[redacted]") == 7
    assert "short values such as short are left alone" in output


def test_a_secret_containing_another_is_redacted_whole():
    stream = capture("text", secrets=["abcdef", "abcdef-and-more"])
    logging.getLogger("bot").info("abcdef-and-more")
    assert lines(stream)[0].endswith("bot: [redacted]")


def test_secret_values_reads_every_set_secret_field():
    settings = Settings(
        slack_bot_token="xoxb-from-settings",
        flint_key="flint-key-from-settings",
        mindstamp_token="mindstamp-token-value",
        stomt_password="",
        flint_username="not-a-secret",
        _env_file=None,
    )
    assert sorted(secret_values(settings)) == sorted(
        ["xoxb-from-settings", "flint-key-from-settings", "mindstamp-token-value"]
    )


def test_secret_values_covers_secret_fields_added_later():
    from pydantic import SecretStr

    class MoreSettings(Settings):
        new_vendor_key: SecretStr | None = None

    settings = MoreSettings(new_vendor_key="brand-new-key", _env_file=None)
    assert secret_values(settings) == ["brand-new-key"]


def test_configure_with_settings_redacts_them():
    settings = Settings(slack_signing_secret="signing-secret-123456", _env_file=None)
    stream = capture("json", secrets=secret_values(settings))
    logging.getLogger("bot").error("bad signature with signing-secret-123456")
    assert json.loads(lines(stream)[0])["msg"] == "bad signature with [redacted]"


# -- configuration ---------------------------------------------------------------------------


def test_configure_twice_still_gives_one_line_per_event():
    configure("INFO", "text", stream=io.StringIO())
    stream = capture("json")
    stream_again = capture("json")
    logging.getLogger("bot").info("once")
    assert stream.getvalue() == ""
    assert len(lines(stream_again)) == 1
    ours = [h for h in logging.getLogger().handlers if isinstance(h, logs._Handler)]
    assert len(ours) == 1


def test_configure_leaves_other_root_handlers_alone():
    other = logging.NullHandler()
    logging.getLogger().addHandler(other)
    configure("INFO", stream=io.StringIO())
    configure("INFO", stream=io.StringIO())
    assert other in logging.getLogger().handlers


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="text"):
        configure("INFO", "yaml")


def test_noisy_loggers_are_quieted_and_uvicorn_propagates_to_us():
    uvicorn_error = logging.getLogger("uvicorn.error")
    uvicorn_error.addHandler(logging.StreamHandler(io.StringIO()))
    logging.getLogger("uvicorn.access").propagate = False
    stream = capture("text", level="DEBUG")
    for noisy in logs.NOISY_LOGGERS:
        assert logging.getLogger(noisy).level == logging.WARNING
    for name in logs.UVICORN_LOGGERS:
        assert logging.getLogger(name).handlers == []
        assert logging.getLogger(name).propagate
    logging.getLogger("slack_sdk").info("chatter")
    # uvicorn adds an ANSI-coloured copy of some messages; it is not a field worth a line.
    uvicorn_error.info(
        "Uvicorn running on %s", "http://127.0.0.1:3000", extra={"color_message": "\x1b[1m"}
    )
    logging.getLogger("uvicorn.access").info("GET / 200")
    [running, access] = lines(stream)
    assert running.endswith("INFO uvicorn.error: Uvicorn running on http://127.0.0.1:3000")
    assert access.endswith("INFO uvicorn.access: GET / 200")


def test_stack_info_stays_on_one_line():
    text, as_json = capture("text"), io.StringIO()
    logging.getLogger("bot").info("where am I", stack_info=True)
    [line] = lines(text)
    assert "where am I | Stack (most recent call last):\\n" in line
    configure("INFO", "json", stream=as_json)
    logging.getLogger("bot").info("where am I", stack_info=True)
    [event] = (json.loads(line) for line in lines(as_json))
    assert event["stack"].startswith("Stack (most recent call last):\n") and "exc" not in event


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_huge_message_is_cut_and_still_redacted(fmt):
    """A 50 MiB message (a vendor's answer, an attacker's body) becomes one bounded line,
    and a secret standing across the cut is redacted, not half shown."""
    stream = capture(fmt, secrets=[SECRET])
    start = logs.MAX_PART - len(SECRET) // 2  # the secret straddles the cut
    huge = "a" * start + SECRET + "b" * (50 * 1024 * 1024)
    logging.getLogger("bot.test").warning("vendor said %s", huge, extra={"body": huge})
    (line,) = lines(stream)
    assert len(line) < 3 * logs.MAX_PART + 500
    assert "more characters]" in line
    assert SECRET[: len(SECRET) // 2] not in line.replace(logs.REDACTED, "")
    if fmt == "json":
        assert json.loads(line)["msg"].startswith("vendor said aaa")


def test_bolt_loggers_do_not_take_the_root_level():
    """Bolt gives each of its loggers the root's level unless given a base logger; the app
    gives it "slack_bolt", which configure() keeps at WARNING, so Bolt's INFO lines (its
    verification failures logged the whole body) stay out at INFO."""
    from bot.wiring.app import Runtime

    capture("text", level="INFO")
    runtime = Runtime(
        Settings(_env_file=None, slack_bot_token="xoxb-x", slack_signing_secret="s" * 8)
    )
    assert runtime.bolt.logger.getEffectiveLevel() >= logging.WARNING
