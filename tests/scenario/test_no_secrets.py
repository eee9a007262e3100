"""No secret anywhere: with distinctive credentials for Slack and every vendor, every
command and failure path runs, and no log line or Slack call contains any of them."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from adapters.flint import sandbox as flint
from adapters.mindstamp import sandbox as mindstamp
from adapters.mint import sandbox as mint
from adapters.stintmint import sandbox as stintmint
from adapters.stomt import sandbox as stomt
from tests.fakes.servers import ThreadedServer
from tests.fakes.slack_api import wait_for
from tests.scenario.harness import REPO, running_app

SECRETS = {
    "slack_bot_token": "xoxb-SEKRIT-bot-4f2a9c",
    "slack_signing_secret": "SEKRIT-signing-77e1",
    "flint_password": "SEKRIT-flint-pw-913",
    "stomt_password": "SEKRIT-stomt-pw-552",
    "stintmint_key": "SEKRIT-stint-key-208",
    "mint_client_secret": "SEKRIT-mint-secret-640",
    "mindstamp_token": "SEKRIT-mindstamp-token-381",
}
WRONG = {key: value.replace("SEKRIT", "WRONGSEKRIT") for key, value in SECRETS.items()}


@contextlib.contextmanager
def vendors():
    """Every sandbox, each accepting only the distinctive credentials above."""
    apps = {
        "/flint": flint.create_app(password=SECRETS["flint_password"], key=None, speed=0.05),
        "/stomt": stomt.create_app(password=SECRETS["stomt_password"]),
        "/stintmint": stintmint.create_app(key=SECRETS["stintmint_key"], complete_after=0.2),
        "/mint": mint.create_app(client_secret=SECRETS["mint_client_secret"], speed=0.05),
        "/mindstamp": mindstamp.create_app(token=SECRETS["mindstamp_token"]),
    }

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with contextlib.AsyncExitStack() as stack:
            for app in apps.values():
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    app = Starlette(routes=[Mount(p, app=a) for p, a in apps.items()], lifespan=lifespan)
    with ThreadedServer(app) as server:
        yield server.url


def settings_for(base: str, secrets: dict[str, str]) -> dict[str, str]:
    return {
        "flint_url": base + "/flint",
        "flint_username": flint.DEMO_USERNAME,
        "flint_password": secrets["flint_password"],
        "stomt_url": base + "/stomt",
        "stomt_appid": stomt.DEMO_APPID,
        "stomt_username": stomt.DEMO_USERNAME,
        "stomt_password": secrets["stomt_password"],
        "stomt_target": stomt.DEMO_TARGET,
        "stintmint_url": base + "/stintmint",
        "stintmint_username": stintmint.DEMO_USERNAME,
        "stintmint_key": secrets["stintmint_key"],
        "mint_url": base + "/mint",
        "mint_token_url": base + "/mint/token",
        "mint_client_id": mint.DEMO_CLIENT_ID,
        "mint_client_secret": secrets["mint_client_secret"],
        "mindstamp_url": base + "/mindstamp",
        "mindstamp_token": secrets["mindstamp_token"],
    }


COMMANDS = [
    ("/flint", "help"),
    ("/flint", "run demo:hello.rb"),
    ("/flint", "run demo:fail.rb"),
    ("/flint", "run nope:missing.rb"),
    ("/flint", "result job-00000000-0000-0000-0000-000000000000"),
    ("/stomt", "wish the secrets stayed secret"),
    ("/stomt", "list"),
    ("/stomt", "show does-not-exist"),
    ("/stomt", "digest now"),
    ("/stint", "post demo secret-check note=hi"),
    ("/stint", "fetch demo unknown-id"),
    ("/mint", "flows"),
    ("/mint", "execute does-not-exist"),
    ("/mint", "digest now"),
    ("/mindstamp", "summary"),
    ("/mindstamp", "videos"),
    ("/mindstamp", "video nope"),
    # a user's own secret-looking parameter: kept out of the audit log
    ("/flint", "run demo:hello.rb api_token=USERSEKRIT-in-a-param-77"),
]


@pytest.mark.parametrize("credentials", ["right", "wrong"])
def test_no_secret_in_any_log_line_or_slack_call(slack, tmp_path, caplog, credentials):
    """Secrets never appear in logs, Slack messages or errors, also when they are rejected."""
    caplog.set_level(logging.DEBUG)
    vendor_secrets = SECRETS if credentials == "right" else WRONG
    with (
        vendors() as base,
        running_app(
            slack,
            None,
            tmp_path,
            signing_secret=SECRETS["slack_signing_secret"],
            slack_bot_token=SECRETS["slack_bot_token"],
            **settings_for(base, vendor_secrets),
        ) as app,
    ):
        for command, text in COMMANDS:
            assert app.client.command(text, command=command).status_code == 200

        def seen() -> str:
            return json.dumps(
                [c.args for c in slack.fake.calls]
                + list(slack.fake.messages.values())
                + slack.fake.responses,
                default=str,
            )

        # The paths really ran: successes with the right credentials, refusals otherwise.
        if credentials == "right":
            wait_for(
                lambda: "Hello, World!" in seen() and "secrets stayed secret" in seen(), timeout=20
            )
        else:
            wait_for(lambda: seen().count("credentials") >= 4, timeout=20)
        everything = seen()
        # `chatops check` against the same vendors: all ok, or each rejecting credentials.
        check = chatops("check", env=check_env(slack, base, vendor_secrets, tmp_path))
        assert check.returncode == (0 if credentials == "right" else 1), check.stdout
        assert check.stdout.count("error") == (0 if credentials == "right" else 5)
    logs = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    env = check_env(slack, base, vendor_secrets, tmp_path)
    # The audit log: what the app wrote, as `chatops audit` prints it.
    audit = chatops("audit", "--json", env=env)
    assert audit.returncode == 0 and '"flint run"' in audit.stdout
    assert "USERSEKRIT" not in audit.stdout and "[redacted]" in audit.stdout
    outputs = {
        "Slack call": everything,
        "log line": logs,
        "audit log": audit.stdout + audit.stderr,
        "check output": check.stdout + check.stderr,
    }
    for name, value in {**SECRETS, **WRONG}.items():
        for where, text in outputs.items():
            if name == "slack_bot_token" and where == "Slack call":
                continue  # Slack sees its own token in the Authorization header, never in args
            assert value not in text, f"{name} appeared in a {where}"
    assert "Traceback" not in everything


def check_env(slack, base: str, vendor_secrets: dict[str, str], tmp_path) -> dict[str, str]:
    return {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}",
        "SLACK_SIGNING_SECRET": SECRETS["slack_signing_secret"],
        "SLACK_BOT_TOKEN": SECRETS["slack_bot_token"],
        "SLACK_API_URL": slack.api_url,
        **{k.upper(): v for k, v in settings_for(base, vendor_secrets).items()},
    }


def chatops(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLINT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env, "COLUMNS": "250"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
