"""The state directory: run records, decisions and audit in a database, snapshots as versioned folders.

Publishing writes the snapshot folder completely first, then flips the live version in one
transaction; a run that fails anywhere before that commit leaves the previous snapshot live, and a
folder without a database row is an orphan that ``prune`` removes.
"""
from __future__ import annotations

import json
import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text,
                        cast, create_engine, delete, func, insert, inspect, select, text, update)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.engine import Engine

metadata = MetaData()
runs = Table("runs", metadata,
             Column("id", Integer, primary_key=True, autoincrement=True),
             Column("started_at", DateTime(timezone=True), nullable=False),
             Column("finished_at", DateTime(timezone=True)),
             Column("status", String(16), nullable=False),  # running, succeeded, failed, rejected
             Column("full_run", Boolean, default=True),
             Column("inputs", JSON), Column("counts", JSON), Column("timings", JSON),
             Column("error", Text), Column("report_dir", Text), Column("snapshot_version", Integer))
snapshots = Table("snapshots", metadata,
                  Column("version", Integer, primary_key=True, autoincrement=False),
                  Column("run_id", Integer), Column("created_at", DateTime(timezone=True), nullable=False),
                  Column("path", Text, nullable=False), Column("counts", JSON), Column("note", Text))
live = Table("live", metadata,
             Column("id", Integer, primary_key=True, autoincrement=False),
             Column("version", Integer, nullable=False), Column("previous", Integer),
             Column("updated_at", DateTime(timezone=True)))
decisions = Table("decisions", metadata,
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("left_org_id", String(64), nullable=False), Column("right_org_id", String(64), nullable=False),
                  Column("pair_key", String(130), nullable=False),
                  Column("decision", String(16), nullable=False),  # match, distinct
                  Column("survivor", String(64)), Column("user", String(64)),
                  Column("created_at", DateTime(timezone=True)), Column("active", Boolean, default=True))
# one live decision per pair: a second reviewer deciding the same pair gets a conflict, never an overwrite
Index("one_active_decision_per_pair", decisions.c.pair_key, unique=True,
      sqlite_where=decisions.c.active.is_(True), postgresql_where=decisions.c.active.is_(True))
users = Table("users", metadata,
              Column("name", String(64), primary_key=True), Column("role", String(16), nullable=False),
              Column("password_hash", Text, nullable=False), Column("token_hash", String(64)),
              Column("created_at", DateTime(timezone=True)),
              # province code (role province) or org id (society, ministry); empty for national roles
              Column("scope", String(64), nullable=False, server_default=""),
              Column("can_review", Boolean, nullable=False, server_default=text("0")),
              Column("disabled", Boolean, nullable=False, server_default=text("0")))
# server-side login sessions: the cookie carries only the id, so logout and disable end them at once
sessions = Table("sessions", metadata,
                 Column("id_hash", String(64), primary_key=True), Column("user", String(64), nullable=False, index=True),
                 Column("created_at", DateTime(timezone=True), nullable=False),
                 Column("last_seen", DateTime(timezone=True), nullable=False))
USER_COLUMNS_ADDED = {"scope": "VARCHAR(64) NOT NULL DEFAULT ''", "can_review": "BOOLEAN NOT NULL DEFAULT 0",
                      "disabled": "BOOLEAN NOT NULL DEFAULT 0"}
# a reviewer's correction of a unit's name, category or place: a fact every later run applies to
# that record before normalising it (like decisions); the newest active one per field counts
corrections = Table("corrections", metadata,
                    Column("id", Integer, primary_key=True, autoincrement=True),
                    Column("org_id", String(64), nullable=False, index=True), Column("field", String(16), nullable=False),
                    Column("value", Text, nullable=False), Column("user", String(64)),
                    Column("created_at", DateTime(timezone=True)), Column("active", Boolean, default=True))
audit_log = Table("audit_log", metadata,
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("at", DateTime(timezone=True), nullable=False), Column("user", String(64)),
                  Column("action", String(64), nullable=False), Column("detail", JSON))
parent_changes = Table("parent_changes", metadata,
                       Column("id", Integer, primary_key=True, autoincrement=True),
                       Column("run_id", Integer, index=True), Column("org_id", String(64)),
                       Column("old_parent", String(64)), Column("new_parent", String(64)),
                       Column("reason", Text), Column("confidence", Float))

PUBLISH_THREADS = 2  # the machines this runs on have two cores
SNAPSHOT_FRAMES = ("organizations", "id_map", "merge_suggestions", "activity_visibility", "records",
                   "rollup", "parent_changes", "province_gains")


CACHE = "cache"  # a snapshot's folder of what the next run reuses (not part of the published contract)


def now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Snapshot:
    version: int
    path: Path
    counts: dict

    def frame(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        return pd.read_parquet(self.path / f"{name}.parquet", columns=columns)

    def has(self, name: str) -> bool:
        return (self.path / f"{name}.parquet").exists()

    def cached(self, name: str) -> pd.DataFrame:
        """A frame of the cache the next run reuses (kept apart from the published frames)."""
        return pd.read_parquet(self.path / CACHE / f"{name}.parquet")

    def has_cached(self, name: str) -> bool:
        return (self.path / CACHE / f"{name}.parquet").exists()

    def cache_meta(self) -> dict:
        """What made the cache (pipeline version, incremental or not); {} without one."""
        return self.cached("meta").iloc[0].to_dict() if self.has_cached("meta") else {}


class Store:
    def __init__(self, home: Path, url: str):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.snapshots_dir = self.home / "snapshots"
        self.snapshots_dir.mkdir(exist_ok=True)
        _create_private_sqlite_file(url)
        self.engine: Engine = create_engine(url, future=True)
        metadata.create_all(self.engine)
        self._add_user_columns()

    def _add_user_columns(self) -> None:
        """Databases made before accounts had scopes get the new columns (create_all adds no columns)."""
        have = {c["name"] for c in inspect(self.engine).get_columns("users")}
        with self.engine.begin() as c:
            for name, ddl in USER_COLUMNS_ADDED.items():
                if name not in have:
                    c.execute(text(f"ALTER TABLE users ADD COLUMN {name} {ddl}"))

    # ------------------------------------------------------------------ runs
    def start_run(self, inputs: dict, full: bool = True) -> int:
        with self.engine.begin() as c:
            return int(c.execute(insert(runs).values(started_at=now(), status="running", inputs=inputs,
                                                     full_run=full)).inserted_primary_key[0])

    def finish_run(self, run_id: int, status: str, *, counts: dict | None = None, timings: dict | None = None,
                   error: str | None = None, report_dir: str | None = None, snapshot_version: int | None = None):
        values = {"finished_at": now(), "status": status, "error": error}
        values.update({k: v for k, v in dict(counts=counts, timings=timings, report_dir=report_dir,
                                              snapshot_version=snapshot_version).items() if v is not None})
        with self.engine.begin() as c:
            c.execute(update(runs).where(runs.c.id == run_id).values(**values))

    def abandon_dead_runs(self, alive) -> list[int]:
        """Runs still marked running whose process is gone (``alive(inputs)`` is False: killed, power cut)
        are marked failed and their parent changes taken back; their ids."""
        with self.engine.begin() as c:
            stale = [r for r in c.execute(select(runs.c.id, runs.c.inputs).where(runs.c.status == "running"))
                     if not alive(r.inputs or {})]
            for r in stale:
                c.execute(update(runs).where(runs.c.id == r.id).values(
                    status="failed", finished_at=now(), error="运行中断：进程已不存在（被强制结束或机器重启），未发布任何结果"))
                c.execute(parent_changes.delete().where(parent_changes.c.run_id == r.id))
        return [r.id for r in stale]

    def record_inputs(self, run_id: int, inputs: dict) -> None:
        """What the run read: paths, sha256 checksums, encodings and row counts."""
        with self.engine.begin() as c:
            c.execute(update(runs).where(runs.c.id == run_id).values(inputs=inputs))

    def recent_runs(self, limit: int = 10) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(select(runs).order_by(runs.c.id.desc()).limit(limit)).mappings().all()
        return [dict(r) for r in rows]

    def record_parent_changes(self, run_id: int, changes: pd.DataFrame) -> None:
        rows = changes[["org_id", "old_parent", "new_parent", "reason", "confidence"]].assign(run_id=run_id)
        rows.to_sql("parent_changes", self.engine, if_exists="append", index=False, chunksize=20_000)

    def forget_parent_changes(self, run_id: int) -> None:
        """Take back a run's parent changes (its snapshot was not published)."""
        with self.engine.begin() as c:
            c.execute(parent_changes.delete().where(parent_changes.c.run_id == run_id))

    # ------------------------------------------------------------------ snapshots
    def live_snapshot(self) -> Snapshot | None:
        with self.engine.connect() as c:
            row = c.execute(select(live.c.version).where(live.c.id == 1)).first()
            if row is None:
                return None
            snap = c.execute(select(snapshots).where(snapshots.c.version == row.version)).mappings().first()
        return Snapshot(snap["version"], Path(snap["path"]), snap["counts"] or {}) if snap else None

    def publish(self, frames: dict[str, pd.DataFrame], run_id: int | None, counts: dict,
                note: str = "", unchanged_from: Snapshot | None = None,
                cache: dict[str, pd.DataFrame] | None = None) -> Snapshot:
        """Write every frame (and the next run's ``cache`` into its own folder), then make it live in one
        transaction.

        Frames missing from ``frames`` but present in ``unchanged_from`` are hard-linked from it, and so
        is its cache when none is given (a review decision changes four frames, not the records or the
        pair scores).
        """
        tmp = self.snapshots_dir / f".tmp-{uuid.uuid4().hex}"
        (tmp / CACHE).mkdir(parents=True)
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
            (tmp / "manifest.json").write_text(json.dumps({"run_id": run_id, "counts": counts}, ensure_ascii=False))
            _fsync_dir(tmp)
            with self.engine.begin() as c:
                version = int(c.execute(select(func.coalesce(func.max(snapshots.c.version), 0))).scalar()) + 1
                final = self.snapshots_dir / f"v{version:05d}"
                if final.exists():  # left by a publish whose commit never happened: no row points at it
                    shutil.rmtree(final)
                os.replace(tmp, final)
                c.execute(insert(snapshots).values(version=version, run_id=run_id, created_at=now(),
                                                   path=str(final), counts=counts, note=note))
                self._point_live(c, version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return Snapshot(version, final, counts)

    def _point_live(self, c, version: int) -> None:
        current = c.execute(select(live.c.version).where(live.c.id == 1)).scalar()
        if current is None:
            c.execute(insert(live).values(id=1, version=version, previous=None, updated_at=now()))
        else:
            c.execute(update(live).where(live.c.id == 1).values(version=version, previous=current, updated_at=now()))

    def rollback(self) -> Snapshot:
        """Make the snapshot published before the live one live again."""
        with self.engine.begin() as c:
            current = c.execute(select(live.c.version).where(live.c.id == 1)).scalar()
            if current is None:
                raise LookupError("还没有发布过任何快照")
            older = c.execute(select(func.max(snapshots.c.version)).where(snapshots.c.version < current)).scalar()
            if older is None or not Path(c.execute(select(snapshots.c.path).where(
                    snapshots.c.version == older)).scalar()).exists():
                raise LookupError(f"快照 v{current} 之前没有可回退的快照")
            self._point_live(c, older)
        return self.live_snapshot()

    def prune(self, keep: int) -> list[Path]:
        """Remove snapshot folders beyond the newest ``keep`` (never the live one) and orphans."""
        with self.engine.connect() as c:
            known = {r.version: Path(r.path) for r in c.execute(select(snapshots.c.version, snapshots.c.path))}
            current = c.execute(select(live.c.version).where(live.c.id == 1)).scalar()
        keep_versions = set(sorted(known, reverse=True)[:max(keep, 2)]) | {current}
        removed = []
        for v, p in known.items():
            if v not in keep_versions and p.exists():
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        kept_paths = {p.resolve() for p in known.values()}
        for p in self.snapshots_dir.iterdir():
            if p.is_dir() and p.resolve() not in kept_paths:
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        return removed

    # ------------------------------------------------------------------ decisions and audit
    def decisions_frame(self) -> pd.DataFrame:
        with self.engine.connect() as c:
            rows = c.execute(select(decisions).where(decisions.c.active.is_(True))).mappings().all()
        return pd.DataFrame([dict(r) for r in rows],
                            columns=["id", "left_org_id", "right_org_id", "pair_key", "decision", "survivor", "user",
                                     "created_at", "active"])

    def audit(self, user: str, action: str, detail: dict) -> None:
        with self.engine.begin() as c:
            c.execute(insert(audit_log).values(at=now(), user=user, action=action, detail=detail))

    def decide(self, left: str, right: str, decision: str, user: str, survivor: str | None = None,
               detail: dict | None = None) -> int:
        """Record a person's match/distinct fact; raises ``DecisionConflict`` if the pair is already decided."""
        key = pair_key(left, right)
        try:
            with self.engine.begin() as c:
                did = c.execute(insert(decisions).values(
                    left_org_id=left, right_org_id=right, pair_key=key, decision=decision, survivor=survivor,
                    user=user, created_at=now(), active=True)).inserted_primary_key[0]
                c.execute(insert(audit_log).values(at=now(), user=user, action=f"decide:{decision}", detail={
                    "decision_id": did, "left": left, "right": right, "survivor": survivor, **(detail or {})}))
        except IntegrityError:
            existing = self.active_decision(left, right)
            raise DecisionConflict(existing) from None
        return int(did)

    def active_decision(self, left: str, right: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(decisions).where(decisions.c.pair_key == pair_key(left, right),
                                                    decisions.c.active.is_(True))).mappings().first()
        return dict(row) if row else None

    def withdraw(self, decision_id: int, user: str, action: str = "undo") -> dict:
        """Make a decision inactive (undo); the audit log keeps both."""
        with self.engine.begin() as c:
            row = c.execute(select(decisions).where(decisions.c.id == decision_id)).mappings().first()
            if row is None or not row["active"]:
                raise LookupError(f"决定 {decision_id} 不存在或已撤销")
            c.execute(update(decisions).where(decisions.c.id == decision_id).values(active=False))
            c.execute(insert(audit_log).values(at=now(), user=user, action=action, detail={
                "decision_id": decision_id, "before": {k: row[k] for k in ("left_org_id", "right_org_id",
                                                                          "decision", "survivor", "user")}}))
        return dict(row)

    def last_decision(self, user: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(select(decisions).where(decisions.c.user == user, decisions.c.active.is_(True))
                            .order_by(decisions.c.id.desc()).limit(1)).mappings().first()
        return dict(row) if row else None

    def audit_entries(self, limit: int = 100, offset: int = 0, **filters) -> list[dict]:
        """Audit rows, newest first; ``filters`` as ``audit_count`` takes them."""
        with self.engine.connect() as c:
            rows = c.execute(_audit_where(select(audit_log), **filters).order_by(audit_log.c.id.desc())
                             .limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows]

    def audit_count(self, **filters) -> int:
        """How many audit rows match: ``user``, ``action`` (a prefix such as ``review:``), ``since`` /
        ``until`` (datetimes), ``mentions`` (an id anywhere in the detail)."""
        with self.engine.connect() as c:
            return int(c.execute(_audit_where(select(func.count()).select_from(audit_log), **filters)).scalar())

    def last_batch(self, user: str) -> dict | None:
        """The user's latest review batch (``review:*`` audit row) not undone yet."""
        with self.engine.connect() as c:
            undone = {r.detail.get("batch") for r in c.execute(select(audit_log.c.detail).where(
                audit_log.c.user == user, audit_log.c.action == "undo"))}
            for row in c.execute(select(audit_log).where(audit_log.c.user == user, audit_log.c.action.like("review:%"))
                                 .order_by(audit_log.c.id.desc())).mappings():
                if row["detail"].get("batch") not in undone:
                    return dict(row)
        return None

    def correct(self, org_id: str, changes: dict[str, str], user: str) -> list[int]:
        """Record corrections of ``org_id``'s fields (``name``, ``category``, ``region_code``); an older
        active correction of the same field stops counting."""
        ids = []
        with self.engine.begin() as c:
            for field, value in changes.items():
                c.execute(update(corrections).where(corrections.c.org_id == org_id, corrections.c.field == field,
                                                    corrections.c.active.is_(True)).values(active=False))
                ids.append(int(c.execute(insert(corrections).values(
                    org_id=org_id, field=field, value=value, user=user, created_at=now(), active=True)
                ).inserted_primary_key[0]))
        return ids

    def withdraw_corrections(self, ids: list[int]) -> None:
        with self.engine.begin() as c:
            c.execute(update(corrections).where(corrections.c.id.in_(ids)).values(active=False))

    def corrections_frame(self) -> pd.DataFrame:
        """Active corrections: ``org_id, field, value`` (one per record and field)."""
        with self.engine.connect() as c:
            rows = c.execute(select(corrections.c.org_id, corrections.c.field, corrections.c.value)
                             .where(corrections.c.active.is_(True))).all()
        return pd.DataFrame([tuple(r) for r in rows], columns=["org_id", "field", "value"])


class DecisionConflict(Exception):
    """Somebody already decided this pair."""

    def __init__(self, existing: dict | None):
        self.existing = existing or {}
        who = self.existing.get("user", "另一位审核人")
        what = {"match": "接受合并", "distinct": "拒绝合并"}.get(self.existing.get("decision"), "处理")
        super().__init__(f"这一对已由 {who} {what}，未覆盖其决定；请刷新后继续。")


def _audit_where(query, user: str | None = None, action: str | None = None, since: datetime | None = None,
                 until: datetime | None = None, mentions: str | None = None):
    if user:
        query = query.where(audit_log.c.user == user)
    if action:
        query = query.where(audit_log.c.action.like(action.replace("%", "") + "%"))
    if since:
        query = query.where(audit_log.c.at >= since)
    if until:
        query = query.where(audit_log.c.at < until)
    if mentions:
        query = query.where(cast(audit_log.c.detail, Text).like(f'%"{mentions.replace("%", "")}"%'))
    return query


def pair_key(a: str, b: str) -> str:
    return f"{min(a, b)}|{max(a, b)}"


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


def _create_private_sqlite_file(url: str) -> None:
    """Create a new SQLite database file readable by its owner only (it holds password and token hashes);
    SQLite gives its journal files the same mode."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url[len(prefix):] in ("", ":memory:"):
        return
    path = Path(url[len(prefix):])
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)


def open_store(settings) -> Store:
    return Store(settings.home, settings.db_url)
