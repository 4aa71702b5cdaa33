"""Clean failures: killed runs are marked failed at the next start, orphaned Prefect servers stopped,
expected failures explained in one Chinese sentence."""
import errno
import os
import subprocess
import sys
import time

import pandas as pd
import pytest
from sqlalchemy import text

from core.config import load_settings
from core.failures import explain
from core.store import open_store
from flows.environment import process_alive, stop_orphaned_servers


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_a_killed_run_is_marked_failed_at_the_next_start_and_its_parent_changes_taken_back(tmp_path):
    store = open_store(load_settings(home=tmp_path))
    killed = store.start_run({"registry": "r", "activities": "a", "pid": _dead_pid(), "host": os.uname().nodename})
    running = store.start_run({"registry": "r", "activities": "a", "pid": os.getpid(), "host": os.uname().nodename})
    changes = pd.DataFrame([{"org_id": "1", "old_parent": "", "new_parent": "2", "reason": "测试", "confidence": 1.0}])
    store.record_parent_changes(killed, changes)
    store.record_parent_changes(running, changes)
    assert store.abandon_dead_runs(process_alive) == [killed]
    status = {r["id"]: r for r in store.recent_runs(5)}
    assert status[killed]["status"] == "failed" and "运行中断" in status[killed]["error"]
    assert status[running]["status"] == "running"
    with store.engine.connect() as c:
        left = dict(c.execute(text("select run_id, count(*) from parent_changes group by run_id")).all())
    assert left == {running: 1}


def test_an_orphaned_temporary_prefect_server_is_stopped_and_a_live_one_kept(tmp_path):
    env = {**os.environ, "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT_HOME": str((tmp_path / "prefect").resolve())}
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    live = subprocess.Popen(sleeper, env=env)  # its parent, this Python, is alive
    # started by a shell that exits at once: the sleeper is handed to init, as after a kill -9 of the run
    out = subprocess.run(["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(60)' >/dev/null 2>&1 & echo $!"],
                         env=env, capture_output=True, text=True)
    orphan = int(out.stdout.strip())
    time.sleep(0.3)
    try:
        assert stop_orphaned_servers(tmp_path) == [orphan]
        for _ in range(50):
            if not process_alive({"pid": orphan}):
                break
            time.sleep(0.1)
        assert not process_alive({"pid": orphan}) and live.poll() is None
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("error, words, code", [
    (OSError(errno.ENOSPC, "No space left on device"), "磁盘已满", 1),
    (RuntimeError("(sqlite3.OperationalError) database is locked"), "被另一个进程锁定", 1),
    (RuntimeError("(sqlite3.OperationalError) attempt to write a readonly database"), "不可写", 1),
    (PermissionError(errno.EACCES, "Permission denied"), "不可写", 1),
])
def test_expected_failures_get_one_chinese_message(error, words, code):
    message, exit_code = explain(error)
    assert words in message and exit_code == code and "Traceback" not in message


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly_on_a_signal(tmp_path, signum):
    import signal
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--home", str(tmp_path), "--port", str(port)],
                            cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except urllib.error.HTTPError:
                break  # answering (503 until a snapshot is published)
            except OSError:
                time.sleep(0.1)
        proc.send_signal(getattr(signal, signum))
        out, errors = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 0 and "Traceback" not in errors, errors[-2000:]


def test_rejected_input_prints_one_chinese_message_and_no_traceback(tmp_path):
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    bad = tmp_path / "registry.csv"
    bad.write_text("组织名称,组织类别\n广州市科协,市级科协\n", encoding="utf-8")
    home = tmp_path / "home"
    done = subprocess.run([sys.executable, "-m", "cli", "nightly", "--home", str(home), "--registry", str(bad)],
                          cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True,
                          timeout=300)
    said = (done.stdout + done.stderr).replace("\n", "")  # rich wraps long lines
    assert done.returncode == 2, said[-3000:]
    assert "输入被拒绝" in said and "缺少必需的列 org_id（现有列：name、category）" in said and "上一次发布的快照仍在提供服务" in said
    assert "Traceback" not in said and "prefect" not in said.lower(), said[-3000:]
    assert "Traceback" in (home / "runs" / "00001" / "error.txt").read_text(encoding="utf-8")
    assert "InputRejected" in (home / "logs" / "orgreg.log").read_text(encoding="utf-8")


def test_schedule_stops_cleanly_on_sigterm_and_leaves_no_server(tmp_path):
    """What systemd or ``docker stop`` does to ``orgreg schedule``: exit 0 within seconds, no traceback or
    warning, and the temporary Prefect server it started is gone."""
    import signal
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    sample = root / "data" / "sample"
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("PREFECT_API_URL", None)  # the test harness's server is not the one schedule would use
    proc = subprocess.Popen([sys.executable, "-m", "cli", "schedule", "--home", str(tmp_path),
                             "--registry", str(sample / "registry.csv"), "--activities", str(sample / "activities.csv")],
                            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    seen = []
    try:
        for line in proc.stdout:  # Prefect's runner says so once it serves the deployment
            seen.append(line)
            if "is being served" in line or "prefect.runner" in line:
                break
        time.sleep(2)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    said = "".join(seen) + out
    assert proc.returncode == 0 and "Traceback" not in said and "RuntimeWarning" not in said, said[-3000:]
    assert "定时已停止" in said
    leftover = subprocess.run(["pgrep", "-f", str(tmp_path)], capture_output=True, text=True).stdout.split()
    assert not [p for p in leftover if int(p) != os.getpid()], leftover
