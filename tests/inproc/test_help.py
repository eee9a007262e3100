"""Help that teaches, through the app in process (tests/inproc/harness.py): a mistyped
subcommand is answered with the closest one the caller may run, above the usage; the
usage shows examples only of what the policy lets the caller run; and a Stintmint fetch
with a wrong state id says that the state, not the request, is unknown."""

from __future__ import annotations

import json

import pytest

from tests.fakes.slack_api import posted_card, wait_for
from tests.inproc.harness import world
from tests.scenario.harness import blocks_text

ONBOARD = "0b1e1a5e-0000-4000-8000-000000000001"
POLICY = """\
rules:
  - command: "mint flows"
    users: [U1]
  - command: "mint publish"
    users: [U1]
  - command: "mint *"
    users: [U2]
"""


def answer(response) -> str:
    assert response.status_code == 200
    return response.json()["text"] if response.content else ""


@pytest.mark.parametrize(
    ("command", "text", "first_line"),
    [
        (
            "/mint",
            "instanecs 0b1e1a5e-0000-4000-8000-000000000002",
            "Unknown subcommand `instanecs`. Did you mean `instances`?",
        ),
        ("/flint", "rnu demo:hello.rb", "Unknown subcommand `rnu`. Did you mean `run`?"),
        ("/stomt", "lsit", "Unknown subcommand `lsit`. Did you mean `list`?"),
        ("/stint", "FECTH demo order-1", "Unknown subcommand `FECTH`. Did you mean `fetch`?"),
        ("/mindstamp", "sumary week", "Unknown subcommand `sumary`. Did you mean `summary`?"),
    ],
)
def test_a_mistyped_subcommand_suggests_the_closest_above_the_usage(app, command, text, first_line):
    said = answer(app.client.command(text, command=command))
    top, blank, usage = said.split("\n", 2)
    assert top == f":information_source: {first_line}" and blank == ""
    assert usage.startswith("*") and f"`{command} help` — this message" in usage


@pytest.mark.parametrize(
    ("command", "text"),
    [
        ("/mint", "zzz"),  # close to nothing
        ("/mint", "instance"),  # a subcommand, typed with a mistake after it
        ("/flint", "run demo:hello.rb =Ada"),
    ],
)
def test_no_suggestion_where_the_subcommand_is_right_or_nothing_is_close(app, command, text):
    said = answer(app.client.command(text, command=command))
    assert said.startswith(":information_source: ") and "Did you mean" not in said


def test_help_shows_examples_only_of_what_the_caller_may_run(tmp_path):
    """Examples follow the policy like the bullets: of a shared bullet (publish ·
    unpublish), only the example of the subcommand the caller may run; a suggestion
    never names a subcommand the caller may not run."""
    policy = tmp_path / "policy.yml"
    policy.write_text(POLICY)
    with world(tmp_path, chatops_policy=str(policy)) as running:
        client = running.app.client
        mine = answer(client.command("help", command="/mint", user_id="U1"))
        assert "e.g. `/mint flows` · `/mint flows onboard`" in mine
        assert "`/mint publish DEFINITION_ID` · `/mint unpublish DEFINITION_ID`" in mine
        assert "e.g. `/mint publish 0b1e1a5e-0000-4000-8000-000000000003`" in mine
        assert "/mint unpublish 0b1e1a5e" not in mine
        assert ONBOARD not in mine and "/mint execute" not in mine
        everything = answer(client.command("help", command="/mint", user_id="U2"))
        assert f"e.g. `/mint execute {ONBOARD}" in everything
        assert "/mint unpublish 0b1e1a5e" in everything
        typo = answer(client.command("instanecs x", command="/mint", user_id="U1"))
        assert typo.startswith(":information_source: Unknown subcommand `instanecs`.")
        assert "Did you mean" not in typo
        typo = answer(client.command("flwos", command="/mint", user_id="U1"))
        assert "Did you mean `flows`?" in typo


def test_fetch_with_an_unknown_state_id_names_the_state_and_the_valid_ones(app, slack):
    """The request exists, only its state id is wrong: the answer says so, with the state
    ids Stintmint names; a request that does not exist is still said not to exist."""
    app.client.command("post demo order-help note=x", command="/stint")
    wait_for(lambda: "pending" in blocks_text(posted_card(slack)["blocks"]), timeout=10)
    app.client.command("fetch demo order-help somestate", command="/stint")
    app.wait_quiet()
    said = slack.fake.responses[-1]
    assert said["response_type"] == "ephemeral"
    text = said["text"]
    assert text.startswith(
        ":mag: Request `order-help` in StintFlow `demo` exists, but Stintmint knows no state "
        "id `somestate` for it:"
    )
    assert "(it has: check, review)" in text
    assert "`/stint fetch demo order-help` shows the whole request" in text
    app.client.command("fetch demo never-posted somestate", command="/stint")
    wait_for(lambda: "never-posted" in json.dumps(slack.fake.responses[-1]), timeout=10)
    missing = slack.fake.responses[-1]["text"]
    assert missing.startswith(
        ":mag: Stintmint knows no request `never-posted` in StintFlow `demo`:"
    )
    assert "somestate" not in missing.split("\n")[0]
