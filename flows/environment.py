"""Prefect's environment, set before prefect is imported (it reads its settings at import time)."""
from __future__ import annotations

import os
from pathlib import Path


def configure_prefect(home: Path) -> None:
    """Project-local PREFECT_HOME under the state directory, no telemetry, a patient ephemeral start."""
    prefect_home = (Path(home) / "prefect").resolve()
    prefect_home.mkdir(parents=True, exist_ok=True)  # prefect does not create missing parents
    os.environ.setdefault("PREFECT_HOME", str(prefect_home))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_TASKS_DEFAULT_NO_CACHE", "true")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("MPLBACKEND", "Agg")
