"""The data shapes the nightly pipeline hands from stage to stage, named once (``flows/pipeline.py``).

``PreviousRun`` is everything a run takes from the last published snapshot; the snapshot keeps it
apart from its contract frames (``Snapshot.cached``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.checks import Checked
from core.records import pipeline_fingerprint
from core.sources import RawTable
from dedupe.resolve import Resolution
from dedupe.scoring import ScoringChunk

# what prepared records and scores depend on besides the input: a snapshot of another version is not reused
PIPELINE = pipeline_fingerprint()


@dataclass(frozen=True)
class Inputs:
    """The two exports as read."""
    registry: RawTable
    activities: RawTable

    def rows(self) -> tuple[int, int]:
        """Rows of each file, including the lines the CSV parser could not split."""
        return tuple(len(t.frame) + len(t.unparsable) for t in (self.registry, self.activities))


@dataclass(frozen=True)
class CheckedInputs:
    """Each export split into clean rows and quarantined rows with their reasons."""
    registry: Checked
    activities: Checked


@dataclass(frozen=True)
class PublishedIds:
    """What the live snapshot says about ids, so that they keep resolving (``core/lineage.py``)."""
    id_map: pd.DataFrame  # source_org_id, canonical_org_id
    orgs: pd.DataFrame  # org_id, name, category, region_code, province_code
    names: pd.DataFrame  # each record's org_id, name, name_norm
    retired: pd.DataFrame | None  # ids published once and since removed
    reused: pd.DataFrame | None  # ids flagged as naming another unit, not yet decided

    @classmethod
    def from_snapshot(cls, live) -> PublishedIds:
        return cls(live.frame("id_map", ["source_org_id", "canonical_org_id"]),
                   live.frame("organizations", ["org_id", "name", "category", "region_code", "province_code"]),
                   live.frame("records", ["org_id", "name", "name_norm"]),
                   live.frame("retired_ids") if live.has("retired_ids") else None,
                   live.frame("reused_ids") if live.has("reused_ids") else None)


@dataclass(frozen=True)
class PreviousRun:
    """What a run reuses of the live snapshot. ``canonical``: last run's canonical id of each source id
    (survivorship keeps them, also in a full run) and ``ids`` (lineage, also in a full run); the rest only
    when the run is incremental."""
    canonical: pd.Series | None
    ids: PublishedIds | None = None
    records: pd.DataFrame | None = None  # prepared records, by row (pairs and keys refer to these rows)
    pairs: pd.DataFrame | None = None  # every scored candidate pair (rid_l, rid_r: rows of ``records``)
    blocking_keys: pd.DataFrame | None = None  # key, rid, block
    hierarchy: pd.DataFrame | None = None  # every unit's merged evidence, parent and input hash
    hosts: Hosts | None = None  # last run's host links, and the digest of what they were linked from
    hosts_key: str = ""

    @property
    def incremental(self) -> bool:
        return self.records is not None and self.pairs is not None

    @classmethod
    def from_snapshot(cls, snapshot, full: bool = False) -> PreviousRun | None:
        """From the live snapshot (None: there is none); ``full`` or another pipeline version: ids only."""
        if snapshot is None:
            return None
        ids = PublishedIds.from_snapshot(snapshot)
        canonical = ids.id_map["canonical_org_id"]
        if full or snapshot.cache_meta().get("pipeline") != PIPELINE or not snapshot.has_cached("pairs"):
            return cls(canonical, ids)
        cached = {name: snapshot.cached(name) if snapshot.has_cached(name) else None
                  for name in ("pairs", "blocking_keys", "hierarchy")}
        hosts = [snapshot.cached(f"host_{part}") if snapshot.has_cached(f"host_{part}") else None
                 for part in ("links", "missing", "hosted")]
        key = str(snapshot.cache_meta().get("hosts_key") or "")
        return cls(canonical, ids, snapshot.frame("records"), **cached,
                   hosts=Hosts(*hosts) if key and all(h is not None for h in hosts) else None, hosts_key=key)


@dataclass
class Normalised:
    records: pd.DataFrame  # prepared registry records
    activities: pd.DataFrame  # prepared activities
    changed: np.ndarray  # True where a record is new or changed since the previous run
    previous_at: np.ndarray | None  # each record's row in the previous run's records (-1: new)


@dataclass
class Candidates:
    chunks: list[ScoringChunk]  # the pairs to score, in shares
    stats: dict  # blocking figures
    reused: pd.DataFrame  # last run's scores that still hold
    keys: pd.DataFrame  # this run's blocking keys (the next run's cache)


@dataclass
class Hierarchy:
    organizations: pd.DataFrame  # canonical units with parent and admin province
    changes: pd.DataFrame  # parent changes with reason and confidence
    rebuilt: dict  # what was rebuilt and what was kept


@dataclass
class Visibility:
    activities: pd.DataFrame  # each activity's canonical unit and admin province
    gains: pd.DataFrame  # per province, activities visible before and after
    rollup: pd.DataFrame  # organizations and activities under each unit


@dataclass(frozen=True)
class Hosts:
    links: pd.DataFrame  # activity_hosts: each activity's typed host, its unit, score and how
    missing: pd.DataFrame  # typed hosts no unit has, grouped and ranked (hierarchy.missing)
    hosted: pd.DataFrame  # org_id, hosted_activities (linked exact/auto)


@dataclass
class Lineage:
    retired: pd.DataFrame  # every id published once and missing now, with its last unit and where it is now
    reused: pd.DataFrame  # ids now naming another unit, kept out of automatic merges until a person decides


@dataclass
class RunResult:
    """Everything a run produced: what is published, what the next run reuses, figures for the report."""
    normalised: Normalised
    resolution: Resolution
    hierarchy: Hierarchy
    visibility: Visibility
    lineage: Lineage
    frames: dict[str, pd.DataFrame]  # the snapshot: contract frames and what the service reads
    cache: dict[str, pd.DataFrame]  # what the next incremental run reuses
    counts: dict
    incremental: bool
    timings: dict[str, float] = field(default_factory=dict)
