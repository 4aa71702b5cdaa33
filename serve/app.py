"""HTTP service: autocomplete, organization lookups, the admin view and the demo picker.

Built with FastAPI; never imports prefect or great-expectations, so it starts fast.
"""
from __future__ import annotations

import threading
from contextlib import asynccontextmanager
from pathlib import Path

import orjson
import pandas as pd
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from fastapi.exceptions import RequestValidationError

from core.config import Settings, load_settings
from core.records import prepare_registry
from core.schema import CATEGORIES
from core.store import Store, open_store
from dedupe.compare import HeadPlaces, compare_records
from serve.auth import require_user, session_secret
from serve.fastpath import SuggestFastPath
from serve.lookup import MAX_QUERY
from serve.review_routes import review_router
from serve.state import Loaded, SnapshotHolder
from starlette.middleware.sessions import SessionMiddleware

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class CheckRequest(BaseModel):
    name: str = Field(..., min_length=1, max_length=100, description="拟新建单位的名称")
    region_code: str = Field("", max_length=6, description="所在地区代码（6 位，可空）")
    category: str = Field("", max_length=10, description="组织类别（可空）")


def _warm_review_queue(desk) -> None:
    """Build the review queue once at start-up, so the first reviewer does not wait for it."""
    try:
        desk.queue()
    except LookupError:
        pass  # nothing published yet


def create_app(settings: Settings | None = None, store: Store | None = None, poll_seconds: float = 5.0,
               min_reload_seconds: float = 15.0) -> FastAPI:
    settings = settings or load_settings()
    store = store or open_store(settings)
    holder = SnapshotHolder(store, poll_seconds=poll_seconds, min_reload_seconds=min_reload_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        holder.refresh()
        holder.start()
        threading.Thread(target=_warm_review_queue, args=(reviews.desk,), daemon=True).start()
        yield
        holder.stop()

    app = FastAPI(title="orgreg 组织库查询服务", version="1.0",
                  description="全国科普日组织库：归口单位联想、组织查询、查重检查和省级管理员视图。", lifespan=lifespan)
    app.state.holder = holder
    app.state.settings = settings
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.session_secret, settings.home),
                       same_site="strict", https_only=False, max_age=12 * 3600)
    reviews = review_router(store, TEMPLATES, on_publish=holder.refresh_soon)
    app.include_router(reviews)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        problems = "；".join(f"{'.'.join(str(x) for x in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"detail": f"请求参数不正确：{problems}"}, status_code=422)

    def live() -> Loaded:
        if holder.current is None:
            raise HTTPException(503, "还没有发布的快照：请先运行 orgreg nightly")
        return holder.current

    @app.get("/healthz", summary="服务就绪检查")
    def healthz():
        current = holder.current
        if current is None:
            return JSONResponse({"status": "starting", "detail": "还没有发布的快照"}, status_code=503)
        return {"status": "ok", "snapshot_version": current.version}

    def suggest_json(q: str, category: str | None, region: str | None, limit: int) -> bytes | None:
        current = holder.current
        if current is None:
            return None
        body = {"results": current.index.suggest(q, category, region, limit), "snapshot_version": current.version}
        return orjson.dumps(body)

    # well-formed requests are answered by SuggestFastPath with suggest_json before reaching this route,
    # which documents the API and answers the rest (errors); async: no hop to the thread pool
    app.add_middleware(SuggestFastPath, answer=suggest_json, max_query=MAX_QUERY, max_limit=settings.suggest_max_limit)

    @app.get("/api/suggest", summary="归口单位联想", response_class=Response)
    async def suggest(q: str = Query(..., min_length=1, max_length=MAX_QUERY, description="输入的文字、拼音或首字母"),
                category: str | None = Query(None, description="组织类别"),
                region: str | None = Query(None, pattern=r"^\d{6}$", description="地区代码；省级代码包含其下所有地区"),
                limit: int = Query(10, ge=1, le=settings.suggest_max_limit)):
        if category and category not in CATEGORIES:
            raise HTTPException(422, f"未知的组织类别：{category}")
        live()
        return Response(suggest_json(q, category, region, limit), media_type="application/json")

    def org_view(current: Loaded, oid: str) -> dict:
        row = current.orgs.loc[oid]
        code = row["region_code"]
        regions = current.index.regions
        return {"org_id": oid, "name": row["name"], "category": row["category"], "region_code": code,
                "region_path": "/".join(regions.by_code[c].name for c in regions.path(code))
                if code in regions.by_code else "",
                "parent_id": row["parent_id"], "province_code": row["province_code"],
                "aliases": [a for a in row["aliases"].split("|") if a], "certified": bool(row["certified"])}

    @app.get("/api/orgs/{org_id}", summary="按 ID 查询组织（已合并的 ID 返回保留的单位）")
    def get_org(org_id: str):
        current = live()
        canonical = current.canonical.get(org_id)
        if canonical is None:
            raise HTTPException(404, f"组织库中没有 ID 为 {org_id} 的组织")
        body = org_view(current, canonical)
        body.update(requested_id=org_id, merged=canonical != org_id,
                    how=current.canonical.how_of(org_id), note=f"{org_id} 已合并到 {canonical}" if canonical != org_id else "")
        return body

    @app.get("/api/orgs/{org_id}/subtree", summary="组织的下级（含统计）")
    def subtree(org_id: str, page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=500)):
        current = live()
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

    @app.get("/api/admin/{province_code}/activities", summary="省级管理员可见的活动（分页）")
    def admin_activities(request: Request, province_code: str, page: int = Query(1, ge=1),
                         size: int = Query(50, ge=1, le=500)):
        require_user(request, store)  # activities are not public: reviewers and admins only
        if not province_code.isdigit() or len(province_code) != 6 or not province_code.endswith("0000"):
            raise HTTPException(422, "province_code 应为 6 位省级代码，例如 440000")
        current = live()
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

    @app.post("/api/orgs/check", summary="新建单位前查重（“您要找的是不是……”）")
    def check(body: CheckRequest):
        current = live()
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

    @app.get("/", response_class=HTMLResponse, summary="归口单位选择演示页")
    def demo(request: Request):
        return TEMPLATES.TemplateResponse(request, "picker.html", {"categories": CATEGORIES})

    return app
