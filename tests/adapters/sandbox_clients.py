"""Every vendor client pointed at the sandboxes served from ``base``, with test-fast
retries: what the adapter tests that go through real HTTP share."""

from __future__ import annotations

from typing import Any

import httpx

from adapters import sandboxes
from adapters.flint import FlintClient
from adapters.mindstamp import MindstampClient, Rate, RateLimiter
from adapters.mint import MintClient
from adapters.retries import Retries
from adapters.stintmint import StintmintClient
from adapters.stomt import StomtClient

FAST = Retries(attempts=3, backoff=0.01, max_wait=1.0)


def sandbox_clients(http: httpx.AsyncClient, base: str) -> dict[str, Any]:
    """``{"flint": FlintClient, …, "target": STOMT_TARGET}`` for the sandboxes at ``base``."""
    env = {k: v for e in sandboxes.environment(base) for k, v in e.variables.items()}
    return {
        "flint": FlintClient(
            http,
            base_url=env["FLINT_URL"],
            username=env["FLINT_USERNAME"],
            password=env["FLINT_PASSWORD"],
            retries=FAST,
        ),
        "stomt": StomtClient(
            http,
            base_url=env["STOMT_URL"],
            appid=env["STOMT_APPID"],
            username=env["STOMT_USERNAME"],
            password=env["STOMT_PASSWORD"],
            retries=FAST,
        ),
        "mint": MintClient(
            http,
            base_url=env["MINT_URL"],
            token_url=env["MINT_TOKEN_URL"],
            client_id=env["MINT_CLIENT_ID"],
            client_secret=env["MINT_CLIENT_SECRET"],
            retries=FAST,
        ),
        "stintmint": StintmintClient(
            http,
            base_url=env["STINTMINT_URL"],
            username=env["STINTMINT_USERNAME"],
            key=env["STINTMINT_KEY"],
            retries=FAST,
        ),
        "mindstamp": MindstampClient(
            http,
            base_url=env["MINDSTAMP_URL"],
            token=env["MINDSTAMP_TOKEN"],
            limiter=RateLimiter([Rate(10_000, 60.0)]),
            retries=FAST,
        ),
        "target": env["STOMT_TARGET"],
    }
