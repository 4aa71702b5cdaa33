"""``/api/orgs/…``: a unit by id (merged ids answer with their survivor), its subtree, and the duplicate
check before a new unit is created."""
from __future__ import annotations

import pandas as pd
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field

from core.records import prepare_registry
from dedupe.compare import HeadPlaces, compare_records
from serve.routes import live_snapshot
from serve.state import Loaded, SnapshotHolder


class CheckRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=100, description="拟新建单位的名称")
    region_code: str = Field("", max_length=6, description="所在地区代码（6 位，可空）")
    category: str = Field("", max_length=10, description="组织类别（可空）")


def org_view(current: Loaded, oid: str) -> dict:
    """The JSON of one canonical unit."""
    row = current.orgs.loc[oid]
    code = row["region_code"]
    return {"org_id": oid, "name": row["name"], "category": row["category"], "region_code": code,
            "region_path": current.index.regions.path_label(code),
            "parent_id": row["parent_id"], "province_code": row["province_code"],
            "aliases": [a for a in row["aliases"].split("|") if a], "certified": bool(row["certified"])}


def orgs_router(holder: SnapshotHolder) -> APIRouter:
    router = APIRouter()

    @router.get("/api/orgs/{org_id}", summary="按 ID 查询组织（已合并的 ID 返回保留的单位）")
    def get_org(org_id: str):
        current = live_snapshot(holder)
        canonical = current.canonical.get(org_id)
        if canonical is None:
            raise HTTPException(404, f"组织库中没有 ID 为 {org_id} 的组织")
        body = org_view(current, canonical)
        body.update(requested_id=org_id, merged=canonical != org_id,
                    how=current.canonical.how_of(org_id), note=f"{org_id} 已合并到 {canonical}" if canonical != org_id else "")
        return body

    @router.get("/api/orgs/{org_id}/subtree", summary="组织的下级（含统计）")
    def subtree(org_id: str, page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=500)):
        current = live_snapshot(holder)
        oid = current.canonical.get(org_id, org_id)
        if oid not in current.orgs.index:
            raise HTTPException(404, f"组织库中没有 ID 为 {org_id} 的组织")
        kids = sorted(current.children.get(oid, []), key=lambda k: (current.orgs.at[k, "category"], k))

        def with_counts(k):
            body = org_view(current, k)
            if k in current.rollup.index:
                body.update(organizations=int(current.rollup.at[k, "organizations"]),
                            activities=int(current.rollup.at[k, "activities"]))
            body["children"] = len(current.children.get(k, []))
            return body

        return {"org": with_counts(oid), "total_children": len(kids), "page": page, "size": size,
                "children": [with_counts(k) for k in kids[(page - 1) * size: page * size]]}

    @router.post("/api/orgs/check", summary="新建单位前查重（“您要找的是不是……”）")
    def check(body: CheckRequest):
        current = live_snapshot(holder)
        proposed = pd.DataFrame([{"org_id": "(新)", "name": body.name, "category": body.category,
                                  "region_code": body.region_code, "region": "", "parent_id": "", "certified": "",
                                  "created_at": "", "updated_at": ""}])
        mine = prepare_registry(proposed, current.index.regions).iloc[0].to_dict()
        hits = current.index.search(body.name, limit=20)
        candidates = [str(current.index.org_ids[h.org]) for h in hits]
        recs = current.records.loc[current.records.index.intersection(candidates)]
        heads = HeadPlaces(pd.concat([recs, pd.DataFrame([mine])], ignore_index=True))
        best: dict[str, tuple[float, str]] = {}
        for cid, rec in zip(recs.index, recs.to_dict("records")):
            verdict = compare_records(mine, rec, heads)
            if verdict.score > best.get(cid, (-1, ""))[0]:
                best[cid] = (verdict.score, verdict.note)
        results = [dict(org_view(current, cid), score=round(score, 4), reason=note)
                   for cid, (score, note) in sorted(best.items(), key=lambda kv: -kv[1][0]) if score >= 0.5]
        return {"likely_duplicates": results[:10], "is_new": not any(r["score"] >= 0.92 for r in results)}

    return router
