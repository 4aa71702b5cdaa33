"""The snapshot frames in the contract's columns, and the contract export written from them."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from core.schema import EXPORT_COLUMNS
from core.spreadsheet import write_for_people

RETIRED_EXPORT_COLUMNS = ["source_org_id", "last_canonical_org_id", "retired_in_run"]
HOST_EXPORT_COLUMNS = ["activity_id", "host_text", "canonical_org_id", "score", "how"]


def suggestions_with_status(suggestions: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Pending suggestions plus every pair people decided (accepted / rejected)."""
    pending = suggestions.assign(status="pending")
    if decisions.empty:
        return pending
    decided = pd.DataFrame({
        "left_org_id": decisions["left_org_id"], "right_org_id": decisions["right_org_id"],
        "score": 1.0, "explanation": "人工决定",
        "status": decisions["decision"].map({"match": "accepted", "distinct": "rejected"}),
    })
    key = lambda d: d["left_org_id"].where(d["left_org_id"] < d["right_org_id"], d["right_org_id"]) + "|" + \
        d["right_org_id"].where(d["left_org_id"] < d["right_org_id"], d["left_org_id"])  # noqa: E731
    pending = pending[~key(pending).isin(set(key(decided)))]
    return pd.concat([decided, pending], ignore_index=True)


# what the service needs of the source records: names for aliases and the matching evidence
RECORD_COLUMNS = ["org_id", "name", "category", "region_code", "region", "parent_id", "certified", "created_at",
                  "name_norm", "name_key", "name_head", "name_suffix", "name_region_code", "name_region_level",
                  "name_province", "name_prefecture", "region_text", "place_token", "region_best", "region_level",
                  "province_best", "prefecture_best", "national", "place_candidates", "fingerprint"]


def _with_activities(visibility: pd.DataFrame, activities: pd.DataFrame) -> pd.DataFrame:
    """Each activity's visibility with the activity's own columns (the service shows them)."""
    columns = activities[["activity_id", "title", "org_id", "region_code", "start_date", "host_units"]]
    ids = visibility["activity_id"].to_numpy(dtype=object)
    if len(ids) == len(columns) and bool((ids == columns["activity_id"].to_numpy(dtype=object)).all()):
        # one row per activity in the activities' order (as assign_activities gives it): no join needed
        return pd.concat([visibility.reset_index(drop=True),
                          columns.drop(columns="activity_id").reset_index(drop=True)], axis=1)
    return visibility.merge(columns, on="activity_id", how="left")


def snapshot_frames(records, activities, res, orgs, changes, visibility, gains, roll, decisions) -> dict:
    """What a snapshot publishes: the contract frames with extra columns, and what the service needs (the
    next run's cache is kept apart, ``Store.publish(cache=…)``)."""
    return {
        "organizations": orgs[["org_id", "name", "category", "region_code", "parent_id", "province_code", "aliases",
                               "certified", "members", "reason", "confidence", "needs_review"]],
        "id_map": res.id_map,
        "merge_suggestions": suggestions_with_status(res.suggestions, decisions),
        "activity_visibility": _with_activities(visibility, activities),
        "records": records[RECORD_COLUMNS],
        "rollup": roll, "parent_changes": changes, "province_gains": gains,
    }


def write_export(frames: dict[str, pd.DataFrame], outdir: Path, on_file=None) -> list[Path]:
    """The four contract files, column for column, UTF-8 with header, values as they are: they are
    machine-readable (files for people go through ``core.spreadsheet``); ``retired_ids.csv`` beside
    them when the snapshot has retired ids, ``activity_hosts.csv`` (machine-readable too) and
    ``missing_units.csv`` (for people: formulas neutralised, BOM) when it has them. ``on_file(path)`` is
    called as each file is written."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    files = [(f, f.removesuffix(".csv"), columns) for f, columns in EXPORT_COLUMNS.items()]
    if "retired_ids" in frames:  # beside the contract files: ids published once and gone since
        files.append(("retired_ids.csv", "retired_ids", RETIRED_EXPORT_COLUMNS))
    if "activity_hosts" in frames:  # beside them too (the contract names it): typed hosts linked to units
        files.append(("activity_hosts.csv", "activity_hosts", HOST_EXPORT_COLUMNS))
    for filename, name, columns in files:
        path = outdir / filename
        frames[name][columns].to_csv(path, index=False, encoding="utf-8")
        written.append(path)
        if on_file is not None:
            on_file(path)
    if "missing_units" in frames:  # for people: names no unit has, to be registered
        written.append(write_for_people(frames["missing_units"], outdir / "missing_units.csv"))
        if on_file is not None:
            on_file(written[-1])
    return written
