"""The live snapshot as the service sees it, swapped for a newer one without a restart.

A background thread polls the store for the live version; a new version is loaded and indexed
while the old one keeps answering, then replaced in one assignment (readers never see half).
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import pandas as pd

from core.regions import RegionTable, default_regions
from core.store import Store
from serve.lookup import SuggestIndex

log = logging.getLogger("orgreg.serve")
MIN_RELOAD_SECONDS = 15.0


@dataclass
class Loaded:
    version: int
    orgs: pd.DataFrame  # indexed by org_id
    canonical: dict[str, str]
    how: dict[str, str]
    index: SuggestIndex
    visibility: pd.DataFrame
    rollup: pd.DataFrame  # indexed by org_id
    children: dict[str, list[str]]
    records: pd.DataFrame


def load(store: Store, regions: RegionTable) -> Loaded | None:
    snap = store.live_snapshot()
    if snap is None:
        return None
    orgs = snap.frame("organizations")
    id_map = snap.frame("id_map")
    records = snap.frame("records")
    visibility = snap.frame("activity_visibility")
    counts = visibility["canonical_org_id"].value_counts()
    index = SuggestIndex(orgs, records, id_map, regions, counts)
    children: dict[str, list[str]] = {}
    for oid, parent in zip(orgs["org_id"], orgs["parent_id"]):
        if parent:
            children.setdefault(parent, []).append(oid)
    return Loaded(snap.version, orgs.set_index("org_id", drop=False), dict(zip(id_map["source_org_id"],
                  id_map["canonical_org_id"])), dict(zip(id_map["source_org_id"], id_map["how"])), index,
                  visibility, snap.frame("rollup").set_index("org_id"), children, records)


class SnapshotHolder:
    def __init__(self, store: Store, regions: RegionTable | None = None, poll_seconds: float = 5.0,
                 min_reload_seconds: float = MIN_RELOAD_SECONDS):
        self.min_reload_seconds = min_reload_seconds
        self.store = store
        self.regions = regions or default_regions()
        self.poll_seconds = poll_seconds
        self.current: Loaded | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._lock_soon = threading.Lock()
        self._last_load = 0.0
        self._loading = self._again = False
        self._thread: threading.Thread | None = None

    def refresh(self) -> bool:
        """Load the live snapshot if it is not the one being served; True when it changed."""
        snap = self.store.live_snapshot()
        if snap is None or (self.current is not None and self.current.version == snap.version):
            return False
        with self._lock:  # one load at a time; readers keep using the old bundle meanwhile
            if self.current is not None and self.current.version == snap.version:
                return False
            loaded = load(self.store, self.regions)
            self._last_load = time.monotonic()
            if loaded is not None:
                self.current = loaded
                log.info("serving snapshot v%s", loaded.version)
        return True

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
            # a burst of review decisions publishes a version every second or so; the index is
            # rebuilt at most every MIN_RELOAD_SECONDS so that the decisions keep the CPU
            wait = self._last_load + self.min_reload_seconds - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self._safe_refresh()
            with self._lock_soon:
                if not self._again:
                    self._loading = False
                    return
                self._again = False

    def _safe_refresh(self) -> None:
        try:
            self.refresh()
        except Exception:
            log.exception("could not load the live snapshot")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._poll, name="snapshot-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            self.refresh_soon()  # a bad snapshot must not stop the service: the old one keeps serving
