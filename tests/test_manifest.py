"""Checks for the Slack app manifest (manifest.yml) at the repository root."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from handlers import COMMANDS, SHORTCUTS, VERTICALS
from handlers.common.steps import manifest_functions

# Slash commands the app registers listeners for (handlers.register_listeners).
IMPLEMENTED_COMMANDS = set(COMMANDS)

REPO_ROOT = Path(__file__).resolve().parents[1]
MANIFEST_PATH = REPO_ROOT / "manifest.yml"
# The repository sits beside `shared/`, which holds an offline copy of slackapi/manifest-schema.
SCHEMA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "slack-manifest-schema"
EVENTS_PATH = "/slack/events"


def _load_manifest() -> dict[str, Any]:
    with MANIFEST_PATH.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    assert isinstance(data, dict), "manifest.yml must be a YAML mapping"
    return data


def _iter_refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref
        for value in node.values():
            yield from _iter_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _iter_refs(item)


def _flatten(errors: Iterator[ValidationError]) -> Iterator[ValidationError]:
    for error in errors:
        yield error
        yield from _flatten(iter(error.context or ()))


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return _load_manifest()


@pytest.fixture(scope="module")
def validator() -> Draft7Validator:
    if not SCHEMA_DIR.is_dir():
        pytest.skip(f"Slack manifest schema not found at {SCHEMA_DIR} (expected beside the repo)")
    top = json.loads((SCHEMA_DIR / "manifest.schema.json").read_text(encoding="utf-8"))
    local = {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((SCHEMA_DIR / "schemas").glob("*.json"))
    }
    resources: dict[str, Resource] = {}
    # Every remote $ref in the top-level schema (a raw.githubusercontent.com URL) maps to the
    # local copy with the same file name; no network access is ever attempted.
    for ref in _iter_refs(top):
        uri = ref.split("#", 1)[0]
        if not uri:
            continue
        name = uri.rsplit("/", 1)[-1]
        assert name in local, f"$ref {uri} has no local copy in {SCHEMA_DIR / 'schemas'}"
        resources[uri] = Resource.from_contents(local[name], default_specification=DRAFT7)
    assert resources, "expected the top-level schema to $ref the versioned schemas"
    # Also register each file under any $id it declares.
    for contents in [top, *local.values()]:
        resource = Resource.from_contents(contents, default_specification=DRAFT7)
        if resource.id():
            resources[resource.id()] = resource
    registry = Registry().with_resources(resources.items())
    for uri in resources:
        registry.resolver().lookup(uri)  # raises Unresolvable if the mapping is wrong
    Draft7Validator.check_schema(top)
    return Draft7Validator(top, registry=registry)


def test_manifest_validates_against_slack_schema(
    validator: Draft7Validator, manifest: dict[str, Any]
) -> None:
    """manifest.yml is valid under Slack's top-level manifest schema with refs resolved locally."""
    # The top-level schema is a oneOf over manifest versions, so report the deduplicated leaf
    # errors (the real causes) rather than the opaque "not valid under any of the given schemas".
    leaves = {
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in _flatten(validator.iter_errors(manifest))
        if not e.context
    }
    assert validator.is_valid(manifest), "manifest.yml does not match the Slack schema:\n" + (
        "\n".join(sorted(leaves))
    )


def _drop_command_description(m: dict[str, Any]) -> None:
    del m["features"]["slash_commands"][0]["description"]


def _add_unknown_top_level_key(m: dict[str, Any]) -> None:
    m["not_a_slack_key"] = True


def _drop_interactivity_is_enabled(m: dict[str, Any]) -> None:
    del m["settings"]["interactivity"]["is_enabled"]


def _drop_a_steps_outputs(m: dict[str, Any]) -> None:
    del m["functions"]["flint_run"]["output_parameters"]


@pytest.mark.parametrize(
    ("breaker", "expected"),
    [
        (_drop_command_description, "'description' is a required property"),
        (_add_unknown_top_level_key, "'not_a_slack_key' was unexpected"),
        (_drop_interactivity_is_enabled, "'is_enabled' is a required property"),
        (_drop_a_steps_outputs, "'output_parameters' is a required property"),
    ],
    ids=[
        "slash-command-without-description",
        "unknown-top-level-key",
        "interactivity-no-flag",
        "step-without-outputs",
    ],
)
def test_schema_rejects_broken_manifest(
    validator: Draft7Validator, manifest: dict[str, Any], breaker: Any, expected: str
) -> None:
    """A deliberately broken copy fails for the expected reason, proving the $refs are applied."""
    broken = copy.deepcopy(manifest)
    breaker(broken)
    messages = [e.message for e in _flatten(validator.iter_errors(broken))]
    assert messages, "validator accepted a broken manifest; the versioned schema is not applied"
    assert any(expected in m for m in messages), messages


def test_every_slash_command_has_a_handler(manifest: dict[str, Any]) -> None:
    """The manifest declares exactly the slash commands the app implements."""
    commands = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert commands == IMPLEMENTED_COMMANDS


def test_request_urls_point_at_slack_events(manifest: dict[str, Any]) -> None:
    """Slash-command and interactivity request URLs are HTTPS and end with /slack/events."""
    urls = [c.get("url") for c in manifest["features"]["slash_commands"]]
    urls.append(manifest["settings"]["interactivity"].get("request_url"))
    for url in urls:
        assert isinstance(url, str), f"missing request URL in manifest.yml: {urls}"
        assert url.startswith("https://"), url
        assert url.endswith(EVENTS_PATH), url


def test_every_shortcut_has_a_handler(manifest: dict[str, Any]) -> None:
    """The manifest's shortcuts are exactly the ones the app listens for."""
    declared = {s["callback_id"] for s in manifest["features"].get("shortcuts", [])}
    assert declared == set(SHORTCUTS)


def test_functions_are_the_steps_the_app_serves(manifest: dict[str, Any]) -> None:
    """manifest.yml's functions are exactly what the verticals' Step declarations render
    (inputs, outputs, titles), so the manifest and the listeners cannot drift apart."""
    assert manifest["functions"] == manifest_functions(VERTICALS)
    for function in manifest["functions"].values():
        inputs = function["input_parameters"]
        assert inputs["user_id"]["type"] == "slack#/types/user_id"
        assert inputs["user_id"]["is_required"] is True
        assert "Person who used this workflow" in inputs["user_id"]["description"]
        assert inputs["channel_id"]["type"] == "slack#/types/channel_id"
        assert inputs["channel_id"]["is_required"] is False


def test_steps_are_served_with_their_events(manifest: dict[str, Any]) -> None:
    """Slack sends function_executed (and offers the steps at all) only with these set."""
    settings = manifest["settings"]
    assert "function_executed" in settings["event_subscriptions"]["bot_events"]
    assert settings["function_runtime"] == "remote" and settings["org_deploy_enabled"] is True
    assert set(manifest["functions"]) == {
        "flint_run",
        "stomt_post",
        "mint_execute",
        "stint_post",
        "mindstamp_summary",
    }
