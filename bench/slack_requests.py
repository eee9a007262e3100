"""Slash-command requests built and signed exactly like Slack's (v0 HMAC-SHA256).

The same fields, in the same order, as ``tests.fakes.slack_api.slash_command_body``; kept
here so the benchmark does not depend on the test suite's helpers.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import time
from urllib.parse import urlencode

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
TEAM_ID = "T00000001"
MAX_SKEW = 60 * 5  # seconds; Slack's own replay window

_trigger = itertools.count(1)


def slash_command_body(
    command: str,
    text: str,
    *,
    channel_id: str = "C0BENCH",
    user_id: str = "U0BENCH",
    response_url: str = "http://127.0.0.1:9/respond/unset",
) -> bytes:
    """A slash command as Slack posts it (application/x-www-form-urlencoded)."""
    fields = {
        "token": "fake-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "chatops-bench",
        "channel_id": channel_id,
        "channel_name": channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0001",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{next(_trigger)}.{secrets.token_hex(16)}",
    }
    return urlencode(fields).encode()


def signature(body: bytes, secret: str, timestamp: str) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(body: bytes, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """The headers Slack sends with ``body``, signed now."""
    ts = str(int(time.time()))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(body, secret, ts),
    }


def verify(body: bytes, timestamp: str | None, sig: str | None, secret: str) -> bool:
    """Slack's check: a fresh timestamp and a matching v0 signature."""
    if not timestamp or not sig:
        return False
    try:
        if abs(time.time() - int(timestamp)) > MAX_SKEW:
            return False
    except ValueError:
        return False
    return hmac.compare_digest(signature(body, secret, timestamp), sig)
