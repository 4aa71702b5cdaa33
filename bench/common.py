"""Shared pieces of the benchmark commands: cached generated inputs and peak memory."""
from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
# the repository before bench/ itself, whose hierarchy.py would otherwise hide the hierarchy package
if str(ROOT) in sys.path:
    sys.path.remove(str(ROOT))
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    """A TCP port nobody listens on now (a fixed one clashes with a service already running)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB."""
    from core.memory import resident_mb

    return resident_mb()[1]


def generated(records: int, seed: int = 7) -> Path:
    """A generated registry of about ``records`` rows (cached under bench/out/)."""
    from bench.synthetic import generate, write

    folder = OUT / f"gen-{records}-{seed}"
    if not (folder / "registry.csv").exists():
        start = time.perf_counter()
        # about 1.175 records per unit at the default duplicate share
        write(generate(int(records / 1.175), seed=seed), folder)
        print(f"generated {folder} in {time.perf_counter() - start:.0f}s", flush=True)
    return folder
