"""The state directory: run records, decisions and audit in a database, snapshots as versioned folders.

Publishing writes the snapshot folder completely first, then flips the live version in one
transaction; a run that fails anywhere before that commit leaves the previous snapshot live, and a
folder without a database row is an orphan that ``prune`` removes. What is live, the decision overlay
and the compare-and-swap moves are in ``core.live``; a decision (facts, audit rows, overlay operations
and the new live generation) is one transaction (``core.decisions``).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
from sqlalchemy import (JSON, Boolean, Column, DateTime, Float, Index, Integer, MetaData, String, Table, Text,
                        cast, create_engine, event, func, insert, inspect, select, text, update)
from sqlalchemy.engine import Engine

from core.decisions import DecisionConflict, DecisionStore, Fact  # noqa: F401  (the store's public names)
from core.live import (ANY, CACHE, SERVED_FRAMES, IncompleteSnapshot, LiveMoved, LiveState,  # noqa: F401
                       LiveStateStore, Snapshot)
from core.overlay import pair_key  # noqa: F401
from core.proposals import ProposalStore
from core.retention import Leases

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
                  Column("path", Text, nullable=False), Column("counts", JSON), Column("note", Text),
                  # the newest overlay operation the snapshot already contains (the rest apply on top)
                  Column("folded_upto", Integer, default=0))
live = Table("live", metadata,
             Column("id", Integer, primary_key=True, autoincrement=False),
             Column("version", Integer, nullable=False), Column("previous", Integer),
             Column("updated_at", DateTime(timezone=True)),
             Column("generation", Integer, default=1))  # bumped by every move: the compare-and-swap token
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
              Column("can_review", Boolean, nullable=False, server_default=text("false")),
              Column("disabled", Boolean, nullable=False, server_default=text("false")))
# server-side login sessions: the cookie carries only the id, so logout and disable end them at once
sessions = Table("sessions", metadata,
                 Column("id_hash", String(64), primary_key=True), Column("user", String(64), nullable=False, index=True),
                 Column("created_at", DateTime(timezone=True), nullable=False),
                 Column("last_seen", DateTime(timezone=True), nullable=False))
USER_COLUMNS_ADDED = {"scope": "VARCHAR(64) NOT NULL DEFAULT ''", "can_review": "BOOLEAN NOT NULL DEFAULT false",
                      "disabled": "BOOLEAN NOT NULL DEFAULT false"}
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
                       Column("reason", Text), Column("confidence", Float),
                       Column("change", String(8)))  # new / gone: against the run published before
overlay_ops = Table("overlay_ops", metadata,
                    Column("seq", Integer, primary_key=True, autoincrement=True),
                    Column("kind", String(16), nullable=False),  # core.overlay.OP_KINDS
                    Column("left_org_id", String(64)), Column("right_org_id", String(64)),
                    Column("survivor", String(64)), Column("payload", JSON), Column("user", String(64)),
                    Column("created_at", DateTime(timezone=True)))
live_history = Table("live_history", metadata,
                     Column("generation", Integer, primary_key=True, autoincrement=False),
                     Column("version", Integer, nullable=False), Column("overlay_head", Integer),
                     Column("on_top", Integer),  # overlay operations applied on top of the snapshot then
                     Column("cause", Text), Column("user", String(64)), Column("at", DateTime(timezone=True)))
leases = Table("leases", metadata,
               Column("holder", String(128), primary_key=True), Column("version", Integer, nullable=False),
               Column("generation", Integer), Column("since", DateTime(timezone=True)),
               Column("expires_at", DateTime(timezone=True), nullable=False))
# a request's idempotency key and what it answered: a retry gets the same answer, never a second decision
requests = Table("requests", metadata,
                 Column("key", String(128), primary_key=True), Column("user", String(64)),
                 Column("result", JSON), Column("at", DateTime(timezone=True)))
# 组织入驻: proposed new units and what ops decided (core.proposals)
proposals = Table("proposals", metadata,
                  Column("seq", Integer, primary_key=True, autoincrement=True),
                  Column("org_id", String(16), nullable=False, index=True),  # RZ + seq: the unit id once accepted
                  Column("name", Text, nullable=False), Column("category", String(16)),
                  Column("region_code", String(6)), Column("parent_id", String(64)), Column("contact", JSON),
                  Column("verdict", String(16)), Column("candidates", JSON), Column("inferred", JSON),
                  Column("status", String(16), nullable=False),  # pending, accepted, merged, rejected
                  Column("reason", Text), Column("submitted_by", String(64)), Column("decided_by", String(64)),
                  Column("created_at", DateTime(timezone=True)), Column("decided_at", DateTime(timezone=True)),
                  Column("merged_into", String(64)), Column("linked_org_id", String(64)),
                  Column("revision", Integer, index=True))
TABLES = SimpleNamespace(proposals=proposals, runs=runs, snapshots=snapshots, live=live, decisions=decisions, users=users,
                         audit_log=audit_log, parent_changes=parent_changes, overlay_ops=overlay_ops,
                         live_history=live_history, leases=leases, requests=requests, corrections=corrections)
SQLITE_BUSY_SECONDS = 60  # a writer waits this long for another one (a nightly publish takes seconds)


def now() -> datetime:
    return datetime.now(timezone.utc)


class Store(LiveStateStore, DecisionStore, ProposalStore, Leases):
    tables = TABLES
    now = staticmethod(now)

    def __init__(self, home: Path, url: str):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.snapshots_dir = self.home / "snapshots"
        self.snapshots_dir.mkdir(exist_ok=True)
        _create_private_sqlite_file(url)
        self.sqlite = url.startswith("sqlite")
        self.engine: Engine = create_engine(url, future=True, **(
            {"connect_args": {"timeout": SQLITE_BUSY_SECONDS}} if self.sqlite else {"pool_pre_ping": True}))
        if self.sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Databases made by an older version get the new columns in place (create_all adds no columns):
        the users' with their defaults, the others' nullable."""
        existing = inspect(self.engine)
        with self.engine.begin() as c:
            for table in metadata.sorted_tables:
                have = {col["name"] for col in existing.get_columns(table.name)}
                for col in table.columns:
                    if col.name in have:
                        continue
                    ddl = USER_COLUMNS_ADDED.get(col.name) if table is users else None
                    ddl = ddl or col.type.compile(dialect=self.engine.dialect)
                    c.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{col.name}" {ddl}'))

    @contextmanager
    def writing(self):
        """A write transaction; on SQLite it takes the write lock at once (``BEGIN IMMEDIATE``), so two
        writers queue instead of failing half-way with "database is locked"."""
        with self.engine.connect() as c:
            if self.sqlite:
                c.exec_driver_sql("BEGIN IMMEDIATE")
            yield c
            c.commit()

    @contextmanager
    def reading(self):
        """A read transaction that sees one consistent state (several statements)."""
        with self.engine.connect() as c:
            if self.sqlite:
                c.exec_driver_sql("BEGIN")
            else:
                c = c.execution_options(isolation_level="REPEATABLE READ")
            yield c
            c.rollback()

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
        """A run's parent changes (tonight's, against the run published before: see hierarchy.changes)."""
        columns = [c for c in ("org_id", "old_parent", "new_parent", "reason", "confidence", "change") if c in changes]
        rows = changes[columns].assign(run_id=run_id)
        rows.to_sql("parent_changes", self.engine, if_exists="append", index=False, chunksize=20_000)

    def forget_parent_changes(self, run_id: int) -> None:
        """Take back a run's parent changes (its snapshot was not published)."""
        with self.engine.begin() as c:
            c.execute(parent_changes.delete().where(parent_changes.c.run_id == run_id))

    def prune(self, keep: int) -> list[Path]:
        """Retention: snapshot folders beyond the newest ``keep`` (see ``prune_snapshots``)."""
        return self.prune_snapshots(keep)

    # ------------------------------------------------------------------ audit
    def audit(self, user: str, action: str, detail: dict) -> None:
        with self.writing() as c:
            c.execute(insert(audit_log).values(at=now(), user=user, action=action, detail=detail))

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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL: readers (the service, status) never wait for a writer and a writer never waits for them
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_SECONDS * 1000}")
    cursor.close()


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
