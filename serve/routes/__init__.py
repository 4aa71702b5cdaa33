"""The service's routes, one router per concern: a new endpoint goes into the module of its concern.

- ``suggest``: ``/api/suggest`` (the autocomplete; its fast path sits in front of FastAPI, ``serve/fastpath.py``)
- ``orgs``: ``/api/orgs/…`` (lookup by id, subtree, the duplicate check before creating a unit)
- ``admin``: ``/api/admin/…`` (what a provincial admin reviews)
- ``review``: the review pages and ``/api/review/…``
- ``pages``: ``/`` (the demo picker) and ``/healthz``
- ``docs``: ``/docs`` with its assets (no CDN)

Each module has one factory taking what its routes need and returning an ``APIRouter``;
``serve/app.py`` builds the application from them.
"""
from __future__ import annotations

from pathlib import Path

from fastapi import HTTPException
from fastapi.templating import Jinja2Templates

from serve.state import Loaded, SnapshotHolder

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent.parent / "templates"))


def live_snapshot(holder: SnapshotHolder) -> Loaded:
    """The loaded snapshot, or 503 with the fix when nothing is published yet."""
    if holder.current is None:
        raise HTTPException(503, "还没有发布的快照：请先运行 orgreg nightly")
    return holder.current
