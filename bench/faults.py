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
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT  # noqa: E402 (puts the repository on sys.path)

# bench/hierarchy.py would shadow the hierarchy package for the modules imported below
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import pandas as pd

DEV = ROOT.parent / "shared" / "data" / "dev"
ORGREG = [sys.executable, "-c", "import cli; cli.main()"]
DECIDER = """
import sys, time
from core.config import load_settings
from core.store import open_store
from serve.desk import Desk
from serve.queue import suggestion_id
desk = Desk(open_store(load_settings(home=sys.argv[1])))
for pair in sys.argv[3:]:
    left, right = pair.split(",")
    desk.decide(suggestion_id(left, right), "reject", {"name": sys.argv[2], "role": "reviewer"})
    time.sleep(0.5)
"""


class Home:
    """A state directory with its database, run through the real CLI in subprocesses."""

    def __init__(self, root: Path, name: str, db: str | None, data: Path):
        self.path, self.data = root / name, data
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), DO_NOT_TRACK="1", PREFECT_SERVER_ANALYTICS_ENABLED="false")
        self.db_name = None
        if db:
            self.db_name = f"orgreg_faults_{name.replace('-', '_')}_{os.getpid()}"
            _admin(db, f'CREATE DATABASE "{self.db_name}"')
            import sqlalchemy as sa

            self.env["ORGREG_DATABASE_URL"] = sa.engine.make_url(db).set(database=self.db_name).render_as_string(
                hide_password=False)
        self.db = db

    def cli(self, *args, wait=True):
        cmd = ORGREG + list(args) + ["--home", str(self.path)]
        if not wait:
            return subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True)
        return subprocess.run(cmd, env=self.env, cwd=ROOT, capture_output=True, text=True)

    def nightly(self, registry=None, wait=True, *extra):
        return self.cli("nightly", "--registry", str(registry or self.data / "registry.csv"), "--activities",
                        str(self.data / "activities.csv"), *extra, wait=wait)

    def base(self):
        """The first snapshot, published from the dev set's stages run once in-process (fast; see BASE)."""
        store = self.store()
        store.publish(base_frames(self.data), None, {}, note="faults: base")
        return store

    def store(self):
        from core.config import load_settings
        from core.store import open_store

        os.environ.pop("ORGREG_DATABASE_URL", None)
        if "ORGREG_DATABASE_URL" in self.env:
            return open_store(load_settings(home=self.path, database_url=self.env["ORGREG_DATABASE_URL"]))
        return open_store(load_settings(home=self.path))

    def drop(self):
        if self.db_name:
            _admin(self.db, f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


BASE: dict = {}


def base_frames(data: Path) -> dict:
    """The snapshot frames of ``data`` (the nightly's stages in-process), computed once for every scenario."""
    if data not in BASE:
        from core.config import load_settings
        from flows.pipeline import read_inputs, run_pipeline

        BASE[data] = run_pipeline(read_inputs(data / "registry.csv", data / "activities.csv"), None,
                                  load_settings()).frames
    return BASE[data]


def _admin(url: str, sql: str) -> None:
    import sqlalchemy as sa

    with sa.create_engine(url, isolation_level="AUTOCOMMIT").connect() as c:
        c.execute(sa.text(sql))


def usable(home: Home) -> bool:
    """Every documented reader works: status, export, and the service loads the live state."""
    out = Path(tempfile.mkdtemp())
    ok = home.cli("status").returncode == 0 and home.cli("export", str(out)).returncode == 0
    if ok:
        from core.regions import default_regions
        from serve.state import load

        ok = load(home.store(), default_regions()) is not None
    shutil.rmtree(out, ignore_errors=True)
    return ok


def decisions_lost(store) -> int:
    """Active facts whose pair does not show the decision in the live state, and overlay operations without a fact."""
    facts = store.decisions_frame()
    if facts.empty:
        return 0
    snap = store.live_snapshot()
    canon = snap.frame("id_map").set_index("source_org_id")["canonical_org_id"]
    lost = 0
    for f in facts.itertuples():
        if f.left_org_id not in canon.index or f.right_org_id not in canon.index:
            continue  # a record the registry no longer has: the fact waits for it
        together = canon[f.left_org_id] == canon[f.right_org_id]
        lost += together != (f.decision == "match")
    return int(lost)


def data_lost(store, registry: Path) -> int:
    """Source records of ``registry`` missing from the live id map."""
    ids = set(pd.read_csv(registry, dtype=str, usecols=["org_id"])["org_id"].dropna())
    live = set(store.live_snapshot().frame("id_map")["source_org_id"])
    return len(ids - live)


def pending_pairs(store, n: int) -> list[tuple[str, str]]:
    """``n`` pending suggestions (the desk decides only those; a reject touches no unit)."""
    s = store.live_snapshot().frame("merge_suggestions")
    s = s[s["status"] == "pending"].sort_values(["left_org_id", "right_org_id"])
    return list(zip(s["left_org_id"][:n], s["right_org_id"][:n]))


def reviewer(store, name: str) -> str:
    """A reviewer account; its API token."""
    from serve.auth import add_user, new_token

    add_user(store, name, "reviewer", "审核-river-tea-41")
    return new_token(store, name)


def answers(home: Home, org_id: str) -> dict:
    """What the service answers for ``/api/orgs/{org_id}`` on the home's live state."""
    from fastapi.testclient import TestClient

    from core.config import load_settings
    from serve.app import create_app

    settings = load_settings(home=home.path, **({"database_url": home.env["ORGREG_DATABASE_URL"]}
                                                if "ORGREG_DATABASE_URL" in home.env else {}))
    with TestClient(create_app(settings, home.store(), poll_seconds=3600)) as client:
        r = client.get(f"/api/orgs/{org_id}")
        return dict(r.json(), status=r.status_code)


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
    sender = subprocess.Popen([sys.executable, "-c", f"import httpx; httpx.post('http://127.0.0.1:{port}/api/review/"
                               f"suggestions/{suggestion_id(a, b)}', json={{'decision': 'reject'}}, headers="
                               f"{{'Authorization': 'Bearer {token}'}}, timeout=60)"])
    time.sleep(0.1)
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    sender.wait()
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


def truncated_registry(root, db, data):
    """A registry export cut off at 40% (must be held back; the live snapshot keeps serving)."""
    home = Home(root, "truncated", db, data)
    store = home.base()
    before = store.live_state().version
    lines = (data / "registry.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    cut = home.path / "registry-cut.csv"
    cut.write_text("".join(lines[: int(len(lines) * 0.4)]), encoding="utf-8")
    run = home.nightly(cut)
    held = run.returncode == 2 and store.live_state().version == before
    return home, held and usable(home), decisions_lost(store), data_lost(store, data / "registry.csv")


def two_sheet_xlsx(root, db, data):
    """The registry as an xlsx with two sheets (every row must be read, or the run refused)."""
    home = Home(root, "xlsx", db, data)
    reg = pd.read_csv(data / "registry.csv", dtype=str, keep_default_na=False)
    book = home.path / "registry.xlsx"
    book.parent.mkdir(parents=True, exist_ok=True)
    with pd.ExcelWriter(book) as w:
        reg.iloc[:12_000].to_excel(w, sheet_name="Sheet1", index=False)
        reg.iloc[12_000:].to_excel(w, sheet_name="Sheet2", index=False)
    run = home.nightly(book)
    store = home.store()
    if run.returncode == 2:  # refused, naming the sheets: nothing published, nothing lost
        return home, store.live_state() is None, 0, 0
    return home, run.returncode == 0 and usable(home), decisions_lost(store), data_lost(store, data / "registry.csv")


def _registry(data: Path) -> pd.DataFrame:
    return pd.read_csv(data / "registry.csv", dtype=str, keep_default_na=False)


def _night(home: Home, registry: pd.DataFrame, name: str):
    path = home.path / f"{name}.csv"
    registry.to_csv(path, index=False)
    return home.nightly(path)


def removed_ids_keep_answering(root, db, data):
    """A unit removed from the registry, and a merged record removed while its unit stays."""
    home = Home(root, "removed", db, data)
    store = home.base()
    idm = store.live_snapshot().frame("id_map")
    sizes = idm["canonical_org_id"].value_counts()
    alone = sorted(sizes[sizes == 1].index)[0]
    merged = idm[(idm["how"] != "same")].sort_values("source_org_id").iloc[0]
    reg = _registry(data)
    night = _night(home, reg[~reg["org_id"].isin([alone, merged["source_org_id"]])], "removed")
    gone, unit = answers(home, alone), answers(home, merged["source_org_id"])
    ok = night.returncode == 0 and gone["status"] == 200 and gone.get("retired") and \
        unit["status"] == 200 and unit.get("org_id") == merged["canonical_org_id"]
    return home, bool(ok) and usable(home), decisions_lost(store), 0 if ok else 2


def returning_survivor(root, db, data):
    """A unit's surviving record missing for a night, then back: its canonical id must come back."""
    home = Home(root, "returning", db, data)
    store = home.base()
    idm = store.live_snapshot().frame("id_map")
    reg = _registry(data)
    certified = set(reg.loc[reg["certified"].isin(["是", "1", "true"]), "org_id"])
    units = idm.loc[idm["how"] == "auto", "canonical_org_id"].drop_duplicates().sort_values()
    unit = next(u for u in units if not set(idm.loc[idm["canonical_org_id"] == u, "source_org_id"]) & certified)
    members = idm.loc[(idm["canonical_org_id"] == unit), "source_org_id"].tolist()
    first = _night(home, reg[reg["org_id"] != unit], "missing")
    back = _night(home, reg, "back")
    now = store.live_snapshot().frame("id_map").set_index("source_org_id")["canonical_org_id"]
    moved = int((now.loc[members] != unit).sum())
    return home, first.returncode == back.returncode == 0 and usable(home), decisions_lost(store), moved


def reused_id(root, db, data):
    """An id reused for another unit (a copy of an automatically merged unit): flagged, not merged."""
    home = Home(root, "reused", db, data)
    store = home.base()
    idm = store.live_snapshot().frame("id_map")
    reg = _registry(data)
    sizes = idm["canonical_org_id"].value_counts()
    twin = idm[idm["how"] == "auto"].sort_values("source_org_id").iloc[0]
    target = reg.set_index("org_id").loc[twin["canonical_org_id"]]
    victim = sorted(u for u in sizes[sizes == 1].index if u != twin["canonical_org_id"])[0]
    cols = ["name", "category", "region_code", "region", "parent_id"]
    reg.loc[reg["org_id"] == victim, cols] = target[cols].to_numpy()
    night = _night(home, reg, "reused")
    live = store.live_snapshot()
    flagged = live.has("reused_ids") and victim in set(live.frame("reused_ids")["org_id"])
    alone = live.frame("id_map").set_index("source_org_id").at[victim, "canonical_org_id"] == victim
    return home, night.returncode == 0 and flagged and alone and usable(home), decisions_lost(store), \
        0 if alone else 1


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
