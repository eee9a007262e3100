"""The access policy file: loading (with the line at fault) and deciding."""

from __future__ import annotations

import asyncio

import pytest

from bot.policy import Policy, PolicyError, Request, UsergroupMembers, parse_rules


def policy(text: str) -> Policy:
    return Policy(parse_rules(text, "policy.yml"), source="policy.yml")


def decide(p: Policy, command: str, target: str = "", user: str = "U1", channel: str = "C1"):
    async def members(group: str) -> frozenset[str]:
        return frozenset({"U7"}) if group == "S1" else frozenset()

    return asyncio.run(p.decide(Request(command, target, user, channel), members))


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("", 1, "empty"),
        ("- command: x\n", 1, "mapping with a `rules:` list"),
        ("rules:\n  - command: 'flint run'\n    comand: x\n", 3, "did you mean `command`"),
        ("rules:\n  - target: 'prod:*'\n", 2, "needs `command:`"),
        ("rules:\n  - command: 'flint run'\n    allow: maybe\n", 3, "true or false"),
        ("rules:\n  - command: '*'\n    users: [alice]\n", 3, "not a Slack user id"),
        ("rules:\n  - command: '*'\n    usergroups: U1\n", 3, "not a Slack user group id"),
        ("rules:\n  - command: '*'\n    channels: [C1, '#general']\n", 3, "not a Slack channel"),
        ("rules:\n  - command: 'flint run now please'\n", 2, "<command> <subcommand>"),
        ("rules:\n  - command: '*'\n    allow: false\n    confirm: true\n", 2, "means nothing"),
        ("rules:\n  - command: '*'\n    command: 'flint'\n", 3, "appears twice"),
        ("rules:\n  - command: '*'\n  oops: [\n", 3, "not valid YAML"),
        ("rules:\n  - 'flint run'\n", 2, "a rule must be a mapping"),
        ("rules: 'everything'\n", 1, "must be a list"),
        ("rule:\n  - command: '*'\n", 1, "unknown key `rule`"),
    ],
)
def test_malformed_policy_names_the_line(text, line, says):
    with pytest.raises(PolicyError) as raised:
        parse_rules(text, "policy.yml")
    message = str(raised.value)
    assert f"policy.yml, line {line}:" in message and says in message


def test_missing_file_is_an_error_and_no_file_allows_everything(tmp_path):
    with pytest.raises(PolicyError, match="cannot read it"):
        Policy.load(str(tmp_path / "nope.yml"))
    assert decide(Policy.load(None), "flint run", "prod:x").allowed


def test_first_match_wins_and_no_match_is_denied():
    p = policy(
        "rules:\n"
        "  - command: 'flint run'\n    target: 'prod:*'\n    allow: false\n"
        "  - command: 'flint *'\n"
        "  - command: 'mint'\n    users: [U2]\n"
    )
    assert not decide(p, "flint run", "prod:deploy.rb").allowed
    assert decide(p, "flint run", "demo:hello.rb").allowed
    assert decide(p, "flint result", "job-1").allowed
    assert decide(p, "mint execute", "f", user="U2").allowed  # "mint" alone: every /mint
    denied = decide(p, "mint execute", "f", user="U1")
    assert not denied.allowed and denied.rule_line is None and "no rule" in denied.reason
    assert not decide(p, "stomt wish").allowed


def test_subjects_any_of_users_groups_channels():
    p = policy(
        "rules:\n  - command: '*'\n    users: [U1]\n    usergroups: [S1]\n    channels: [C9]\n"
    )
    assert decide(p, "flint run", user="U1").allowed
    assert decide(p, "flint run", user="U7").allowed  # via S1
    assert decide(p, "flint run", user="U3", channel="C9").allowed
    assert not decide(p, "flint run", user="U3").allowed


def test_confirm_and_its_reason():
    p = policy("rules:\n  - command: 'mint publish'\n    confirm: true\n  - command: '*'\n")
    held = decide(p, "mint publish", "flow-1")
    assert held.allowed and held.confirm and held.rule_line == 2
    assert "asks to confirm `/mint publish` on `flow-1`" in held.reason
    assert not decide(p, "mint unpublish", "flow-1").confirm


def test_decide_now_says_when_it_needs_a_group_lookup():
    p = policy("rules:\n  - command: '*'\n    usergroups: [S1]\n")
    request = Request("flint run", "x", "U7", "C1")
    assert p.decide_now(request, lambda _group: None) is None
    assert p.decide_now(request, lambda _group: frozenset({"U7"})).allowed
    assert not p.decide_now(request, lambda _group: frozenset()).allowed


def test_may_run_for_help():
    p = policy(
        "rules:\n"
        "  - command: 'flint run'\n    target: 'prod:*'\n    allow: false\n"
        "  - command: 'flint run'\n    users: [U1]\n"
        "  - command: 'flint result'\n    allow: false\n"
        "  - command: '*'\n    users: [U2]\n"
    )

    def known(_group):
        return frozenset()

    assert p.may_run("flint run", "U1", "C1", known)  # on non-prod targets
    assert not p.may_run("flint result", "U1", "C1", known)
    assert not p.may_run("flint result", "U2", "C1", known)  # rule 3 comes first
    assert p.may_run("mint flows", "U2", "C1", known)
    assert not p.may_run("mint flows", "U3", "C1", known)


async def test_user_group_members_are_cached_and_a_failed_lookup_fails_closed():
    now = [0.0]
    calls = []

    async def fetch(group):
        calls.append(group)
        if group == "SBAD":
            raise RuntimeError("missing_scope")
        await asyncio.sleep(0.01)
        return ["U1"]

    members = UsergroupMembers(fetch, ttl=60, failure_ttl=10, clock=lambda: now[0])
    results = await asyncio.gather(*(members.members("S1") for _ in range(5)))
    assert results == [frozenset({"U1"})] * 5 and calls == ["S1"]  # one lookup for five
    assert members.known("S1") == frozenset({"U1"})
    now[0] = 61
    assert members.known("S1") is None
    await members.members("S1")
    assert calls == ["S1", "S1"]
    assert await members.members("SBAD") == frozenset()
    now[0] = 65
    assert await members.members("SBAD") == frozenset() and calls.count("SBAD") == 1
    now[0] = 72
    await members.members("SBAD")
    assert calls.count("SBAD") == 2


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("rules:\n  - command: '*'\n    users: []\n", 3, "`users` is empty"),
        ("rules:\n  - command: '*'\n    channels:\n", 3, "`channels` is empty"),
        ("rules: []\nrules:\n  - command: '*'\n", 2, "a second `rules:`"),
        ("rules:\n  - command: !foo 'x'\n", 2, "`command` must be a non-empty string"),
        ("rules:\n  - command: '*'\n    allow: !!int 'x'\n", 3, "true or false"),
        ("rules:\n  - command: 'flint runn'\n", 2, "matches none of the app's commands"),
        ("rules:\n  - command: 'stintmint *'\n", 2, "matches none of the app's commands"),
    ],
)
def test_more_mistakes_that_must_not_load(text, line, says):
    from handlers import policy_commands

    with pytest.raises(PolicyError) as raised:
        parse_rules(text, "policy.yml", policy_commands())
    assert f"line {line}:" in str(raised.value) and says in str(raised.value)


def test_targets_match_without_regard_to_case():
    p = policy(
        "rules:\n  - command: 'flint run'\n    target: 'prod:*'\n    allow: false\n"
        "  - command: '*'\n"
    )
    assert not decide(p, "flint run", "PROD:deploy.rb").allowed
    assert not decide(p, "flint run", "Prod:deploy.rb").allowed


async def test_a_failed_group_lookup_denies_instead_of_skipping_a_deny_rule():
    """A deny on a group must hold when Slack cannot list the group: fail closed."""
    p = policy(
        "rules:\n  - command: 'flint *'\n    usergroups: [S1]\n    allow: false\n  - command: '*'\n"
    )
    now = [0.0]
    answers = {"ok": True}

    async def fetch(group):
        if not answers["ok"]:
            raise RuntimeError("ratelimited")
        return ["U7"]

    members = UsergroupMembers(fetch, ttl=60, failure_ttl=10, clock=lambda: now[0])
    request = Request("flint run", "demo:a", "U8", "C1")
    answers["ok"] = False
    denied = await p.decide(request, members.members)
    assert not denied.allowed and "could not list" in denied.reason
    assert await p.may_run_with("flint run", "U8", "C1", members.members) is False
    # Once Slack answers, U8 (not a member) is allowed; later failures keep that answer.
    now[0] = 11
    answers["ok"] = True
    assert (await p.decide(request, members.members)).allowed
    now[0] = 100
    answers["ok"] = False
    assert (await p.decide(request, members.members)).allowed  # the last good list
    assert not (await p.decide(Request("flint run", "x", "U7", "C1"), members.members)).allowed


async def test_help_lookups_end_even_when_every_lookup_fails_slowly():
    p = policy("rules:\n  - command: 'flint *'\n    usergroups: [S1, S2]\n  - command: 'mint *'\n")
    calls = []

    async def fetch(group):
        calls.append(group)
        raise RuntimeError("timeout")

    members = UsergroupMembers(fetch, ttl=60, failure_ttl=0)  # every failure expires at once
    assert (
        await asyncio.wait_for(p.may_run_with("flint run", "U1", "C1", members.members), timeout=2)
        is False
    )
    assert len(calls) == 2


COMMANDS = ["flint run", "flint result", "mint publish", "mint unpublish", "mint flows"]


def _warnings(text: str) -> list[str]:
    from bot.policy import moot_restrictions

    return moot_restrictions(parse_rules(text, "p.yml", COMMANDS), COMMANDS, "p.yml")


@pytest.mark.parametrize(
    ("text", "moot_line"),
    [
        # The README's old example: everyone falls through to "*" and may publish.
        ("rules:\n  - command: 'mint publish'\n    users: [U0123]\n  - command: '*'\n", 2),
        ("rules:\n  - command: 'mint *'\n    channels: [C1]\n  - command: 'mint'\n", 2),
        (
            "rules:\n  - command: 'flint run'\n    target: 'prod:*'\n    usergroups: [S1]\n"
            "  - command: 'flint run'\n    target: 'prod:*'\n    users: [U9]\n"
            "  - command: 'flint *'\n",
            2,
        ),
    ],
)
def test_a_restriction_made_moot_by_a_later_rule_is_warned_about(text, moot_line):
    """`chatops check` warns when an allow rule limited to some users/channels is followed
    by a rule allowing everyone the same thing before any rule denies it."""
    warnings = _warnings(text)
    assert any(f"line {moot_line}:" in w and "has no effect" in w for w in warnings), warnings


@pytest.mark.parametrize(
    "text",
    [
        # A deny for everyone else before the catch-all: the restriction holds.
        "rules:\n  - command: 'mint publish'\n    users: [U0123]\n"
        "  - command: 'mint publish'\n    allow: false\n  - command: '*'\n",
        # The later rule covers another target only.
        "rules:\n  - command: 'flint run'\n    target: 'prod:*'\n    users: [U1]\n"
        "  - command: 'flint run'\n    target: 'dev:*'\n",
        # The later rule does not cover every command the first one does.
        "rules:\n  - command: 'mint *'\n    users: [U1]\n  - command: 'mint flows'\n",
        # A deny rule with subjects is not a restriction made moot.
        "rules:\n  - command: 'flint run'\n    users: [U1]\n    allow: false\n  - command: '*'\n",
    ],
)
def test_restrictions_that_hold_are_not_warned_about(text):
    assert _warnings(text) == []


def test_the_readme_example_policy_loads_without_warnings(tmp_path):
    """The README's example policy is loaded exactly as written: it must not let everyone
    do what it means to restrict."""
    from handlers import policy_commands
    from tests.scenario.harness import REPO

    readme = (REPO / "README.md").read_text()
    section = readme.split("## Access policy", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "policy.yml"
    path.write_text(example)
    loaded = Policy.load(str(path), policy_commands())
    assert loaded.rules and loaded.warnings == ()


# -- approvers --------------------------------------------------------------------------

APPROVED_RULE = "rules:\n  - command: 'flint run'\n    target: 'prod:*'\n"


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        (APPROVED_RULE + "    approvers: {user: [U1]}\n", 4, "unknown key `user` in `approvers`"),
        (
            APPROVED_RULE + "    approvers:\n      users: [U1]\n      groups: [S1]\n",
            6,
            "did you mean `usergroups`",
        ),
        (APPROVED_RULE + "    approvers: {users: [alice]}\n", 4, "`approvers.users`: `alice`"),
        (
            APPROVED_RULE + "    approvers:\n      usergroups:\n        - S1\n        - U2\n",
            7,
            "`approvers.usergroups`: `U2` is not a Slack user group id",
        ),
        (APPROVED_RULE + "    approvers: {users: []}\n", 4, "`approvers.users` is empty"),
        (APPROVED_RULE + "    approvers: {}\n", 4, "`approvers` is empty"),
        (APPROVED_RULE + "    approvers: [U1]\n", 4, "`approvers` must be a mapping"),
        (APPROVED_RULE + "    approvers: {users: [U1], users: [U2]}\n", 4, "appears twice"),
        (
            APPROVED_RULE + "    approvers: {users: [U1]}\n    approvals: 0\n",
            5,
            "`approvals` is a whole number, 1 or more, not `0`",
        ),
        (
            APPROVED_RULE + "    approvers: {users: [U1, U2]}\n    approvals: two\n",
            5,
            "whole number",
        ),
        (APPROVED_RULE + "    approvers: {users: [U1]}\n    approvals: yes\n", 5, "whole number"),
        (
            APPROVED_RULE + "    approvers: {users: [U1, U2]}\n    approvals: 3\n",
            5,
            "`approvals: 3` can never be met: `approvers` names only 2 users",
        ),
        (APPROVED_RULE + "    approvals: 2\n", 4, "`approvals: 2` without `approvers`"),
        (
            APPROVED_RULE + "    allow: false\n    approvers: {users: [U1]}\n",
            5,
            "`approvers` on a rule with `allow: false`",
        ),
        (APPROVED_RULE + "    approver: {users: [U1]}\n", 4, "did you mean `approvers`"),
    ],
)
def test_malformed_approvers_name_the_line(text, line, says):
    with pytest.raises(PolicyError) as raised:
        parse_rules(text, "policy.yml")
    message = str(raised.value)
    assert f"policy.yml, line {line}:" in message and says in message, message


def test_approvers_hold_the_request_and_win_over_confirm():
    p = policy(
        APPROVED_RULE + "    confirm: true\n"
        "    approvers: {users: [U0LEAD], usergroups: [S0SRE]}\n    approvals: 2\n"
        "  - command: 'flint run'\n    approvers:\n      users: [U0LEAD]\n"
        "  - command: '*'\n"
    )
    held = decide(p, "flint run", "prod:deploy.rb")
    assert held.allowed and held.rule_line == 2
    assert held.approval is not None
    assert held.approval.users == {"U0LEAD"} and held.approval.usergroups == {"S0SRE"}
    assert held.approval.needed == 2
    # A handler that looked at ``confirm`` first must not let the requester's own click run it.
    assert not held.confirm
    assert "needs 2 approvals before `/flint run` on `prod:deploy.rb` runs" in held.reason
    one = decide(p, "flint run", "demo:hello.rb")
    assert one.approval is not None and one.approval.needed == 1 and one.rule_line == 7
    assert "needs an approval before" in one.reason
    assert decide(p, "flint result", "job-1").approval is None


def test_an_approval_rule_after_a_restriction_does_not_make_it_moot():
    """Leads run freely, everyone else after a lead's approval: the restriction holds."""
    text = (
        "rules:\n  - command: 'flint run'\n    users: [U0LEAD]\n"
        "  - command: 'flint run'\n    approvers: {users: [U0LEAD]}\n"
    )
    assert _warnings(text) == []
    assert policy(text).needs_usergroups is False
    assert policy(text.replace("{users: [U0LEAD]}", "{usergroups: [S1]}")).needs_usergroups
