"""The input-guard and id-lineage scenarios of bench/faults.py: a bad export must be held back or read whole, and
an id once published keeps answering (removed, merged away, missing for a night, reused)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from bench.fault_home import Home, answers, data_lost, decisions_lost, usable

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
