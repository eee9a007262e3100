"""``chatops check``: validate settings, reach every configured vendor, print a table."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import VendorError
from adapters.http import DEFAULT_TIMEOUT
from bot.config import Settings, VendorStatus
from bot.policy import Policy, PolicyError
from bot.store import Store
from bot.vendors import build_clients
from handlers import policy_commands

OK, NOT_CONFIGURED, ERROR = "ok", "not configured", "error"


@dataclass
class CheckRow:
    name: str
    state: str
    detail: str = ""


async def run_checks(settings: Settings) -> list[CheckRow]:
    rows = [await _check_database(settings), await _check_slack(settings), _check_policy(settings)]
    async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
        clients = build_clients(settings, lambda _vendor: http)
        rows.append(await _check_vendor(settings.flint_status(), clients.flint, settings))
        rows.append(await _check_vendor(settings.stomt_status(), clients.stomt, settings))
        rows.append(await _check_vendor(settings.stintmint_status(), clients.stintmint, settings))
        rows.append(await _check_vendor(settings.mint_status(), clients.mint, settings))
        rows.append(await _check_vendor(settings.mindstamp_status(), clients.mindstamp, settings))
    return rows


def _check_policy(settings: Settings) -> CheckRow:
    name = "Access policy"
    try:
        policy = Policy.load(settings.chatops_policy, policy_commands())
    except PolicyError as exc:
        return CheckRow(name, ERROR, str(exc))
    if not policy.enforced:
        return CheckRow(
            name, NOT_CONFIGURED, "CHATOPS_POLICY is not set: everyone may run every command"
        )
    count = len(policy.rules)
    detail = f"{count} rule{'s' if count != 1 else ''} from {policy.source}; no match is denied"
    if not count:
        detail += " (so every command is denied)"
    if policy.needs_usergroups:
        detail += "; uses user groups (the app needs the usergroups:read scope)"
    return CheckRow(name, OK, detail)


async def _check_database(settings: Settings) -> CheckRow:
    try:
        store = Store(settings.database_url)
    except Exception as exc:  # a malformed URL
        return CheckRow("State store", ERROR, _safe(exc, settings))
    try:
        ok = await store.ping(within=5.0)
    finally:
        await store.close()
    return CheckRow("State store", OK if ok else ERROR, "" if ok else "database did not answer")


async def _check_slack(settings: Settings) -> CheckRow:
    problems = settings.serve_problems()
    if problems:
        return CheckRow("Slack", ERROR, "; ".join(problems))
    client = AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),  # type: ignore[union-attr]
        base_url=settings.slack_api_url,
        timeout=10,
    )
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return CheckRow("Slack", ERROR, f"auth.test said {exc.response.get('error')}")
    except Exception as exc:  # transport failures of any kind
        return CheckRow("Slack", ERROR, f"Slack API not reachable ({type(exc).__name__})")
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    return CheckRow("Slack", OK, f"{mode}, bot {auth.get('user', '?')} in {auth.get('team', '?')}")


async def _check_vendor(status: VendorStatus, client: Any, settings: Settings) -> CheckRow:
    """A cheap authenticated call (each adapter's ``ping``) to a configured vendor."""
    if client is None:
        return CheckRow(status.name, NOT_CONFIGURED, f"set {status.missing}")
    try:
        await client.ping()
    except VendorError as exc:
        return CheckRow(status.name, ERROR, _safe(exc, settings))
    detail = client.base_url if hasattr(client, "base_url") else ""
    if status.name == "Stintmint":
        detail += f" (results by {'callback' if settings.public_url else 'polling'})"
    return CheckRow(status.name, OK, detail)


def _safe(exc: BaseException, settings: Settings) -> str:
    """An error text with every configured secret blanked out, whatever produced it."""
    text = str(exc)
    for _name, value in settings:
        secret = value.get_secret_value() if hasattr(value, "get_secret_value") else None
        if secret and len(secret) >= 4:  # shorter "secrets" would mangle every word
            text = text.replace(secret, "***")
    if "@" in text and "://" in text:  # a URL with a password in it
        text = text.split("://", 1)[0] + "://***"
    return text


def main(console: Console | None = None) -> int:
    console = console or Console()
    try:
        settings = Settings()
    except ValidationError as exc:
        console.print("[bold red]Configuration is invalid:[/]")
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"]).upper()
            console.print(f"  {field}: {error['msg']}")
        return 2
    rows = asyncio.run(run_checks(settings))
    table = Table(title="chatops-hub check")
    table.add_column("Component")
    table.add_column("Status")
    table.add_column("Detail")
    colours = {OK: "green", NOT_CONFIGURED: "yellow", ERROR: "red"}
    for row in rows:
        table.add_row(row.name, f"[{colours[row.state]}]{row.state}[/]", row.detail)
    console.print(table)
    return 1 if any(row.state == ERROR for row in rows) else 0
