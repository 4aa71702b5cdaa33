"""Who is asking: API tokens, server-side login sessions, login throttling, CSRF and role checks.

The session cookie (signed by Starlette's SessionMiddleware) carries a random session id and the CSRF
token; the session itself lives in the database (``core.accounts``), so logout, ``orgreg user disable``
and a password change end it at once, and idle/absolute timeouts are checked on every request.
"""
from __future__ import annotations

import hmac
import math
import secrets
import threading
import time
from collections import defaultdict, deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Request

from core.accounts import Accounts, check_password, token_hash
from core.accounts import add_user, new_token  # noqa: F401 (importable here too: the review tests use them)
from core.config import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")


class LoginThrottle:
    """Failed logins counted per account and per client address over a moving window (in memory:
    one service process; a restart forgets them).

    >>> t = LoginThrottle(per_account=2, per_address=10, window_seconds=60, clock=lambda: 100.0)
    >>> t.failed("zs", "1.2.3.4"); t.failed("zs", "1.2.3.4"); t.wait_seconds("zs", "5.6.7.8")
    60.0
    >>> t.wait_seconds("ls", "1.2.3.4")
    0.0
    """

    def __init__(self, per_account: int, per_address: int, window_seconds: float, clock=time.monotonic):
        self.limits = {"account": per_account, "address": per_address}
        self.window, self.clock = window_seconds, clock
        self.failures: dict[tuple[str, str], deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _wait(self, key: tuple[str, str], moment: float) -> float:
        seen = self.failures.get(key)
        if not seen:
            return 0.0
        while seen and seen[0] <= moment - self.window:
            seen.popleft()
        if len(seen) < self.limits[key[0]]:
            return 0.0
        return seen[-self.limits[key[0]]] + self.window - moment  # until enough failures leave the window

    def wait_seconds(self, name: str, address: str) -> float:
        """Seconds until this account and address may try again (0: now)."""
        with self._lock:
            moment = self.clock()
            return max(self._wait(("account", name), moment), self._wait(("address", address), moment))

    def failed(self, name: str, address: str) -> None:
        with self._lock:
            moment = self.clock()
            self.failures[("account", name)].append(moment)
            self.failures[("address", address)].append(moment)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self.failures.pop(("account", name), None)


def retry_message(seconds: float, moment: datetime | None = None) -> str:
    """The Chinese message of a throttled login: how long to wait and the Beijing time to retry at.

    >>> retry_message(125, datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc))
    '登录失败次数过多，已暂停登录：请在 3 分钟后（北京时间 09:02 之后）重试。'
    """
    moment = moment or datetime.now(timezone.utc)
    at = (moment + timedelta(seconds=seconds)).astimezone(SHANGHAI)
    return f"登录失败次数过多，已暂停登录：请在 {max(1, math.ceil(seconds / 60))} 分钟后（北京时间 {at:%H:%M} 之后）重试。"


class Auth:
    """The service's account checks, built once per app from the settings."""

    def __init__(self, accounts: Accounts, settings: Settings):
        self.accounts = accounts
        self.idle = timedelta(minutes=settings.session_idle_minutes)
        self.absolute = timedelta(hours=settings.session_absolute_hours)
        self.throttle = LoginThrottle(settings.login_max_failures_account, settings.login_max_failures_address,
                                      settings.login_window_minutes * 60)

    def login(self, request: Request, name: str, password: str) -> dict:
        """Check the password (same argon2 work for unknown and disabled accounts) and start a session;
        429 with a retry time when throttled, 401 otherwise."""
        address = request.client.host if request.client else ""
        wait = self.throttle.wait_seconds(name, address)
        if wait > 0:
            raise HTTPException(429, retry_message(wait), headers={"Retry-After": str(math.ceil(wait))})
        user = self.accounts.user(name)
        usable = user is not None and not user["disabled"]
        if not check_password(user["password_hash"] if usable else None, password):
            self.throttle.failed(name, address)
            raise HTTPException(401, "用户名或密码不正确")
        self.throttle.succeeded(name)
        request.session.clear()  # a fresh session id and CSRF token: no fixation of a pre-login cookie
        request.session["sid"] = self.accounts.start_session(name)
        return user

    def logout(self, request: Request) -> None:
        sid = request.session.get("sid")
        if sid:
            self.accounts.end_session(sid)
        request.session.clear()

    def current_user(self, request: Request) -> dict | None:
        """The account of the bearer token or of the live session, or None."""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return self.accounts.user_by_token(token_hash(header[7:].strip()))
        sid = request.session.get("sid") if "session" in request.scope else None
        return self.accounts.session_user(sid, self.idle, self.absolute) if sid else None


def auth_of(request: Request) -> Auth:
    return request.app.state.auth


def current_user(request: Request) -> dict | None:
    return auth_of(request).current_user(request)


def can_review(user: dict) -> bool:
    """Reviewers and national admins review everything; scoped admins when given the right (in scope)."""
    return user["role"] in ("reviewer", "admin") or bool(user.get("can_review"))


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = request.session["csrf"] = secrets.token_urlsafe(24)
    return token


def check_csrf(request: Request, sent: str) -> None:
    if not sent or not hmac.compare_digest(sent, request.session.get("csrf", "")):
        raise HTTPException(403, "CSRF 校验失败：请刷新页面后重试")


def require_user(request: Request, role: str | None = None, write: bool = False) -> dict:
    """The signed-in user, or 401; 403 without the role (``reviewer``: may review; ``admin``: national
    admin); session writes must carry the CSRF token (header ``X-CSRF-Token``)."""
    user = current_user(request)
    if user is None:
        raise HTTPException(401, "请先登录（或使用 Authorization: Bearer 令牌）", headers={"WWW-Authenticate": "Bearer"})
    if role == "reviewer" and not can_review(user):
        raise HTTPException(403, "没有审核合并建议的权限")
    if role == "admin" and user["role"] != "admin":
        raise HTTPException(403, "需要全国管理员权限")
    if write and not request.headers.get("authorization", "").lower().startswith("bearer "):
        check_csrf(request, request.headers.get("x-csrf-token", ""))
    request.state.user = user
    return user


def session_secret(configured: str, home: Path) -> str:
    """The configured secret, else one generated once and kept (0600) in the state directory."""
    if configured:
        return configured
    path = Path(home) / "session_secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class SecureCookie:
    """ASGI middleware adding ``Secure`` to the cookies of HTTPS requests (``auto``) or of all (``true``).

    Behind a TLS proxy, uvicorn's ``--proxy-headers`` (trusted ``--forwarded-allow-ips``) makes
    X-Forwarded-Proto the request's scheme, so ``auto`` sees HTTPS there too.
    """

    def __init__(self, app, mode: str = "auto"):
        self.app, self.mode = app, mode.lower()

    async def __call__(self, scope, receive, send):
        secure = scope["type"] == "http" and (self.mode == "true" or (self.mode == "auto" and scope.get("scheme") == "https"))
        if not secure:
            return await self.app(scope, receive, send)

        async def send_secure(message):
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v + b"; Secure" if k == b"set-cookie" and b"secure" not in v.lower() else v)
                                      for k, v in message.get("headers", [])]
            await send(message)

        await self.app(scope, receive, send_secure)
