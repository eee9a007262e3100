"""Logging set-up: one line per event, level from CHATOPS_LOG_LEVEL."""

from __future__ import annotations

import logging


def configure(level: str = "INFO") -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Third-party chatter that would drown our own lines at INFO.
    for noisy in ("apscheduler", "alembic", "httpx", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.root.level))
