"""/api/sms inside a FastAPI app: the host's own session names the business.

Run it from a checkout, in a fresh virtual environment with only the ``fastapi`` extra::

    python3 -m venv .venv && .venv/bin/pip install '.[fastapi]'
    .venv/bin/python examples/fastapi_app.py [--port 8000]

It migrates ``NEARIQ_SMS_DATABASE_URL`` (default ``./neariq_sms.db``) at start-up.
Without ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` it runs on the built-in
sandbox provider and offers a dev-only sign-in as a demo business (replace it
with your own sign-in, which puts the business id in ``request.session["business_id"]``)::

    curl -c jar -X POST http://127.0.0.1:8000/dev/sign-in
    curl -b jar http://127.0.0.1:8000/api/sms

``/docs`` shows the contract's own operations (from its OpenAPI document); one
hidden route hands every ``/api/sms`` request to ``handle``, so unknown paths
and methods answer the contract's JSON 404 and 405.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from fastapi import Depends, FastAPI, Request, Response
from fastapi.openapi.utils import get_openapi
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import handle, openapi_document, read_body_async
from neariq_sms.config import Services, Settings, build_services, upgrade_database

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
DEMO_BUSINESS = "Aster Grove Fitness"
DEMO_CUSTOMER = "+15557654321"


def current_business(request: Request) -> str | None:
    """The host's own sign-in: the signed-in user's business, ``None`` when signed out."""
    business = request.session.get("business_id")
    return business if isinstance(business, str) else None


def demo_business(sms: Services) -> str:
    """Dev only: the business the sign-in stub signs in as, created on first use."""
    for business in uc.list_businesses(uow=sms.uow):
        if business.name == DEMO_BUSINESS and business.active:
            return business.id
    shop = uc.create_business(DEMO_BUSINESS, "growth", uow=sms.uow, clock=sms.clock)
    uc.record_consent(shop.id, DEMO_CUSTOMER, "point_of_sale", uow=sms.uow, clock=sms.clock)
    return shop.id


def with_contract_operations(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document plus the contract's paths and components."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
        contract = json.loads(openapi_document())
        schema["paths"] = {**schema.get("paths", {}), **contract["paths"]}
        components = schema.setdefault("components", {})
        for kind, entries in contract["components"].items():
            components.setdefault(kind, {}).update(entries)
        # Here the session is Starlette's signed cookie, not the reference server's.
        components["securitySchemes"]["sessionCookie"].update(
            name="session", description="The host's session (Starlette's SessionMiddleware)."
        )
        app.openapi_schema = schema
    return app.openapi_schema


def create_app(services: Services | None = None) -> FastAPI:
    app = FastAPI(title="neariq-sms in FastAPI")
    app.add_middleware(
        SessionMiddleware, secret_key=os.environ.get("SESSION_SECRET") or os.urandom(32).hex()
    )
    sandbox = False
    if services is None:
        settings = Settings.from_env()
        upgrade_database(settings.database_url)  # idempotent; or `neariq-sms db upgrade`
        sandbox = not settings.twilio_configured
        services = build_services(settings, sandbox=sandbox)
    sms = services

    # One hidden route for the whole surface: handle() routes, and answers 404/405 itself.
    @app.api_route("/api/sms{rest:path}", methods=METHODS, include_in_schema=False)
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

    if sandbox:

        @app.post("/dev/sign-in", summary="Dev only: sign in as the demo business (sandbox)")
        async def dev_sign_in(request: Request) -> dict[str, Any]:
            business_id = await run_in_threadpool(demo_business, sms)
            request.session["business_id"] = business_id
            return {"ok": True, "businessId": business_id}

    app.openapi = lambda: with_contract_operations(app)  # type: ignore[method-assign]
    return app


if __name__ == "__main__":
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port)
