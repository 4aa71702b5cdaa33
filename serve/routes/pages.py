"""``/`` (the demo page of the form's 归口单位 picker) and ``/healthz``."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from core.schema import CATEGORIES
from serve.routes import TEMPLATES
from serve.scopes import PUBLIC
from serve.state import SnapshotHolder


def pages_router(holder: SnapshotHolder) -> APIRouter:
    router = APIRouter()

    @router.get("/healthz", summary="服务就绪检查", dependencies=[PUBLIC])
    def healthz():
        current = holder.current
        if current is None:
            return JSONResponse({"status": "starting", "detail": "还没有发布的快照"}, status_code=503)
        return {"status": "ok", "snapshot_version": current.version, "live_version": current.generation,
                "live": current.label}

    @router.get("/", response_class=HTMLResponse, summary="归口单位选择演示页", dependencies=[PUBLIC])
    def demo(request: Request):
        return TEMPLATES.TemplateResponse(request, "picker.html", {"categories": CATEGORIES})

    return router

