"""The nightly stages without the Prefect engine (each task's ``.fn``), for benchmarks that time the
library itself; the flow composes exactly these calls."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from core.config import load_settings
from core.snapshot import snapshot_frames, write_export
from flows import tasks


def run_stages(registry: Path, activities: Path, outdir: Path | None = None, settings=None) -> dict:
    """Run ingest → visibility in-process; write the contract export to ``outdir`` if given."""
    settings = settings or load_settings()
    timings, t = {}, time.perf_counter()

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        timings[name] = now - t
        t = now

    raw_reg = tasks.read_export.fn(str(registry), "registry")
    raw_act = tasks.read_export.fn(str(activities), "activities")
    lap("ingest")
    reg_ck, act_ck = tasks.check_export.fn(raw_reg, "registry"), tasks.check_export.fn(raw_act, "activities")
    lap("validate_input")
    records, acts, _, _ = tasks.normalise.fn(reg_ck, act_ck)
    lap("normalise")
    empty = pd.DataFrame(columns=["left_org_id", "right_org_id", "decision"])
    res = tasks.find_duplicates.fn(records, acts, empty, set(), settings.auto_merge_threshold,
                                   settings.review_threshold, settings.max_block_size)
    lap("duplicates")
    orgs, changes, _ = tasks.rebuild_hierarchy.fn(records, res.id_map)
    lap("hierarchy")
    visibility, gains, roll = tasks.assign_visibility.fn(acts, tasks.provinces_before.fn(raw_reg.frame), res.id_map, orgs)
    lap("visibility")
    frames = snapshot_frames(records, acts, res, orgs, changes, visibility, gains, roll, empty)
    if outdir is not None:
        write_export(frames, Path(outdir))
    return {"timings": timings, "frames": frames, "stats": res.stats, "records": records}
