from __future__ import annotations

import pytest

from tests.scenario.harness import running_app, running_sandboxes


@pytest.fixture
def sandbox():
    # Sandbox jobs run 50x faster than the demo durations (hello.rb: ~20 ms).
    with running_sandboxes(speed=0.05) as server:
        yield server


@pytest.fixture
def app(slack, sandbox, tmp_path):
    with running_app(slack, sandbox.url, tmp_path) as running:
        yield running
