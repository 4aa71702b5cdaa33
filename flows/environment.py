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


def ensure_prefect_server(home: Path, port: int = 4200, timeout: int = 90) -> str:
    """A real Prefect server's API URL: the configured one if it answers, else one started for the user.

    Schedules and Dask workers need a real server (an ephemeral one cannot schedule, and every Dask
    worker would start its own). The server is started in the background on PREFECT_HOME and left
    running, so the Prefect UI stays available at the printed address.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    def healthy(url: str) -> bool:
        try:
            with urllib.request.urlopen(url.rstrip("/") + "/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    url = os.environ.get("PREFECT_API_URL", "")
    if url and healthy(url):
        return url
    url = f"http://127.0.0.1:{port}/api"
    if not healthy(url):
        prefect = str(Path(sys.executable).with_name("prefect"))
        subprocess.run([prefect, "server", "start", "--background", "--host", "127.0.0.1", "--port", str(port)],
                       check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
        deadline = time.monotonic() + timeout
        while not healthy(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prefect 服务器在 {timeout} 秒内没有就绪（{url}）")
            time.sleep(1)
    os.environ["PREFECT_API_URL"] = url
    return url
