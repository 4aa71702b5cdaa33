"""``orgreg proposals list|accept|merge|reject``: the 组织入驻 ops queue in a terminal, signed in as a named
account exactly like ``orgreg review`` (token or user and password), with the same role and scope checks
and audit as the queue page (``serve.proposals.decide_proposal``)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from serve.terminal import EXIT_AUTH, EXIT_CONFLICT, EXIT_REFUSED, HOME, PASSWORD_STDIN, TOKEN, USER, signed_in

proposals_app = typer.Typer(help="处理组织入驻申请（以已登录的账号操作；权限、范围和审计与网页队列相同）。",
                            no_args_is_help=True)
console = Console()
err = Console(stderr=True)
REASON = typer.Option(..., "--reason", help="处理理由（必填，记入审计日志）")
EXIT_OF = {403: EXIT_AUTH, 404: EXIT_REFUSED, 409: EXIT_CONFLICT, 422: EXIT_REFUSED}


def _resolver(store):
    """A unit id's canonical id in the live snapshot (None when there is none)."""
    def resolve(org_id: str) -> str | None:
        snap = store.live_snapshot()
        if snap is None:
            return None
        id_map = snap.frame("id_map", ["source_org_id", "canonical_org_id"])
        hit = id_map.loc[id_map["source_org_id"] == org_id, "canonical_org_id"]
        return str(hit.iloc[0]) if len(hit) else None
    return resolve


def _tree(store):
    """The live snapshot's id map and parent tree, as ``serve.proposals.area_filter`` reads them (None: no snapshot)."""
    from types import SimpleNamespace

    from serve.state import IdMap

    snap = store.live_snapshot()
    if snap is None:
        return None
    orgs = snap.frame("organizations", ["org_id", "parent_id"])
    children: dict[str, list[str]] = {}
    for oid, parent in zip(orgs["org_id"], orgs["parent_id"]):
        if parent:
            children.setdefault(parent, []).append(oid)
    return SimpleNamespace(canonical=IdMap(snap.frame("id_map", ["source_org_id", "canonical_org_id", "how"])),
                           children=children)


def _decide(action: str, proposal_id: str, reason: str, target: str, home, token, user, password_stdin) -> None:
    from serve.proposals import ProposalRefused, decide_proposal

    desk, account = signed_in(home, token, user, password_stdin)
    try:
        row = decide_proposal(desk.store, account, proposal_id, action, reason, target, _resolver(desk.store),
                              _tree(desk.store))
    except ProposalRefused as e:
        err.print(str(e))
        raise typer.Exit(EXIT_OF.get(e.status, EXIT_REFUSED))
    extra = f"，并入 {row['merged_into']}" if row["merged_into"] else ""
    console.print(f"入驻申请 {row['org_id']}（{row['name']}）：{row['status_text']}{extra}")


@proposals_app.command("list")
def proposals_list(status: str = typer.Option("pending", help="pending 待处理 / accepted / merged / rejected / all"),
                   home: Optional[Path] = HOME, token: Optional[str] = TOKEN, user: Optional[str] = USER,
                   password_stdin: bool = PASSWORD_STDIN):
    """列出入驻申请（默认待处理的；省级账号只看本省的，学会、部委账号只看上级单位在本单位之下的）。"""
    from serve.auth import can_review
    from serve.proposals import visible_proposals

    desk, account = signed_in(home, token, user, password_stdin)
    if not can_review(account):
        err.print("没有处理入驻申请的权限（需要审核权限）")
        raise typer.Exit(EXIT_AUTH)
    rows = visible_proposals(desk.store, account, _tree(desk.store), None if status == "all" else status)
    table = Table(title=f"入驻申请（{len(rows)} 条）")
    for col in ("编号", "名称", "类别", "地区", "上级", "查重", "状态", "理由"):
        table.add_column(col)
    verdicts = {"exists": "已有", "likely_exists": "可能已有", "new": "新单位"}
    for r in rows:
        table.add_row(r["org_id"], r["name"], r["category"] or "", r["region_code"] or "", r["parent_id"] or "",
                      verdicts.get(r["verdict"], r["verdict"] or ""), r["status_text"], r["reason"] or "")
    console.print(table)


@proposals_app.command("accept")
def proposals_accept(proposal_id: str, reason: str = REASON, home: Optional[Path] = HOME,
                     token: Optional[str] = TOKEN, user: Optional[str] = USER, password_stdin: bool = PASSWORD_STDIN):
    """入驻：该单位随即可在联想中选择（标记为新入驻）。"""
    _decide("accept", proposal_id, reason, "", home, token, user, password_stdin)


@proposals_app.command("merge")
def proposals_merge(proposal_id: str, target: str = typer.Option(..., "--into", help="并入的现有单位 ID"),
                    reason: str = REASON, home: Optional[Path] = HOME, token: Optional[str] = TOKEN,
                    user: Optional[str] = USER, password_stdin: bool = PASSWORD_STDIN):
    """并入现有单位：申请编号以后解析为该单位。"""
    _decide("merge", proposal_id, reason, target, home, token, user, password_stdin)


@proposals_app.command("reject")
def proposals_reject(proposal_id: str, reason: str = REASON, home: Optional[Path] = HOME,
                     token: Optional[str] = TOKEN, user: Optional[str] = USER, password_stdin: bool = PASSWORD_STDIN):
    """驳回入驻申请。"""
    _decide("reject", proposal_id, reason, "", home, token, user, password_stdin)
