"""What the benchmark sends and checks: slash commands built and signed by
``bot.devkit.slack_requests`` (the one implementation of "exactly as Slack sends them"), plus the
signature check the raw ASGI endpoint (c) does."""

from __future__ import annotations

import hmac
import time
from functools import partial

from bot.devkit import slack_requests

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-bench-token"
MAX_SKEW = 60 * 5  # seconds; Slack's own replay window

slash_command_body = partial(
    slack_requests.slash_command_body, channel_id="C0BENCH", user_id="U0BENCH"
)


def signed_headers(body: bytes, secret: str = SIGNING_SECRET) -> dict[str, str]:
    """The headers Slack sends with ``body``, signed now."""
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        **slack_requests.sign(body, secret),
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
    expected = slack_requests.sign(body, secret, int(timestamp))["X-Slack-Signature"]
    return hmac.compare_digest(expected, sig)
