"""``bifrost-tui sim`` under signals, and its slow-cancel knob for interrupting a cancel run."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bifrost_tui.sim import SimWorld
from bifrost_tui.sim.cli import add_arguments
from bifrost_tui.sim.exchange import SimRequest


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 0), (signal.SIGHUP, 0)]
)
def test_sim_stops_on_a_signal_even_when_started_with_sigint_ignored(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """A shell without job control (``bash -c 'bifrost-tui sim &'``) hands SIGINT down ignored."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BIFROST", "XDG_"))}
    env["XDG_STATE_HOME"] = str(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bifrost_tui", "sim"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ignore_sigint,  # the inherited disposition under test
    )
    assert proc.stdout is not None
    try:
        while "Press Ctrl-C to stop." not in proc.stdout.readline():
            assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        assert proc.wait(timeout=20) == code
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cancel_latency_slows_cancels_only(world: SimWorld) -> None:
    world.faults.cancel_latency = 2.5
    batch = world.batches("anthropic")[0]
    cancel = world.handle(
        SimRequest("POST", f"/anthropic/v1/messages/batches/{batch.id}/cancel", "", {}, b"")
    )
    listing = world.handle(SimRequest("GET", "/anthropic/v1/messages/batches", "", {}, b""))
    assert cancel.status == 200 and cancel.latency == 2.5
    assert listing.status == 200 and listing.latency == 0.0
    # The gateway took the cancel at once: only its answer is late.
    assert [r.op for r in world.requests(op="batch_cancel")] == ["batch_cancel"]


def test_the_sim_command_takes_cancel_latency() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args(["--cancel-latency", "1.5"]).cancel_latency == 1.5
