"""Fault injection on the dev set: each scenario breaks something the way production does (processes
racing, kill -9, a bad export, retention) and checks that nothing is lost. Prints one table:
scenario, survived (the home still answers every documented command), decisions lost, data lost.

    .venv/bin/python bench/faults.py [--data ../shared/data/dev] [--db postgresql+psycopg://…] [--only NAME]

"Decisions lost": decisions that are facts in the database but not in the live state (or the other way
round). "Data lost": source records of the input missing from the live id map, or a nightly result
that succeeded but is not live. For the lineage scenarios, "data lost" counts ids that stopped answering or moved.
"""
from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT  # noqa: E402 (puts the repository on sys.path)

# bench/hierarchy.py would shadow the hierarchy package for the modules imported below
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from bench.fault_home import (DECIDER, DEV, ORGREG, Home, base_frames, data_lost, decisions_lost,  # noqa: E402
                              pending_pairs, reviewer, usable)
from bench.faults_ids import (removed_ids_keep_answering, returning_survivor, reused_id,  # noqa: E402
                              truncated_registry, two_sheet_xlsx)


# ---------------------------------------------------------------------- scenarios
def nightly_racing_decisions(root, db, data):
    """A nightly run publishing while two processes send decisions (every pending suggestion, at most 40)."""
    home = Home(root, "race", db, data)
    home.base()
    pairs = pending_pairs(home.store(), 40)  # the dev set has fewer: every pending one, split over the two
    half = len(pairs) // 2
    run = home.nightly(wait=False)
    deciders = [subprocess.Popen([sys.executable, "-c", DECIDER, str(home.path), f"rev{i}"]
                                 + [f"{a},{b}" for a, b in pairs[half * i: half * (i + 1)]], env=home.env, cwd=ROOT)
                for i in range(2)]
    for p in deciders:
        p.wait()
    run.communicate()
    store = home.store()
    last = store.recent_runs(1)[0]
    nightly_live = last["status"] == "succeeded" and store.live_state().version == last["snapshot_version"]
    missing = 2 * half - len(store.decisions_frame())
    return home, usable(home), decisions_lost(store) + missing, data_lost(store, data / "registry.csv") + \
        (0 if nightly_live else 1)


def serve_killed_after_decision(root, db, data):
    """kill -9 of the service 0.1 s after a decision was sent."""
    from serve.queue import suggestion_id

    home = Home(root, "kill-serve", db, data)
    store = home.base()
    token = reviewer(store, "rev")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    serve = subprocess.Popen(ORGREG + ["serve", "--home", str(home.path), "--port", str(port)], env=home.env,
                             cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    for _ in range(3000):  # the service answers 503 while it loads the snapshot
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    (a, b), = pending_pairs(store, 1)
    # the request goes from a thread of this process (httpx already imported), so it is in flight when the
    # kill lands; a separate process would still be starting after 0.1 s and find the service gone
    sent = threading.Event()

    def send():
        sent.set()
        try:
            httpx.post(f"http://127.0.0.1:{port}/api/review/suggestions/{suggestion_id(a, b)}",
                       json={"decision": "reject"}, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        except httpx.HTTPError:
            pass  # the service died under the request: what this scenario is about

    sender = threading.Thread(target=send)
    sender.start()
    sent.wait()
    time.sleep(0.1)
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    sender.join()
    return home, usable(home), decisions_lost(store), data_lost(store, data / "registry.csv")


def two_review_processes(root, db, data):
    """Two `orgreg review reject` processes on different pairs at once."""
    from serve.queue import suggestion_id

    home = Home(root, "two-reviews", db, data)
    store = home.base()
    pairs = pending_pairs(store, 2)
    tokens = [reviewer(store, f"rev{i}") for i in range(2)]
    procs = [home.cli("review", "reject", suggestion_id(a, b), "--token", tokens[i], wait=False)
             for i, (a, b) in enumerate(pairs)]
    for p in procs:
        p.communicate()
    store = home.store()
    return home, usable(home), decisions_lost(store) + 2 - len(store.decisions_frame()), \
        data_lost(store, data / "registry.csv")


def nightly_killed_while_publishing(root, db, data):
    """kill -9 of a nightly run as it reaches the publish stage (the previous snapshot must keep serving)."""
    home = Home(root, "kill-nightly", db, data)
    store = home.base()
    before = store.live_state().version
    run = home.nightly(wait=False)
    for _ in range(6000):  # the run's lease appears when it starts building on the live snapshot
        if any(h["holder"].startswith("nightly:") for h in store.holders()):
            break
        time.sleep(0.1)
    while run.poll() is None and not list((home.path / "snapshots").glob(".tmp-*")):
        time.sleep(0.02)
    run.send_signal(signal.SIGKILL)
    run.wait()
    survived = store.live_state().version in (before, before + 1) and usable(home)
    again = home.nightly()
    return home, survived and again.returncode == 0, decisions_lost(store), data_lost(store, data / "registry.csv")


def prune_while_held(root, db, data):
    """Retention while a serving process still answers from an older snapshot."""
    from core.config import load_settings
    from core.retention import apply_retention

    home = Home(root, "prune", db, data)
    store = home.base()
    first = store.live_state().version
    store.hold("serve:elsewhere:1", first, 600)
    for night in range(3):  # three more nights (published directly: the nightly itself is not what is tested)
        store.publish(base_frames(data), None, {}, note=f"faults: night {night + 2}",
                      built_from=store.live_state().version)
    settings = load_settings(home=home.path, keep_snapshots=2)
    apply_retention(store, settings)
    held_kept = (home.path / "snapshots" / f"v{first:05d}").exists()
    return home, held_kept and usable(home), decisions_lost(store), data_lost(store, data / "registry.csv")


def rollback_keeps_decisions(root, db, data):
    """Decisions, a nightly run, more decisions, then `orgreg publish --rollback`."""
    from serve.desk import Desk
    from serve.queue import suggestion_id

    home = Home(root, "rollback", db, data)
    store = home.base()
    pairs = pending_pairs(store, 6)
    rev = {"name": "rev", "role": "reviewer"}
    for a, b in pairs[:3]:
        Desk(store).decide(suggestion_id(a, b), "reject", rev)
    home.nightly()
    for a, b in pairs[3:]:
        Desk(store).decide(suggestion_id(a, b), "reject", rev)
    back = home.cli("publish", "--rollback")
    snap = store.live_snapshot()
    s = snap.frame("merge_suggestions")
    rejected = {(x, y) for x, y, st in s[["left_org_id", "right_org_id", "status"]].itertuples(index=False)
                if st == "rejected"}
    lost = sum(p not in rejected for p in pairs)
    return home, back.returncode == 0 and usable(home), lost, data_lost(store, data / "registry.csv")


SCENARIOS = {
    "nightly publish racing decisions from two processes": nightly_racing_decisions,
    "kill -9 of serve 0.1 s after a decision": serve_killed_after_decision,
    "two review processes on different pairs at once": two_review_processes,
    "kill -9 of a nightly while it publishes": nightly_killed_while_publishing,
    "prune while a serving process holds an old snapshot": prune_while_held,
    "rollback after decisions and a nightly": rollback_keeps_decisions,
    "registry cut at 40% (held back)": truncated_registry,
    "registry as a two-sheet xlsx": two_sheet_xlsx,
    "a removed unit and a removed merged id keep answering": removed_ids_keep_answering,
    "a survivor missing for a night gets its id back": returning_survivor,
    "an id reused for another unit is flagged, not merged": reused_id,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEV)
    ap.add_argument("--db", default="", help="a PostgreSQL URL to create the homes' databases on (default SQLite)")
    ap.add_argument("--only", default="", help="run the scenarios whose name contains this")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="orgreg-faults-"))
    rows = []
    for name, scenario in SCENARIOS.items():
        if args.only and args.only not in name:
            continue
        start = time.perf_counter()
        try:
            home, survived, decisions, data = scenario(root, args.db or None, args.data)
            home.drop()
        except Exception as e:  # a scenario that breaks the bench is a failure to report, not a crash
            survived, decisions, data = False, "?", f"? ({type(e).__name__}: {e})"
        rows.append((name, "yes" if survived else "NO", decisions, data, time.perf_counter() - start))
        print(f"  {name}: survived={rows[-1][1]} decisions_lost={decisions} data_lost={data} "
              f"({rows[-1][4]:.0f} s)", flush=True)
    print(f"\n{'scenario':<56} {'survived':>8} {'decisions lost':>15} {'data lost':>10}")
    for name, survived, decisions, data, _ in rows:
        print(f"{name:<56} {survived:>8} {decisions!s:>15} {data!s:>10}")
    print(f"\ndatabase: {'PostgreSQL' if args.db else 'SQLite'}; data: {args.data}; homes under {root}")


if __name__ == "__main__":
    main()
