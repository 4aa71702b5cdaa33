"""``/api/orgs/…``: a unit by id (merged ids answer with their survivor), its subtree, and the duplicate
check before a new unit is created."""
from __future__ import annotations

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from slowapi import Limiter

from core.config import Settings
from serve.matching import Matcher
from serve.newunit import EXISTS, NEW, CheckResult, check_unit
from serve.proposals import NewUnits, is_new_unit
from serve.routes import live_snapshot
from serve.scopes import PUBLIC, SCOPED
from serve.state import Loaded, SnapshotHolder


class CheckRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=100, description="拟新建单位的名称")
    region_code: str = Field("", max_length=6, description="所在地区代码（6 位，可空）")
    category: str = Field("", max_length=10, description="组织类别（可空）")


VIEW_COLUMNS = ("name", "category", "region_code", "parent_id", "province_code", "aliases", "certified")


def org_view(current: Loaded, oid: str) -> dict:
    """The JSON of one canonical unit."""
    row = current.unit_row(oid, VIEW_COLUMNS)
    code = row["region_code"]
    return {"org_id": oid, "name": row["name"], "category": row["category"], "region_code": code,
            "region_path": current.index.regions.path_label(code),
            "parent_id": row["parent_id"], "province_code": row["province_code"],
            "aliases": [a for a in row["aliases"].split("|") if a], "certified": bool(row["certified"]),
            "new_unit": is_new_unit(oid, bool(row["certified"]))}


def retired_view(current: Loaded, org_id: str) -> dict:
    """An id that was published once and has left the registry: the unit its record went into when that
    still exists, else what the unit last was; 404 only for an id never published."""
    gone = current.retired
    if gone is None or org_id not in gone.index:
        raise HTTPException(404, f"组织库中没有 ID 为 {org_id} 的组织")
    row = gone.loc[org_id]
    since = int(row["retired_in_run"])
    retired = {"retired": True, "retired_in_run": since, "requested_id": org_id,
               "last_canonical_org_id": row["last_canonical_org_id"]}
    now = row["now_canonical_org_id"]
    if now and now in current.orgs.index:
        body = org_view(current, now)
        body.update(retired, merged=True, how="retired",
                    note=f"{org_id} 已于第 {since} 次运行从组织库中移除；它所在的单位仍在，为 {now}")
        return body
    return {"org_id": org_id, "name": row["last_name"], "category": row["last_category"],
            "region_code": row["last_region_code"], "province_code": row["last_province_code"], "merged": False,
            "note": f"该单位已于第 {since} 次运行从组织库中移除（已停用），以上为它最后一次发布时的信息", **retired}


def unit_view(current: Loaded, new_units: NewUnits | None, oid: str) -> dict:
    """The JSON of a canonical unit or of a unit accepted by 组织入驻 since the snapshot (marked 新入驻)."""
    if oid not in current.orgs.index and new_units is not None:
        unit = new_units.unit(oid)
        if unit is not None:
            return unit
    return org_view(current, oid)


def check_view(current: Loaded, result: CheckResult, new_units: NewUnits | None = None) -> dict:
    """The JSON of a new-unit check: the verdict, the unit when it exists, the candidates (same place first)."""
    candidates = [dict(unit_view(current, new_units, c["org_id"]), score=c["score"], reason=c["reason"],
                       same_place=c["same_place"]) for c in result.candidates]
    return {"verdict": result.verdict, "message": result.message,
            "unit": candidates[0] if result.verdict == EXISTS else None,
            "inferred": {"category": result.proposed.category, "region_code": result.proposed.region_code},
            "candidates": candidates, "likely_duplicates": candidates, "is_new": result.verdict == NEW}


def orgs_router(holder: SnapshotHolder, settings: Settings, limiter: Limiter,
                new_units: NewUnits | None = None) -> APIRouter:
    router = APIRouter()

    @router.get("/api/orgs/{org_id}", summary="按 ID 查询组织（已合并的 ID 返回保留的单位）", dependencies=[PUBLIC])
    def get_org(org_id: str):
        current = live_snapshot(holder)
        canonical = current.canonical.get(org_id)
        if canonical is None and new_units is not None:
            # 组织入驻: an accepted unit the snapshot does not hold yet, or a proposal merged into a unit
            unit = new_units.unit(org_id)
            if unit is not None:
                return dict(unit, requested_id=org_id, merged=False, how="proposal", note="新入驻单位，尚未认证")
            canonical = current.canonical.get(new_units.state.redirect.get(org_id, ""))
        if canonical is None:
            return retired_view(current, org_id)
        body = org_view(current, canonical)
        body.update(requested_id=org_id, merged=canonical != org_id,
                    how=current.canonical.how_of(org_id), note=f"{org_id} 已合并到 {canonical}" if canonical != org_id else "")
        return body

    @router.get("/api/orgs/{org_id}/subtree", summary="组织的下级（含统计；限本人管辖范围）", dependencies=[SCOPED])
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
                if "hosted_activities" in current.rollup.columns:  # snapshots before host linking lack it
                    body["hosted_activities"] = int(current.rollup.at[k, "hosted_activities"])
            body["children"] = len(current.children.get(k, []))
            return body

        return {"org": with_counts(oid), "total_children": len(kids), "page": page, "size": size,
                "children": [with_counts(k) for k in kids[(page - 1) * size: page * size]]}

    @router.post("/api/orgs/check", summary="新建单位前查重（“您要找的是不是……”）", dependencies=[PUBLIC])
    @limiter.limit(settings.check_rate_limit)  # a string: a function is inspected on every request
    async def check(request: Request, body: CheckRequest):
        current = live_snapshot(holder)
        # the first check of a snapshot builds its matcher (seconds at a million units) off the event loop;
        # every later one takes a fraction of a millisecond, cheaper inline than a hop to the thread pool
        if not Matcher.built(current):
            await run_in_threadpool(Matcher.of, current)
        result = check_unit(current, body.name, body.region_code, body.category,
                            settings.auto_merge_threshold, settings.review_threshold,
                            new_units=new_units.matcher(current) if new_units is not None else None)
        return Response(orjson.dumps(check_view(current, result, new_units)), media_type="application/json")

    return router
