"""The machine a run is judged on: cores, CPU model, memory, OS, Python, Textual, load."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version
from pathlib import Path


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def describe() -> dict[str, str]:
    cpuinfo = _read("/proc/cpuinfo")
    models = [
        ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")
    ]
    meminfo = {
        ln.split(":")[0]: ln.split(":")[1].strip()
        for ln in _read("/proc/meminfo").splitlines()
        if ":" in ln
    }
    total_kib = int(meminfo.get("MemTotal", "0 kB").split()[0] or 0)
    os_release = dict(ln.split("=", 1) for ln in _read("/etc/os-release").splitlines() if "=" in ln)
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return {
        "CPU": models[0] if models else platform.processor() or platform.machine(),
        "Cores (nproc)": str(usable),
        "RAM": f"{total_kib / 1024 / 1024:.1f} GiB" if total_kib else "?",
        "OS": os_release.get("PRETTY_NAME", "").strip('"') or platform.platform(),
        "Kernel": platform.release(),
        "Python": platform.python_version(),
        "Textual": version("textual"),
        "Load average at start (1/5/15 min)": load,
    }
