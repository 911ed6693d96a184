"""/api/sms inside a FastAPI app: the host's own session names the business."""

from __future__ import annotations

import os

from fastapi import Depends, FastAPI, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from neariq_sms.adapters.http import handle, read_body_async
from neariq_sms.config import Services, Settings, build_services

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def current_business(request: Request) -> str | None:
    """The host's own sign-in: the signed-in user's business, ``None`` when signed out."""
    return request.session.get("business_id")


def create_app(services: Services | None = None) -> FastAPI:
    app = FastAPI()
    app.add_middleware(
        SessionMiddleware, secret_key=os.environ.get("SESSION_SECRET") or os.urandom(32).hex()
    )
    sms = services or build_services(Settings.from_env())

    @app.api_route("/api/sms{rest:path}", methods=METHODS)
    async def api_sms(
        request: Request, business: str | None = Depends(current_business)
    ) -> Response:
        url, body = request.url, await read_body_async(request.stream())
        status, headers, data = await run_in_threadpool(
            handle,
            request.method,
            url.path,
            url.query,
            request.headers.items(),
            body,
            business,
            services=sms,
        )
        return Response(data, status, headers=dict(headers))

    return app
