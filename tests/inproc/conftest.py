"""One in-process world (Slack fake, vendor sandboxes, the app) per module, emptied of the
previous test's records before each test. A module that needs other settings overrides
``shared``; a test that needs its own settings or a pristine sandbox opens ``world(...)``
itself."""

from __future__ import annotations

import pytest

from tests.inproc.harness import World, world


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with world(tmp_path_factory.mktemp("inproc")) as running:
        yield running


@pytest.fixture
def fresh(shared) -> World:
    shared.reset()
    return shared


@pytest.fixture
def slack(fresh):
    return fresh.slack


@pytest.fixture
def sandbox(fresh):
    return fresh.sandbox


@pytest.fixture
def app(fresh):
    return fresh.app
