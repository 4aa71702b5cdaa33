"""Per-client rate limits (slowapi) for the endpoints a public form calls: the new-unit check and
proposals. Keyed by the client's address; a client over its limit gets 429 with a Chinese message."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from slowapi import Limiter
from slowapi.errors import RateLimitExceeded
from slowapi.util import get_remote_address


def client_limiter(app: FastAPI) -> Limiter:
    """A limiter (in memory, per process) installed on ``app`` with its 429 answer."""
    limiter = Limiter(key_func=get_remote_address)
    app.state.limiter = limiter

    @app.exception_handler(RateLimitExceeded)
    async def too_many(request: Request, exc: RateLimitExceeded):
        return JSONResponse({"detail": f"请求过于频繁（限制：{exc.detail}），请稍后再试"}, status_code=429,
                            headers={"Retry-After": "60"})

    return limiter
