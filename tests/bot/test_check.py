"""`chatops check` (and `serve`'s own settings check) against an operator's mistakes: each
one is reported before it can fail later, naming the variable or line to fix.

Runs `bot.__main__.main([...])` in this process with a clean environment, against the
Slack Web API fake and the real vendor sandboxes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from adapters import sandboxes
from bot.__main__ import main
from bot.config import Settings
from bot.devkit.slack_fake import SlackFake
from tests.fakes.servers import ThreadedServer
from tests.fakes.slack_api import RunningSlackFake
from tests.scenario.harness import running_sandboxes

SECRET = "hunter2-db-password"


@pytest.fixture
def env(monkeypatch, tmp_path):
    """Set variables for `chatops`; nothing from the real environment or a .env file."""
    for name in list(os.environ):
        if name.lower() in Settings.model_fields:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "250")  # one table row per line
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.db'}")

    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    return set_env


@pytest.fixture
def slack():
    fake = SlackFake(
        usergroups={"S0REAL": ["U1"]},
        app_tokens={"xapp-1-good"},
        socket_mode_url="wss://wss-primary.slack.invalid/link/?ticket=1",  # check never dials it
    )
    with ThreadedServer(fake.app) as server:
        yield RunningSlackFake(fake, server)


@pytest.fixture
def sandbox():
    with running_sandboxes() as server:
        yield server


def check(capsys) -> tuple[int, str]:
    code = main(["check"])
    out = capsys.readouterr()
    return code, out.out + out.err


def row(output: str, name: str) -> str:
    """The table row of component ``name``."""
    for line in output.splitlines():
        if line.startswith(f"│ {name} "):
            return line
    raise AssertionError(f"no row {name!r} in:\n{output}")


def slack_env(slack) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": slack.api_url,
    }


# -- malformed settings: named, with what is expected, for check and serve alike ----------

MALFORMED = [
    *[
        ({variable: "not-a-url"}, variable, "http:// or https:// URL")
        for variable in (
            "FLINT_URL",
            "STOMT_URL",
            "MINT_URL",
            "MINT_TOKEN_URL",
            "STINTMINT_URL",
            "MINDSTAMP_URL",
            "SLACK_API_URL",
        )
    ],
    ({"PUBLIC_URL": "notaurl"}, "PUBLIC_URL", "http:// or https:// URL"),
    ({"FLINT_URL": "http://flint:99999"}, "FLINT_URL", "port"),
    ({"HOST": "999.1.1.1"}, "HOST", "an IP address"),
    ({"CHATOPS_LOG_LEVEL": "LOUD"}, "CHATOPS_LOG_LEVEL", "DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    ({"DATABASE_URL": f"mysql://root:{SECRET}@db/x"}, "DATABASE_URL", "postgresql://"),
    ({"DATABASE_URL": f"postgresql://u:{SECRET}@db:port/x"}, "DATABASE_URL", "postgresql://"),
    ({"SLACK_APP_TOKEN": f"xoxb-{SECRET}"}, "SLACK_APP_TOKEN", "bot token (xoxb-…)"),
    ({"SLACK_BOT_TOKEN": f"xapp-{SECRET}"}, "SLACK_BOT_TOKEN", "app-level token (xapp-…)"),
]


@pytest.mark.parametrize(("values", "variable", "expected"), MALFORMED)
def test_malformed_settings_stop_check_and_serve_naming_the_variable(
    env, capsys, values, variable, expected
):
    """Exit code 2, "VARIABLE: what is expected", no traceback, no secret: before anything
    is reached (SLACK_BOT_TOKEN stays unset, so a setting that slipped through would end
    `serve` with another reason instead of starting it)."""
    env(**values)
    code, out = check(capsys)
    assert code == 2, out
    assert f"{variable}: " in out and expected in out, out
    assert SECRET not in out
    with pytest.raises(SystemExit) as stopped:
        main(["serve"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert f"  {variable}: " in err and expected in err, err
    assert SECRET not in err and "Traceback" not in err


# -- half-configured vendors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "values", "missing"),
    [
        ("Flint", {"FLINT_URL": "http://flint.example", "FLINT_USERNAME": "a"}, "FLINT_PASSWORD"),
        ("Flint", {"FLINT_PASSWORD": "pw-1234"}, "FLINT_URL and FLINT_USERNAME"),
        ("STOMT", {"STOMT_APPID": "app"}, "STOMT_ACCESSTOKEN"),
        ("STOMT", {"STOMT_APPID": "a", "STOMT_USERNAME": "u"}, "STOMT_PASSWORD"),
        ("Stintmint", {"STINTMINT_USERNAME": "ada@example.com"}, "STINTMINT_KEY"),
        ("Signicat Mint", {"MINT_CLIENT_ID": "client"}, "MINT_CLIENT_SECRET"),
        ("Mindstamp", {"MINDSTAMP_URL": "https://mindstamp.example/api"}, "MINDSTAMP_TOKEN"),
    ],
)
def test_half_configured_vendor_is_an_error_naming_what_is_missing(
    env, capsys, name, values, missing
):
    """Some of a vendor's variables but not all: its commands would only ever answer "not
    configured", so check says which variable is missing instead of "not configured"."""
    env(**values)
    code, out = check(capsys)
    assert code == 1
    line = row(out, name)
    assert " error " in line and f"{missing} " in line, line
    assert "pw-1234" not in out


def test_complete_and_absent_vendors_are_not_errors(env, capsys, slack, sandbox):
    env(**slack_env(slack), FLINT_URL=sandbox.url + "/flint", FLINT_KEY="wrong-but-complete")
    _code, out = check(capsys)
    assert " not configured " in row(out, "Mindstamp")
    assert "rejected our credentials" in row(out, "Flint")  # reached: the set was complete


# -- what only the vendor or Slack can say ----------------------------------------------------


def test_stomt_target_that_does_not_exist_is_an_error(env, capsys, slack, sandbox):
    """Every /stomt wish would fail on a target STOMT does not have."""
    stomt = next(v.variables for v in sandboxes.environment(sandbox.url) if v.vendor == "STOMT")
    env(**slack_env(slack), **{**stomt, "STOMT_TARGET": "no-such-target"})
    code, out = check(capsys)
    assert code == 1
    line = row(out, "STOMT")
    assert " error " in line and "STOMT_TARGET" in line and "no-such-target" in line, line
    env(STOMT_TARGET=stomt["STOMT_TARGET"])
    code, out = check(capsys)
    assert code == 0, out
    assert " ok " in row(out, "STOMT") and "(target chatops-hub)" in row(out, "STOMT")


POLICY = """\
rules:
  - command: "flint run"
    usergroups: [S0REAL]
  - command: "mint *"
    usergroups: [S0GHOST]
  - command: "*"
    allow: false
"""


def test_policy_user_group_that_slack_does_not_know_is_an_error_naming_the_line(
    env, capsys, slack, tmp_path
):
    """Requests depending on a group Slack cannot list are denied with "try again
    shortly" for ever; check names the rule's line and the group instead."""
    (tmp_path / "policy.yml").write_text(POLICY)
    env(**slack_env(slack), CHATOPS_POLICY="policy.yml")
    code, out = check(capsys)
    assert code == 1
    line = row(out, "Access policy")
    assert " error " in line, line
    assert "policy.yml, line 4: user group S0GHOST does not exist" in line
    assert "S0REAL" not in line
    (tmp_path / "policy.yml").write_text(POLICY.replace("S0GHOST", "S0REAL"))
    code, out = check(capsys)
    assert code == 0, out
    line = row(out, "Access policy")
    assert " ok " in line and "every user group exists" in line, line


def test_sqlite_file_in_a_missing_folder_is_named_by_check_and_serve(env, capsys, tmp_path):
    """Not "database did not answer": the variable, and the folder to create."""
    folder = tmp_path / "no" / "such"
    env(DATABASE_URL=f"sqlite:///{folder}/state.db")
    code, out = check(capsys)
    assert code == 1
    line = row(out, "State store")
    assert "DATABASE_URL: the folder" in line and f"{folder} does not exist" in line, line
    # serve as a real process: were the check missing, it would start and not return.
    served = subprocess.run(
        [sys.executable, "-m", "bot", "serve"],
        env={**os.environ, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert served.returncode == 2
    assert f"DATABASE_URL: the folder {folder} does not exist" in served.stderr
    assert "Traceback" not in served.stderr and "started" not in served.stderr


# -- Socket Mode ---------------------------------------------------------------------------


def test_socket_mode_app_token_is_asked_of_slack(env, capsys, slack):
    """An app-level token Slack does not take (revoked, mistyped) was reported ok; check
    now asks apps.connections.open, as the app does when it connects."""
    env(**slack_env(slack), SLACK_APP_TOKEN="xapp-1-revoked-0123")
    code, out = check(capsys)
    assert code == 1
    line = row(out, "Socket Mode")
    assert " error " in line and "SLACK_APP_TOKEN" in line and "invalid_auth" in line, line
    assert "xapp-1-revoked-0123" not in out
    env(SLACK_APP_TOKEN="xapp-1-good")
    code, out = check(capsys)
    assert code == 0, out
    assert " ok " in row(out, "Socket Mode")


# -- warnings: works, but will surprise ---------------------------------------------------


def test_plain_http_public_url_is_a_warning_and_keeps_exit_code_0(env, capsys, slack, sandbox):
    stintmint = next(
        v.variables for v in sandboxes.environment(sandbox.url) if v.vendor == "Stintmint"
    )
    env(**slack_env(slack), **stintmint, PUBLIC_URL="http://chatops.example.com")
    code, out = check(capsys)
    assert code == 0, out
    line = row(out, "PUBLIC_URL")
    assert " warning " in line and "unencrypted" in line, line
    env(PUBLIC_URL="https://chatops.example.com")
    code, out = check(capsys)
    assert " ok " in row(out, "PUBLIC_URL") and "/hooks/stintmint" in row(out, "PUBLIC_URL")


def test_a_policy_restriction_made_moot_is_a_warning_naming_both_lines(
    env, capsys, slack, tmp_path
):
    """The README's old example (`mint publish` for one user, then `*` for everyone) let
    everyone publish: check warns, naming the restricting rule and the one that undoes it."""
    moot = 'rules:\n  - command: "mint publish"\n    users: [U1]\n  - command: "*"\n'
    (tmp_path / "policy.yml").write_text(moot)
    env(**slack_env(slack), CHATOPS_POLICY="policy.yml")
    code, out = check(capsys)
    assert code == 0, out  # a warning, not an error: the file is valid
    line = row(out, "Access policy")
    assert " warning " in line and "line 2" in line and "line 4" in line, line
    fixed = moot.replace(
        '  - command: "*"', '  - command: "mint publish"\n    allow: false\n  - command: "*"'
    )
    (tmp_path / "policy.yml").write_text(fixed)
    code, out = check(capsys)
    assert " ok " in row(out, "Access policy"), out


APPROVALS = """\
rules:
  - command: "flint run"
    target: "prod:*"
    approvers:
      users: [U1]
      usergroup: [S0GHOST]
  - command: "*"
"""


def test_policy_approvers_are_checked_naming_the_line(env, capsys, slack, tmp_path):
    """A mistyped `approvers` key stops check (as it stops serve) naming its line; an
    approver user group Slack does not know is an error too: no one could approve."""
    (tmp_path / "policy.yml").write_text(APPROVALS)
    env(**slack_env(slack), CHATOPS_POLICY="policy.yml")
    code, out = check(capsys)
    line = row(out, "Access policy")
    assert code == 1 and " error " in line, out
    assert "policy.yml, line 6: unknown key `usergroup` in `approvers`" in line, line
    (tmp_path / "policy.yml").write_text(APPROVALS.replace("usergroup:", "usergroups:"))
    code, out = check(capsys)
    line = row(out, "Access policy")
    assert code == 1 and "policy.yml, line 2: user group S0GHOST does not exist" in line, line
    (tmp_path / "policy.yml").write_text(
        APPROVALS.replace("usergroup:", "usergroups:").replace("S0GHOST", "S0REAL")
    )
    code, out = check(capsys)
    assert code == 0, out
    assert " ok " in row(out, "Access policy")
