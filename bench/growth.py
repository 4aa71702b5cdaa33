"""A year of nights must fit: the home's size after N simulated nights at a million records.

    .venv/bin/python bench/growth.py [--records 1000000] [--nights 30] [--churn 0.01] [--decisions 50]

A night is simulated, not computed (a real nightly at a million records takes many minutes): the
snapshot frames of a registry of ``--records`` records are built once in the snapshot's own columns,
then every night ``--churn`` of the records change name and parent, the nightly's publish path runs
as the flow runs it (tonight's parent changes against the last published run recorded in the database
and in the run folder, the snapshot published with its cache, the retention settings applied), and
``--decisions`` review decisions are committed as overlay operations during the day. Prints the
home's size and its parts after every night, and the database's row counts at the end.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from common import ROOT  # noqa: F401 (puts the repository on sys.path)


def base_frames(n: int, rng) -> dict[str, pd.DataFrame]:
    """Snapshot frames of ``n`` records in about ``n / 1.175`` units (the generator's duplicate share)."""
    ids = np.array([f"{i:09d}" for i in range(n)], dtype=object)
    units = ids[: int(n / 1.175)]
    canon = np.where(np.arange(n) < len(units), ids, rng.choice(units, n))
    names = np.array([f"测试单位{i}科学技术协会" for i in range(n)], dtype=object)
    parents = rng.choice(units[:3000], len(units))
    orgs = pd.DataFrame({"org_id": units, "name": names[: len(units)], "category": "其他", "region_code": "440106",
                         "parent_id": parents, "province_code": "440000", "aliases": "", "certified": False,
                         "members": 1, "reason": "", "confidence": 1.0, "needs_review": False})
    id_map = pd.DataFrame({"source_org_id": ids, "canonical_org_id": canon,
                           "how": np.where(canon == ids, "same", "auto")})
    k = n // 10
    sugg = pd.DataFrame({"left_org_id": units[:k], "right_org_id": units[k:2 * k], "score": 0.8,
                         "explanation": "名称主体相近", "status": "pending"})
    acts = pd.DataFrame({"activity_id": [f"A{i:09d}" for i in range(n)], "canonical_org_id": canon, "org_id": ids,
                         "province_code": "440000", "title": "科普日活动", "region_code": "440106",
                         "start_date": "2026-09-16", "host_units": ""})
    records = pd.DataFrame({"org_id": ids, "name": names, "category": "其他", "region_code": "440106",
                            "parent_id": "", "certified": False})
    changes = pd.DataFrame({"org_id": units[: n // 3], "name": names[: n // 3], "old_parent": "",
                            "new_parent": parents[: n // 3], "reason": "按地区挂到本地科协下", "confidence": 0.9,
                            "needs_review": False})
    return {"organizations": orgs, "id_map": id_map, "merge_suggestions": sugg, "activity_visibility": acts,
            "records": records, "rollup": pd.DataFrame({"org_id": units, "orgs": 1, "activities": 1}),
            "parent_changes": changes, "province_gains": pd.DataFrame({"province_code": ["440000"], "gained": [0]})}


def night(frames: dict, rng, churn: float) -> dict:
    """The next night's frames: ``churn`` of the units renamed and given another parent."""
    orgs = frames["organizations"].copy()
    hit = rng.random(len(orgs)) < churn
    orgs.loc[hit, "name"] = orgs.loc[hit, "name"] + "（新）"
    orgs.loc[hit, "parent_id"] = rng.choice(orgs["org_id"].to_numpy()[:3000], int(hit.sum()))
    changes = frames["parent_changes"].copy()
    moved = changes["org_id"].isin(set(orgs.loc[hit, "org_id"]))
    changes.loc[moved, "new_parent"] = changes.loc[moved, "org_id"].map(orgs.set_index("org_id")["parent_id"])
    return dict(frames, organizations=orgs, parent_changes=changes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--nights", type=int, default=30)
    ap.add_argument("--churn", type=float, default=0.01)
    ap.add_argument("--decisions", type=int, default=50)
    args = ap.parse_args()
    from core.config import load_settings
    from core.decisions import Fact
    from core.retention import apply_retention, disk_usage, human_bytes
    from core.spreadsheet import write_for_people
    from core.store import open_store
    from hierarchy.changes import changes_since

    rng = np.random.default_rng(3)
    home = Path(tempfile.mkdtemp(prefix="orgreg-growth-"))
    settings = load_settings(home=home)
    store = open_store(settings)
    start = time.perf_counter()
    frames = base_frames(args.records, rng)
    print(f"{args.records:,} records, {len(frames['organizations']):,} units, built in "
          f"{time.perf_counter() - start:.0f} s; home {home}; keep_snapshots={settings.keep_snapshots}, "
          f"keep_runs={settings.keep_runs}", flush=True)
    last = None
    full_rows = tonight_rows = 0
    for n in range(1, args.nights + 1):
        t = time.perf_counter()
        if n > 1:
            frames = night(frames, rng, args.churn)
        run_id = store.start_run({"simulated": True})
        run_dir = settings.runs_dir / f"{run_id:05d}"
        run_dir.mkdir(parents=True, exist_ok=True)
        tonight = changes_since(frames["parent_changes"], last)
        store.record_parent_changes(run_id, tonight)
        write_for_people(tonight, run_dir / "parent_changes.csv")
        full_rows += len(frames["parent_changes"])
        tonight_rows += len(tonight)
        live = store.live_state()
        _, _, folded = store.decisions_with_watermark()
        snap = store.publish(frames, run_id, {"records": args.records}, built_from=live.version if live else None,
                             folded_upto=folded, cache={"pairs": frames["merge_suggestions"][["left_org_id",
                                                                                             "right_org_id", "score"]]})
        store.finish_run(run_id, "succeeded", snapshot_version=snap.version, report_dir=str(run_dir))
        apply_retention(store, settings)
        last = frames["parent_changes"]
        s = frames["merge_suggestions"]
        for i in range(args.decisions):  # the day's review decisions: overlay rows, no snapshot copy
            row = s.iloc[(n * args.decisions + i) % len(s)]
            try:
                store.commit_decision("rev", facts=[Fact(row["left_org_id"], row["right_org_id"], "distinct")])
            except Exception:
                pass  # a pair decided on an earlier day
        usage = disk_usage(store, settings)
        print(f"night {n:2d}: home {human_bytes(usage['home'])} (snapshots {human_bytes(usage['snapshots'])}, "
              f"runs {human_bytes(usage['runs'])}, database {human_bytes(usage['database'])}); "
              f"parent_changes rows tonight {len(tonight):,}; {time.perf_counter() - t:.0f} s", flush=True)
    t = store.tables
    from sqlalchemy import func, select

    with store.engine.connect() as c:
        counts = {name: c.execute(select(func.count()).select_from(getattr(t, name))).scalar()
                  for name in ("runs", "snapshots", "parent_changes", "overlay_ops", "decisions", "live_history")}
    print("database rows at the end: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"parent_changes rows written over {args.nights} nights: {tonight_rows:,} tonight-only "
          f"(the full list every night would have been {full_rows:,})")
    print(f"snapshot folders on disk: {len([p for p in store.snapshots_dir.iterdir() if p.is_dir()])}")


if __name__ == "__main__":
    main()
