"""The review pages and ``/api/review/…`` (login, queue, decisions, undo, unmerge)."""
from __future__ import annotations

import hmac
import math
from typing import Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from core.schema import CATEGORIES
from core.store import DecisionConflict, Store
from serve import review
from serve.auth import check_password, csrf_token, current_user, require_user
from serve.desk import Desk
from serve.routes import TEMPLATES

SIDE = ["name", "category", "region_path", "parent", "children", "activities", "certified", "canonical"]


class DecisionRequest(BaseModel):
    decision: Literal["accept", "reject"] = Field(..., description="accept 合并，reject 不合并（以后不再建议）")
    survivor: str | None = Field(None, max_length=64, description="保留的单位 ID（默认按保留规则选择）")


class UnmergeRequest(BaseModel):
    org_id: str = Field(..., max_length=64, description="要从所在单位中拆出的记录 ID")


def _row(r: dict) -> dict:
    out = {"id": r["id"], "left_org_id": r["left_org_id"], "right_org_id": r["right_org_id"],
           "score": float(r["score"]), "explanation": r["explanation"], "status": "pending",
           "activities": int(r["activities"]), "certified": bool(r["certified"])}
    for side in ("left", "right"):
        out[side] = {k: (r[f"{side}_{k}"].item() if hasattr(r[f"{side}_{k}"], "item") else r[f"{side}_{k}"])
                     for k in SIDE}
    return out


def _not_found(e: LookupError) -> Exception:
    """404 for what the desk did not find; a KeyError is a bug and must not look like one."""
    return e if isinstance(e, KeyError) else HTTPException(404, str(e))


def review_router(store: Store, desk: Desk, on_publish) -> APIRouter:
    """The routes of the review desk; ``on_publish`` is called after every decision that republished."""
    router = APIRouter()

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_page(request: Request, error: str = ""):
        return TEMPLATES.TemplateResponse(request, "login.html", {"csrf": csrf_token(request), "error": error})

    @router.post("/login", include_in_schema=False)
    def login(request: Request, name: str = Form(...), password: str = Form(...), csrf: str = Form(...)):
        if not hmac.compare_digest(csrf, request.session.get("csrf", "")):
            raise HTTPException(403, "CSRF 校验失败：请刷新页面后重试")
        user = store.user(name)
        if user is None or not check_password(user["password_hash"], password):
            return TEMPLATES.TemplateResponse(request, "login.html", {"csrf": csrf_token(request),
                                                                     "error": "用户名或密码不正确"}, status_code=401)
        request.session["user"] = name
        return RedirectResponse("/review", status_code=303)

    @router.post("/logout", include_in_schema=False)
    def logout(request: Request, csrf: str = Form(...)):
        if hmac.compare_digest(csrf, request.session.get("csrf", "")):
            request.session.clear()
        return RedirectResponse("/login", status_code=303)

    @router.get("/review", response_class=HTMLResponse, include_in_schema=False)
    def review_page(request: Request):
        user = current_user(request, store)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return TEMPLATES.TemplateResponse(request, "review.html", {
            "user": user, "csrf": csrf_token(request), "categories": CATEGORIES, "bands": review.BANDS})

    @router.get("/api/review/suggestions", summary="待审核的合并建议（按影响排序，可筛选）")
    def suggestions(request: Request, status: Literal["pending"] = "pending",
                    province: str | None = Query(None, pattern=r"^\d{2}0000$"),
                    category: str | None = None, band: Literal["high", "mid", "low"] | None = None,
                    page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=200)):
        require_user(request, store)
        try:
            queue = review.filter_queue(desk.queue(), province, category, band)
        except LookupError as e:
            raise HTTPException(503, str(e))
        rows = queue.iloc[(page - 1) * size: page * size].to_dict("records")
        return {"results": [_row(r) for r in rows], "total": int(len(queue)), "page": page, "size": size,
                "pages": math.ceil(len(queue) / size) if len(queue) else 0}

    @router.post("/api/review/suggestions/{sid}", summary="决定一条合并建议：接受或拒绝（已被决定时返回 409）")
    def decide(request: Request, sid: str, body: DecisionRequest):
        user = require_user(request, store, write=True)
        try:
            result = desk.decide(sid, body.decision, user["name"], body.survivor)
        except DecisionConflict as e:
            return JSONResponse({"detail": str(e), "existing": {k: e.existing.get(k) for k in (
                "decision", "user", "survivor")}}, status_code=409)
        except LookupError as e:
            raise _not_found(e)
        on_publish()
        return result

    @router.post("/api/review/clusters/{sid}", summary="整组决定：与这条建议相连的所有待审核建议一起接受或拒绝")
    def decide_cluster(request: Request, sid: str, body: DecisionRequest):
        user = require_user(request, store, write=True)
        try:
            result = desk.decide_cluster(sid, body.decision, user["name"])
        except LookupError as e:
            raise _not_found(e)
        on_publish()
        return result

    @router.post("/api/review/undo", summary="撤销自己的上一个决定")
    def undo(request: Request):
        user = require_user(request, store, write=True)
        try:
            result = desk.undo(user["name"])
        except LookupError as e:
            raise _not_found(e)
        on_publish()
        return result

    @router.post("/api/review/unmerge", summary="拆分任意一次合并（自动或人工；需要管理员）")
    def unmerge(request: Request, body: UnmergeRequest):
        user = require_user(request, store, role="admin", write=True)
        try:
            result = desk.unmerge(body.org_id, user["name"])
        except LookupError as e:
            raise _not_found(e)
        on_publish()
        return result

    return router
