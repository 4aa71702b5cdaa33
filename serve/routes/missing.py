"""Missing units: names typed as activities' hosts that no unit has (the nightly's ``missing_units``),
for the national team to register — a page, its CSV/xlsx download and ``/api/missing-units``."""
from __future__ import annotations

import math
from typing import Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from core.store import Store
from serve.auth import csrf_token
from serve.routes import TEMPLATES, live_snapshot
from serve.routes.admin import download
from serve.scopes import NATIONAL, describe
from serve.state import SnapshotHolder

PAGE_SIZE = 50
HEADERS = {"name": "名称", "activities": "活动数", "places": "活动地区数", "suggested_category": "建议类别",
           "suggested_region_code": "建议地区代码", "region_path": "建议地区", "suggested_parent_id": "建议上级ID",
           "parent_name": "建议上级", "examples": "填写示例"}


def missing_router(holder: SnapshotHolder, store: Store) -> APIRouter:
    router = APIRouter()
    cache: dict[int, pd.DataFrame] = {}

    def missing(q: str = "") -> pd.DataFrame:
        """The live snapshot's missing units with place and parent names (read once per snapshot)."""
        current = live_snapshot(holder)
        if current.version not in cache:
            snap = store.live_snapshot()
            frame = snap.frame("missing_units") if snap is not None and snap.has("missing_units") else \
                pd.DataFrame(columns=list(HEADERS))
            regions, names = holder.regions, current.orgs["name"]
            frame = frame.assign(region_path=[regions.path_label(c) if c else "" for c in frame["suggested_region_code"]],
                                 parent_name=[names.get(p, "") for p in frame["suggested_parent_id"]])
            cache.clear()
            cache[current.version] = frame
        frame = cache[current.version]
        return frame[frame["name"].str.contains(q, regex=False)] if q else frame

    @router.get("/stats/missing-units", response_class=HTMLResponse, include_in_schema=False, dependencies=[NATIONAL])
    def page(request: Request, q: str = Query("", max_length=50), page: int = Query(1, ge=1),
             format: Literal["html", "csv", "xlsx"] = "html"):
        rows = missing(q.strip())
        if format != "html":
            return download(rows, HEADERS, format, "组织库缺少的单位")
        pages = max(1, math.ceil(len(rows) / PAGE_SIZE))
        user = request.state.user
        return TEMPLATES.TemplateResponse(request, "missing_units.html", {
            "user": user, "who": describe(user), "csrf": csrf_token(request), "area_name": "全国", "prefix": "/stats",
            "tab": "missing", "national": True, "version": live_snapshot(holder).version, "q": q, "page": page,
            "pages": pages, "total": len(rows), "rows": rows.iloc[(page - 1) * PAGE_SIZE: page * PAGE_SIZE].to_dict("records")})

    @router.get("/api/missing-units", summary="组织库缺少的单位（活动主办单位中出现、但组织库没有；按使用的活动数排序）",
                dependencies=[NATIONAL])
    def api(q: str = Query("", max_length=50), page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=500)):
        rows = missing(q.strip())
        part = rows.iloc[(page - 1) * size: page * size]
        return {"total": int(len(rows)), "page": page, "size": size,
                "results": [{k: (int(v) if k in ("activities", "places") else str(v)) for k, v in r.items()}
                            for r in part[["name_key", *HEADERS]].to_dict("records")]}

    return router
