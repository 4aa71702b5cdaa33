"""Bounded growth: what every writer keeps (snapshots, overlay, run folders, database history) and the
disk a home uses. Applied after every nightly publish and by ``orgreg prune``."""
from __future__ import annotations

import os
import shutil
import socket
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, insert, select, text

from core.live import TMP_PREFIX

FOREIGN_TMP_SECONDS = 6 * 3600  # a publish from another host is never this slow

KEEP_LIVE_HISTORY_ROWS = 200  # the newest moves of the live state stay whatever their age (status shows them)


class Leases:
    """The part of ``core.store.Store`` that keeps snapshots in use on disk (mixed into it): leases, and
    the prune that respects them."""

    def hold(self, holder: str, version: int, seconds: float, generation: int | None = None) -> None:
        """``holder`` uses snapshot ``version`` for the next ``seconds`` (renew to keep it): prune keeps it."""
        le = self.tables.leases
        with self.writing() as c:
            c.execute(delete(le).where(le.c.holder == holder))
            c.execute(insert(le).values(holder=holder, version=version, generation=generation, since=self.now(),
                                        expires_at=self.now() + timedelta(seconds=seconds)))

    def release(self, holder: str) -> None:
        le = self.tables.leases
        with self.writing() as c:
            c.execute(delete(le).where(le.c.holder == holder))

    def holders(self, c=None) -> list[dict]:
        """Leases still running: who holds which version."""
        if c is None:
            with self.engine.connect() as c:
                return self.holders(c)
        le = self.tables.leases
        rows = c.execute(select(le).order_by(le.c.holder)).mappings().all()
        now = self.now()
        return [dict(r) for r in rows if _aware(r["expires_at"]) > now]

    def prune_snapshots(self, keep: int) -> list[Path]:
        """Remove snapshot folders beyond the newest ``keep`` (at least 2), never the live one nor a held one,
        and orphans; then the overlay operations every remaining snapshot already contains."""
        t = self.tables
        with self.writing() as c:
            known = {r.version: (Path(r.path), r.folded_upto or 0)
                     for r in c.execute(select(t.snapshots.c.version, t.snapshots.c.path, t.snapshots.c.folded_upto))}
            state = self.live_state(c)
            held = {h["version"] for h in self.holders(c)}
            protected = set(sorted(known, reverse=True)[:max(keep, 2)]) | held | ({state.version} if state else set())
            gone = [v for v in known if v not in protected]
            if gone:
                c.execute(delete(t.snapshots).where(t.snapshots.c.version.in_(gone)))
            floor = min((known[v][1] for v in protected if v in known), default=0)
            c.execute(delete(t.overlay_ops).where(t.overlay_ops.c.seq <= floor))
        removed = []
        for v in gone:
            if known[v][0].exists():
                shutil.rmtree(known[v][0], ignore_errors=True)
                removed.append(known[v][0])
        kept_paths = {known[v][0].resolve() for v in protected if v in known}
        for p in self.snapshots_dir.iterdir():
            # a folder no row points at: a publish that never committed (unless it is still being written)
            if p.is_dir() and p.resolve() not in kept_paths and not _being_written(p):
                shutil.rmtree(p, ignore_errors=True)
                removed.append(p)
        return removed


def _being_written(p: Path) -> bool:
    """A temporary folder of a publish still running: its process is alive (on this host), or it is recent
    (written by another host sharing the state directory)."""
    if not p.name.startswith(TMP_PREFIX):
        return False
    host, _, rest = p.name[len(TMP_PREFIX):].rpartition("-")[0].rpartition("-")
    if host == socket.gethostname():
        try:
            os.kill(int(rest), 0)
            return True
        except (ValueError, ProcessLookupError):
            return False
        except PermissionError:
            return True
    return time.time() - p.stat().st_mtime < FOREIGN_TMP_SECONDS


def _aware(at):
    """SQLite gives naive datetimes back (they are stored in UTC)."""
    from datetime import timezone

    return at if at.tzinfo else at.replace(tzinfo=timezone.utc)


def apply_retention(store, settings) -> dict:
    """Prune by the retention settings; returns how much of each kind was removed.

    Never removed: the live snapshot, one held by a lease (a serving process, a running nightly), the
    newest ``keep_snapshots``; the run folder of a run still running or of a kept snapshot; people's
    decisions and the audit log (the facts and their history are kept for good).
    """
    t = store.tables
    removed_snapshots = store.prune_snapshots(settings.keep_snapshots)
    cutoff = store.now() - timedelta(days=settings.keep_history_days)
    with store.writing() as c:
        run_rows = c.execute(select(t.runs.c.id, t.runs.c.status).order_by(t.runs.c.id.desc())).all()
        kept_runs = {r.run_id for r in c.execute(select(t.snapshots.c.run_id)) if r.run_id is not None}
        kept_runs |= {r.id for r in run_rows[:max(settings.keep_runs, 1)]}
        kept_runs |= {r.id for r in run_rows if r.status == "running"}
        old_runs = [r.id for r in run_rows if r.id not in kept_runs]
        newest_run = run_rows[0].id if run_rows else 0
        for chunk in range(0, len(old_runs), 500):
            ids = old_runs[chunk:chunk + 500]
            c.execute(delete(t.parent_changes).where(t.parent_changes.c.run_id.in_(ids)))
            c.execute(delete(t.runs).where(t.runs.c.id.in_(ids)))
        newest = c.execute(select(func.max(t.live_history.c.generation))).scalar() or 0
        history = c.execute(delete(t.live_history).where(
            t.live_history.c.at < cutoff, t.live_history.c.generation <= newest - KEEP_LIVE_HISTORY_ROWS)).rowcount
        keys = c.execute(delete(t.requests).where(t.requests.c.at < cutoff)).rowcount
        c.execute(delete(t.leases).where(t.leases.c.expires_at < store.now()))
    folders = 0
    if settings.runs_dir.exists():
        for p in settings.runs_dir.iterdir():
            # a folder newer than every run row belongs to a run that is just starting
            if p.is_dir() and p.name.isdigit() and int(p.name) not in kept_runs and int(p.name) <= newest_run:
                shutil.rmtree(p, ignore_errors=True)
                folders += 1
    return {"snapshots": len(removed_snapshots), "run_folders": folders, "run_rows": len(old_runs),
            "live_history_rows": history, "request_keys": keys}


def tree_bytes(path: Path) -> int:
    """Bytes of the files under ``path``, a hard-linked file counted once."""
    seen, total = set(), 0
    if not path.exists():
        return 0
    for root, _, files in os.walk(path):
        for name in files:
            try:
                st = os.lstat(os.path.join(root, name))
            except OSError:
                continue  # removed meanwhile
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_blocks * 512 if hasattr(st, "st_blocks") else st.st_size
    return total


def disk_usage(store, settings) -> dict[str, int]:
    """Bytes used by the home's parts: snapshots, run folders, database, Prefect home, and all of it."""
    home = Path(settings.home)
    parts = {"snapshots": tree_bytes(store.snapshots_dir), "runs": tree_bytes(settings.runs_dir),
             "prefect": tree_bytes(home / "prefect")}
    if store.sqlite:
        db = Path(store.engine.url.database or "")
        parts["database"] = sum(p.stat().st_size for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists())
    else:
        with store.engine.connect() as c:
            parts["database"] = int(c.execute(text("SELECT pg_database_size(current_database())")).scalar())
    parts["home"] = tree_bytes(home) + (0 if store.sqlite else parts["database"])
    return parts


def human_bytes(n: float) -> str:
    """Sizes as people read them.

    >>> human_bytes(1536), human_bytes(290 * 1024 ** 2)
    ('1.5 KB', '290.0 MB')
    """
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"
