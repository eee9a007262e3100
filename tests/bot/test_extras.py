"""A server installed without the `console` extra (rich, prompt_toolkit) or the `postgres`
extra (asyncpg) still runs what it needs, and says how to get the rest."""

from __future__ import annotations

import io
import sys

import pytest

from bot.__main__ import main
from bot.wiring import tables


def _without(monkeypatch, *packages: str) -> None:
    """Make ``import package`` fail as it does where the package is not installed."""
    for name in list(sys.modules):
        if name.split(".")[0] in packages or name.startswith("bot.devkit.console"):
            monkeypatch.delitem(sys.modules, name)
    for package in packages:
        monkeypatch.setitem(sys.modules, package, None)


def test_console_without_its_extra_says_how_to_install_it(monkeypatch, capsys):
    _without(monkeypatch, "rich", "prompt_toolkit")
    assert main(["console"]) == 2
    assert "pip install 'chatops-hub[console]'" in capsys.readouterr().err


def test_admin_tables_are_plain_text_without_rich(monkeypatch):
    _without(monkeypatch, "rich")
    out = io.StringIO()
    tables.show("check", ("Component", "Status"), [("Flint", "ok"), ("STOMT", "error")], out=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "check"
    assert lines[1].split() == ["Component", "Status"]
    assert lines[3].split() == ["Flint", "ok"] and lines[4].split() == ["STOMT", "error"]


def test_a_postgresql_url_without_its_driver_is_named_with_the_fix(monkeypatch):
    from bot.config import Settings

    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    settings = Settings(_env_file=None, database_url="postgresql://app@db/chatops")
    problem = settings.database_problem()
    assert problem is not None and "pip install 'chatops-hub[postgres]'" in problem


@pytest.mark.parametrize("url", ["sqlite:///chatops.db", "postgresql://app@db/chatops"])
def test_installed_drivers_raise_no_problem(url, tmp_path, monkeypatch):
    from bot.config import Settings

    monkeypatch.chdir(tmp_path)
    assert Settings(_env_file=None, database_url=url).database_problem() is None
