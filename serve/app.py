"""HTTP service: autocomplete, organization lookups, the admin view, the review desk and the demo picker.

Built with FastAPI from the routers in ``serve/routes/`` (one per concern); never imports prefect or
great-expectations, so it starts fast.
"""
from __future__ import annotations

import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware

from core.config import Settings, load_settings
from core.store import Store, open_store
from core.accounts import Accounts
from serve.auth import Auth, SecureCookie, session_secret
from serve.desk import Desk
from serve.errors import install_error_answers
from serve.fastpath import SuggestFastPath
from serve.lookup import MAX_QUERY
from serve.proposals import NewUnits
from serve.routes.admin import admin_router
from serve.routes.docs import docs_router
from serve.routes.limits import client_limiter
from serve.routes.missing import missing_router
from serve.routes.orgs import orgs_router
from serve.routes.pages import pages_router
from serve.routes.proposals import proposals_router
from serve.routes.reconcile import reconcile_router
from serve.routes.review import review_router
from serve.routes.suggest import suggest_answer, suggest_router
from serve.state import SnapshotHolder


def warm_review_queue(desk: Desk) -> None:
    """Build the review queue once at start-up, so the first reviewer does not wait for it."""
    try:
        desk.queue()
    except LookupError:
        pass  # nothing published yet


def create_app(settings: Settings | None = None, store: Store | None = None, poll_seconds: float = 5.0,
               min_reload_seconds: float = 15.0) -> FastAPI:
    """The service on the live snapshot of ``settings.home`` (it follows newly published snapshots)."""
    settings = settings or load_settings()
    store = store or open_store(settings)
    holder = SnapshotHolder(store, poll_seconds=poll_seconds, min_reload_seconds=min_reload_seconds,
                            lease_seconds=settings.lease_seconds)
    desk = Desk(store)
    new_units = NewUnits(store, holder, settings.proposal_poll_seconds)  # accepted 组织入驻 proposals, live

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        holder.first_load()
        holder.start()
        new_units.safe_refresh()
        new_units.start()
        threading.Thread(target=warm_review_queue, args=(desk,), daemon=True).start()
        yield
        new_units.stop()
        holder.stop()

    app = FastAPI(title="orgreg 组织库查询服务", version="1.0",
                  description="全国科普日组织库：归口单位联想、组织查询、查重检查和省级管理员视图。", lifespan=lifespan,
                  docs_url=None, redoc_url=None)  # served with their assets by docs_router: no CDN needed
    app.state.holder = holder
    app.state.settings = settings
    app.state.auth = Auth(Accounts(store, settings.password_min_length, settings.password_min_score), settings)
    # a browser-session cookie: the server ends sessions (logout, disable, idle and absolute timeouts)
    app.add_middleware(SessionMiddleware, secret_key=session_secret(settings.session_secret, settings.home),
                       same_site="strict", https_only=settings.cookie_secure.lower() == "true", max_age=None)
    app.add_middleware(SecureCookie, mode=settings.cookie_secure)

    install_error_answers(app)

    # well-formed autocomplete requests are answered in front of FastAPI's routing (the form's hot path)
    app.add_middleware(SuggestFastPath, answer=suggest_answer(holder, new_units), max_query=MAX_QUERY,
                       max_limit=settings.suggest_max_limit)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:  # outermost, so the fast path's answers carry the headers too; no cookies cross origins
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type"], allow_credentials=False, max_age=600)
    app.include_router(pages_router(holder))
    app.include_router(docs_router(app))
    app.include_router(suggest_router(holder, settings.suggest_max_limit, new_units))
    limiter = client_limiter(app)
    app.include_router(orgs_router(holder, settings, limiter, new_units))
    app.include_router(proposals_router(holder, store, settings, limiter, new_units))
    app.include_router(reconcile_router(holder, settings))
    app.include_router(admin_router(holder, store))
    app.include_router(missing_router(holder, store))
    app.include_router(review_router(store, desk, on_publish=holder.refresh_soon))
    return app
