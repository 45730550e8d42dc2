"""Snapshot tests: what an operator sees, with a fixed clock and a seeded simulated gateway.

The same scenes regenerate the README screenshots (scripts/make_screenshots.py).
"""

from __future__ import annotations

import pytest

from tests.support.scenes import SCENES, Scene


@pytest.fixture(autouse=True)
def _fixed_profiles_dir(profiles_dir):
    """Profiles live in a fixed path so the profiles screen renders the same everywhere."""


@pytest.mark.parametrize("scene", SCENES, ids=[s.name for s in SCENES])
def test_scene(snap_compare, scene: Scene) -> None:
    app = scene.build()
    assert snap_compare(app, terminal_size=scene.size, run_before=scene.run_before)
