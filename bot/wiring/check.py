"""``chatops check``: validate settings, reach every configured vendor, print a table.

Each row is ok, not configured, a warning (works, but will surprise: exit code 0) or an
error (will fail later: exit code 1), and says which variable or line to fix. Settings
that are malformed (a URL that is not one, HOST=999.1.1.1, an xoxb- token where an xapp-
one belongs) stop it before any row, as they stop ``serve``: exit code 2.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import VendorError, VendorNotFound
from adapters.http import DEFAULT_TIMEOUT
from adapters.redact import REDACTED, SecretRedactor
from bot.config import Settings, VendorStatus, describe_errors
from bot.logs import secret_values
from bot.policy import Policy, PolicyError, rule_usergroups
from bot.store import Store
from bot.wiring import tables
from bot.wiring.socket_mode import SocketModeError, verify_app_token
from bot.wiring.vendors import build_clients
from handlers import policy_commands

OK, NOT_CONFIGURED, WARNING, ERROR = "ok", "not configured", "warning", "error"


@dataclass
class CheckRow:
    name: str
    state: str
    detail: str = ""


async def run_checks(settings: Settings) -> list[CheckRow]:
    slack = _slack_client(settings)
    rows = [await _check_database(settings), await _check_slack(settings, slack)]
    if settings.socket_mode:
        rows.append(await _check_socket_mode(settings))
    rows.append(await _check_policy(settings, slack))
    async with httpx.AsyncClient(timeout=DEFAULT_TIMEOUT) as http:
        clients = build_clients(settings, lambda _vendor: http)
        rows.append(await _check_vendor(settings.flint_status(), clients.flint, settings))
        rows.append(await _check_vendor(settings.stomt_status(), clients.stomt, settings))
        rows.append(await _check_vendor(settings.stintmint_status(), clients.stintmint, settings))
        rows.append(await _check_vendor(settings.mint_status(), clients.mint, settings))
        rows.append(await _check_vendor(settings.mindstamp_status(), clients.mindstamp, settings))
    if settings.public_url:
        rows.append(_check_public_url(settings))
    return rows


def _slack_client(settings: Settings) -> AsyncWebClient | None:
    token = settings.slack_bot_token
    if settings.slack_problems() or token is None:
        return None
    return AsyncWebClient(
        token=token.get_secret_value(),
        base_url=settings.slack_api_url,
        timeout=10,
    )


async def _check_policy(settings: Settings, slack: AsyncWebClient | None) -> CheckRow:
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
    # Rules that load but surely do not do what their author meant (bot/policy.py).
    doubts = list(policy.warnings)
    errors: list[str] = []
    if policy.needs_usergroups:
        if slack is None:
            doubts.append("user groups not checked (Slack is not set up)")
        else:
            errors, unsure = await _usergroup_problems(policy, slack)
            doubts += unsure
            detail += "; every user group exists" if not unsure else ""
    if errors:
        return CheckRow(name, ERROR, "; ".join(errors))
    if doubts:
        return CheckRow(name, WARNING, detail + "; " + "; ".join(doubts))
    return CheckRow(name, OK, detail)


async def _usergroup_problems(policy: Policy, slack: AsyncWebClient) -> tuple[list[str], list[str]]:
    """(errors, doubts) about the user groups the rules name, as Slack answers for each.

    A group Slack does not know would leave every request that depends on it denied with
    "try again shortly", for ever (or, as approvers, never approved): an error naming the
    rule's line.
    """
    answers: dict[str, str | None] = {}  # group → Slack's error code, None when it exists
    errors: list[str] = []
    doubts: list[str] = []
    for rule in policy.rules:
        for group in sorted(rule_usergroups(rule)):
            if group not in answers:
                answers[group] = await _usergroup_error(slack, group)
            error = answers[group]
            where = f"CHATOPS_POLICY {policy.source}, line {rule.line}"
            if error == "no_such_subteam":
                errors.append(f"{where}: user group {group} does not exist in this workspace")
            elif error == "missing_scope":
                errors.append(
                    f"{where}: the app may not read user groups (add the usergroups:read "
                    "scope, as manifest.yml does, and reinstall the app)"
                )
            elif error is not None:
                doubts.append(f"could not look up user group {group} ({error})")
    return list(dict.fromkeys(errors)), list(dict.fromkeys(doubts))


async def _usergroup_error(slack: AsyncWebClient, group: str) -> str | None:
    try:
        await slack.usergroups_users_list(usergroup=group)
    except SlackApiError as exc:
        return str(exc.response.get("error") or "an error")
    except Exception as exc:  # transport failures of any kind
        return f"Slack API not reachable: {type(exc).__name__}"
    return None


async def _check_database(settings: Settings) -> CheckRow:
    problem = settings.database_problem()
    if problem:
        return CheckRow("State store", ERROR, problem)
    try:
        store = Store(settings.database_url)
    except Exception as exc:  # a malformed URL
        return CheckRow("State store", ERROR, _safe(exc, settings))
    try:
        ok = await store.ping(within=5.0)
    finally:
        await store.close()
    return CheckRow("State store", OK if ok else ERROR, "" if ok else "database did not answer")


async def _check_slack(settings: Settings, client: AsyncWebClient | None) -> CheckRow:
    if client is None:
        return CheckRow("Slack", ERROR, "; ".join(settings.slack_problems()))
    try:
        auth = await client.auth_test()
    except SlackApiError as exc:
        return CheckRow("Slack", ERROR, f"auth.test said {exc.response.get('error')}")
    except Exception as exc:  # transport failures of any kind
        return CheckRow("Slack", ERROR, f"Slack API not reachable ({type(exc).__name__})")
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    return CheckRow("Slack", OK, f"{mode}, bot {auth.get('user', '?')} in {auth.get('team', '?')}")


async def _check_socket_mode(settings: Settings) -> CheckRow:
    """The app-level token, asked of Slack the way the app asks when it connects."""
    if settings.slack_app_token is None:
        return CheckRow("Socket Mode", ERROR, "SLACK_APP_TOKEN is not set")
    token = settings.slack_app_token.get_secret_value()
    try:
        await verify_app_token(settings.slack_api_url, token)
    except SocketModeError as exc:
        return CheckRow("Socket Mode", ERROR, f"SLACK_APP_TOKEN: {_safe(exc, settings)}")
    return CheckRow("Socket Mode", OK, "SLACK_APP_TOKEN accepted (apps.connections.open)")


async def _check_vendor(status: VendorStatus, client: Any, settings: Settings) -> CheckRow:
    """A cheap authenticated call (each adapter's ``ping``) to a configured vendor."""
    if status.partial:
        # Half-configured is a mistake, not a choice: the commands would say "not configured".
        return CheckRow(status.name, ERROR, f"{status.partial}; set {status.missing}")
    if client is None:
        return CheckRow(status.name, NOT_CONFIGURED, f"set {status.missing}")
    target = settings.stomt_target if status.name == "STOMT" else None
    try:
        await (client.ping(target) if target else client.ping())
    except VendorNotFound as exc:
        if target:  # the one thing ping reads that comes from our settings
            return CheckRow(
                status.name, ERROR, f"STOMT_TARGET: STOMT has no target {target!r} ({exc})"
            )
        return CheckRow(status.name, ERROR, _safe(exc, settings))
    except VendorError as exc:
        return CheckRow(status.name, ERROR, _safe(exc, settings))
    except ValueError as exc:  # a STOMT_TARGET that is not a slug at all
        return CheckRow(status.name, ERROR, f"STOMT_TARGET: {exc}")
    detail = client.base_url if hasattr(client, "base_url") else ""
    if target:
        detail += f" (target {target})"
    if status.name == "Stintmint":
        detail += f" (results by {'callback' if settings.public_url else 'polling'})"
    return CheckRow(status.name, OK, detail)


def _check_public_url(settings: Settings) -> CheckRow:
    url = str(settings.public_url)
    if not settings.stintmint_status().configured:
        return CheckRow(
            "PUBLIC_URL", WARNING, "set, but only Stintmint callbacks use it and it is not set up"
        )
    host = urlsplit(url).hostname or ""
    if urlsplit(url).scheme == "http" and not _is_loopback(host):
        return CheckRow(
            "PUBLIC_URL",
            WARNING,
            f"{url} is plain http: Stintmint callbacks would cross the network unencrypted; "
            "use https://",
        )
    return CheckRow("PUBLIC_URL", OK, f"Stintmint calls back at {url.rstrip('/')}/hooks/stintmint")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _safe(exc: BaseException, settings: Settings) -> str:
    """An error text with every configured secret redacted, whatever produced it."""
    text = SecretRedactor(secret_values(settings))(str(exc))
    if "@" in text and "://" in text:  # a URL with a password in it
        text = f"{text.split('://', 1)[0]}://{REDACTED}"
    return text


def main() -> int:
    try:
        settings = Settings()
    except ValidationError as exc:
        print("Configuration is invalid:")
        for line in describe_errors(exc):
            print(f"  {line}")
        return 2
    rows = asyncio.run(run_checks(settings))
    cells = [(row.name, row.state, row.detail) for row in rows]
    tables.show("chatops-hub check", ("Component", "Status", "Detail"), cells, coloured=1)
    return 1 if any(row.state == ERROR for row in rows) else 0
