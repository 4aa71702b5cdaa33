"""The review pages and ``/api/review/…`` (login, queue, clusters, decisions, undo, unmerge, audit)."""
from __future__ import annotations

import math
from typing import Literal

from fastapi import APIRouter, Form, Header, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from core.schema import CATEGORIES
from core.store import DecisionConflict, LiveMoved, Store
from serve import queue as queues
from serve.audit_view import audit_csv, audit_filters, audit_rows
from serve.auth import auth_of, check_csrf, csrf_token, require_user
from serve.desk import Desk, NotAllowed, Refused
from serve.routes import TEMPLATES
from serve.scopes import NATIONAL, PUBLIC, REVIEW, SIGNED_IN, review_filter, scope_of

def _sid():
    """A suggestion id in a path (a fresh parameter per route: FastAPI annotates what it is given)."""
    return Path(..., pattern=r"^[A-Za-z0-9_.:]{1,64}-[A-Za-z0-9_.:]{1,64}$", description="建议编号：左ID-右ID")
ORG_ID = r"^[A-Za-z0-9_.:]{1,64}$"


class DecisionRequest(BaseModel):
    decision: Literal["accept", "reject"] = Field(..., description="accept 合并，reject 不合并（以后不再建议）")
    survivor: str | None = Field(None, max_length=64, pattern=ORG_ID, description="保留的单位 ID（须是这两个单位之一；默认按保留规则）")


class ClusterRequest(BaseModel):
    decision: Literal["accept", "reject"] = Field(..., description="accept 按分组合并，reject 整组不合并")
    groups: list[list[str]] | None = Field(None, max_length=60, description="分组：每组是一起合并的单位 ID；组与组之间的建议被拒绝。默认整组为一组")
    survivors: dict[str, str] | None = Field(None, description="各组保留的单位：{组序号(从 0 开始): 单位 ID}")


class MergeRequest(BaseModel):
    org_ids: list[str] = Field(..., min_length=2, max_length=20, description="“这两个是同一单位”：要合并的记录 ID")
    survivor: str | None = Field(None, max_length=64, pattern=ORG_ID, description="保留的单位 ID（须是其中之一）")


class CorrectionRequest(BaseModel):
    name: str | None = Field(None, max_length=100, description="更正后的名称")
    category: str | None = Field(None, max_length=10, description="更正后的组织类别")
    region_code: str | None = Field(None, pattern=r"^(\d{6})?$", description="更正后的地区代码（6 位）")


class UnmergeRequest(BaseModel):
    org_id: str = Field(..., max_length=64, pattern=ORG_ID, description="要从所在单位中拆出的记录 ID")


def _answer(action, on_publish):
    """Run a desk action and turn its refusals into HTTP answers (Chinese detail)."""
    try:
        result = action()
    except DecisionConflict as e:
        return JSONResponse({"detail": str(e), "existing": {k: e.existing.get(k) for k in (
            "decision", "user", "survivor")}}, status_code=409)
    except Refused as e:
        return JSONResponse({"detail": str(e), "conflicts": e.conflicts}, status_code=409)
    except LiveMoved as e:  # other processes kept moving the live state: nothing was committed
        return JSONResponse({"detail": str(e)}, status_code=503)
    except NotAllowed as e:
        raise HTTPException(403, str(e))
    except KeyError:
        raise  # a bug, never a “not found”
    except LookupError as e:
        raise HTTPException(404, str(e))
    except ValueError as e:
        raise HTTPException(422, str(e))
    on_publish()
    return result


def review_router(store: Store, desk: Desk, on_publish) -> APIRouter:
    """The routes of the review desk; ``on_publish`` is called after every decision that republished."""
    router = APIRouter()

    def render(request: Request, name: str, **context):
        return TEMPLATES.TemplateResponse(request, name, {"user": request.state.user, "csrf": csrf_token(request),
                                                          **context})

    def mine(request: Request):
        """The account's filter over the queue (everything for national reviewers)."""
        return review_filter(request.state.user, request.app.state.holder.current)

    def in_scope(request: Request, sid: str) -> None:
        """403 when a scoped reviewer acts on a suggestion outside their area."""
        try:
            queue = desk.queue()
        except LookupError:
            return
        hit = queue[queue["id"] == sid]
        if len(hit) and mine(request)(hit).empty:
            raise HTTPException(403, "这条建议不涉及您管辖范围内的单位")

    def cluster_in_scope(request: Request, sid: str) -> None:
        """403 when a scoped reviewer's cluster decision would reach a unit of another area (units
        without a place belong to nobody's area and stay decidable, as in a single suggestion)."""
        area, current = scope_of(request.state.user), request.app.state.holder.current
        if area.national or current is None:
            return
        try:
            units = [u["org_id"] for u in desk.cluster(sid)["units"]]
        except LookupError:
            return  # the desk answers it
        province = current.orgs["province_code"]
        foreign = [u for u in units if province.get(u, "") and not area.allows_unit(current, u)]
        if foreign:
            raise HTTPException(403, f"这一组里有不在您管辖范围内的单位（{'、'.join(foreign[:5])}），请交给全国审核员")

    def units_in_scope(request: Request, org_ids: list[str]) -> None:
        area, current = scope_of(request.state.user), request.app.state.holder.current
        if not area.national and current is not None and not all(area.allows_unit(current, o) for o in org_ids):
            raise HTTPException(403, "涉及不在您管辖范围内的单位")

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False, dependencies=[PUBLIC])
    def login_page(request: Request, error: str = "", next: str = ""):
        return TEMPLATES.TemplateResponse(request, "login.html", {"csrf": csrf_token(request), "error": error,
                                                                  "next": next})

    @router.post("/login", include_in_schema=False, dependencies=[PUBLIC])
    def login(request: Request, name: str = Form(..., max_length=64), password: str = Form(..., max_length=200),
              csrf: str = Form(...), next: str = Form("")):
        check_csrf(request, csrf)
        try:
            user = auth_of(request).login(request, name, password)
        except HTTPException as e:
            return TEMPLATES.TemplateResponse(request, "login.html", {"csrf": csrf_token(request), "error": e.detail,
                                                                      "next": next},
                                              status_code=e.status_code, headers=e.headers)
        # only a path of this site, never an address elsewhere (no open redirect)
        target = next if next.startswith("/") and not next.startswith("//") else (
            "/review" if user["role"] == "reviewer" else "/admin")
        return RedirectResponse(target, status_code=303)

    @router.post("/logout", include_in_schema=False, dependencies=[SIGNED_IN])
    def logout(request: Request, csrf: str = Form(...)):
        check_csrf(request, csrf)
        auth_of(request).logout(request)
        return RedirectResponse("/login", status_code=303)

    @router.get("/review", response_class=HTMLResponse, include_in_schema=False, dependencies=[REVIEW])
    def review_page(request: Request):
        return render(request, "review.html", categories=CATEGORIES, bands=queues.BAND_LABELS)

    @router.get("/review/clusters/{sid}", response_class=HTMLResponse, include_in_schema=False, dependencies=[REVIEW])
    def cluster_page(request: Request, sid: str = _sid()):
        in_scope(request, sid)
        return render(request, "cluster.html", sid=sid)

    @router.get("/review/audit", response_class=HTMLResponse, include_in_schema=False, dependencies=[REVIEW])
    def audit_page(request: Request):
        return render(request, "audit.html")

    @router.get("/review/units/{org_id}", response_class=HTMLResponse, include_in_schema=False, dependencies=[REVIEW])
    def unit_page(request: Request, org_id: str = Path(..., pattern=ORG_ID)):
        units_in_scope(request, [org_id])
        return render(request, "unit.html", org_id=org_id, categories=CATEGORIES)

    @router.get("/api/review/suggestions", summary="待审核的合并建议（服务器端分页、搜索和筛选，按影响排序；限本人管辖范围）",
                dependencies=[REVIEW])
    def suggestions(request: Request, status: Literal["pending"] = "pending",
                    q: str | None = Query(None, max_length=50, description="按名称、ID 或地区搜索"),
                    province: str | None = Query(None, pattern=r"^\d{2}0000$", description="省级代码（从 /api/review/places 选择）"),
                    city: str | None = Query(None, pattern=r"^\d{4}00$", description="地级代码"),
                    category: str | None = Query(None, description="组织类别"),
                    band: Literal["high", "mid", "low"] | None = Query(None, description="得分段"),
                    certified: bool | None = Query(None, description="是否涉及已认证单位"),
                    min_activities: int = Query(0, ge=0, description="至少影响多少项活动"),
                    page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=200)):
        if category and category not in CATEGORIES:
            raise HTTPException(422, f"未知的组织类别：{category}")
        try:
            everything = mine(request)(desk.queue())
        except LookupError as e:
            raise HTTPException(503, str(e))
        queue = queues.filter_queue(everything, province, category, band, city, q, certified, min_activities)
        rows = queue.iloc[(page - 1) * size: page * size].to_dict("records")
        return {"results": [queues.row_json(r) for r in rows], "total": int(len(queue)),
                "total_pending": int(len(everything)), "page": page, "size": size,
                "pages": math.ceil(len(queue) / size) if len(queue) else 0}

    @router.get("/api/review/places", summary="待审核建议涉及的省份和城市（中文名称、数量），供筛选列表使用",
                dependencies=[REVIEW])
    def places(request: Request):
        try:
            return {"provinces": desk.places(mine(request)(desk.queue()))}
        except LookupError as e:
            raise HTTPException(503, str(e))

    @router.get("/api/review/clusters/{sid}", summary="这条建议所在的整组：会合并到一起的所有单位、建议和已知冲突",
                dependencies=[REVIEW])
    def cluster(request: Request, sid: str = _sid()):
        in_scope(request, sid)
        return _answer(lambda: desk.cluster(sid), lambda: None)

    @router.post("/api/review/suggestions/{sid}", summary="决定一条待审核建议：接受或拒绝（冲突或已被决定时 409）",
                 dependencies=[REVIEW])
    def decide(request: Request, body: DecisionRequest, sid: str = _sid(),
               idempotency_key: str | None = Header(None, max_length=100,
                                                    description="重试时带上同一个键：只决定一次，返回第一次的结果")):
        user = require_user(request, role="reviewer", write=True)
        in_scope(request, sid)
        key = f"{user['name']}:{idempotency_key}" if idempotency_key else None
        return _answer(lambda: desk.decide(sid, body.decision, user, body.survivor, request_key=key), on_publish)

    @router.post("/api/review/clusters/{sid}", summary="整组决定：按分组接受（组内合并、组间拒绝）或整组拒绝；有冲突时 409",
                 dependencies=[REVIEW])
    def decide_cluster(request: Request, body: ClusterRequest, sid: str = _sid()):
        user = require_user(request, role="reviewer", write=True)
        in_scope(request, sid)
        cluster_in_scope(request, sid)
        return _answer(lambda: desk.decide_cluster(sid, body.decision, user, body.groups, body.survivors), on_publish)

    @router.post("/api/review/merges", summary="“这两个是同一单位”：合并未被建议的记录（经过与每晚聚类相同的冲突检查）",
                 dependencies=[REVIEW])
    def merge(request: Request, body: MergeRequest):
        user = require_user(request, role="reviewer", write=True)
        units_in_scope(request, body.org_ids)
        return _answer(lambda: desk.merge(body.org_ids, user, body.survivor), on_publish)

    @router.post("/api/review/units/{org_id}/correction", summary="更正单位的名称、类别或地区（以后每晚运行都保留）",
                 dependencies=[REVIEW])
    def correct(request: Request, body: CorrectionRequest, org_id: str = Path(..., pattern=ORG_ID)):
        user = require_user(request, role="reviewer", write=True)
        units_in_scope(request, [org_id])
        return _answer(lambda: desk.correct(org_id, body.model_dump(exclude_none=True), user), on_publish)

    @router.post("/api/review/undo", summary="撤销自己最近的一次操作（可连续撤销多步）", dependencies=[REVIEW])
    def undo(request: Request):
        user = require_user(request, role="reviewer", write=True)
        return _answer(lambda: desk.undo(user), on_publish)

    @router.post("/api/review/unmerge", summary="拆分任意一次合并（自动或人工；需要管理员）", dependencies=[NATIONAL])
    def unmerge(request: Request, body: UnmergeRequest):
        user = require_user(request, role="admin", write=True)
        return _answer(lambda: desk.unmerge(body.org_id, user), on_publish)

    def own_audit(request: Request, filters: dict) -> dict:
        """National accounts read the whole log; a scoped reviewer only their own entries."""
        return filters if scope_of(request.state.user).national else dict(filters, user=request.state.user["name"])

    @router.get("/api/review/audit", summary="审计日志（谁、何时、做了什么、前后状态），可筛选、分页；范围内审核员只看本人的",
                dependencies=[REVIEW])
    def audit(request: Request, filters: dict = audit_filters(), page: int = Query(1, ge=1),
              size: int = Query(50, ge=1, le=500)):
        filters = own_audit(request, filters)
        total = store.audit_count(**filters)
        return {"results": audit_rows(store.audit_entries(size, (page - 1) * size, **filters)), "total": total,
                "page": page, "size": size, "pages": math.ceil(total / size) if total else 0}

    @router.get("/api/review/audit.csv", summary="下载审计日志 CSV（UTF-8 BOM，公式已中和）", dependencies=[REVIEW])
    def audit_download(request: Request, filters: dict = audit_filters()):
        filters = own_audit(request, filters)
        return audit_csv(store.audit_entries(100_000, 0, **filters))

    @router.get("/api/review/units/{org_id}", summary="一个单位：记录、合并历史（审计）", dependencies=[REVIEW])
    def unit(request: Request, org_id: str = Path(..., pattern=ORG_ID)):
        units_in_scope(request, [org_id])
        body = _answer(lambda: desk.unit(org_id), lambda: None)
        return dict(body, history=audit_rows(store.audit_entries(200, 0, mentions=org_id)))

    return router
