"""The live state: nightly snapshot folders, the decision overlay on top, compare-and-swap moves, leases.

What is live is one row: the nightly snapshot ``version`` plus every overlay operation committed after
that snapshot was built (``folded_upto``), and a ``generation`` that every publisher bumps. A publisher
states what it built on; the move fails with ``LiveMoved`` when the live state has moved on since:

- a nightly publish states the snapshot version it read (decisions arriving meanwhile do not move it:
  those it did not read stay in the overlay and apply on top of its snapshot, so none is lost);
- a decision states the generation it checked itself against (the desk retries from the new state);
- a rollback states the generation it saw (``orgreg publish --rollback`` reads it just before).

Prune (``core.retention``) never removes the live snapshot, the newest ``keep``, nor one held by a lease:
a serving process holds the version it serves (renewed while it polls), a nightly run the version it
builds on.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from sqlalchemy import func, insert, select, update

from core.overlay import OVERLAY_FRAMES, OverlayOp, apply_overlay

PUBLISH_THREADS = 2  # the machines this runs on have two cores
CACHE = "cache"  # a snapshot's folder of what the next run reuses (not part of the published contract)
TMP_PREFIX = ".tmp-"
ANY = object()  # publish(built_from=ANY): no check (tests and benchmarks publishing frames directly)
# what the service reads from every snapshot it loads: a snapshot without one of them is never made live
SERVED_FRAMES = ("organizations", "id_map", "records", "activity_visibility", "rollup", "merge_suggestions")


class IncompleteSnapshot(ValueError):
    """A snapshot lacks a frame the service reads (nothing is published)."""


def missing_frames(folder: Path) -> list[str]:
    return [name for name in SERVED_FRAMES if not (folder / f"{name}.parquet").exists()]


class LiveMoved(Exception):
    """The live state changed after the publisher read it; nothing was published."""


@dataclass(frozen=True)
class LiveState:
    version: int  # the nightly snapshot folder that is live
    generation: int  # bumped by every move: the compare-and-swap token
    folded_upto: int  # overlay operations up to this sequence number are inside the snapshot already
    head: int  # the newest overlay operation
    on_top: int = 0  # how many overlay operations apply on top of the snapshot (sequence numbers have gaps)

    @property
    def label(self) -> str:
        """How people see it: the snapshot and the decisions applied on top.

        >>> LiveState(7, 31, 40, 44, 3).label
        'v7+3'
        """
        return f"v{self.version}+{self.on_top}" if self.on_top else f"v{self.version}"


@dataclass
class Snapshot:
    version: int
    path: Path
    counts: dict
    generation: int = 0
    ops: tuple[OverlayOp, ...] = ()
    head: int = 0
    _overlaid: dict | None = field(default=None, repr=False)

    def frame(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A frame of the live state: the four frames decisions edit come with the overlay applied."""
        if name in OVERLAY_FRAMES and self.ops:
            if columns is not None:
                return self.frame(name)[columns]
            if self._overlaid is None:
                base = {n: self.base_frame(n) for n in OVERLAY_FRAMES}
                if self.has("records") and any(op.kind == "unmerge" for op in self.ops):
                    base["records"] = self.base_frame("records")  # names of records split off again
                self._overlaid = apply_overlay(base, self.ops)
            return self._overlaid[name]
        return self.base_frame(name, columns)

    def base_frame(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A frame as the nightly run (or the publisher) wrote it, without the overlay."""
        return pd.read_parquet(self.path / f"{name}.parquet", columns=columns)

    def has(self, name: str) -> bool:
        return (self.path / f"{name}.parquet").exists()

    def missing_frames(self) -> list[str]:
        """The frames the service reads that this snapshot's folder lacks (a file removed by hand)."""
        return missing_frames(self.path)

    def cached(self, name: str) -> pd.DataFrame:
        """A frame of the cache the next run reuses (kept apart from the published frames)."""
        return pd.read_parquet(self.path / CACHE / f"{name}.parquet")

    def has_cached(self, name: str) -> bool:
        return (self.path / CACHE / f"{name}.parquet").exists()

    def cache_meta(self) -> dict:
        """What made the cache (pipeline version, incremental or not); {} without one."""
        return self.cached("meta").iloc[0].to_dict() if self.has_cached("meta") else {}

    @property
    def label(self) -> str:
        """The snapshot and the decisions applied on top, as people see it (``v7+3``)."""
        return f"v{self.version}+{len(self.ops)}" if self.ops else f"v{self.version}"


class LiveStateStore:
    """The part of ``core.store.Store`` that owns what is live (mixed into it; uses its engine and tables)."""

    def live_state(self, c=None) -> LiveState | None:
        """What is live now (None before the first publish)."""
        if c is None:
            with self.engine.connect() as c:
                return self.live_state(c)
        t = self.tables
        row = c.execute(select(t.live.c.version, t.live.c.generation).where(t.live.c.id == 1)).first()
        if row is None:
            return None
        folded = int(c.execute(select(t.snapshots.c.folded_upto).where(t.snapshots.c.version == row.version)).scalar()
                     or 0)
        head, on_top = c.execute(select(func.coalesce(func.max(t.overlay_ops.c.seq), 0),
                                        func.count().filter(t.overlay_ops.c.seq > folded))).one()
        return LiveState(row.version, int(row.generation or 0), folded, int(head), int(on_top or 0))

    def lock_live(self, c) -> None:
        """Take the live row for this write transaction (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already
        holds the whole database): writers of overlay operations then commit in the order of their
        sequence numbers, so a reader never sees a later operation without an earlier one."""
        if not self.sqlite:
            c.execute(select(self.tables.live.c.id).where(self.tables.live.c.id == 1).with_for_update())

    def live_snapshot(self) -> Snapshot | None:
        """The live snapshot with the decision overlay committed after it (read in one transaction)."""
        t = self.tables
        with self.reading() as c:
            state = self.live_state(c)
            if state is None:
                return None
            snap = c.execute(select(t.snapshots).where(t.snapshots.c.version == state.version)).mappings().first()
            ops = self._ops(c, after=state.folded_upto)
        if snap is None:
            return None
        return Snapshot(snap["version"], Path(snap["path"]), snap["counts"] or {}, state.generation, tuple(ops),
                        state.head)

    def live_changes(self, after: int) -> tuple[LiveState | None, list[OverlayOp]]:
        """What is live and the overlay operations after ``after``, read together (a reader catching up)."""
        with self.reading() as c:
            return self.live_state(c), self._ops(c, after)

    def overlay_ops(self, after: int = 0) -> list[OverlayOp]:
        """The overlay operations after sequence number ``after``, oldest first."""
        with self.engine.connect() as c:
            return self._ops(c, after)

    def _ops(self, c, after: int) -> list[OverlayOp]:
        o = self.tables.overlay_ops
        rows = c.execute(select(o).where(o.c.seq > after).order_by(o.c.seq)).mappings().all()
        return [OverlayOp(r["kind"], r["left_org_id"] or "", r["right_org_id"] or "", r["survivor"], r["payload"] or {},
                          r["seq"]) for r in rows]

    def publish(self, frames: dict[str, pd.DataFrame], run_id: int | None, counts: dict, note: str = "",
                unchanged_from: Snapshot | None = None, cache: dict[str, pd.DataFrame] | None = None,
                built_from=ANY, folded_upto: int | None = None, cause: str = "") -> Snapshot:
        """Write every frame (and the next run's ``cache`` into its own folder), then make it live in one
        transaction, if the live snapshot is still ``built_from`` (compare-and-swap).

        ``folded_upto``: the newest overlay operation the frames already contain (a nightly run passes
        the one it read with the decisions); operations after it stay on top. Default: all of them.
        Frames missing from ``frames`` but present in ``unchanged_from`` are hard-linked from it, and so
        is its cache when none is given. Raises ``LiveMoved`` (nothing published) when another publish
        or a rollback came first, and ``IncompleteSnapshot`` (nothing published) when a frame of
        ``SERVED_FRAMES`` is missing.
        """
        tmp = self.snapshots_dir / f"{TMP_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex}"
        (tmp / CACHE).mkdir(parents=True)
        t = self.tables
        try:
            files = [(tmp / f"{name}.parquet", frame) for name, frame in frames.items()]
            files += [(tmp / CACHE / f"{name}.parquet", frame) for name, frame in (cache or {}).items()]
            # frames written side by side: pyarrow encodes and compresses without holding the GIL
            with ThreadPoolExecutor(max_workers=PUBLISH_THREADS) as pool:
                list(pool.map(lambda item: item[1].to_parquet(item[0], index=False), files))
            if unchanged_from is not None:
                for old in unchanged_from.path.glob("*.parquet"):
                    if old.stem not in frames:
                        os.link(old, tmp / old.name)
                if cache is None:
                    for old in (unchanged_from.path / CACHE).glob("*.parquet"):
                        os.link(old, tmp / CACHE / old.name)
            if missing := missing_frames(tmp):
                raise IncompleteSnapshot(f"快照缺少 {'、'.join(missing)}（查询服务要读取它们），未发布；"
                                         "当前生效的快照不变。")
            (tmp / "manifest.json").write_text(json.dumps({"run_id": run_id, "counts": counts}, ensure_ascii=False))
            _fsync_dir(tmp)
            with self.writing() as c:
                self.lock_live(c)
                state = self.live_state(c)
                current = state.version if state else None
                if built_from is not ANY and built_from != current:
                    raise LiveMoved(f"发布时当前快照已是 v{current}（本次基于 v{built_from} 计算，其间有另一次发布或回退）；"
                                    "结果未发布，请重新运行。")
                version = int(c.execute(select(func.coalesce(func.max(t.snapshots.c.version), 0))).scalar()) + 1
                final = self.snapshots_dir / f"v{version:05d}"
                if final.exists():  # left by a publish whose commit never happened: no row points at it
                    shutil.rmtree(final)
                os.replace(tmp, final)
                head = c.execute(select(func.coalesce(func.max(t.overlay_ops.c.seq), 0))).scalar()
                c.execute(insert(t.snapshots).values(
                    version=version, run_id=run_id, created_at=self.now(), path=str(final), counts=counts, note=note,
                    folded_upto=head if folded_upto is None else folded_upto))
                generation = self._move_live(c, state, version, cause or (f"nightly run {run_id}" if run_id
                                                                          else note or "publish"))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Snapshot(version, final, counts, generation)

    def _move_live(self, c, state: LiveState | None, version: int, cause: str, user: str = "") -> int:
        """Point the live row at ``version`` if it is still ``state``; returns the new generation."""
        t = self.tables
        if state is None:
            c.execute(insert(t.live).values(id=1, version=version, previous=None, generation=1, updated_at=self.now()))
            generation = 1
        else:
            generation = state.generation + 1
            moved = c.execute(update(t.live).where(t.live.c.id == 1,
                                                          func.coalesce(t.live.c.generation, 0) == state.generation)
                              .values(version=version, previous=state.version, generation=generation,
                                      updated_at=self.now()))
            if moved.rowcount != 1:
                raise LiveMoved("当前状态已被另一个进程更新；请重试。")
        now = self.live_state(c)
        c.execute(insert(t.live_history).values(generation=generation, version=version, overlay_head=now.head,
                                                on_top=now.on_top, cause=cause, user=user or None, at=self.now()))
        return generation

    def bump_live(self, c, expected: int | None, cause: str, user: str = "") -> int:
        """A decision's move: same snapshot, one more overlay operation (inside the decision's transaction)."""
        state = self.live_state(c)
        if state is None:
            raise LookupError("还没有发布的快照：请先运行 orgreg nightly")
        if expected is not None and state.generation != expected:
            raise LiveMoved(f"当前状态已从第 {expected} 代变为第 {state.generation} 代；请基于新状态重试。")
        return self._move_live(c, state, state.version, cause, user)

    def rollback(self, expected: int | None = None, user: str = "") -> Snapshot:
        """Make the nightly snapshot before the live one live again; every decision stays applied on top."""
        t = self.tables
        with self.writing() as c:
            self.lock_live(c)
            state = self.live_state(c)
            if state is None:
                raise LookupError("还没有发布过任何快照")
            if expected is not None and state.generation != expected:
                raise LiveMoved("回退前当前状态又变了；请重新查看 orgreg status 后再回退。")
            older = [r for r in c.execute(select(t.snapshots.c.version, t.snapshots.c.path)
                                          .where(t.snapshots.c.version < state.version)
                                          .order_by(t.snapshots.c.version.desc())) if Path(r.path).exists()]
            if not older:
                raise LookupError(f"快照 v{state.version} 之前没有可回退的快照")
            self._move_live(c, state, older[0].version, f"rollback from v{state.version}", user)
        return self.live_snapshot()

    def snapshot_rows(self) -> list[dict]:
        """Every snapshot the database knows, newest first (version, run, created, folded_upto, path, note)."""
        t = self.tables.snapshots
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(select(t).order_by(t.c.version.desc())).mappings()]

    def live_history(self, limit: int = 10) -> list[dict]:
        """The last moves of the live state: generation, snapshot, overlay head, cause, user, time."""
        t = self.tables.live_history
        with self.engine.connect() as c:
            return [dict(r) for r in c.execute(select(t).order_by(t.c.generation.desc()).limit(limit)).mappings()]


def _fsync_dir(path: Path) -> None:
    for p in path.iterdir():
        if p.is_dir():  # the cache folder
            _fsync_dir(p)
            continue
        with open(p, "rb") as f:
            os.fsync(f.fileno())
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
