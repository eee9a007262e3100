"""The admin commands' own error texts go through the one redactor."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.config import Settings, describe_errors
from bot.wiring.check import _safe

SECRET = "xoxb-very-secret-bot-token-123456"


def test_check_redacts_a_configured_secret_in_any_error_text():
    settings = Settings(_env_file=None, slack_bot_token=SECRET, slack_signing_secret="s" * 32)
    shown = _safe(RuntimeError(f"connect failed: token={SECRET}"), settings)
    assert SECRET not in shown and "[redacted]" in shown


def test_check_hides_a_password_inside_a_url():
    settings = Settings(_env_file=None)
    shown = _safe(RuntimeError("postgresql://app:pw-in-url@db/x refused"), settings)
    assert "pw-in-url" not in shown and shown.endswith("://[redacted]")


def test_settings_errors_never_repeat_a_secret_value(monkeypatch):
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None, slack_signing_secret=["not", "a", "string"])
    # pydantic's own messages do not quote the input; make one that does.
    monkeypatch.setattr(
        ValidationError,
        "errors",
        lambda self, **kw: [
            {
                "loc": ("slack_bot_token",),
                "msg": f"Value error, {SECRET} is not a token",
                "input": SECRET,
            }
        ],
    )
    [line] = describe_errors(caught.value)
    assert SECRET not in line and line.startswith("SLACK_BOT_TOKEN: ")
