"""Thin Prefect tasks: each calls one library function; the logic lives in core/, dedupe/, hierarchy/."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from core.checks import Checked, check_activities, check_registry
from core.quality import validate_raw_activities, validate_raw_registry, validate_snapshot
from core.records import prepare_activities, prepare_changed, previous_positions
from core.regions import default_regions
from core.sources import RawTable, read_table
from core.spreadsheet import write_for_people
from dedupe.scoring import ScoringChunk, score_chunk, split_for_scoring
from dedupe.incremental import candidate_pairs
from dedupe.typos import correct_common_heads
from dedupe.resolve import Resolution, resolve_duplicates, settle_duplicates
from hierarchy.changes import parent_changes
from hierarchy.incremental import rebuild_organizations
from hierarchy.rollup import rollup
from hierarchy.visibility import admin_provinces, assign_activities, declared_provinces, visibility_gains

# DataFrames in and out: no input hashing, no pickled results (stack-notes §2f).
frame_task = task(cache_policy=NO_CACHE, persist_result=False)


@task(cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=2)
def read_export(path: str, kind: str) -> RawTable:
    return read_table(path, kind)


@frame_task
def check_export(raw: RawTable, kind: str) -> Checked:
    check = check_registry if kind == "registry" else check_activities
    return check(raw, default_regions())


@task(cache_policy=NO_CACHE, persist_result=False, retries=2, retry_delay_seconds=2)
def write_quarantine(registry: Checked, activities: Checked, run_dir: Path) -> Path:
    path = run_dir / "quarantine.csv"
    frames = [registry.quarantine.assign(file="registry"), activities.quarantine.assign(file="activities")]
    return write_for_people(pd.concat(frames, ignore_index=True), path)


@frame_task
def validate_inputs(raw_registry: RawTable, registry: Checked, raw_activities: RawTable, activities: Checked,
                    docs_dir: Path):
    return (validate_raw_registry(raw_registry.frame, registry.masks, docs_dir),
            validate_raw_activities(raw_activities.frame, activities.masks, docs_dir))


@frame_task
def normalise(registry: Checked, activities: Checked, previous_records: pd.DataFrame | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray | None]:
    """Prepared records (unchanged ones taken from ``previous_records``), activities, the changed mask,
    and each record's row in ``previous_records`` (None without them)."""
    regions = default_regions()
    at = previous_positions(registry.clean["org_id"], previous_records)
    records, changed = prepare_changed(registry.clean, regions, previous_records, at)
    return records, prepare_activities(activities.clean, regions), changed, at


@frame_task
def find_duplicates(records: pd.DataFrame, activities: pd.DataFrame, decisions: pd.DataFrame,
                    previous_canonical, auto_threshold: float, review_threshold: float,
                    max_block_size: int) -> Resolution:
    """The whole duplicate stage in one task (used by the benchmarks and the in-process path)."""
    counts = activities["org_id"].value_counts()
    return resolve_duplicates(records, auto_threshold=auto_threshold, review_threshold=review_threshold,
                              max_block_size=max_block_size, decisions=decisions, activity_counts=counts,
                              previous_canonical=previous_canonical)


@frame_task
def candidate_chunks(records: pd.DataFrame, max_block_size: int, n_chunks: int, changed: np.ndarray | None = None,
                     previous_records: pd.DataFrame | None = None, previous_scored: pd.DataFrame | None = None,
                     previous_keys: pd.DataFrame | None = None, previous_at: np.ndarray | None = None
                     ) -> tuple[list[ScoringChunk], dict, pd.DataFrame, pd.DataFrame]:
    """Candidate pairs cut into shares to score, the previous scores that still hold, and this run's
    blocking keys. With last run's scores and keys only the changed records are blocked."""
    typed = records["name_head"].to_numpy(dtype=object)
    records = correct_common_heads(records)
    pairs, stats, reused, keys = candidate_pairs(records, max_block_size, changed, previous_records, previous_scored,
                                                 previous_keys, typed, previous_at)
    return split_for_scoring(records, pairs, n_chunks), stats, reused, keys


@frame_task
def score_share(chunk: ScoringChunk) -> pd.DataFrame:
    return score_chunk(chunk)


@frame_task
def settle(records: pd.DataFrame, scored: list[pd.DataFrame], stats: dict, activities: pd.DataFrame,
           decisions: pd.DataFrame, previous_canonical, auto_threshold: float,
           review_threshold: float, returning=None, held=None) -> Resolution:
    return settle_duplicates(records, pd.concat(scored, ignore_index=True), stats, auto_threshold=auto_threshold,
                             review_threshold=review_threshold, decisions=decisions,
                             activity_counts=activities["org_id"].value_counts(),
                             previous_canonical=previous_canonical, returning=returning, held=held)


@frame_task
def rebuild_hierarchy(records: pd.DataFrame, id_map: pd.DataFrame, previous: pd.DataFrame | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Organizations with parents and admin provinces, the parent changes, and what was rebuilt."""
    regions = default_regions()
    orgs, stats = rebuild_organizations(records, id_map, regions, previous)
    orgs["province_code"] = admin_provinces(orgs, regions)
    return orgs, parent_changes(orgs, records["org_id"]), stats


@frame_task
def provinces_before(raw_registry: pd.DataFrame) -> pd.Series:
    """Each source id's province through its declared parents, as the registry stands before the run."""
    return declared_provinces(raw_registry, default_regions())


@frame_task
def assign_visibility(activities: pd.DataFrame, before: pd.Series, id_map: pd.DataFrame,
                      orgs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Activity visibility, the gains per province against ``before`` (``provinces_before``), the roll-up."""
    regions = default_regions()
    visibility = assign_activities(activities, id_map, orgs, regions)
    gains = visibility_gains(visibility, activities, before)
    stats = rollup(orgs, visibility["canonical_org_id"])
    return visibility, gains, stats


@frame_task
def validate_result(orgs, id_map, visibility, n_records: int, n_activities: int, docs_dir: Path):
    return validate_snapshot(orgs, id_map, visibility, n_records, n_activities, docs_dir)
