"""Regenerate the SVG screenshots in screenshots/ (the README shows them) from the test scenes.

The scenes are the snapshot tests' own (tests/support/scenes.py): a fixed clock and a seeded
simulated gateway, so the README shows exactly what the tests check.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"
sys.path.insert(0, str(ROOT))

for name in ("NO_COLOR", "TEXTUAL_THEME", "BIFROST_VK", "BIFROST_URL", "BIFROST_PROFILE"):
    os.environ.pop(name, None)
os.environ["TZ"] = "UTC"
time.tzset()

from tests.support.scenes import SCENES, Scene, use_profiles_dir  # noqa: E402


async def shoot(scene: Scene) -> Path:
    app = scene.build()
    async with app.run_test(size=scene.size) as pilot:
        await scene.run_before(pilot)
        path = OUT / f"{scene.name}.svg"
        path.write_text(app.export_screenshot(title="bifrost-tui"), encoding="utf-8")
    return path


def main() -> int:
    OUT.mkdir(exist_ok=True)
    profiles = use_profiles_dir(lambda k, v: os.environ.__setitem__(k, v))
    next(profiles)
    try:
        for scene in SCENES:
            svg = asyncio.run(shoot(scene))
            print(f"wrote {svg.relative_to(ROOT)}")
    finally:
        profiles.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
