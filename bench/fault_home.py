"""The homes that bench/faults.py breaks: a state directory with its database (SQLite, or a database of its own
on a PostgreSQL server), run through the real CLI in subprocesses, and the checks that count what was lost."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from bench.common import ROOT

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
