"""What an account may see, and the scope every route declares.

Every route of the service declares one of five scopes in its ``dependencies`` (a test walks the app's
route table and fails for a route without one, then checks each scope's behaviour):

    @router.get("/api/x/{province_code}", dependencies=[SCOPED])   # 403 outside the account's area

- ``PUBLIC``: anyone (the submission form's autocomplete and unit lookups; the login page)
- ``SIGNED_IN``: any account; shows nothing scoped (logout, the way to one's own area)
- ``REVIEW``: merge suggestions; the route filters them with ``review_filter`` (403 without the right)
- ``SCOPED``: a province's or a unit's activities, units or statistics, named by the path parameter
  ``province_code`` or ``org_id``: 403 unless it lies in the account's area
- ``NATIONAL``: national admins only (national statistics, unmerge)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from fastapi import Depends, HTTPException, Request

from core.accounts import PROVINCE_CODE, ROLES
from serve.auth import can_review, require_user
from serve.state import Loaded


@dataclass(frozen=True)
class Scope:
    """An account's area: everything (national), one province, or one unit's subtree."""

    province: str = ""
    unit: str = ""

    @property
    def national(self) -> bool:
        return not self.province and not self.unit

    def allows_province(self, code: str) -> bool:
        """Whether the area holds the province ``code``.

        >>> Scope(province="440000").allows_province("420000"), Scope().allows_province("420000")
        (False, True)
        """
        return self.national or code == self.province

    def units(self, current: Loaded) -> np.ndarray | None:
        """Canonical ids of the units in the area (None: all)."""
        if self.national:
            return None
        if self.province:
            return current.orgs.index[current.orgs["province_code"].to_numpy() == self.province].to_numpy()
        return np.array(sorted(subtree(current, self.unit)), dtype=object)

    def allows_unit(self, current: Loaded, org_id: str) -> bool:
        oid = current.canonical.get(org_id, org_id)
        if self.national:
            return True
        if self.province:
            return oid in current.orgs.index and current.orgs.at[oid, "province_code"] == self.province
        return oid in subtree(current, self.unit)

    def activities(self, current: Loaded) -> pd.DataFrame:
        """The activities this area reviews: a province's by the visibility rule, a unit's by 归口单位 in its subtree."""
        v = current.visibility
        if self.national:
            return v
        if self.province:
            return v[v["province_code"].to_numpy() == self.province]
        return v[v["canonical_org_id"].isin(subtree(current, self.unit))]


def subtree(current: Loaded, org_id: str) -> set[str]:
    """``org_id``'s canonical unit and every unit below it."""
    root = current.canonical.get(org_id, org_id)
    seen, todo = {root}, [root]
    while todo:
        for kid in current.children.get(todo.pop(), ()):
            if kid not in seen:
                seen.add(kid)
                todo.append(kid)
    return seen


def scope_of(user: dict) -> Scope:
    """The area of an account: national for admin and reviewer, else its province or unit."""
    if user["role"] == "province":
        return Scope(province=user["scope"])
    if user["role"] in ("society", "ministry"):
        return Scope(unit=user["scope"])
    return Scope()


def describe(user: dict) -> str:
    """The account as shown on pages, e.g. ``gd_admin（省级管理员 · 440000）``."""
    return f"{user['name']}（{ROLES.get(user['role'], user['role'])}{' · ' + user['scope'] if user['scope'] else ''}）"


def review_filter(user: dict, current: Loaded | None):
    """A function keeping the merge suggestions (frame with ``left_canonical``/``right_canonical``, or
    ``left_province``/``right_province``) the account may review; 403 without the right."""
    if not can_review(user):
        raise HTTPException(403, "没有审核合并建议的权限")
    area = scope_of(user)
    if area.national:
        return lambda queue: queue
    if area.province:
        return lambda q: q[(q["left_province"] == area.province) | (q["right_province"] == area.province)]
    mine = subtree(current, area.unit) if current is not None else set()
    return lambda q: q[q["left_canonical"].isin(mine) | q["right_canonical"].isin(mine)]


# ------------------------------------------------------------------ the declarations
async def _public() -> None:
    """Anyone may call it (a coroutine: FastAPI runs a plain function dependency in its thread pool,
    a hop that cost the new-unit check more than its own work)."""


def _signed_in(request: Request) -> dict:
    return require_user(request)


def _review(request: Request) -> dict:
    return require_user(request, role="reviewer")


def _scoped(request: Request) -> dict:
    user = require_user(request)
    if user["role"] == "reviewer":
        raise HTTPException(403, "审核员账号不能查看各地的活动、单位和统计")
    area = scope_of(user)
    params = request.path_params
    if "province_code" in params:
        code = params["province_code"]
        if not PROVINCE_CODE.match(code):
            raise HTTPException(422, "province_code 应为 6 位省级代码，例如 440000")
        if not area.allows_province(code):
            raise HTTPException(403, f"您的账号 {describe(user)} 无权查看 {code} 的数据")
    elif "org_id" in params:
        holder = request.app.state.holder
        if holder.current is None:
            raise HTTPException(503, "还没有发布的快照：请先运行 orgreg nightly")
        if not area.allows_unit(holder.current, params["org_id"]):
            raise HTTPException(403, f"您的账号 {describe(user)} 无权查看单位 {params['org_id']} 的数据")
    else:
        raise HTTPException(500, "路由声明了 SCOPED 却没有 province_code 或 org_id 参数")
    return user


def _national(request: Request) -> dict:
    return require_user(request, role="admin")


PUBLIC, SIGNED_IN, REVIEW, SCOPED, NATIONAL = (Depends(_public), Depends(_signed_in), Depends(_review),
                                               Depends(_scoped), Depends(_national))
SCOPES = {"public": _public, "signed-in": _signed_in, "review": _review, "scoped": _scoped, "national": _national}


def declared_scope(route) -> str | None:
    """The scope a route declared (its name in ``SCOPES``), or None."""
    found = [name for dep in getattr(route, "dependencies", []) for name, fn in SCOPES.items() if dep.dependency is fn]
    return found[0] if len(found) == 1 else None


def api_routes(app) -> list:
    """Every API route of ``app`` with its full path, method and dependencies, through included routers
    (FastAPI 0.150 keeps an included router as one nested entry of ``app.routes``)."""
    found = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            found.extend(c for c in route.effective_route_contexts() if hasattr(c, "dependencies"))
        elif hasattr(route, "dependencies"):
            found.append(route)
    return found
