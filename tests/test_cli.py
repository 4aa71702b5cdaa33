"""The commands' exit codes and messages, through typer's CliRunner (0 done, 1 failed, 2 bad input or
usage). ``nightly`` runs Prefect: tests/flows/test_cli_nightly.py; ``orgreg review …`` (signed in, its
own codes 3 and 4): tests/test_review_cli.py; ``serve``: the clean-install check of .ci/run."""
import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from tests.review_fixture import REGISTRY, publish

runner = CliRunner()


def orgreg(*args, input=None):
    """Run one command; returns (exit code, stdout, stderr), without whitespace: rich wraps lines at the
    terminal's width."""
    result = runner.invoke(app, [str(a) for a in args], input=input)
    return result.exit_code, "".join(result.stdout.split()), "".join(result.stderr.split())


@pytest.fixture
def home(tmp_path):
    """A state directory with one snapshot of the review fixture published, and a reviewer."""
    publish(tmp_path)
    assert orgreg("user", "add", "rev", "--role", "reviewer", "--password-stdin", "--home", tmp_path,
                  input="审核-river-tea-41\n")[0] == 0
    return tmp_path


def test_help_and_no_arguments():
    code, out, _ = orgreg("--help")
    assert code == 0 and "nightly" in out and "export" in out and "review" in out
    code, _, _ = orgreg()  # no_args_is_help: usage, which click ends with 2
    assert code == 2
    code, _, err = orgreg("nosuchcommand")
    assert code == 2 and "nosuchcommand" in err


def test_export_writes_the_contract_files_or_says_nothing_is_published(home, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    code, stdout, _ = orgreg("export", out, "--home", home)
    assert code == 0 and "已写出" in stdout and "导出快照v1" in stdout and "14/14" in stdout  # the progress bar
    # the four contract files, the ids that left the registry (core/lineage.py), the activities' hosts
    # linked to units and the names no unit has (dedupe/linking.py, hierarchy/missing.py)
    assert sorted(p.name for p in out.iterdir()) == ["activity_hosts.csv", "activity_visibility.csv", "id_map.csv",
                                                     "merge_suggestions.csv", "missing_units.csv",
                                                     "organizations.csv", "retired_ids.csv"]
    assert len(pd.read_csv(out / "id_map.csv", dtype=str)) == len(REGISTRY)
    empty = tmp_path_factory.mktemp("empty-home")
    code, _, err = orgreg("export", out, "--home", empty)
    assert code == 1 and "还没有发布过快照" in err and "orgregnightly" in err


def test_status_shows_the_live_snapshot(home, tmp_path_factory):
    code, out, _ = orgreg("status", "--home", home)
    assert code == 0 and "当前状态：v1（第1代）=夜间快照v1" in out and "磁盘占用" in out and "当前状态的来历" in out
    code, out, _ = orgreg("status", "--home", tmp_path_factory.mktemp("empty-home"))
    assert code == 0 and "尚未发布" in out


def test_publish_needs_an_action_and_a_snapshot_to_go_back_to(home):
    code, _, err = orgreg("publish", "--home", home)
    assert code == 2 and "--rollback" in err
    code, _, err = orgreg("publish", "--rollback", "--home", home)
    assert code == 1 and "之前没有可回退的快照" in err
    publish(home)  # a second nightly result: v2
    code, out, _ = orgreg("publish", "--rollback", "--home", home)
    assert code == 0 and "已回退到夜间快照v1" in out


def test_rollback_keeps_the_decisions_made_since(home):
    from core.config import load_settings
    from core.store import open_store
    from serve.desk import Desk

    store = open_store(load_settings(home=home))
    publish(home)  # the second nightly: v2
    Desk(store).merge(["g1", "g2"], {"name": "rev", "role": "reviewer"}, "g1")
    assert store.live_state().label == "v2+1"
    code, out, _ = orgreg("publish", "--rollback", "--home", home)
    assert code == 0 and "已回退到夜间快照v1" in out and "1个审核操作叠加在其上" in out
    ids = store.live_snapshot().frame("id_map").set_index("source_org_id")["canonical_org_id"]
    assert store.live_state().label == "v1+1" and ids["g2"] == "g1"  # the merge is still live
    code, out, _ = orgreg("status", "--home", home)
    assert "rollbackfromv2" in out and "v1+1" in out


def test_user_add_and_token(home):
    code, _, err = orgreg("user", "add", "x", "--role", "boss", "--password-stdin", "--home", home,
                          input="审核-river-tea-41\n")
    assert code == 2 and err.strip()
    code, out, _ = orgreg("user", "token", "rev", "--home", home)
    assert code == 0 and len(out.strip()) >= 20
    code, _, err = orgreg("user", "token", "nobody", "--home", home)
    assert code == 2 and "nobody" in err


def test_a_missing_argument_is_a_usage_error(home):
    code, _, err = orgreg("user", "token", "--home", home)  # no name
    assert code == 2 and "Missingargument'name'" in err
    code, _, err = orgreg("export", "--home", home)  # no folder
    assert code == 2 and "Missingargument'outdir'" in err


def test_ui_uses_a_prefect_server_that_already_answers(tmp_path):
    """(Starting one is checked end to end in the clean-install test: tests/test_install.py.)"""
    import http.server
    import threading

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/api/health" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        code, out, _ = orgreg("ui", "--port", port, "--home", tmp_path)
        assert code == 0 and f"Prefect界面已在运行：http://127.0.0.1:{port}" in out
    finally:
        server.shutdown()


def test_ui_says_when_the_server_cannot_start(tmp_path, monkeypatch):
    monkeypatch.setattr("flows.environment.prefect_ui", lambda port: 1)
    code, _, err = orgreg("ui", "--port", 9, "--home", tmp_path)
    assert code == 1 and "Prefect界面没有启动" in err and "--port" in err


def test_serve_refuses_a_live_snapshot_that_lost_a_file_and_says_how_to_recover(home):
    from core.config import load_settings
    from core.store import open_store

    snap = open_store(load_settings(home=home)).live_snapshot()
    (snap.path / "rollup.parquet").unlink()  # removed by hand, or a disk that lost it
    code, _, err = orgreg("serve", "--home", home, "--port", "1")
    assert code == 2 and "缺少rollup.parquet" in err and "orgregpublish--rollback" in err


def test_the_service_starts_without_an_unreadable_snapshot_and_answers_503(home):
    from fastapi.testclient import TestClient

    from core.config import load_settings
    from core.store import open_store
    from serve.app import create_app

    settings = load_settings(home=home)
    snap = open_store(settings).live_snapshot()
    (snap.path / "records.parquet").write_bytes(b"not parquet")
    with TestClient(create_app(settings)) as client:
        answer = client.get("/api/suggest", params={"q": "广州"})
    assert answer.status_code == 503 and "快照" in answer.json()["detail"]


def test_an_unreadable_snapshot_is_tried_once_per_live_state_and_the_next_one_loads(home, monkeypatch):
    import serve.state
    from core.config import load_settings
    from core.store import open_store

    store = open_store(load_settings(home=home))
    (store.live_snapshot().path / "records.parquet").write_bytes(b"not parquet")
    loads = []
    real = serve.state.load
    monkeypatch.setattr(serve.state, "load", lambda *a: loads.append(1) or real(*a))
    holder = serve.state.SnapshotHolder(store)
    holder.first_load()  # said in the log; the service starts without a snapshot
    assert holder.current is None and holder.refresh() is False and len(loads) == 1
    publish(home)  # the next nightly
    assert holder.refresh() is True and holder.current.version == 2 and len(loads) == 2
