"""The audit log as people read it: filters, one Chinese line per entry, CSV download."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
from fastapi import Depends, Query
from fastapi.responses import Response

from core.spreadsheet import neutralise_formulas

SHANGHAI = timezone(timedelta(hours=8))  # reviewers read Beijing time; the database keeps UTC
ACTIONS = {
    "review:accept": "接受合并", "review:reject": "拒绝合并", "review:cluster-accept": "整组合并（可分组）",
    "review:cluster-reject": "整组拒绝", "review:merge": "合并（审核人提出的同一单位）", "review:unmerge": "拆分合并",
    "review:correct": "更正单位信息",
    "undo": "撤销", "decide:match": "记录事实：同一单位", "decide:distinct": "记录事实：不同单位",
    "undo:withdraw": "撤销时收回决定", "unmerge:withdraw-match": "拆分时收回合并决定",
    "withdraw:conflict": "因冲突收回（他人已决定）",
    "user:add": "添加账号", "user:set": "修改账号", "user:enable": "启用账号", "user:disable": "停用账号",
    "user:remove": "删除账号", "user:token": "生成令牌", "user:revoke-token": "吊销令牌",
}


def _filters(user: str | None = Query(None, max_length=64, description="账号"),
             action: str | None = Query(None, max_length=40, description="操作（如 review:accept，前缀匹配）"),
             since: date | None = Query(None, description="起始日期（含），北京时间"),
             until: date | None = Query(None, description="截止日期（含），北京时间"),
             org_id: str | None = Query(None, pattern=r"^[A-Za-z0-9_.:]{1,64}$", description="涉及的记录 ID")) -> dict:
    def at(d: date | None, plus: int = 0):
        return datetime.combine(d + timedelta(days=plus), time(), SHANGHAI) if d else None

    return {"user": user, "action": action, "since": at(since), "until": at(until, 1), "mentions": org_id}


def audit_filters():
    """The audit filters as a FastAPI dependency (the page, the API and the CSV take the same)."""
    return Depends(_filters)


def _local(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite gives back naive UTC
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def summary(action: str, d: dict) -> str:
    """One line saying what an entry did.

    >>> summary("review:accept", {"units": ["a", "b"], "survivor": "a", "sid": "a-b"})
    '合并单位 a、b，保留 a（建议 a-b）'
    """
    units = "、".join(d.get("units") or [])
    if action in ("review:accept", "review:merge"):
        return f"合并单位 {units}，保留 {d.get('survivor')}" + (f"（建议 {d['sid']}）" if d.get("sid") else "")
    if action == "review:cluster-accept":
        groups = "；".join("、".join(g) for g in d.get("groups") or [])
        return f"整组按分组合并：{groups}（保留 {'、'.join(d.get('survivors') or [])}）"
    if action in ("review:reject", "review:cluster-reject"):
        return f"判定为不同单位：{units}" + (f"（建议 {d['sid']}）" if d.get("sid") else "")
    if action == "review:unmerge":
        return f"把 {d.get('unmerge')} 从 {d.get('from')} 中拆出"
    if action == "review:correct":
        said = {"name": "名称", "category": "类别", "region_code": "地区代码"}
        return f"更正 {units}：" + "，".join(f"{said.get(k, k)}改为「{v}」" for k, v in (d.get("changes") or {}).items())
    if action == "undo":
        return f"撤销操作 {d.get('batch')}"
    if action.startswith("decide:"):
        return f"{d.get('left')} 与 {d.get('right')}" + (f"，保留 {d['survivor']}" if d.get("survivor") else "")
    before = d.get("before") or {}
    return f"决定 {d.get('decision_id', '')} {before.get('left_org_id', '')}/{before.get('right_org_id', '')}".strip()


def _before_after(action: str, d: dict) -> tuple[str, str]:
    if action.startswith("review:"):
        was = (d.get("before") or {}).get("id_map") or {}
        before = "；".join(f"{u}→{was[u][0]}" for u in d.get("units") or [] if u in was)
        after = "；".join(f"{u}→{c}" for u, c in (d.get("after") or {}).items())
        return before, after
    if "before" in d and isinstance(d["before"], dict) and "decision" in d["before"]:
        return withdrawn(d["before"]), "已收回"
    return "", ""


def withdrawn(decision: dict) -> str:
    """A withdrawn decision as people read it.

    >>> withdrawn({"left_org_id": "a", "right_org_id": "b", "decision": "match", "survivor": "a", "user": "rev"})
    'rev 判定 a 与 b 为同一单位，保留 a'
    """
    said = {"match": "为同一单位", "distinct": "为不同单位"}.get(decision.get("decision"), decision.get("decision", ""))
    out = f"{decision.get('user', '')} 判定 {decision.get('left_org_id', '')} 与 {decision.get('right_org_id', '')} {said}"
    return (out + (f"，保留 {decision['survivor']}" if decision.get("survivor") else "")).strip()


def audit_rows(entries: list[dict]) -> list[dict]:
    """Audit rows for the page and the API (the large saved state stays in the database)."""
    out = []
    for e in entries:
        d = e["detail"] or {}
        before, after = _before_after(e["action"], d)
        out.append({"id": e["id"], "at": _local(e["at"]), "user": e["user"], "action": e["action"],
                    "action_label": ACTIONS.get(e["action"], e["action"]), "summary": summary(e["action"], d),
                    "before": before, "after": after, "batch": d.get("batch", "")})
    return out


def audit_csv(entries: list[dict]) -> Response:
    """The rows as CSV for Excel/WPS: UTF-8 with BOM, Chinese headers, formulas neutralised."""
    columns = {"id": "编号", "at": "时间（北京时间）", "user": "账号", "action_label": "操作", "summary": "说明",
               "before": "之前", "after": "之后", "batch": "批次"}
    rows = pd.DataFrame(audit_rows(entries), columns=list(columns)).rename(columns=columns)
    text = neutralise_formulas(rows).to_csv(index=False)
    return Response("\ufeff" + text, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})
