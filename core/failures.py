"""Expected failures told to a person in one Chinese sentence (cause and fix); the traceback goes to a file.

Nothing here imports prefect or the database driver: exceptions are recognised by their message and
errno, so the service and the CLI share the same wording.
"""
from __future__ import annotations

import errno
import logging
import traceback
from pathlib import Path

LOG_NAME = "orgreg.log"


def log_path(home: Path) -> Path:
    """The state directory's log file (``logs/orgreg.log``)."""
    return Path(home) / "logs" / LOG_NAME


def _chain(e: BaseException):
    while e is not None:
        yield e
        e = e.__cause__ or e.__context__


def explain(e: BaseException, home: Path | None = None) -> tuple[str, int]:
    """The message for a person and the exit code (2: the input, 1: anything else).

    >>> explain(OSError(errno.ENOSPC, "No space left on device"))[0][:4]
    '磁盘已满'
    >>> explain(Exception("(sqlite3.OperationalError) database is locked"))[1]
    1
    """
    from core.guards import ShrinkHeld
    from core.sources import InputRejected

    where = f"状态目录 {home}" if home else "状态目录"
    for cause in _chain(e):
        if isinstance(cause, (InputRejected, ShrinkHeld)):
            return str(cause), 2
        text = str(cause).lower()
        if isinstance(cause, OSError) and cause.errno in (errno.ENOSPC, errno.EDQUOT) or "database or disk is full" in text:
            return (f"磁盘已满，{where}写不下（{cause}）。当前快照不受影响；请释放磁盘空间"
                    "（旧的运行目录 runs/ 可删除）后重试。"), 1
        if "database is locked" in text or "could not obtain lock" in text:
            return ("数据库正被另一个进程锁定（例如另一次夜间运行或审核操作正在写入）。请等它结束后重试；"
                    "若没有其他 orgreg 进程在运行，重启占用数据库的服务后重试。"), 1
        if (isinstance(cause, PermissionError) or getattr(cause, "errno", None) in (errno.EROFS, errno.EACCES)
                or "readonly database" in text or "read-only" in text or "unable to open database" in text):
            return (f"{where}不可写（{cause}）。请检查目录权限和磁盘挂载（是否只读），"
                    "或用 --home / ORGREG_HOME 指向一个可写的目录后重试。"), 1
    return f"运行失败：{type(e).__name__}: {e}", 1


def record_traceback(home: Path | None, e: BaseException) -> Path | None:
    """Append the full traceback to the log file; its path, or None when it cannot be written either."""
    if home is None:
        return None
    path = log_path(home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write("".join(traceback.format_exception(e)))
        return path
    except OSError:  # a read-only or full disk: the person still gets the message
        return None


def log_to_file(home: Path) -> Path | None:
    """Send every log record (Prefect's too) to the log file instead of the console.

    A handler with a formatter on the root logger makes Prefect leave the root alone when it sets up
    its logging, so its console handler, which prints each failure's traceback twice, is never added.
    """
    path = log_path(home)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    return path
