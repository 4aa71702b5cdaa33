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


def process_alive(inputs: dict) -> bool:
    """Whether the run that recorded ``inputs`` (its ``pid`` and ``host``) still has a process here."""
    import socket

    pid, host = inputs.get("pid"), inputs.get("host")
    if not pid or (host and host != socket.gethostname()):
        return True  # not ours to judge: another machine's run, or one from before pids were kept
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")  # a zombie is gone


def _environ(pid: str) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def _exe(pid: str) -> str:
    try:
        return os.path.realpath(f"/proc/{pid}/exe")
    except OSError:
        return ""


def stop_orphaned_servers(home: Path) -> list[int]:
    """Stop temporary Prefect servers of this state directory whose starting process is gone.

    Prefect starts its temporary server as a child process and stops it at exit; a run killed with -9
    never gets there and the server keeps running for ever. It is recognised by its environment (the
    ephemeral marker and this home's PREFECT_HOME) and a parent that is no longer the Python that started
    it (once that dies the server is handed to init or a container's init).
    Linux only (``/proc``); elsewhere nothing is stopped.
    """
    import signal

    prefect_home = str((Path(home) / "prefect").resolve())
    stopped = []
    for entry in Path("/proc").glob("[0-9]*"):
        env = _environ(entry.name)
        if env.get("PREFECT__SERVER_EPHEMERAL") != "1" or env.get("PREFECT_HOME") != prefect_home:
            continue
        try:
            ppid = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[-1].split()[1]
        except OSError:
            continue
        if _exe(ppid) == _exe(entry.name):
            continue  # started by a Python of this installation that is still running: its run is alive
        try:
            os.kill(int(entry.name), signal.SIGTERM)
            stopped.append(int(entry.name))
        except OSError:
            pass
    return stopped


def ensure_prefect_server(home: Path, port: int = 4200, timeout: int = 90) -> str:
    """A real Prefect server's API URL: the configured one if it answers, else one started for the user.

    Schedules and Dask workers need a real server (an ephemeral one cannot schedule, and every Dask
    worker would start its own). The server is started in the background on PREFECT_HOME and left
    running, so the Prefect UI stays available at the printed address.
    """
    import subprocess
    import sys
    import time

    url = os.environ.get("PREFECT_API_URL", "")
    if url and prefect_answers(url):
        return url
    url = f"http://127.0.0.1:{port}/api"
    if not prefect_answers(url):
        prefect = str(Path(sys.executable).with_name("prefect"))
        subprocess.run([prefect, "server", "start", "--background", "--host", "127.0.0.1", "--port", str(port)],
                       check=True, stdout=subprocess.DEVNULL, env=os.environ.copy())
        deadline = time.monotonic() + timeout
        while not prefect_answers(url):
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prefect 服务器在 {timeout} 秒内没有就绪（{url}）")
            time.sleep(1)
    os.environ["PREFECT_API_URL"] = url
    return url


def prefect_answers(api_url: str) -> bool:
    """Whether a Prefect server answers at ``api_url`` (``http://127.0.0.1:4200/api``)."""
    import urllib.request

    try:
        with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def prefect_ui(port: int = 4200) -> int:
    """Serve the Prefect UI (and API) on this state directory's Prefect home until stopped; exit code.

    Every ``orgreg nightly`` records its flow and task runs, logs and artifacts in that home's database
    even on the temporary server it starts, so a server started on the same home later shows them all.
    """
    import signal
    import subprocess
    import sys

    prefect = str(Path(sys.executable).with_name("prefect"))
    server = subprocess.Popen([prefect, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                              env=os.environ.copy())
    try:
        return server.wait()
    except KeyboardInterrupt:  # Ctrl+C, or SIGTERM turned into it: stop the server the way it likes
        server.send_signal(signal.SIGINT)
        server.wait(timeout=60)
        return 0
