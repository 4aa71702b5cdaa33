"""The admins' pages and APIs: an area's activities, units and statistics; national statistics.

An area is a province (``/admin/440000…``) or a 全国学会/部委 unit (``/admin/unit/{org_id}…``); every
list downloads as CSV (UTF-8 with BOM) or xlsx with ``?format=csv|xlsx`` and the same filters.
"""
from __future__ import annotations

import math
from datetime import date
from typing import Literal
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.spreadsheet import csv_bytes, xlsx_bytes
from core.store import Store
from serve import admin_stats
from serve.admin_views import RULES, ActivityFilter, AdminData, filter_activities, why_mine
from serve.auth import csrf_token
from serve.routes import TEMPLATES, live_snapshot
from serve.scopes import NATIONAL, SCOPED, SIGNED_IN, Scope, describe, scope_of
from serve.state import SnapshotHolder

PAGE_SIZE = 50
Format = Literal["html", "csv", "xlsx"]
ACTIVITY_HEADERS = {"activity_id": "活动ID", "title": "活动名称", "canonical_org_id": "归口单位ID", "org_name": "归口单位",
                    "place_name": "活动地区", "start_date": "开始日期", "basis": "归入依据", "new": "上次运行后新增",
                    "why": "为何由我审核"}


def download(frame: pd.DataFrame, headers: dict, fmt: str, stem: str) -> Response:
    """The frame with Chinese headers as a CSV (UTF-8 with BOM) or xlsx attachment."""
    table = frame[list(headers)].rename(columns=headers)
    name = f"{stem.replace('/', '、')}-{date.today():%Y%m%d}.{fmt}"
    disposition = {"Content-Disposition": f"attachment; filename=\"orgreg-{date.today():%Y%m%d}.{fmt}\"; "
                                          f"filename*=UTF-8''{quote(name)}"}
    if fmt == "csv":
        return Response(csv_bytes(table), media_type="text/csv; charset=utf-8", headers=disposition)
    return Response(xlsx_bytes(table, stem), headers=disposition,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def admin_router(holder: SnapshotHolder, store: Store) -> APIRouter:
    router = APIRouter()
    data = AdminData(store, holder.regions)

    def area_of(province_code: str | None, org_id: str | None) -> tuple[Scope, str, str]:
        """The area, its Chinese name and its URL prefix."""
        current = live_snapshot(holder)
        if province_code:
            return Scope(province=province_code), data.place_label(province_code), f"/admin/{province_code}"
        oid = current.canonical.get(org_id, org_id)
        if oid not in current.orgs.index:
            raise HTTPException(404, f"组织库中没有 ID 为 {org_id} 的单位")
        return Scope(unit=oid), current.orgs.at[oid, "name"], f"/admin/unit/{oid}"

    def page(request: Request, template: str, area_name: str, prefix: str, tab: str, **context) -> HTMLResponse:
        user = request.state.user
        return TEMPLATES.TemplateResponse(request, template, {
            "user": user, "who": describe(user), "csrf": csrf_token(request), "area_name": area_name, "prefix": prefix,
            "tab": tab, "national": user["role"] == "admin", "version": live_snapshot(holder).version, **context})

    # ------------------------------------------------------------------ where an account lands
    @router.get("/admin", include_in_schema=False, dependencies=[SIGNED_IN])
    def my_area(request: Request):
        user = request.state.user
        area = scope_of(user)
        if user["role"] == "reviewer":
            return RedirectResponse("/review", status_code=303)
        target = "/stats" if area.national else f"/admin/{area.province}" if area.province else f"/admin/unit/{area.unit}"
        return RedirectResponse(target, status_code=303)

    # ------------------------------------------------------------------ activities
    def activities_view(request: Request, province_code: str | None, org_id: str | None, f: ActivityFilter,
                        page_no: int, fmt: str):
        current = live_snapshot(holder)
        area, area_name, prefix = area_of(province_code, org_id)
        rows = filter_activities(data.activities(current, area), f)
        if fmt != "html":
            out = rows.assign(place_name=[data.place_label(p) for p in rows["place"]],
                              start_date=rows["start_date"].dt.strftime("%Y-%m-%d").fillna(""),
                              new=["是" if n else "" for n in rows["new"]],
                              why=[why_mine(current, data, r, area) for r in rows.to_dict("records")])
            return download(out, ACTIVITY_HEADERS, fmt, f"活动-{area_name}")
        shown = rows.iloc[(page_no - 1) * PAGE_SIZE: page_no * PAGE_SIZE].to_dict("records")
        for r in shown:
            r.update(why=why_mine(current, data, r, area), place_name=data.place_label(r["place"]),
                     start=r["start_date"].strftime("%Y-%m-%d") if not pd.isna(r["start_date"]) else "")
        query = {k: v for k, v in dict(place=f.place, unit=f.unit, q=f.q, date_from=f.date_from, date_to=f.date_to,
                                        basis=f.basis, new="1" if f.new else "").items() if v}
        return page(request, "admin_activities.html", area_name, prefix, "activities", rows=shown, total=len(rows),
                    page=page_no, pages=max(1, math.ceil(len(rows) / PAGE_SIZE)), f=f, query=urlencode(query),
                    places=data.place_choices(current, area), unit_names=data.unit_names(current, area),
                    bases=list(RULES), has_last=data.last_run(current) is not None)

    def filters(place, unit, q, date_from, date_to, new, basis) -> ActivityFilter:
        return ActivityFilter(place, unit.strip(), q.strip(), date_from, date_to, new, basis)

    @router.get("/admin/unit/{org_id}", response_class=HTMLResponse, include_in_schema=False, dependencies=[SCOPED])
    def unit_activities(request: Request, org_id: str, place: str = Query("", pattern=r"^(\d{6})?$"),
                        unit: str = "", q: str = "", date_from: str = Query("", pattern=r"^(\d{4}-\d{2}-\d{2})?$"),
                        date_to: str = Query("", pattern=r"^(\d{4}-\d{2}-\d{2})?$"), new: bool = False,
                        basis: str = "", page: int = Query(1, ge=1), format: Format = "html"):
        return activities_view(request, None, org_id, filters(place, unit, q, date_from, date_to, new, basis), page, format)

    @router.get("/admin/{province_code}", response_class=HTMLResponse, include_in_schema=False, dependencies=[SCOPED])
    def province_activities(request: Request, province_code: str, place: str = Query("", pattern=r"^(\d{6})?$"),
                            unit: str = "", q: str = "", date_from: str = Query("", pattern=r"^(\d{4}-\d{2}-\d{2})?$"),
                            date_to: str = Query("", pattern=r"^(\d{4}-\d{2}-\d{2})?$"), new: bool = False,
                            basis: str = "", page: int = Query(1, ge=1), format: Format = "html"):
        return activities_view(request, province_code, None, filters(place, unit, q, date_from, date_to, new, basis),
                               page, format)

    # ------------------------------------------------------------------ units as a tree
    def units_view(request: Request, province_code: str | None, org_id: str | None, root: str, page_no: int, fmt: str):
        current = live_snapshot(holder)
        area, area_name, prefix = area_of(province_code, org_id)
        top = data.root(current, area)
        oid = current.canonical.get(root, root) if root else top
        if oid is None or oid not in current.orgs.index:
            raise HTTPException(404, f"组织库中没有 ID 为 {root} 的单位")
        if not area.allows_unit(current, oid):
            raise HTTPException(403, f"单位 {root} 不在您的管辖范围内")
        kids = sorted(current.children.get(oid, []), key=lambda k: (current.orgs.at[k, "category"], k))
        if province_code:  # a province's tree shows its own units only
            kids = [k for k in kids if area.allows_unit(current, k)]
        counted = [unit_counts(current, k) for k in kids]
        if fmt != "html":
            return download(pd.DataFrame(counted), {"org_id": "单位ID", "name": "名称", "category": "类别",
                                                    "place": "所在地区", "organizations": "下属单位数（含自身）",
                                                    "activities": "活动数（含下级）", "children": "直接下级数"},
                            fmt, f"单位-{current.orgs.at[oid, 'name']}")
        path = []
        up = oid
        while up and up in current.orgs.index and area.allows_unit(current, up):
            path.insert(0, (up, current.orgs.at[up, "name"]))
            if up == top:
                break
            up = current.orgs.at[up, "parent_id"]
        return page(request, "admin_units.html", area_name, prefix, "units", root=unit_counts(current, oid), path=path,
                    kids=counted[(page_no - 1) * PAGE_SIZE: page_no * PAGE_SIZE], total=len(kids), page=page_no,
                    pages=max(1, math.ceil(len(kids) / PAGE_SIZE)), query=urlencode({"root": oid}))

    def unit_counts(current, oid: str) -> dict:
        row = current.orgs.loc[oid]
        if oid in current.rollup.index:
            organizations, activities = (int(current.rollup.at[oid, c]) for c in ("organizations", "activities"))
        else:
            organizations, activities = 1 + len(current.children.get(oid, [])), int(
                (current.visibility["canonical_org_id"].to_numpy() == oid).sum())
        return {"org_id": oid, "name": row["name"], "category": row["category"], "place": data.place_label(row["region_code"]),
                "organizations": organizations, "activities": activities, "children": len(current.children.get(oid, []))}

    @router.get("/admin/unit/{org_id}/units", response_class=HTMLResponse, include_in_schema=False, dependencies=[SCOPED])
    def unit_units(request: Request, org_id: str, root: str = "", page: int = Query(1, ge=1), format: Format = "html"):
        return units_view(request, None, org_id, root, page, format)

    @router.get("/admin/{province_code}/units", response_class=HTMLResponse, include_in_schema=False,
                dependencies=[SCOPED])
    def province_units(request: Request, province_code: str, root: str = "", page: int = Query(1, ge=1),
                       format: Format = "html"):
        return units_view(request, province_code, None, root, page, format)

    # ------------------------------------------------------------------ statistics
    def stats_view(request: Request, province_code: str | None, org_id: str | None, by: str, fmt: str):
        current = live_snapshot(holder)
        area, area_name, prefix = area_of(province_code, org_id)
        frame = admin_stats.by_unit(current, data, area) if by == "unit" else admin_stats.by_place(current, data, area, by)
        label = {"unit": "归口单位", "city": "城市", "county": "区县"}[by]
        if fmt != "html":
            return download(frame, admin_stats.STAT_HEADERS, fmt, f"统计-{area_name}-按{label}")
        return page(request, "admin_stats.html", area_name, prefix, "stats", tables=[(label, by, frame)],
                    by=by, has_last=data.last_run(current) is not None, query=urlencode({"by": by}))

    @router.get("/admin/unit/{org_id}/stats", response_class=HTMLResponse, include_in_schema=False, dependencies=[SCOPED])
    def unit_stats(request: Request, org_id: str, by: Literal["unit", "city", "county"] = "unit", format: Format = "html"):
        return stats_view(request, None, org_id, by, format)

    @router.get("/admin/{province_code}/stats", response_class=HTMLResponse, include_in_schema=False,
                dependencies=[SCOPED])
    def province_stats(request: Request, province_code: str, by: Literal["unit", "city", "county"] = "unit",
                       format: Format = "html"):
        return stats_view(request, province_code, None, by, format)

    @router.get("/stats", response_class=HTMLResponse, include_in_schema=False, dependencies=[NATIONAL])
    def national_stats(request: Request, by: Literal["province", "national-unit"] = "province",
                       format: Format = "html"):
        current = live_snapshot(holder)
        frame = admin_stats.by_province(current, data) if by == "province" else admin_stats.by_national_unit(current, data)
        label = {"province": "省份", "national-unit": "全国学会/部委"}[by]
        if format != "html":
            return download(frame, admin_stats.STAT_HEADERS, format, f"全国统计-按{label}")
        return page(request, "admin_stats.html", "全国", "/stats", "national", tables=[(label, by, frame)], by=by,
                    has_last=data.last_run(current) is not None, query=urlencode({"by": by}))

    # ------------------------------------------------------------------ the JSON API
    @router.get("/api/admin/{province_code}/activities", summary="省级管理员可见的活动（分页；限本人管辖的省份）",
                dependencies=[SCOPED])
    def admin_activities(province_code: str, page: int = Query(1, ge=1), size: int = Query(50, ge=1, le=500)):
        current = live_snapshot(holder)
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

    def stats_body(frame: pd.DataFrame, **about) -> dict:
        last = data.last_run(live_snapshot(holder))
        return {**about, "snapshot_version": live_snapshot(holder).version,
                "last_run_snapshot_version": last.version if last else None, "results": admin_stats.stats_records(frame)}

    @router.get("/api/stats/provinces", summary="全国统计：各省的活动数和单位数（含较上次运行的变化；全国管理员）",
                dependencies=[NATIONAL])
    def api_stats_provinces():
        return stats_body(admin_stats.by_province(live_snapshot(holder), data), by="province")

    @router.get("/api/stats/national-units", summary="全国统计：各全国学会、部委的活动数和单位数（含变化；全国管理员）",
                dependencies=[NATIONAL])
    def api_stats_national_units():
        return stats_body(admin_stats.by_national_unit(live_snapshot(holder), data), by="national-unit")

    @router.get("/api/stats/{province_code}/units", summary="一省各归口单位的活动数和单位数（含变化；限本人管辖的省份）",
                dependencies=[SCOPED])
    def api_stats_units(province_code: str):
        return stats_body(admin_stats.by_unit(live_snapshot(holder), data, Scope(province=province_code)),
                          province_code=province_code, by="unit")

    @router.get("/api/stats/{province_code}/places", summary="一省各城市或区县的活动数和单位数（含变化；限本人管辖的省份）",
                dependencies=[SCOPED])
    def api_stats_places(province_code: str, level: Literal["city", "county"] = "city"):
        return stats_body(admin_stats.by_place(live_snapshot(holder), data, Scope(province=province_code), level),
                          province_code=province_code, by=level)

    return router
