"""The package as declared: ``pip install .`` into a clean virtualenv (no requirements file, no dev extras),
then ``orgreg`` end to end from outside the checkout — nightly on a tiny registry, export, status, and
``orgreg serve`` answering until SIGTERM. A dependency missing from ``pyproject.toml`` or a data file left
out of the wheel fails here (as ``itsdangerous`` once did) even though the shared venv hides it.

Minutes long (it installs ~140 packages): only with ``--run-install`` (``.ci/run`` passes it)."""
import os
import shutil
import signal
import socket
import subprocess
import time
import venv

import httpx
import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.review_fixture import write

pytestmark = pytest.mark.install


def source_tree(target):
    """The files a clean clone has (``git ls-files``), so nothing of this checkout's state leaks in."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A clean venv with the package installed from a copy of the tracked files; (bin dir, environment)."""
    base = tmp_path_factory.mktemp("install")
    src = source_tree(base / "src")
    venv.create(base / "venv", with_pip=True)
    bin_dir = base / "venv" / "bin"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "ORGREG_", "PREFECT_", "VIRTUAL_ENV"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    subprocess.run([bin_dir / "python", "-m", "pip", "install", "-q", str(src)], env=env, check=True, timeout=1800)
    return bin_dir, env


def test_pip_install_gives_a_complete_consistent_package(installed):
    bin_dir, env = installed
    check = subprocess.run([bin_dir / "python", "-m", "pip", "check"], env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    # the package is imported from the venv, never from a checkout
    where = subprocess.run([bin_dir / "python", "-c", "import core, serve; print(core.__file__, serve.__file__)"],
                           env=env, cwd=bin_dir, capture_output=True, text=True, check=True).stdout
    assert str(ROOT) not in where and "site-packages" in where


def wait_until_answers(process, url: str, seconds: float = 180) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, process.output()
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_orgreg_runs_end_to_end_from_the_installed_package(installed, tmp_path):
    bin_dir, env = installed
    registry, activities = write(tmp_path / "input")
    home, out = tmp_path / "home", tmp_path / "export"

    def start(*args):
        """A long-running command, its output in a file (a pipe nobody reads would fill and block it)."""
        log = open(tmp_path / f"{args[1]}.log", "w+")
        process = subprocess.Popen(list(map(str, args)), env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        process.output = lambda: (log.seek(0), log.read())[1]
        return process

    def orgreg(*args, timeout=600):
        return subprocess.run([bin_dir / "orgreg", *map(str, args)], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=timeout)

    done = orgreg("nightly", "--registry", registry, "--activities", activities, "--home", home)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "已发布快照" in done.stdout and (home / "runs" / "00001" / "report.html").exists()
    assert orgreg("export", out, "--home", home).returncode == 0
    id_map = pd.read_csv(out / "id_map.csv", dtype=str)
    assert len(id_map) == len(pd.read_csv(registry)) and set(id_map["how"]) == {"same", "auto"}
    assert "v1" in orgreg("status", "--home", home).stdout

    port = free_port()
    server = start(bin_dir / "orgreg", "serve", "--home", home, "--port", port)
    try:
        wait_until_answers(server, f"http://127.0.0.1:{port}/healthz")
        answer = httpx.get(f"http://127.0.0.1:{port}/api/suggest", params={"q": "广州市科协"}, timeout=10).json()
        assert "广州市科学技术协会" in [u["name"] for u in answer["results"]]
        assert httpx.get(f"http://127.0.0.1:{port}/review", follow_redirects=True, timeout=10).status_code == 200
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=10).text  # its assets ship with the package
        assert "/static/docs/swagger-ui-bundle.js" in docs
        assert httpx.get(f"http://127.0.0.1:{port}/static/docs/swagger-ui-bundle.js", timeout=10).status_code == 200
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code == 0, server.output()

    # `orgreg ui`: the Prefect UI on the home's own Prefect database shows the run made above
    port = free_port()
    ui = start(bin_dir / "orgreg", "ui", "--home", home, "--port", port)
    try:
        wait_until_answers(ui, f"http://127.0.0.1:{port}/api/health")
        runs = httpx.post(f"http://127.0.0.1:{port}/api/flow_runs/filter", json={}, timeout=30).json()
        assert [(r["name"] != "", r["state_type"]) for r in runs] == [(True, "COMPLETED")]
        assert "<html" in httpx.get(f"http://127.0.0.1:{port}/", timeout=30).text.lower()
    finally:
        ui.send_signal(signal.SIGTERM)
        code = ui.wait(timeout=90)
    assert code == 0, ui.output()
