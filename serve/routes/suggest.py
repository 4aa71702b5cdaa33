"""``/api/suggest``: the 归口单位 autocomplete."""
from __future__ import annotations

from typing import Callable

import orjson
from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from core.schema import CATEGORIES
from serve.lookup import MAX_QUERY
from serve.proposals import NewUnits
from serve.routes import live_snapshot
from serve.scopes import PUBLIC
from serve.state import SnapshotHolder


def suggest_answer(holder: SnapshotHolder, new_units: NewUnits | None = None
                   ) -> Callable[[str, str | None, str | None, int], bytes | None]:
    """The one function answering a valid query (JSON bytes), or None when nothing is loaded; the fast
    path (``serve/fastpath.py``) and the documented route both call it. With ``new_units`` the accepted
    组织入驻 proposals are answered too (``serve/proposals.py``)."""
    def answer(q: str, category: str | None, region: str | None, limit: int) -> bytes | None:
        current = holder.current
        if current is None:
            return None
        results = new_units.suggest(current, q, category, region, limit) if new_units is not None \
            else current.index.suggest(q, category, region, limit)
        return orjson.dumps({"results": results,
                             "snapshot_version": current.version})

    return answer


def suggest_router(holder: SnapshotHolder, max_limit: int, new_units: NewUnits | None = None) -> APIRouter:
    """The documented route: well-formed requests never reach it (the fast path answers), the rest get
    its JSON errors. async: no hop to the thread pool."""
    router = APIRouter()
    answer = suggest_answer(holder, new_units)

    @router.get("/api/suggest", summary="归口单位联想", response_class=Response, dependencies=[PUBLIC])
    async def suggest(q: str = Query(..., min_length=1, max_length=MAX_QUERY, description="输入的文字、拼音或首字母"),
                      category: str | None = Query(None, description="组织类别"),
                      region: str | None = Query(None, pattern=r"^\d{6}$", description="地区代码；省级代码包含其下所有地区"),
                      limit: int = Query(10, ge=1, le=max_limit)):
        if category and category not in CATEGORIES:
            raise HTTPException(422, f"未知的组织类别：{category}")
        live_snapshot(holder)
        return Response(answer(q, category, region, limit), media_type="application/json")

    return router
