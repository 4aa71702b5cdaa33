"""The one nightly pipeline: check → normalise → duplicates → hierarchy → visibility → snapshot frames.

``run_pipeline`` composes the stages below as plain functions. The Prefect flow (``flows/nightly.py``)
runs this same function with a runner whose every stage is the stage's Prefect task
(``flows/tasks.py`` wraps each of them, one for one); tests, benchmarks and the service's test
fixtures run it with the in-process ``Runner``. This module never imports prefect.
"""
from __future__ import annotations

import hashlib
import time
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import replace
from typing import Callable

import numpy as np
import pandas as pd

from core.checks import check_activities, check_registry
from core.evidence import place_evidence
from core.lineage import RETIRED_BASIS, empty_retired, keep_last_units, retire_ids, reused_ids, units_through_retired
from core.records import apply_corrections, prepare_activities, prepare_changed, prepare_registry, previous_positions
from core.regions import default_regions
from core.snapshot import snapshot_frames
from core.sources import InputRejected, read_table
from dedupe.incremental import candidate_pairs
from dedupe.linking import HOST_COLUMNS, SCORED_COLUMNS, link_typed, split_hosts
from dedupe.resolve import Resolution, settle_duplicates
from dedupe.scoring import ScoringChunk, score_chunk, score_pairs, split_for_scoring
from dedupe.typos import correct_common_heads
from flows.shapes import (PIPELINE, Candidates, CheckedInputs, Hierarchy, Hosts, Inputs, Lineage, Normalised,
                          PreviousRun, RunResult, Visibility)
from hierarchy.build import typed_category
from hierarchy.changes import parent_changes
from hierarchy.incremental import rebuild_organizations
from hierarchy.missing import missing_units
from hierarchy.rollup import rollup
from hierarchy.visibility import admin_provinces, assign_activities, declared_provinces, visibility_gains

NO_DECISIONS = pd.DataFrame(columns=["left_org_id", "right_org_id", "decision"])


# ---------------------------------------------------------------------------------------------- stages
def read_inputs(registry: str, activities: str) -> Inputs:
    """Both exports read (CSV or xlsx, encoding detected); a structural problem raises ``InputRejected``."""
    return Inputs(read_table(registry, "registry"), read_table(activities, "activities"))


def check_inputs(inputs: Inputs) -> CheckedInputs:
    """Every row passes or is quarantined with its reason."""
    regions = default_regions()
    return CheckedInputs(check_registry(inputs.registry, regions), check_activities(inputs.activities, regions))


def normalise(checked: CheckedInputs, previous: PreviousRun | None, corrections: pd.DataFrame | None = None,
              processes: int = 1) -> Normalised:
    """Prepared records (unchanged ones taken from an incremental run's previous records) and activities;
    reviewers' ``corrections`` of names, categories and places hold in every run, like decisions."""
    regions = default_regions()
    clean = apply_corrections(checked.registry.clean, corrections)
    before = previous.records if previous is not None and previous.incremental else None
    at = previous_positions(clean["org_id"], before)
    records, changed = prepare_changed(clean, regions, before, at, processes)
    return Normalised(records, prepare_activities(checked.activities.clean, regions), changed, at)


def find_candidates(normalised: Normalised, previous: PreviousRun | None, max_block_size: int,
                    n_chunks: int) -> Candidates:
    """Candidate pairs cut into shares to score; an incremental run blocks only what changed and keeps
    last run's other scores (``dedupe/incremental.py``)."""
    records = normalised.records
    typed = records["name_head"].to_numpy(dtype=object)
    matching = correct_common_heads(records)
    reuse = previous is not None and previous.incremental
    pairs, stats, reused, keys = candidate_pairs(
        matching, max_block_size, normalised.changed if reuse else None, previous.records if reuse else None,
        previous.pairs if reuse else None, previous.blocking_keys if reuse else None, typed,
        normalised.previous_at if reuse else None)
    return Candidates(split_for_scoring(matching, pairs, n_chunks), stats, reused, keys)


def score_share(chunk: ScoringChunk) -> pd.DataFrame:
    """The scores of one share of the candidate pairs (the shares run in parallel)."""
    return score_chunk(chunk)


def flag_reused(records: pd.DataFrame, previous: PreviousRun | None, decisions: pd.DataFrame,
                run_id: int) -> pd.DataFrame:
    """Ids now naming another unit than the one last published under them (``core/lineage.py``)."""
    ids = previous.ids if previous is not None else None
    decided = set(decisions["left_org_id"]) | set(decisions["right_org_id"])
    return reused_ids(records, ids.names if ids else None, ids.retired if ids else None,
                      ids.reused if ids else None, decided, run_id)


def settle(normalised: Normalised, scored: list[pd.DataFrame], stats: dict, decisions: pd.DataFrame,
           previous: PreviousRun | None, auto_threshold: float, review_threshold: float,
           held: pd.Series | None = None) -> Resolution:
    """Clusters, survivors, the id map and the suggestions from the scored pairs and people's decisions.
    A survivor back after a night away gets its canonical id back; ``held`` ids (flagged as reused) stay
    out of automatic merges until a person decides."""
    scored = pd.concat(scored, ignore_index=True)
    if "score" not in scored.columns:  # no pair at all: the scores' columns, empty
        scored = score_pairs(normalised.records, pd.DataFrame({"rid_l": [], "rid_r": []}, dtype="int64"))
    return settle_duplicates(normalised.records, scored, stats,
                             auto_threshold=auto_threshold, review_threshold=review_threshold, decisions=decisions,
                             activity_counts=normalised.activities["org_id"].value_counts(),
                             previous_canonical=previous.canonical if previous is not None else None,
                             returning=returning_ids(previous), held=held,
                             evidence_places=place_evidence(normalised.records, normalised.activities, default_regions()))


def returning_ids(previous: PreviousRun | None) -> pd.Series | None:
    """Retired ids that were their unit's canonical id: if they come back they get it back."""
    gone = previous.ids.retired if previous is not None and previous.ids is not None else None
    return None if gone is None else gone.loc[gone["source_org_id"] == gone["last_canonical_org_id"], "source_org_id"]


def retire(previous: PreviousRun | None, id_map: pd.DataFrame, run_id: int) -> pd.DataFrame:
    """Every id published once and missing tonight, with where its unit is now."""
    ids = previous.ids if previous is not None else None
    if ids is None:
        return empty_retired()
    return retire_ids(ids.id_map, ids.orgs, ids.names, ids.retired, id_map, run_id)


def rebuild_hierarchy(records: pd.DataFrame, id_map: pd.DataFrame, previous: PreviousRun | None) -> Hierarchy:
    """Organizations with parents and admin provinces, the parent changes, and what was rebuilt."""
    regions = default_regions()
    kept = previous.hierarchy if previous is not None and previous.incremental else None
    orgs, rebuilt = rebuild_organizations(records, id_map, regions, kept)
    orgs["province_code"] = admin_provinces(orgs, regions)
    return Hierarchy(orgs, parent_changes(orgs, records["org_id"]), rebuilt)


def provinces_before(raw_registry: pd.DataFrame) -> pd.Series:
    """Each source id's province through its declared parents, as the registry stands before the run."""
    return declared_provinces(raw_registry, default_regions())


def assign_visibility(activities: pd.DataFrame, before: pd.Series, id_map: pd.DataFrame,
                      orgs: pd.DataFrame, retired: pd.DataFrame | None = None) -> Visibility:
    """Each activity's canonical unit and admin province, the gains per province against ``before``;
    an activity whose unit left the registry keeps that unit (or the one its record went into)."""
    regions = default_regions()
    retired = empty_retired() if retired is None else retired
    visibility = assign_activities(activities, units_through_retired(id_map, retired), orgs, regions)
    gains, roll = visibility_gains(visibility, activities, before), rollup(orgs, visibility["canonical_org_id"])
    return Visibility(keep_last_units(visibility, activities, retired), gains, roll)


def link_hosts(activities: pd.DataFrame, records: pd.DataFrame, id_map: pd.DataFrame, orgs: pd.DataFrame,
               auto: float, review: float, processes: int = 1) -> Hosts:
    """Every activity's typed 主办/承办单位 linked to a unit (``dedupe.linking``), the names no unit has
    (``hierarchy.missing``) and the activities each unit hosts."""
    regions = default_regions()
    hosts = split_hosts(activities)
    typed = hosts[["host_text", "region_code"]].drop_duplicates(ignore_index=True)
    blank = pd.Series("", index=typed.index, dtype="str")
    prepared = prepare_registry(pd.DataFrame({
        "org_id": "(主办)" + typed.index.astype("str"), "name": typed["host_text"], "category": blank,
        "region_code": typed["region_code"], "region": blank, "parent_id": blank, "certified": blank,
        "created_at": blank, "updated_at": blank}), regions, processes)
    prepared["category"] = [typed_category(k, h, s, lv, "", bool(b), bool(nc)) for k, h, s, lv, b, nc in zip(
        prepared["name_key"], prepared["name_head"], prepared["name_suffix"], prepared["name_region_level"],
        prepared["region_best"], prepared["name_region_code"])]
    linked = link_typed(prepared, records, id_map, auto, review)
    typed = pd.concat([typed, linked, prepared[["name_key", "name_norm", "name_region_code", "category"]]], axis=1)
    hosts = hosts.merge(typed, on=["host_text", "region_code"], how="left")
    done = hosts[hosts["how"].isin(["exact", "auto"])].drop_duplicates(["activity_id", "canonical_org_id"])
    hosted = done["canonical_org_id"].value_counts().rename_axis("org_id").reset_index(name="hosted_activities")
    return Hosts(hosts[HOST_COLUMNS].reset_index(drop=True), missing_units(hosts, orgs, regions), hosted)


def _as_text(value) -> str:
    return "|".join(map(str, value)) if isinstance(value, (list, tuple, np.ndarray)) else str(value)


def hosts_key(*inputs) -> str:
    """One digest of what host linking reads (frames and thresholds): equal digests, equal links.

    >>> a = pd.DataFrame({"x": ["甲", "乙"]})
    >>> hosts_key(a, 0.9) == hosts_key(a.copy(), 0.9), hosts_key(a, 0.9) == hosts_key(a.iloc[::-1], 0.9)
    (True, False)
    """
    digest = hashlib.sha256()
    for part in inputs:
        if isinstance(part, pd.DataFrame):
            # by column name, numbers as floats, lists as text: a frame read back from the snapshot
            # (its columns reordered, ints widened, lists as arrays) gives the digest it was written with
            for name in sorted(part.columns):
                column = part[name]
                if pd.api.types.is_bool_dtype(column) or column.dtype == object:
                    column = column.map(_as_text)
                elif pd.api.types.is_numeric_dtype(column):
                    column = column.astype("float64")
                digest.update(str(name).encode())
                digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.hexdigest()


STAGES = (read_inputs, check_inputs, normalise, find_candidates, score_share, flag_reused, settle, retire,
          rebuild_hierarchy, provinces_before, assign_visibility, link_hosts)


# ---------------------------------------------------------------------------------------------- runner
class Runner:
    """How ``run_pipeline`` runs its stages: here plain calls, timed (the flow's runner makes each a task)."""

    def __init__(self):
        self.timings: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = time.perf_counter() - start

    def call(self, fn: Callable, *args):
        return fn(*args)

    def map(self, fn: Callable, items: list) -> list:
        return [fn(item) for item in items]

    def submit(self, fn: Callable, *args) -> Future:
        """Side work whose result is needed later (the flow runs it on a task-runner thread)."""
        done: Future = Future()
        done.set_result(fn(*args))
        return done

    def checked(self, inputs: Inputs, checked: CheckedInputs) -> str:
        """Called once the rows are checked; returns where the quarantined rows are (the flow writes them)."""
        return "隔离文件（本次未写出）"


def with_proposals(checked: CheckedInputs, proposals: pd.DataFrame | None) -> CheckedInputs:
    """The checked registry with the accepted proposals added (they were checked when submitted)."""
    if proposals is None or not len(proposals):
        return checked
    clean = pd.concat([checked.registry.clean, proposals.assign(_row=0)], ignore_index=True)
    return replace(checked, registry=replace(checked.registry, clean=clean))


def reject_mostly_quarantined(inputs: Inputs, checked: CheckedInputs, max_share: float, where: str) -> None:
    """A registry whose rows are mostly quarantined is the wrong file or shifted columns: reject the run."""
    share = len(checked.registry.quarantine) / max(inputs.rows()[0], 1)
    if share > max_share:
        raise InputRejected(f"{inputs.registry.path}: {share:.0%} 的行被隔离（上限 {max_share:.0%}），"
                            f"很可能导出了错误的文件或列错位。请查看 {where} 中的原因。")


def run_pipeline(inputs: Inputs, previous: PreviousRun | None, settings, decisions: pd.DataFrame | None = None,
                 corrections: pd.DataFrame | None = None, runner: Runner | None = None, run_id: int = 0,
                 proposals: pd.DataFrame | None = None) -> RunResult:
    """The nightly run from the exports as read to the snapshot's frames (nothing is published here);
    ``decisions`` and ``corrections`` are people's facts from the store; ``run_id`` dates retired and
    flagged ids; ``proposals``: accepted 组织入驻 units carried in as records (``core.proposals``)."""
    runner = runner or Runner()
    decisions = NO_DECISIONS if decisions is None else decisions
    with runner.stage("validate_input"):
        checked = runner.call(check_inputs, inputs)
        where = runner.checked(inputs, checked)
        # what provincial admins saw before the run depends on the input alone: worked out alongside
        before = runner.submit(provinces_before, inputs.registry.frame)
        reject_mostly_quarantined(inputs, checked, settings.quarantine_max_share, where)
        checked = with_proposals(checked, proposals)
    (n_reg, n_act), n_reg_q, n_act_q = inputs.rows(), len(checked.registry.quarantine), len(checked.activities.quarantine)
    del inputs  # a million-row run keeps only what later stages read
    with runner.stage("normalise"):
        normalised = runner.call(normalise, checked, previous, corrections, settings.normalise_processes)
        del checked
    with runner.stage("duplicates"):
        # pair scoring is the heavy part: one share per task (threads, or a Dask cluster's workers)
        candidates = runner.call(find_candidates, normalised, previous, settings.max_block_size,
                                 settings.scoring_chunks)
        scored = [candidates.reused] + runner.map(score_share, candidates.chunks)
        flagged = runner.call(flag_reused, normalised.records, previous, decisions, run_id)
        res = runner.call(settle, normalised, scored, candidates.stats, decisions, previous,
                          settings.auto_merge_threshold, settings.review_threshold, flagged["org_id"])
        del scored
        retired = runner.call(retire, previous, res.id_map, run_id)
    records, acts = normalised.records, normalised.activities
    with runner.stage("hierarchy"):
        hierarchy = runner.call(rebuild_hierarchy, records, res.id_map, previous)
    with runner.stage("visibility"):
        vis = runner.call(assign_visibility, acts, before.result(), res.id_map, hierarchy.organizations, retired)
    orgs = hierarchy.organizations
    with runner.stage("hosts"):
        # skipped when nothing it links from changed (activities, what scoring reads of the records, ids,
        # units, thresholds): the links would come out the same, and at 60k they cost ~6 s every night
        key = hosts_key(acts, records[SCORED_COLUMNS], res.id_map, orgs, settings.auto_merge_threshold,
                        settings.review_threshold)
        if previous is not None and previous.hosts is not None and previous.hosts_key == key:
            hosts = previous.hosts
        else:
            hosts = runner.call(link_hosts, acts, records, res.id_map, orgs, settings.auto_merge_threshold,
                                settings.review_threshold, settings.normalise_processes)
    frames = snapshot_frames(records, acts, res, orgs, hierarchy.changes, vis.activities, vis.gains, vis.rollup,
                             decisions)
    frames["retired_ids"], frames["reused_ids"] = retired, flagged
    frames["activity_hosts"], frames["missing_units"] = hosts.links, hosts.missing
    frames["rollup"] = frames["rollup"].merge(hosts.hosted, on="org_id", how="left").fillna({"hosted_activities": 0})
    frames["rollup"]["hosted_activities"] = frames["rollup"]["hosted_activities"].astype("int64")
    incremental = previous is not None and previous.incremental
    cache = {"pairs": res.scored, "blocking_keys": candidates.keys, "hierarchy": orgs,
             "host_links": hosts.links, "host_missing": hosts.missing, "host_hosted": hosts.hosted,
             "meta": pd.DataFrame([{"pipeline": PIPELINE, "incremental": incremental, "hosts_key": key}])}
    gains = vis.gains
    counts = {
        "registry_rows": n_reg, "registry_kept": len(records), "registry_quarantined": n_reg_q,
        "activities_rows": n_act, "activities_kept": len(acts), "activities_quarantined": n_act_q,
        "canonical_orgs": len(orgs), "auto_merged": int((res.id_map["how"] == "auto").sum()),
        "reviewed_merged": int((res.id_map["how"] == "reviewed").sum()),
        "suggestions_pending": int((frames["merge_suggestions"]["status"] == "pending").sum()),
        "parent_changes": int(len(hierarchy.changes)), "parents_need_review": int(orgs["needs_review"].sum()),
        "newly_visible": int(gains["newly_visible"].sum()) if len(gains) else 0,
        "retired_ids": int((retired["retired_in_run"] == run_id).sum()), "reused_ids": len(flagged),
        "activities_of_retired_units": int(vis.activities["basis"].str.startswith(RETIRED_BASIS).sum()),
        "host_names": len(hosts.links), "missing_units": len(hosts.missing),
        **{f"hosts_{how}": int((hosts.links["how"] == how).sum()) for how in ("exact", "auto", "review", "none")},
    }
    return RunResult(normalised, res, hierarchy, vis, Lineage(retired, flagged), frames, cache, counts, incremental,
                     runner.timings)
