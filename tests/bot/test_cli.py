"""The `chatops` command line as an admin uses it: real subprocesses, real HTTP."""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys

import httpx
import pytest

from adapters import sandboxes
from bot.__main__ import main
from tests.fakes.servers import free_port
from tests.fakes.slack_api import wait_for
from tests.scenario.harness import running_sandboxes

SECRET = "sup3r-s3cret-flint-pw"
# Enough for `serve` to start in HTTP mode (on a port of its own, PORT=0).
SERVABLE = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "0"}


def chatops(*args, env=None, cwd, timeout=60):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FLINT_"))}
    clean.update({"COLUMNS": "200", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def sandbox():
    with running_sandboxes() as server:
        yield server


def test_check_all_good(slack, sandbox, tmp_path):
    """With Slack and Flint reachable, check prints ok for each and exits 0."""
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": slack.api_url}
    for vendor in sandboxes.environment(sandbox.url):
        env.update(vendor.variables)
    result = chatops("check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(" ok ") >= 5  # state store, Slack, Flint, STOMT, Stintmint
    assert "admin123" not in result.stdout


def test_check_reports_rejected_credentials_without_the_secret(slack, sandbox, tmp_path):
    """A wrong Flint password is an error row with the reason, never the password itself."""
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.api_url,
        "FLINT_URL": sandbox.url + "/flint",
        "FLINT_USERNAME": "admin",
        "FLINT_PASSWORD": SECRET,
    }
    result = chatops("check", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "rejected our credentials" in result.stdout
    assert SECRET not in result.stdout + result.stderr


def test_check_says_what_is_not_configured(tmp_path):
    """With nothing set, check names the missing Slack token and shows Flint not configured."""
    result = chatops("check", cwd=tmp_path)
    assert result.returncode == 1
    assert "SLACK_BOT_TOKEN" in result.stdout and "not configured" in result.stdout


def test_check_unreachable_flint(slack, tmp_path):
    """An unreachable Flint is an error row saying it is not reachable."""
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.api_url,
        "FLINT_URL": f"http://127.0.0.1:{free_port()}",
        "FLINT_KEY": SECRET,
    }
    result = chatops("check", env=env, cwd=tmp_path)
    assert result.returncode == 1 and "not reachable" in result.stdout
    assert SECRET not in result.stdout


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "CHATOPS_POLICY": "p.yml"},
            "CHATOPS_POLICY p.yml: cannot read it",
        ),
        ({"CHATOPS_TIMEZONE": "Mars/Olympus"}, "unknown IANA time zone"),
        ({"CHATOPS_POLL_INTERVAL": "-1"}, "CHATOPS_POLL_INTERVAL"),
        # These three once got past the settings: a traceback from the Flint client, one
        # from uvicorn's log set-up, and a start-up that never ended (Socket Mode).
        ({**SERVABLE, "FLINT_URL": "not-a-url", "FLINT_KEY": SECRET}, "FLINT_URL: expected an"),
        ({**SERVABLE, "CHATOPS_LOG_LEVEL": "LOUD"}, "CHATOPS_LOG_LEVEL: expected one of DEBUG"),
        ({**SERVABLE, "SLACK_APP_TOKEN": f"xoxb-{SECRET}"}, "SLACK_APP_TOKEN: this is a bot token"),
    ],
)
def test_serve_refuses_to_start_with_a_readable_reason(tmp_path, env, expected):
    """Missing or invalid settings stop `serve` with a sentence, not a traceback."""
    result = chatops("serve", env=env, cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr


def test_env_file_in_working_directory_is_read(tmp_path):
    """Settings come from a .env file in the working directory too."""
    (tmp_path / ".env").write_text("CHATOPS_TIMEZONE=Nowhere/Land\n")
    result = chatops("serve", cwd=tmp_path)
    assert result.returncode == 2 and "unknown IANA time zone" in result.stderr


def test_sandbox_command_serves_every_sandbox(tmp_path):
    """`chatops sandbox` serves the sandboxes on the given port and prints the settings."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "sandbox", "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(up, timeout=20)
        answer = httpx.post(
            f"http://127.0.0.1:{port}/flint/v1/bit/run/demo:hello.rb/sync",
            json={"name": "CLI"},
            headers={"x-flint-username": "admin", "x-flint-password": "admin123"},
            timeout=30,
        )
        assert answer.json()["output"] == {"message": "Hello, CLI!"}
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"FLINT_URL=http://127.0.0.1:{port}/flint" in out


BAD_POLICY = """\
rules:
  - command: "flint run"
    target: "prod:*"
    users: [U0123]
    alow: false
"""


def test_malformed_policy_stops_serve_and_check_naming_the_line(slack, tmp_path):
    """A typo in the access policy must not start an app that allows or denies wrongly."""
    (tmp_path / "policy.yml").write_text(BAD_POLICY)
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.api_url,
        "CHATOPS_POLICY": "policy.yml",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'state.db'}",
    }
    served = chatops("serve", env=env, cwd=tmp_path)
    assert served.returncode == 2 and "Traceback" not in served.stderr
    assert "policy.yml, line 5: unknown key `alow` (did you mean `allow`?)" in served.stderr
    checked = chatops("check", env=env, cwd=tmp_path)
    assert checked.returncode == 1 and "Traceback" not in checked.stdout
    assert "line 5" in checked.stdout and "alow" in checked.stdout
    (tmp_path / "policy.yml").write_text(BAD_POLICY.replace("alow", "allow"))
    fixed = chatops("check", env=env, cwd=tmp_path)
    assert "Access policy" in fixed.stdout and "1 rule from policy.yml" in fixed.stdout


def test_version(tmp_path, capsys):
    """`chatops --version` (and `python -m bot --version`) names the installed version."""
    expected = f"chatops-hub {importlib.metadata.version('chatops-hub')}"
    result = chatops("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.strip() == expected, result.stderr
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == expected


@pytest.fixture
def busy_port():
    """A port another program listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_sandbox_on_a_busy_port_says_so_before_printing_settings(tmp_path, busy_port):
    """Settings printed for a port that is not ours would point the app at someone else."""
    result = chatops("sandbox", "--port", str(busy_port), cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert result.stdout == ""  # no "Vendor sandboxes on …", no FLINT_URL=…
    assert result.stderr.strip() == (
        f"chatops sandbox: cannot listen on 127.0.0.1:{busy_port}: address already in use"
    )


def test_serve_on_a_busy_port_says_so_before_announcing_anything(tmp_path, busy_port):
    """No "started" (nor any other line) before the port turns out to be taken."""
    env = {**SERVABLE, "PORT": str(busy_port), "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"}
    result = chatops("serve", env=env, cwd=tmp_path, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"chatops serve: cannot listen on 127.0.0.1:{busy_port}: address already in use"
    )
    assert not (tmp_path / "s.db").exists()  # nothing was started, not even the store
