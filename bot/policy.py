"""The access policy (``CHATOPS_POLICY``): who may run which command, on what, and where.

A YAML file of rules; the first rule that matches a request decides it. With a policy
file, a request no rule matches is denied; without one, everything is allowed::

    rules:
      - command: "flint run"   # "<command> <subcommand>", globs allowed
        target: "prod:*"       # glob over the request's target; default "*"
        users: [U0123]         # } none of the three: everyone;
        usergroups: [S0456]    # } several: matching any one is enough
        channels: [C0789]      # }
        allow: true            # default true
        confirm: true          # default false: ask for a confirmation click first
        approvers: {users: [U0LEAD], usergroups: [S0SRE]}  # hold until they approve
        approvals: 2           # how many distinct approvers (default 1)

Loading checks everything and raises ``PolicyError`` naming the line at fault, so a
mistyped file stops ``serve`` and ``check`` instead of silently allowing or denying.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import re
import time
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import yaml

log = logging.getLogger(__name__)
T = TypeVar("T")

RULE_KEYS = (
    "command",
    "target",
    "users",
    "usergroups",
    "channels",
    "allow",
    "confirm",
    "approvers",
    "approvals",
)
APPROVER_KEYS = ("users", "usergroups")
_IDS = {
    "users": (re.compile(r"[UW][A-Z0-9]+"), "a Slack user id (U…)"),
    "usergroups": (re.compile(r"S[A-Z0-9]+"), "a Slack user group id (S…)"),
    "channels": (re.compile(r"[CGD][A-Z0-9]+"), "a Slack channel id (C…, G… or D…)"),
}
_COMMAND = re.compile(r"[a-z0-9*?\[\]!_-]+( [a-z0-9*?\[\]!_-]+)?")


class PolicyError(ValueError):
    """The policy file cannot be used; ``str()`` names the file and the line."""


# Makes the error for a line of the policy file: (line, problem) → PolicyError.
_Fail = Callable[[int, str], PolicyError]


@dataclass(frozen=True)
class Rule:
    line: int
    command: str = "*"
    target: str = "*"
    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    allow: bool = True
    confirm: bool = False
    approval: Approvers | None = None

    @property
    def everyone(self) -> bool:
        return not (self.users or self.usergroups or self.channels)

    def matches_command(self, command: str) -> bool:
        return fnmatch.fnmatchcase(command, self.command) or (
            # "flint" alone covers every /flint subcommand
            " " not in self.command and fnmatch.fnmatchcase(command.split(" ")[0], self.command)
        )

    def matches_target(self, target: str) -> bool:
        # Case-insensitive: vendors treat ids (GUIDs, slugs) without regard to case, so a
        # rule on "prod:*" must not be side-stepped by typing "PROD:…".
        return fnmatch.fnmatchcase(target.lower(), self.target.lower())


@dataclass(frozen=True)
class Request:
    command: str  # "flint run": the slash command without "/", and the subcommand
    target: str  # BOX:BIT, flow id, sfId, stomt id …; "" when the command has none
    user_id: str
    channel_id: str


@dataclass(frozen=True)
class Approvers:
    """Who may approve a request held by a rule with ``approvers``, and how many of them
    (distinct, never the requester) must approve before it runs."""

    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    needed: int = 1


@dataclass(frozen=True)
class Decision:
    allowed: bool
    confirm: bool
    reason: str  # for the caller: why, in a sentence
    rule_line: int | None  # None: no rule matched (or no policy)
    # Set when the matching rule names approvers: the request is held until they approve.
    approval: Approvers | None = None


ALLOW_ALL = Decision(True, False, "no access policy is set", None)


class _LookupFailed(frozenset):
    """Members of a user group Slack could not tell us: neither "in" nor "not in"."""


LOOKUP_FAILED: frozenset[str] = _LookupFailed()

# Who belongs to a user group; the wiring gives one backed by Slack's usergroups.users.list.
Members = Callable[[str], Awaitable[frozenset[str]]]


class Policy:
    def __init__(
        self, rules: Iterable[Rule], *, source: str | None, warnings: Iterable[str] = ()
    ) -> None:
        self.rules = tuple(rules)
        self.source = source  # None: no policy file, everything allowed
        # Rules that load but surely do not do what their author meant (chatops check).
        self.warnings = tuple(warnings)

    @classmethod
    def allow_all(cls) -> Policy:
        return cls((), source=None)

    @classmethod
    def load(cls, path: str | None, commands: Collection[str] | None = None) -> Policy:
        """The policy in ``path`` (none: allow everything). ``commands`` lists every
        "<command> <subcommand>" the app has, so a rule naming none of them is an error."""
        if not path:
            return cls.allow_all()
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PolicyError(f"CHATOPS_POLICY {path}: cannot read it ({exc.strerror})") from exc
        except UnicodeDecodeError as exc:
            raise PolicyError(f"CHATOPS_POLICY {path}: not UTF-8 text") from exc
        rules = parse_rules(text, path, commands)
        return cls(rules, source=path, warnings=moot_restrictions(rules, commands or (), path))

    @property
    def enforced(self) -> bool:
        return self.source is not None

    @property
    def needs_usergroups(self) -> bool:
        return any(rule_usergroups(rule) for rule in self.rules)

    def decide_now(
        self, request: Request, known_groups: Callable[[str], frozenset[str] | None]
    ) -> Decision | None:
        """The decision, or None when it needs a user group nobody has looked up yet."""
        if not self.enforced:
            return ALLOW_ALL
        for rule in self.rules:
            if not (rule.matches_command(request.command) and rule.matches_target(request.target)):
                continue
            who = _subject_matches(rule, request, known_groups)
            if who is None:
                return None
            if isinstance(who, str):  # the group that could not be looked up
                # Fail closed: this rule might deny (or be the only allow) for this user.
                return Decision(
                    False,
                    False,
                    f"the rule at line {rule.line} of the access policy depends on user "
                    f"group {who}, which Slack could not list just now; try again shortly",
                    rule.line,
                )
            if who:
                return self._decided(rule, request)
        return Decision(
            False,
            False,
            f"no rule of the access policy allows `/{request.command}`"
            + (f" on `{request.target}`" if request.target else ""),
            None,
        )

    async def decide(self, request: Request, members: Members) -> Decision:
        """``decide_now``, looking up the user groups it needs (each once per call)."""
        return await _with_groups(lambda known: self.decide_now(request, known), members)

    async def may_run_with(
        self, command: str, user_id: str, channel_id: str, members: Members
    ) -> bool:
        """``may_run``, looking up the user groups it needs (each once per call)."""
        return await _with_groups(
            lambda known: self.may_run(command, user_id, channel_id, known), members
        )

    def may_run(
        self,
        command: str,
        user_id: str,
        channel_id: str,
        known_groups: Callable[[str], frozenset[str] | None],
    ) -> bool | None:
        """Whether the user may run ``command`` here on at least some target (for help).
        None when that depends on a user group not looked up yet."""
        if not self.enforced:
            return True
        request = Request(command, "", user_id, channel_id)
        for rule in self.rules:
            if not rule.matches_command(command):
                continue
            who = _subject_matches(rule, request, known_groups)
            if who is None:
                return None
            if isinstance(who, str):
                return False  # cannot tell: not offered in help (running it is denied too)
            if not who:
                continue
            if rule.allow:
                return True
            if rule.target == "*":
                return False  # denied on every target
        return False

    def _decided(self, rule: Rule, request: Request) -> Decision:
        what = f"`/{request.command}`" + (f" on `{request.target}`" if request.target else "")
        where = f"rule at line {rule.line} of the access policy"
        if not rule.allow:
            return Decision(False, False, f"the {where} denies {what}", rule.line)
        if rule.approval is not None:
            # Approval wins over confirm: a handler that looked at ``confirm`` first must
            # not be able to run it after the requester's own click.
            needed = rule.approval.needed
            approvals = "an approval" if needed == 1 else f"{needed} approvals"
            return Decision(
                True,
                False,
                f"the {where} needs {approvals} before {what} runs",
                rule.line,
                approval=rule.approval,
            )
        if rule.confirm:
            return Decision(True, True, f"the {where} asks to confirm {what}", rule.line)
        return Decision(True, False, f"the {where} allows {what}", rule.line)


def rule_usergroups(rule: Rule) -> frozenset[str]:
    """Every user group ``rule`` names, as subjects or as approvers."""
    approvers = rule.approval.usergroups if rule.approval is not None else frozenset()
    return rule.usergroups | approvers


async def _with_groups(
    ask: Callable[[Callable[[str], frozenset[str] | None]], T | None], members: Members
) -> T:
    """Ask until there is an answer, looking up the groups the last try found missing."""
    cache: dict[str, frozenset[str]] = {}
    missing: list[str] = []

    def known(group: str) -> frozenset[str] | None:
        found = cache.get(group)
        if found is None:
            missing.append(group)
        return found

    while True:
        missing.clear()
        answer = ask(known)
        if answer is not None:
            return answer
        for group in dict.fromkeys(missing):
            cache[group] = await members(group)


def _subject_matches(
    rule: Rule, request: Request, known_groups: Callable[[str], frozenset[str] | None]
) -> bool | str | None:
    """True/False; None when a group still has to be looked up; the group's id when its
    lookup failed (so it is not known whether the rule applies)."""
    if rule.everyone or request.user_id in rule.users or request.channel_id in rule.channels:
        return True
    unknown = False
    failed = None
    for group in sorted(rule.usergroups):
        members = known_groups(group)
        if members is None:
            unknown = True
        elif isinstance(members, _LookupFailed):
            failed = failed or group
        elif request.user_id in members:
            return True
    if unknown:
        return None
    return failed or False


class UsergroupMembers:
    """Members of Slack user groups, looked up through ``fetch`` and cached briefly.

    A lookup that fails gives the last members known for the group if there were any,
    else ``LOOKUP_FAILED`` (a rule that depends on it then denies: fail closed); it is
    tried again after a short while rather than at every request.
    """

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[Iterable[str]]],
        *,
        ttl: float = 60.0,
        failure_ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def known(self, group: str) -> frozenset[str] | None:
        cached = self._cache.get(group)
        if cached is None or cached[0] < self._clock():
            return None
        return cached[1]

    async def members(self, group: str) -> frozenset[str]:
        found = self.known(group)
        if found is not None:
            return found
        lock = self._locks.setdefault(group, asyncio.Lock())
        async with lock:  # one lookup per group however many requests wait for it
            found = self.known(group)
            if found is not None:
                return found
            try:
                found = frozenset(await self._fetch(group))
                expires = self._clock() + self._ttl
            except Exception as exc:
                log.warning("could not look up the members of user group %s: %s", group, exc)
                previous = self._cache.get(group)
                if previous is not None and not isinstance(previous[1], _LookupFailed):
                    found = previous[1]
                else:
                    found = LOOKUP_FAILED
                expires = self._clock() + self._failure_ttl
            self._cache[group] = (expires, found)
            return found


# --- loading -------------------------------------------------------------------------


def moot_restrictions(rules: Sequence[Rule], commands: Collection[str], source: str) -> list[str]:
    """Warnings for allow rules that name who or where, followed by a rule that allows
    everyone the same commands and targets before anything denies them: whoever the first
    rule leaves out falls through to the second and is allowed anyway.

    (The README's own example once had ``mint publish users: [U0123ABCD]`` followed by
    ``command: "*"``, which lets everyone publish.)"""
    warnings = []
    for index, rule in enumerate(rules):
        if not rule.allow or rule.everyone:
            continue
        covered = [c for c in commands if rule.matches_command(c)] or [rule.command]
        for later in rules[index + 1 :]:
            if not later.everyone or not _covers(later, covered, rule.target):
                continue
            if later.allow and later.approval is None:
                warnings.append(
                    f"CHATOPS_POLICY {source}, line {rule.line}: this rule limits who may run "
                    f"`{rule.command}`, but the rule at line {later.line} lets everyone run "
                    f"it, so the limit has no effect. Add a rule denying everyone else "
                    f'right after it (`- command: "{rule.command}"`'
                    + (f', `target: "{rule.target}"`' if rule.target != "*" else "")
                    + ", `allow: false`)."
                )
            break
    return warnings


def _covers(rule: Rule, commands: Iterable[str], target: str) -> bool:
    """Whether ``rule`` matches every one of ``commands`` on every target ``target`` does."""
    same_target = rule.target == "*" or rule.target.lower() == target.lower()
    return same_target and all(rule.matches_command(c) for c in commands)


def parse_rules(text: str, source: str, commands: Collection[str] | None = None) -> list[Rule]:
    """Every rule in ``text``; raises PolicyError naming ``source`` and the line."""

    def fail(line: int, problem: str) -> PolicyError:
        return PolicyError(f"CHATOPS_POLICY {source}, line {line}: {problem}")

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise fail(line, f"not valid YAML ({exc.problem or exc.context})") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"CHATOPS_POLICY {source}: not valid YAML ({exc})") from None
    if root is None:
        raise fail(1, "the file is empty; it needs a `rules:` list")
    if not isinstance(root, yaml.MappingNode):
        raise fail(_line(root), "the file must be a mapping with a `rules:` list")
    rules_node = None
    for key, value in root.value:
        name = _scalar(key)
        if name != "rules":
            raise fail(_line(key), f"unknown key `{name}`; the file has only `rules:`")
        if rules_node is not None:
            raise fail(_line(key), "a second `rules:`; put every rule in one list")
        rules_node = value
    if rules_node is None:
        raise fail(_line(root), "no `rules:` list")
    if _is_null(rules_node):
        return []
    if not isinstance(rules_node, yaml.SequenceNode):
        raise fail(_line(rules_node), "`rules:` must be a list of rules (lines starting `- `)")
    rules = [_rule(node, fail) for node in rules_node.value]
    if commands:
        known = sorted(commands)
        for rule in rules:
            if not any(rule.matches_command(c) for c in known):
                raise fail(
                    rule.line,
                    f'`command: "{rule.command}"` matches none of the app\'s commands '
                    f"({', '.join(known)})",
                )
    return rules


def _rule(node, fail: _Fail) -> Rule:
    if not isinstance(node, yaml.MappingNode):
        raise fail(_line(node), 'a rule must be a mapping such as `- command: "flint run"`')
    texts: dict[str, str] = {}
    flags: dict[str, bool] = {}
    ids: dict[str, frozenset[str]] = {}
    keys: dict[str, yaml.Node] = {}
    approvers: Approvers | None = None
    needed: int | None = None
    for key, value in node.value:
        name = _scalar(key)
        if name not in RULE_KEYS:
            close = [k for k in RULE_KEYS if _similar(k, name)]
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise fail(_line(key), f"unknown key `{name}`{hint}; a rule has {', '.join(RULE_KEYS)}")
        if name in keys:
            raise fail(_line(key), f"`{name}` appears twice in this rule")
        keys[name] = key
        if name in ("allow", "confirm"):
            flags[name] = _flag(name, value, fail)
        elif name in ("command", "target"):
            texts[name] = _text(name, value, fail)
        elif name == "approvers":
            approvers = _approvers(value, fail)
        elif name == "approvals":
            needed = _count(name, value, fail)
        else:
            ids[name] = _ids(name, value, fail)
    if "command" not in texts:
        raise fail(_line(node), 'a rule needs `command:` (e.g. "flint run", "flint *" or "*")')
    allow = flags.get("allow", Rule.allow)
    confirm = flags.get("confirm", Rule.confirm)
    if confirm and not allow:
        raise fail(_line(node), "`confirm: true` on a rule with `allow: false` means nothing")
    if approvers is not None and not allow:
        raise fail(
            _line(keys["approvers"]), "`approvers` on a rule with `allow: false` means nothing"
        )
    if needed is not None:
        if approvers is None:
            raise fail(
                _line(keys["approvals"]),
                f"`approvals: {needed}` without `approvers` means nothing; name who may approve",
            )
        if not approvers.usergroups and needed > len(approvers.users):
            raise fail(
                _line(keys["approvals"]),
                f"`approvals: {needed}` can never be met: `approvers` names only "
                f"{len(approvers.users)} user{'s' if len(approvers.users) != 1 else ''} "
                "and no user group",
            )
        approvers = Approvers(approvers.users, approvers.usergroups, needed)
    return Rule(
        line=_line(node),
        command=texts["command"],
        target=texts.get("target", Rule.target),
        users=ids.get("users", Rule.users),
        usergroups=ids.get("usergroups", Rule.usergroups),
        channels=ids.get("channels", Rule.channels),
        allow=allow,
        confirm=confirm,
        approval=approvers,
    )


def _approvers(node, fail: _Fail) -> Approvers:
    """``approvers: {users: [...], usergroups: [...]}``: at least one of the two."""
    example = "such as `{users: [U0123], usergroups: [S0456]}`"
    if _is_null(node):
        raise fail(_line(node), f"`approvers` is empty; name who may approve, {example}")
    if not isinstance(node, yaml.MappingNode):
        raise fail(_line(node), f"`approvers` must be a mapping {example}, not {_shown(node)}")
    found: dict[str, frozenset[str]] = {}
    for key, value in node.value:
        name = _scalar(key)
        if name not in APPROVER_KEYS:
            close = [k for k in APPROVER_KEYS if _similar(k, name)]
            hint = f" (did you mean `{close[0]}`?)" if close else ""
            raise fail(
                _line(key), f"unknown key `{name}` in `approvers`{hint}; it has users, usergroups"
            )
        if name in found:
            raise fail(_line(key), f"`{name}` appears twice in `approvers`")
        found[name] = _ids(name, value, fail, label=f"approvers.{name}")
    if not found:
        raise fail(_line(node), f"`approvers` is empty; name who may approve, {example}")
    return Approvers(found.get("users", frozenset()), found.get("usergroups", frozenset()))


def _count(name: str, node, fail: _Fail) -> int:
    value = _value(node)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise fail(_line(node), f"`{name}` is a whole number, 1 or more, not {_shown(node)}")
    return value


def _flag(name: str, node, fail: _Fail) -> bool:
    value = _value(node)
    if not isinstance(value, bool):
        raise fail(_line(node), f"`{name}` is true or false, not {_shown(node)}")
    return value


def _text(name: str, node, fail: _Fail) -> str:
    value = _value(node)
    if not isinstance(value, str) or not value.strip():
        raise fail(_line(node), f"`{name}` must be a non-empty string (quote it)")
    value = " ".join(value.split())
    if name == "command":
        value = value.lstrip("/").lower()
        if not _COMMAND.fullmatch(value):
            raise fail(
                _line(node),
                f'`command: "{value}"` is not "<command> <subcommand>" '
                '(e.g. "flint run", "mint *", "*")',
            )
    return value


def _ids(name: str, node, fail: _Fail, *, label: str | None = None) -> frozenset[str]:
    """users / usergroups / channels: a list of ids (a single id is accepted too).
    ``label`` is how errors name the key (``approvers.users``); default ``name``."""
    label = label or name
    items = node.value if isinstance(node, yaml.SequenceNode) else [node]
    if not items or (len(items) == 1 and _is_null(items[0])):
        if label != name:
            raise fail(_line(node), f"`{label}` is empty; list ids, or leave it out")
        raise fail(
            _line(node),
            f"`{name}` is empty; leave it out to match everyone, or list ids (a rule "
            "for nobody is better deleted)",
        )
    pattern, what = _IDS[name]
    ids = []
    for item in items:
        value = _value(item)
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise fail(_line(item), f"`{label}`: {_shown(item)} is not {what}")
        ids.append(value)
    return frozenset(ids)


def _line(node) -> int:
    return node.start_mark.line + 1


def _scalar(node) -> str:
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "?"


def _is_null(node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _value(node):
    if not isinstance(node, yaml.ScalarNode):
        return node  # a list or mapping where a single value belongs: the caller says so
    try:
        return yaml.SafeLoader("").construct_object(node)
    except (yaml.YAMLError, ValueError, TypeError):
        return node  # e.g. an unknown !tag: reported by the caller as a wrong value


def _shown(node) -> str:
    if isinstance(node, yaml.ScalarNode):
        return f"`{node.value[:40]}`"
    return "a list" if isinstance(node, yaml.SequenceNode) else "a mapping"


def _similar(a: str, b: str) -> bool:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b.lower()).ratio() >= 0.7
