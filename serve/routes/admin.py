"""``/api/admin/…``: what a provincial admin reviews (reviewers and admins only)."""
from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, Query

from core.store import Store
from serve.routes import live_snapshot
from serve.scopes import SCOPED
from serve.state import SnapshotHolder


def admin_router(holder: SnapshotHolder, store: Store) -> APIRouter:
    router = APIRouter()

    @router.get("/api/admin/{province_code}/activities", summary="省级管理员可见的活动（分页；限本人管辖的省份）",
                dependencies=[SCOPED])
    def admin_activities(province_code: str, page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=500)):
        current = live_snapshot(holder)
        v = current.visibility
        mine = v[v["province_code"] == province_code]
        rows = mine.iloc[(page - 1) * size: page * size]
        names = current.orgs["name"]
        results = [{"activity_id": r.activity_id, "title": r.title if isinstance(r.title, str) else "",
                    "canonical_org_id": r.canonical_org_id, "org_name": names.get(r.canonical_org_id, ""),
                    "start_date": "" if pd.isna(r.start_date) else str(r.start_date)[:10], "basis": r.basis}
                   for r in rows.itertuples(index=False)]
        return {"province_code": province_code, "total": int(len(mine)), "page": page, "size": size,
                "results": results}

    return router
