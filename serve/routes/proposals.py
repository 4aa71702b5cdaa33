"""组织入驻: ``POST /api/orgs/proposals`` (anyone: the submission form), the ops queue ``/ops/proposals``
and its decisions ``/api/proposals/…`` (accept, merge into an existing unit, reject; reviewers and
national admins, a scoped reviewer only within its area: a province's by place, a society's or ministry's
under its unit)."""
from __future__ import annotations

from typing import Literal

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from core.config import Settings
from core.schema import CATEGORIES
from core.store import Store
from serve.auth import csrf_token, require_user
from serve.matching import Matcher
from serve.proposals import (NewUnits, ProposalInvalid, ProposalRefused, assess, decide_proposal, is_new_unit,
                             visible_proposals)
from serve.routes import TEMPLATES, live_snapshot
from serve.routes.orgs import unit_view
from serve.scopes import PUBLIC, REVIEW, describe
from serve.state import SnapshotHolder

PROPOSAL_ID = r"^RZ\d{8}$"


class Contact(BaseModel):
    name: str = Field("", max_length=50, description="联系人姓名")
    phone: str = Field("", max_length=30, description="联系电话")
    email: str = Field("", max_length=100, description="电子邮箱")


class ProposalRequest(BaseModel):
    name: str = Field(..., max_length=100, description="申请入驻的单位全称")
    category: str = Field("", max_length=10, description="组织类别（可空：按名称推断）")
    region_code: str = Field("", max_length=6, description="所在地区代码（6 位；名称写明地区时可空）")
    parent_id: str = Field("", max_length=64, description="申报的上级单位 ID（可空：按规则推断）")
    contact: Contact = Field(default_factory=Contact, description="联系人（姓名，以及电话或邮箱）")


class ProposalDecision(BaseModel):
    action: Literal["accept", "merge", "reject"] = Field(..., description="accept 入驻，merge 并入现有单位，reject 驳回")
    reason: str = Field(..., max_length=500, description="处理理由（必填，记入审计日志）")
    target: str = Field("", max_length=64, description="merge：并入的现有单位 ID")


def proposal_answer(current, row: dict, assessed: dict | None = None, new_units: NewUnits | None = None) -> dict:
    """The JSON of a proposal: its state, and at submission the verdict with its candidates."""
    body = {"proposal_id": row["org_id"], "status": row["status"], "status_text": row["status_text"],
            "name": row["name"], "category": row["category"], "region_code": row["region_code"],
            "region_path": current.index.regions.path_label(row["region_code"] or ""), "parent_id": row["parent_id"],
            "verdict": row["verdict"], "reason": row["reason"] or "", "merged_into": row["merged_into"] or "",
            "linked_org_id": row["linked_org_id"] or "", "created_at": str(row["created_at"] or "")}
    if row["parent_id"] and row["parent_id"] in current.orgs.index:
        body["parent_name"] = current.orgs.at[row["parent_id"], "name"]
    if assessed is None:  # the queue: what the check found when it was submitted
        names = current.orgs["name"]

        def named(c):
            oid = current.canonical.get(c["org_id"], c["org_id"])
            unit = new_units.unit(oid) if new_units is not None and oid not in current.orgs.index else None
            if unit is not None:
                return dict(c, name=unit["name"], new_unit=True)
            known = oid in current.orgs.index
            return dict(c, name=names.get(oid, oid),
                        new_unit=known and is_new_unit(oid, bool(current.orgs.at[oid, "certified"])))
        body.update(contact=row["contact"] or {}, problems=(row["inferred"] or {}).get("problems", []),
                    candidates=[named(c) for c in row["candidates"] or []])
    else:
        result = assessed["result"]
        body.update(message=_message(row["status"], result.message), problems=assessed["problems"],
                    consistent=assessed["consistent"],
                    inferred={"category": result.proposed.category, "region_code": result.proposed.region_code,
                              "parent_id": assessed["inferred_parent_id"]},
                    candidates=[dict(unit_view(current, new_units, c["org_id"]), score=c["score"], reason=c["reason"],
                                     same_place=c["same_place"]) for c in result.candidates])
    return body


def _message(status: str, check_message: str) -> str:
    if status == "accepted":
        return "已入驻：该单位现在即可在归口单位联想中选择（标记为新入驻，认证后取消标记）"
    return f"{check_message}。申请已提交，运营人员审核后生效"


def proposals_router(holder: SnapshotHolder, store: Store, settings: Settings, limiter, new_units: NewUnits) -> APIRouter:
    router = APIRouter()

    @router.post("/api/orgs/proposals", summary="组织入驻：提交新单位（即时查重、地区校验和上级推断）", dependencies=[PUBLIC])
    @limiter.limit(settings.check_rate_limit)  # a string: a function is inspected on every request
    async def submit(request: Request, body: ProposalRequest):
        current = live_snapshot(holder)
        await run_in_threadpool(Matcher.of, current)  # built once per snapshot, off the event loop
        try:
            assessed = assess(current, new_units, body.model_dump(), settings.auto_merge_threshold,
                              settings.review_threshold)
        except ProposalInvalid as e:
            raise HTTPException(422, str(e))
        auto = settings.proposal_auto_accept and assessed["consistent"]
        user = f"web:{request.client.host if request.client else '-'}"
        result = assessed["result"]
        row = await run_in_threadpool(
            store.add_proposal, {k: assessed[k] for k in ("name", "category", "region_code", "parent_id", "contact")},
            result.verdict, [{k: c[k] for k in ("org_id", "score", "reason")} for c in result.candidates],
            {"category": result.proposed.category, "region_code": result.proposed.region_code,
             "parent_id": assessed["inferred_parent_id"], "problems": assessed["problems"]}, user, auto)
        if auto:
            new_units.refresh()  # suggestible in this process at once; the others poll
        return Response(orjson.dumps(proposal_answer(current, row, assessed, new_units)), status_code=201,
                        media_type="application/json")

    @router.get("/ruzhu", response_class=HTMLResponse, summary="组织入驻页（填写 → 查重结果 → 已提交/已入驻）",
                dependencies=[PUBLIC])
    def join_page(request: Request, name: str = Query("", max_length=100), category: str = Query("", max_length=10),
                  region_code: str = Query("", max_length=6), parent_id: str = Query("", max_length=64)):
        current = holder.current
        parent_name = current.orgs["name"].get(current.canonical.get(parent_id, parent_id), "") \
            if current is not None and parent_id else ""
        return TEMPLATES.TemplateResponse(request, "ruzhu.html", {
            "categories": CATEGORIES, "name": name, "category": category, "region_code": region_code,
            "parent_id": parent_id if parent_name else "", "parent_name": parent_name})

    @router.get("/api/proposals", summary="入驻申请队列（限本人管辖范围）", dependencies=[REVIEW])
    def queue(request: Request, status: Literal["pending", "accepted", "merged", "rejected", ""] = Query("pending")):
        user = require_user(request, role="reviewer")
        current = live_snapshot(holder)
        rows = visible_proposals(store, user, current, status or None)
        return {"total": len(rows), "proposals": [proposal_answer(current, r, None, new_units) for r in rows]}

    @router.get("/ops/proposals", response_class=HTMLResponse, include_in_schema=False, dependencies=[REVIEW])
    def page(request: Request, status: Literal["pending", "accepted", "merged", "rejected", ""] = Query("pending")):
        user = require_user(request, role="reviewer")
        current = live_snapshot(holder)
        rows = [proposal_answer(current, r, None, new_units) for r in visible_proposals(store, user, current,
                                                                                         status or None)]
        statuses = [("pending", "待处理"), ("accepted", "已入驻"), ("merged", "已并入现有单位"), ("rejected", "已驳回"),
                    ("", "全部")]
        return TEMPLATES.TemplateResponse(request, "proposals_queue.html", {
            "user": user, "who": describe(user), "csrf": csrf_token(request), "area_name": "组织入驻", "prefix": "/stats",
            "tab": "proposals", "national": user["role"] == "admin", "version": current.version, "rows": rows,
            "status": status, "statuses": statuses, "status_label": dict(statuses)[status].replace("全部", ""),
            "verdicts": {"exists": "组织库中已有", "likely_exists": "可能已有", "new": "新单位"}})

    @router.post("/api/proposals/{proposal_id}", summary="处理入驻申请：入驻、并入现有单位或驳回（须填理由）",
                 dependencies=[REVIEW])
    def decide(request: Request, body: ProposalDecision, proposal_id: str = Path(..., pattern=PROPOSAL_ID)):
        user = require_user(request, role="reviewer", write=True)
        current = live_snapshot(holder)
        try:
            row = decide_proposal(store, user, proposal_id, body.action, body.reason, body.target,
                                  current.canonical.get, current)
        except ProposalRefused as e:
            raise HTTPException(e.status, str(e))
        new_units.refresh()
        return proposal_answer(current, row, None, new_units)

    return router
