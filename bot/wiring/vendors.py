"""One place that turns settings into vendor clients (used by the app and by `check`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from adapters.flint import FlintClient
from adapters.mindstamp import MindstampClient, RateLimiter
from adapters.mint import MintClient
from adapters.stintmint import StintmintClient
from adapters.stomt import StomtClient
from bot.config import Settings

HttpFactory = Callable[[str], httpx.AsyncClient]


@dataclass
class VendorClients:
    """A client per configured vendor; None for a vendor that is not configured."""

    flint: FlintClient | None = None
    stomt: StomtClient | None = None
    stintmint: StintmintClient | None = None
    mint: MintClient | None = None
    mindstamp: MindstampClient | None = None


def _plain(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def build_clients(settings: Settings, http_for: HttpFactory) -> VendorClients:
    """``http_for(vendor)`` gives the shared HTTP client each vendor's adapter uses.

    Called once per process: by the ``Runtime`` that ``serve`` and the console run, or by
    ``check``. So what it builds once is the process's one, such as Mindstamp's limiter.
    """
    s = settings
    clients = VendorClients()
    if s.flint_status().configured:
        clients.flint = FlintClient(
            http_for("flint"),
            base_url=str(s.flint_url),
            username=s.flint_username,
            password=_plain(s.flint_password),
            key=_plain(s.flint_key),
        )
    if s.stomt_status().configured:
        clients.stomt = StomtClient(
            http_for("stomt"),
            base_url=s.stomt_url,
            appid=str(s.stomt_appid),
            accesstoken=_plain(s.stomt_accesstoken),
            username=s.stomt_username,
            password=_plain(s.stomt_password),
        )
    if s.stintmint_status().configured:
        clients.stintmint = StintmintClient(
            http_for("stintmint"),
            base_url=s.stintmint_url,
            username=str(s.stintmint_username),
            key=str(_plain(s.stintmint_key)),
        )
    if s.mint_status().configured:
        clients.mint = MintClient(
            http_for("mint"),
            base_url=s.mint_url,
            token_url=s.mint_token_url,
            client_id=str(s.mint_client_id),
            client_secret=str(_plain(s.mint_client_secret)),
        )
    if s.mindstamp_status().configured:
        # The process's one Mindstamp client, with the one limiter every call it makes
        # waits on, so the documented 100/minute and 1,000/hour hold for the whole app.
        clients.mindstamp = MindstampClient(
            http_for("mindstamp"),
            base_url=s.mindstamp_url,
            token=str(_plain(s.mindstamp_token)),
            limiter=RateLimiter(),
        )
    return clients
