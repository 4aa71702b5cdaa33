"""The live snapshot as the service sees it, swapped for a newer one without a restart.

A background thread polls the store for the live generation (a new nightly snapshot, a decision
added to its overlay, a rollback); the new state is loaded and indexed while the old one keeps
answering, then replaced in one assignment (readers never see half). The process holds a lease on the
snapshot it serves, renewed at every poll, so that no prune removes it meanwhile.

Review decisions on the served snapshot are applied in place (``serve.state_overlay``): a reviewer's
decision shows in the lookup within a poll, without the seconds of a full load competing with the
desk's requests; the full load (a fresh index and static rank) follows once decisions pause.
"""
from __future__ import annotations

import copy
import ctypes
import gc
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from numpy.dtypes import StringDType

from core.regions import RegionTable, default_regions
from core.store import Store
from serve.lookup import SuggestIndex
from serve.state_overlay import advance

log = logging.getLogger("orgreg.serve")
MIN_RELOAD_SECONDS = 15.0
INDEX_MAX_AGE_SECONDS = 600.0  # a state updated in place for this long is loaded in full (static rank)


# what the new-unit check compares (dedupe.compare.compare_records and HeadPlaces read these)
CHECK_COLUMNS = ["org_id", "name_head", "name_suffix", "name_region_code", "name_region_level", "name_prefecture",
                 "name_province", "region_best", "region_level", "prefecture_best", "province_best", "category",
                 "place_token", "national", "place_candidates"]


class IdMap:
    """Every source id to its canonical id and how it got there, kept as sorted arrays: at a million
    records two dicts of Python strings cost over half a gigabyte."""

    def __init__(self, id_map: pd.DataFrame):
        ids = id_map["source_org_id"].to_numpy(dtype=object)
        width = max(map(len, ids), default=1)
        self.order = np.argsort(np.array(ids, dtype=f"U{width}"), kind="stable")
        self.ids = np.array(ids, dtype=f"U{width}")[self.order]
        self.canonical = id_map["canonical_org_id"].to_numpy(dtype=StringDType())[self.order]
        self.how = id_map["how"].to_numpy(dtype=StringDType())[self.order]

    def updated(self, rows: pd.DataFrame) -> "IdMap":
        """A copy with the id_map ``rows`` of records it holds (their new units, after decisions) set."""
        out = copy.copy(self)
        out.canonical, out.how = self.canonical.copy(), self.how.copy()
        if len(rows):
            at = np.searchsorted(self.ids, rows["source_org_id"].to_numpy(dtype=object).astype(self.ids.dtype))
            out.canonical[at] = rows["canonical_org_id"].to_numpy(dtype=object)
            out.how[at] = rows["how"].to_numpy(dtype=object)
        return out

    def __contains__(self, org_id: str) -> bool:
        return self._find(org_id) is not None

    def units_of(self, org_ids: np.ndarray) -> np.ndarray:
        """The canonical ids of many source ids at once (None for an unknown one), as an object array."""
        org_ids = np.asarray(org_ids, dtype=object)
        if not len(self.ids):
            return np.full(len(org_ids), None, dtype=object)
        at = np.minimum(np.searchsorted(self.ids, org_ids.astype(self.ids.dtype)), len(self.ids) - 1)
        out = self.canonical[at].astype(object)
        out[self.ids[at] != org_ids.astype(self.ids.dtype)] = None
        return out

    def _find(self, org_id: str) -> int | None:
        i = int(np.searchsorted(self.ids, org_id))
        return i if i < len(self.ids) and self.ids[i] == org_id else None

    def get(self, org_id: str, default: str | None = None) -> str | None:
        i = self._find(org_id)
        return default if i is None else str(self.canonical[i])

    def how_of(self, org_id: str) -> str | None:
        i = self._find(org_id)
        return None if i is None else str(self.how[i])


@dataclass
class Loaded:
    version: int
    orgs: pd.DataFrame  # indexed by org_id
    canonical: IdMap
    index: SuggestIndex
    visibility: pd.DataFrame
    rollup: pd.DataFrame  # indexed by org_id
    children: dict[str, list[str]]
    records: pd.DataFrame  # CHECK_COLUMNS, indexed by the canonical id (sorted)
    retired: pd.DataFrame | None = None  # ids that left the registry (core.lineage), indexed by source_org_id
    generation: int = 0  # the live state's generation (bumped by every decision, publish and rollback)
    label: str = ""  # how people see it, e.g. v7+3 (snapshot 7 and three decisions on top)
    # what serve.state_overlay.advance needs to apply later decisions in place of a full load
    head: int = 0  # the newest overlay operation applied
    id_map: pd.DataFrame | None = None
    suggestions: pd.DataFrame | None = None  # merge_suggestions
    built_index: SuggestIndex | None = None  # the index as the last full load built it (``index`` re-points it)
    positions: pd.Index | None = None  # the ids of built_index's units, by position
    record_order: np.ndarray | None = None  # each row of ``records``: its position in the snapshot's records
    index_generation: int = 0  # the generation ``built_index`` was built on

    @cached_property
    def unit_columns(self) -> dict:
        """The units' columns as arrays (no copy), read by position."""
        return {c: self.orgs[c].array for c in self.orgs.columns}

    def unit_row(self, org_id: str, columns=None) -> dict:
        """One unit's ``columns`` (default: all) by position (``orgs.loc`` builds a Series of every column:
        about 60 µs, and the new-unit check shows up to ten units); KeyError for an unknown id."""
        at, arrays = self.orgs.index.get_loc(org_id), self.unit_columns
        return {c: arrays[c][at] for c in (columns or arrays)}


def by_org_id(orgs: pd.DataFrame) -> pd.DataFrame:
    """The units indexed by org_id (Python strings: lookups of a few units stay cheap)."""
    if orgs["org_id"].dtype != object:
        orgs = orgs.astype({"org_id": object})
    return orgs.set_index(pd.Index(orgs["org_id"].to_numpy(), name="org_id"), drop=False)


def children_of(orgs: pd.DataFrame) -> dict[str, list[str]]:
    """Each unit's child units (in the order of ``orgs``)."""
    children: dict[str, list[str]] = {}
    for oid, parent in zip(orgs["org_id"], orgs["parent_id"]):
        if parent:
            children.setdefault(parent, []).append(oid)
    return children


def by_unit(records: pd.DataFrame, canonical: IdMap) -> tuple[pd.DataFrame, np.ndarray]:
    """``records`` (CHECK_COLUMNS, in the snapshot's order) indexed by their canonical ids, sorted (stable),
    and the snapshot position of each row."""
    units = pd.Index(canonical.units_of(records["org_id"].to_numpy(dtype=object)), name="unit", dtype=object)
    # Python strings: the matcher reads them as such, and a decision's re-sort takes rows cheaply
    keyed = records[CHECK_COLUMNS].astype({c: object for c in CHECK_COLUMNS
                                           if pd.api.types.is_string_dtype(records[c].dtype)}).set_index(units)
    order = np.argsort(keyed.index.to_numpy(dtype=str), kind="stable")
    return keyed.iloc[order], order


def load(store: Store, regions: RegionTable) -> Loaded | None:
    snap = store.live_snapshot()
    if snap is None:
        return None
    orgs = snap.frame("organizations")
    id_map = snap.frame("id_map")
    records = snap.frame("records")
    visibility = snap.frame("activity_visibility")
    counts = visibility["canonical_org_id"].value_counts()
    index = SuggestIndex(orgs, records, id_map, regions, counts, snap.frame("rollup"))
    canonical = IdMap(id_map)
    keyed, order = by_unit(records, canonical)
    return Loaded(snap.version, by_org_id(orgs), canonical, index, visibility,
                  snap.frame("rollup").set_index("org_id"), children_of(orgs), keyed,
                  snap.frame("retired_ids").set_index("source_org_id") if snap.has("retired_ids") else None,
                  snap.generation, snap.label, head=snap.head, id_map=id_map,
                  suggestions=snap.frame("merge_suggestions"), built_index=index,
                  positions=pd.Index(index.org_ids.astype(object)), record_order=order,
                  index_generation=snap.generation)


def settle_memory() -> None:
    """After a swap: collect the old snapshot, then exempt the new one's millions of objects from the
    cyclic garbage collector, whose full passes over them would stall a query for tens of milliseconds."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _return_free_memory()


def _return_free_memory() -> None:
    """Give the heap the index build freed back to the system (glibc keeps it otherwise: about a
    gigabyte at a million units). Elsewhere this does nothing."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


class SnapshotHolder:
    def __init__(self, store: Store, regions: RegionTable | None = None, poll_seconds: float = 5.0,
                 min_reload_seconds: float = MIN_RELOAD_SECONDS, lease_seconds: float = 300.0):
        self.min_reload_seconds = min_reload_seconds
        self.lease_seconds = max(lease_seconds, 3 * poll_seconds)
        self.holder_name = f"serve:{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.store = store
        self.regions = regions or default_regions()
        self.poll_seconds = poll_seconds
        self.current: Loaded | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._lock_soon = threading.Lock()
        self._last_load = self._last_change = 0.0
        self._unreadable: int | None = None  # the live generation whose snapshot failed to load
        self._loading = self._again = False
        self._thread: threading.Thread | None = None

    def refresh(self, full: bool = False) -> bool:
        """Bring the served state up to the live one; True when it changed. Decisions added on the
        served snapshot are applied in place (``serve.state_overlay.advance``); a new snapshot, a
        rollback, a split or a correction (or ``full``) loads it in full."""
        state = self.store.live_state()
        served = self.current.generation if self.current is not None else None
        if state is None or (not full and state.generation in (served, self._unreadable)):
            return False  # unchanged, or the snapshot that failed to load: tried again once the live state moves
        with self._lock:  # one load at a time; readers keep using the old bundle meanwhile
            cur = self.current
            loaded = None
            if cur is not None and not full:
                state, ops = self.store.live_changes(cur.head)
                if state is None or cur.generation == state.generation:
                    return False
                if state.version == cur.version:
                    loaded = advance(cur, state, ops)
            if loaded is None:
                try:
                    loaded = load(self.store, self.regions)
                except Exception:
                    self._unreadable = state.generation
                    raise
                self._last_load = time.monotonic()
            self._last_change = time.monotonic()
            if loaded is not None:
                self.current = loaded
                self.renew_lease()
                log.info("serving snapshot %s (generation %s%s)", loaded.label, loaded.generation,
                         "" if loaded.index_generation == loaded.generation else ", applied in place")
                if loaded.index_generation == loaded.generation:
                    settle_memory()
        return True

    def rebuild_when_quiet(self) -> None:
        """Load in full (a fresh index and its rank) once no decision came for ``min_reload_seconds``,
        or the in-place state is ``INDEX_MAX_AGE_SECONDS`` old."""
        cur = self.current
        if cur is None or cur.index_generation == cur.generation:
            return
        now = time.monotonic()
        if now - self._last_change >= self.min_reload_seconds or now - self._last_load >= INDEX_MAX_AGE_SECONDS:
            self.refresh(full=True)

    def renew_lease(self) -> None:
        """Tell prune which snapshot this process serves (its lease runs out if the process dies)."""
        current = self.current
        if current is None:
            return
        try:
            self.store.hold(self.holder_name, current.version, self.lease_seconds, current.generation)
        except Exception:  # a busy database must not stop the service: the lease is renewed at the next poll
            log.exception("could not renew the snapshot lease")

    def refresh_soon(self) -> None:
        """Load a new snapshot in the background; the request that published it does not wait.

        Reviewers publish many small versions in a row: while a load is running, further requests
        only ask for one more load afterwards, so the index is rebuilt at most twice per burst.
        """
        with self._lock_soon:
            if self._loading:
                self._again = True
                return
            self._loading = True
        threading.Thread(target=self._load_until_current, name="snapshot-refresh", daemon=True).start()

    def _load_until_current(self) -> None:
        while True:
            self._safe_refresh()
            with self._lock_soon:
                if not self._again:
                    self._loading = False
                    return
                self._again = False

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
            self.rebuild_when_quiet()
        except Exception:
            log.exception("could not load the live snapshot")

    def first_load(self) -> None:
        """Load the live snapshot at start-up; one that cannot be read is said in a line, and the
        service starts without it (answering 503) and loads the next one published or rolled back to."""
        try:
            self.refresh()
        except Exception as exc:  # noqa: BLE001  (an unreadable file: the poller keeps trying)
            log.error("当前生效的快照无法读取（%s: %s）：服务先不带快照启动（接口答复 503）。请用 orgreg publish "
                      "--rollback 回到上一个快照或重新运行 orgreg nightly，新的快照生效后自动加载。",
                      type(exc).__name__, exc)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, name="snapshot-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.store.release(self.holder_name)
        except Exception:
            log.exception("could not release the snapshot lease")

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.renew_lease()
            self.refresh_soon()  # a bad snapshot must not stop the service: the old one keeps serving
