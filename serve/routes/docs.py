"""``/docs``: the OpenAPI page with its script and styles served by the service itself.

FastAPI's own page loads Swagger UI from a CDN, so it stays blank where the service runs without
internet. The assets come from the ``fastapi-offline`` package (Swagger UI and a favicon, kept current
by its maintainers) and are mounted under ``/static/docs``. (No ReDoc page: its bundle still fetches
a logo from Redocly's CDN.)
"""
from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles

from serve.scopes import PUBLIC

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/static/docs"


def docs_router(app: FastAPI) -> APIRouter:
    """The documentation page of ``app`` (made with ``docs_url=None, redoc_url=None``) and its assets."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="docs-assets")
    router = APIRouter()
    oauth_redirect = "/docs/oauth2-redirect"

    @router.get("/docs", include_in_schema=False, dependencies=[PUBLIC])
    def swagger(request: Request):
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} · 接口文档",
                                   oauth2_redirect_url=oauth_redirect,
                                   swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png")

    @router.get(oauth_redirect, include_in_schema=False, dependencies=[PUBLIC])
    def swagger_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    return router
