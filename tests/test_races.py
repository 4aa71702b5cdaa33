"""Several processes on one home at once: no decision lost, no nightly result lost, the home usable after.
Each test runs on SQLite and on PostgreSQL (``db_url``); the processes are real ones (the CLI, the
service, plain Python), as in production."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import httpx
import pandas as pd
import pytest

from tests.conftest import ROOT
from tests.review_fixture import LONG_QUEUE, write

ORGREG = [sys.executable, "-c", "import cli; cli.main()"]


def env(db_url: str) -> dict:
    return dict(os.environ, PYTHONPATH=str(ROOT), ORGREG_DATABASE_URL=db_url, PREFECT_SERVER_ANALYTICS_ENABLED="false",
                DO_NOT_TRACK="1")


def published(home, db_url, registry=None, activities=None):
    """A home whose first snapshot is published by the in-process pipeline (fast); returns its store."""
    from core.config import load_settings
    from core.store import open_store
    from flows.pipeline import read_inputs, run_pipeline

    settings = load_settings(home=home, database_url=db_url)
    if registry is None:
        registry, activities = write(home / "input")
    store = open_store(settings)
    store.publish(run_pipeline(read_inputs(registry, activities), None, settings).frames, None, {})
    return settings, store


def reviewer(store, name: str) -> str:
    """A reviewer account and its API token (the terminal and the API sign in with it)."""
    from serve.auth import add_user, new_token

    add_user(store, name, "reviewer", "审核-river-tea-41")
    return new_token(store, name)


def live_frame(store, name):
    return store.live_snapshot().frame(name)


def test_two_review_accept_processes_on_different_pairs_lose_nothing(tmp_path, db_url):
    from serve.queue import suggestion_id

    home = tmp_path / "home"
    _, store = published(home, db_url)
    tokens = [reviewer(store, f"rev{i}") for i in range(2)]
    pairs = [("g1", "g2"), ("w1", "w2")]
    procs = [subprocess.Popen(ORGREG + ["review", "accept", suggestion_id(*p), "--token", tokens[i], "--survivor", p[0],
                                        "--home", str(home)], env=env(db_url), cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for i, p in enumerate(pairs)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    id_map = live_frame(store, "id_map").set_index("source_org_id")["canonical_org_id"]
    assert id_map["g2"] == "g1" and id_map["w2"] == "w1"  # both merges are live: no lost update
    assert {d for d in store.decisions_frame()["decision"]} == {"match"} and len(store.decisions_frame()) == 2
    assert store.live_state().label == "v1+2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_killed_right_after_a_decision_leaves_fact_and_lookup_agreeing(tmp_path, db_url):
    from serve.desk import Desk
    from serve.queue import suggestion_id

    home = tmp_path / "home"
    _, store = published(home, db_url)
    token = reviewer(store, "rev")
    port = _free_port()
    serve = subprocess.Popen(ORGREG + ["serve", "--home", str(home), "--port", str(port)], env=env(db_url), cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        sid = suggestion_id("g1", "g2")
        client = httpx.Client(timeout=30)
        # the decision is sent and the service killed 0.1 s later, whether it answered or not
        sender = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import httpx
            httpx.post({url + '/api/review/suggestions/' + sid!r}, json={{"decision": "accept", "survivor": "g1"}},
                       headers={{"Authorization": "Bearer {token}"}}, timeout=30)
        """)])
        time.sleep(0.1)
        serve.send_signal(signal.SIGKILL)
        serve.wait(timeout=30)
        sender.wait(timeout=60)
        client.close()
    finally:
        if serve.poll() is None:
            serve.kill()
    fact = store.active_decision("g1", "g2")
    merged = live_frame(store, "id_map").set_index("source_org_id").loc["g2", "canonical_org_id"] == "g1"
    ops = store.overlay_ops()
    audit = [a for a in store.audit_entries() if a["action"] == "decide:match"]
    assert (fact is not None) == merged == (len(ops) == 1) == (len(audit) == 1)
    # the retry (the reviewer presses accept again) is answered, never with a conflict
    result = Desk(store).decide(sid, "accept", {"name": "rev", "role": "reviewer"}, "g1")
    assert result["survivor"] == "g1" and len(store.overlay_ops()) == 1
    assert live_frame(store, "id_map").set_index("source_org_id").loc["g2", "canonical_org_id"] == "g1"


DECIDER = """
import sys, time
from core.config import load_settings
from core.store import open_store
from serve.desk import Desk
from serve.queue import suggestion_id
home, user = sys.argv[1], {"name": sys.argv[2], "role": "reviewer"}
store = open_store(load_settings(home=home))
desk = Desk(store)
pairs = [line.split(",") for line in sys.argv[3:]]


def nightly_running():
    return any(h["holder"].startswith("nightly:") for h in store.holders()) or nightly_done()


def nightly_done():
    runs = store.recent_runs(1)
    return bool(runs) and runs[0]["status"] != "running"


def wait(condition):
    for _ in range(6000):
        if condition():
            return
        time.sleep(0.1)
    raise SystemExit("the nightly run never got there")


# five before the nightly reads anything, the middle ones while it computes, five after it published
for i, (left, right) in enumerate(pairs):
    if i == 5:
        wait(nightly_running)
    if i == len(pairs) - 5:
        wait(nightly_done)
    desk.decide(suggestion_id(left, right), "reject", user)
    time.sleep(0.2)
"""


def test_a_nightly_publish_racing_fifty_decisions_from_two_processes(tmp_path, db_url):
    home = tmp_path / "home"
    registry, activities = write(home / "input", extra=LONG_QUEUE)  # more than 50 pending suggestions
    settings, store = published(home, db_url, registry, activities)
    s = live_frame(store, "merge_suggestions")
    s = s[s["status"] == "pending"].sort_values(["left_org_id", "right_org_id"])
    assert len(s) >= 50  # only pending suggestions may be rejected
    pairs = list(zip(s["left_org_id"][:50], s["right_org_id"][:50]))
    nightly = subprocess.Popen(ORGREG + ["nightly", "--home", str(home), "--registry", str(registry),
                                         "--activities", str(activities)], env=env(db_url), cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # spread over the nightly's whole run (see DECIDER): before it reads them, while it computes, after it published
    deciders = [subprocess.Popen([sys.executable, "-c", DECIDER, str(home), f"rev{i}"]
                                 + [f"{a},{b}" for a, b in pairs[25 * i: 25 * (i + 1)]],
                                 env=dict(env(db_url), ORGREG_HOME=str(home)), cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in range(2)]
    decided = [p.communicate(timeout=600)[0] for p in deciders]
    out = nightly.communicate(timeout=600)[0]
    assert [p.returncode for p in deciders] == [0, 0], decided
    assert nightly.returncode == 0, out
    run = store.recent_runs(1)[0]
    snap = store.live_snapshot()
    assert run["status"] == "succeeded" and snap.version == run["snapshot_version"] == 2  # the nightly is live
    # every decision is a fact, and every one is in the live state (folded in by the nightly, or on top)
    facts = store.decisions_frame()
    assert len(facts) == 50 and set(facts["decision"]) == {"distinct"}
    s = snap.frame("merge_suggestions")
    status = dict(zip(zip(s["left_org_id"], s["right_org_id"]), s["status"]))
    assert all(status.get(p) == "rejected" for p in pairs), [p for p in pairs if status.get(p) != "rejected"]
    folded = {(a, b) for a, b, st in snap.base_frame("merge_suggestions")[["left_org_id", "right_org_id", "status"]]
              .itertuples(index=False) if st == "rejected"}
    on_top = {(op.left, op.right) for op in snap.ops}
    assert set(pairs) <= folded | on_top and len(folded & set(pairs)) >= 1 and len(on_top) >= 10
    # the home is usable: export, status and a fresh service load all work
    exported = subprocess.run(ORGREG + ["export", str(tmp_path / "out"), "--home", str(home)], env=env(db_url),
                              cwd=ROOT, capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    assert len(pd.read_csv(tmp_path / "out" / "id_map.csv", dtype=str)) == len(snap.frame("id_map"))
    status_cmd = subprocess.run(ORGREG + ["status", "--home", str(home)], env=env(db_url), cwd=ROOT,
                                capture_output=True, text=True)
    assert status_cmd.returncode == 0 and "当前状态" in status_cmd.stdout
    from core.regions import default_regions
    from serve.state import load

    assert load(store, default_regions()).version == 2
