"""``/reconcile``: the W3C Reconciliation Service API v0.2, so OpenRefine (or any client of the
protocol) can reconcile a column of typed names against the registry.

- ``GET /reconcile`` — the manifest (types are the 组织类别; property ``region`` is the place, a
  6-digit code or its name); ``GET``/``POST /reconcile?queries={…}`` — a batch of queries;
- ``GET /reconcile/suggest/entity?prefix=`` — the autocomplete; ``GET /reconcile/preview?id=`` — a
  small HTML card; ``GET /reconcile/entity/{id}`` — the unit (``view``).
Candidates and scores are those of ``serve.matching`` (the new-unit check and ``orgreg match``).
"""
from __future__ import annotations

import html

import orjson
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from core.config import Settings
from core.schema import CATEGORIES
from serve.matching import Matcher, best_first, link, prepare_typed
from serve.routes import live_snapshot
from serve.scopes import PUBLIC
from serve.state import SnapshotHolder

MAX_BATCH = 200  # queries per request (OpenRefine sends 10 by default)
REGION_PROPERTIES = ("region", "region_code", "所在地区", "所在地区代码")


def manifest(base: str) -> dict:
    """The service manifest for a service reached at ``base`` (scheme, host and path prefix)."""
    return {
        "versions": ["0.2"], "name": "全国科普日组织库（orgreg）",
        "identifierSpace": f"{base}/reconcile/entity/", "schemaSpace": f"{base}/reconcile/schema/",
        "documentation": f"{base}/docs", "serviceVersion": "1.0",
        "defaultTypes": [{"id": c, "name": c} for c in CATEGORIES],
        "view": {"url": f"{base}/reconcile/entity/{{{{id}}}}"},
        "preview": {"url": f"{base}/reconcile/preview?id={{{{id}}}}", "width": 420, "height": 120},
        "suggest": {"entity": {"service_url": base, "service_path": "/reconcile/suggest/entity"}},
    }


def _region_of(query: dict, regions) -> str:
    """The place a query's ``region`` property names: a 6-digit code, or a place name parsed."""
    for prop in query.get("properties") or []:
        if prop.get("pid") not in REGION_PROPERTIES:
            continue
        values = prop.get("v")
        for v in values if isinstance(values, list) else [values]:
            v = v.get("id", v.get("name", "")) if isinstance(v, dict) else str(v)
            v = v.strip()
            if v.isdigit() and len(v) == 6:
                return regions.resolve(v) or ""
            parsed = regions.parse(v) if v else None
            if parsed is not None and parsed.code:
                return parsed.code
    return ""


def reconcile_router(holder: SnapshotHolder, settings: Settings) -> APIRouter:
    router = APIRouter()

    def answer(current, queries: dict) -> dict:
        matcher = Matcher.of(current)
        keys = list(queries)
        types = []
        for k in keys:
            t = queries[k].get("type")
            t = t[0] if isinstance(t, list) and t else t
            types.append(t if t in CATEGORIES else None)
        names = [str(queries[k].get("query", "")).strip()[:100] for k in keys]
        regions = [_region_of(queries[k], matcher.regions) for k in keys]
        recs = prepare_typed(names, regions, [t or "" for t in types], matcher.regions)
        out = {}
        for k, name, t, rec in zip(keys, names, types, recs):
            limit = max(1, min(int(queries[k].get("limit") or 5), 25))
            found = matcher.candidates(rec, name, t) if name else []
            best, how = link(found, settings.auto_merge_threshold, settings.review_threshold)
            ranked = best_first(found, best)
            out[k] = {"result": [
                {"id": c.org_id, "name": str(current.orgs.at[c.org_id, "name"]),
                 "description": c.reason, "score": round(c.score * 100, 2),
                 "match": c is best and how in ("exact", "auto"),
                 "type": [{"id": current.orgs.at[c.org_id, "category"], "name": current.orgs.at[c.org_id, "category"]}],
                 "features": [{"id": "same_place", "value": c.same_place}, {"id": "exact_name", "value": c.exact}]}
                for c in ranked[:limit]]}
        return out

    def parse_queries(raw: str) -> dict:
        try:
            queries = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise HTTPException(400, "queries 不是有效的 JSON")
        if not isinstance(queries, dict) or not all(isinstance(q, dict) for q in queries.values()):
            raise HTTPException(400, "queries 应为 {\"q0\": {\"query\": \"单位名称\"}, …} 形式的对象")
        if len(queries) > MAX_BATCH:
            raise HTTPException(413, f"一次最多 {MAX_BATCH} 条查询")
        return queries

    def base_of(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    @router.get("/reconcile", summary="对齐服务（W3C Reconciliation API 0.2）：清单或批量查询", dependencies=[PUBLIC])
    def reconcile_get(request: Request, queries: str | None = Query(None, description="JSON 批量查询"),
                      callback: str | None = Query(None, pattern=r"^[A-Za-z_$][\w$.]*$", description="JSONP")):
        body = manifest(base_of(request)) if queries is None else answer(live_snapshot(holder), parse_queries(queries))
        if callback:
            return HTMLResponse(f"{callback}({orjson.dumps(body).decode()})", media_type="application/javascript")
        return JSONResponse(body)

    @router.post("/reconcile", summary="对齐服务：批量查询（表单字段 queries）", dependencies=[PUBLIC])
    async def reconcile_post(request: Request):
        form = await request.form()
        raw = form.get("queries")
        if raw is None:
            return JSONResponse(manifest(base_of(request)))
        current = live_snapshot(holder)
        return JSONResponse(answer(current, parse_queries(str(raw))))

    @router.get("/reconcile/suggest/entity", summary="对齐服务：单位联想", dependencies=[PUBLIC])
    def suggest_entity(prefix: str = Query(..., min_length=1, max_length=50), cursor: int = Query(0, ge=0, le=200)):
        current = live_snapshot(holder)
        found = current.index.suggest(prefix, limit=min(cursor + 10, 50))[cursor:]
        return {"result": [{"id": r["org_id"], "name": r["name"],
                            "description": f"{r['category']} · {r['region_path'] or '全国'}",
                            "notable": [{"id": r["category"], "name": r["category"]}]} for r in found]}

    def unit(current, org_id: str) -> str:
        oid = current.canonical.get(org_id)
        if oid is None or oid not in current.orgs.index:
            raise HTTPException(404, f"组织库中没有 ID 为 {org_id} 的组织")
        return oid

    @router.get("/reconcile/preview", response_class=HTMLResponse, summary="对齐服务：单位预览", dependencies=[PUBLIC])
    def preview(id: str = Query(..., max_length=64)):
        current = live_snapshot(holder)
        row = current.orgs.loc[unit(current, id)]
        regions = current.index.regions
        place = regions.path_names(row["region_code"]) if row["region_code"] else "全国"
        mark = "（已认证）" if bool(row["certified"]) else ""
        return HTMLResponse(
            "<!doctype html><html lang=\"zh-CN\"><meta charset=\"utf-8\"><body style=\"font-family:sans-serif;"
            f"margin:6px\"><b>{html.escape(row['name'])}</b>{mark}<br>{html.escape(row['category'])} · "
            f"{html.escape(place)}<br><small>ID {html.escape(row['org_id'])}</small></body></html>")

    @router.get("/reconcile/entity/{org_id}", summary="对齐服务：单位（view）", dependencies=[PUBLIC])
    def entity(org_id: str):
        current = live_snapshot(holder)
        oid = unit(current, org_id)
        row = current.orgs.loc[oid]
        return {"id": oid, "name": row["name"], "category": row["category"], "region_code": row["region_code"],
                "parent_id": row["parent_id"], "aliases": [a for a in row["aliases"].split("|") if a]}

    return router
