"""The vendor tables themselves: what they generate (usage, policy names) and that every
request a parser can return has a subcommand to carry it out."""

from __future__ import annotations

import pytest

from handlers import COMMANDS, VERTICALS, policy_commands
from handlers.common.commands import Help

# One typed example per subcommand, as a user would type it.
EXAMPLES = {
    "/flint": ["run demo:hello.rb name=Ada", "result 0123456789abcdef"],
    "/stomt": [
        "like the app",
        "wish more --target t",
        "list t",
        "show abc",
        "delete abc",
        "digest weekly",
    ],
    "/mint": [
        "flows",
        "execute onboard",
        "instances onboard",
        "instance 3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "publish onboard",
        "unpublish onboard",
        "note 3fa85f64-5717-4562-b3fc-2c963f66afa6 hello",
        "digest weekly",
    ],
    "/stint": ["post demo order-1 note=hi", "fetch demo order-1"],
    "/mindstamp": ["summary week", "videos", "video abc123", "digest weekly"],
}


def test_every_command_is_one_vertical():
    assert sorted(COMMANDS) == sorted(EXAMPLES)
    assert len({v.key for v in VERTICALS}) == len(VERTICALS)


@pytest.mark.parametrize("vertical", VERTICALS, ids=lambda v: v.slash)
def test_usage_lists_every_subcommand_and_help(vertical):
    usage = vertical.usage()
    assert usage.startswith(f"*{vertical.name}* — ")
    for sub in vertical.subcommands:
        assert f"`{vertical.slash} {sub.name}" in usage
    assert usage.endswith(f"• `{vertical.slash} help` — this message")


@pytest.mark.parametrize("vertical", VERTICALS, ids=lambda v: v.slash)
def test_usage_for_one_allowed_subcommand_shows_only_its_bullet(vertical):
    for sub in vertical.subcommands:
        shown = vertical.usage([sub.name])
        assert f"`{vertical.slash} {sub.name}" in shown
        others = [o.name for o in vertical.subcommands if o.name != sub.name]
        for other in others:
            # Only a subcommand sharing the bullet may show with it.
            for line in shown.splitlines():
                if (
                    line.startswith(f"• `{vertical.slash} {other} ")
                    or f"· `{vertical.slash} {other} " in line
                ):
                    assert f"`{vertical.slash} {sub.name} " in line
    assert vertical.usage([]) is None


def test_policy_names_come_from_the_tables():
    names = policy_commands()
    assert "flint run" in names and "stint post" in names and "mint unpublish" in names
    assert len(names) == sum(len(v.subcommands) for v in VERTICALS) == len(set(names))


@pytest.mark.parametrize("vertical", VERTICALS, ids=lambda v: v.slash)
def test_every_parsed_request_has_a_subcommand(vertical):
    seen = set()
    for text in EXAMPLES[vertical.slash]:
        request = vertical.parse(text)
        assert not isinstance(request, Help), text
        name, _target = vertical.policy_view(request)
        assert vertical.subcommand(name).name == name
        seen.add(name)
    assert seen == {sub.name for sub in vertical.subcommands}


def test_action_and_view_ids_are_unique_across_the_app():
    ids = [b.action_id for v in VERTICALS for b in v.buttons]
    views = [f.callback_id for v in VERTICALS for f in v.forms]
    assert len(ids) == len(set(ids)) and len(views) == len(set(views))


def test_the_subcommands_that_change_something_are_declared_so():
    """Exactly these write to the audit log (``audited`` refuses any other)."""
    changing = {
        f"{v.command} {sub.name}" for v in VERTICALS for sub in v.subcommands if sub.changes
    }
    assert changing == {
        "flint run",
        "stomt like",
        "stomt wish",
        "stomt delete",
        "mint execute",
        "mint publish",
        "mint unpublish",
        "mint note",
        "stint post",
    }


@pytest.mark.parametrize("vertical", VERTICALS, ids=lambda v: v.slash)
def test_every_example_is_its_own_subcommand_typed_in_full(vertical):
    """What the usage shows as an example parses as the subcommand it is shown under
    (tests/inproc/test_examples.py runs each against the sandboxes)."""
    for sub in vertical.subcommands:
        for example in sub.examples:
            command, _, text = example.partition(" ")
            assert command == vertical.slash, example
            request = vertical.parse(text)
            assert vertical.policy_view(request)[0] == sub.name, example


def _examples_shown(usage: str | None) -> list[str]:
    """The examples a usage shows: its "e.g." lines, each under the bullet it belongs to."""
    lines = (usage or "").splitlines()
    shown = []
    for index, line in enumerate(lines):
        if line.startswith("   e.g. "):
            assert lines[index - 1].startswith(("• ", "   ")), line
            shown.extend(part.strip("`") for part in line.removeprefix("   e.g. ").split(" · "))
    return shown


@pytest.mark.parametrize("vertical", VERTICALS, ids=lambda v: v.slash)
def test_usage_shows_each_example_under_its_bullet_only_when_allowed(vertical):
    every = [example for sub in vertical.subcommands for example in sub.examples]
    assert _examples_shown(vertical.usage()) == every
    for sub in vertical.subcommands:
        assert _examples_shown(vertical.usage([sub.name])) == list(sub.examples)
