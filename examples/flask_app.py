"""/api/sms inside a Flask app: the host's own session names the business.

Run it from a checkout, in a fresh virtual environment with only the ``flask`` extra::

    python3 -m venv .venv && .venv/bin/pip install '.[flask]'
    .venv/bin/python examples/flask_app.py [--port 5000]

It migrates ``NEARIQ_SMS_DATABASE_URL`` (default ``./neariq_sms.db``) at start-up.
Without ``TWILIO_ACCOUNT_SID`` and ``TWILIO_AUTH_TOKEN`` it runs on the built-in
sandbox provider and offers a dev-only sign-in as a demo business (replace it
with your own sign-in, which puts the business id in ``session["business_id"]``)::

    curl -c jar -X POST http://127.0.0.1:5000/dev/sign-in
    curl -b jar http://127.0.0.1:5000/api/sms
    curl -b jar 'http://127.0.0.1:5000/api/sms?action=search&areaCode=512'
    curl -b jar -X POST http://127.0.0.1:5000/api/sms -H 'Content-Type: application/json' \\
        -d '{"action": "provision", "phoneNumber": "+15125550123"}'

(In quiet hours, 21:00-08:00 at the recipient, a review request answers
``scheduled``; ``NEARIQ_SMS_QUIET_HOURS=off`` sends at once.)
"""

from __future__ import annotations

import argparse
import os

from flask import Flask, Response, jsonify, request, session

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import MAX_BODY_BYTES, handle
from neariq_sms.config import Services, Settings, build_services, upgrade_database

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
DEMO_BUSINESS = "Aster Grove Fitness"
DEMO_CUSTOMER = "+15557654321"


def demo_business(sms: Services) -> str:
    """Dev only: the business the sign-in stub signs in as, created on first use."""
    for business in uc.list_businesses(uow=sms.uow):
        if business.name == DEMO_BUSINESS and business.active:
            return business.id
    shop = uc.create_business(DEMO_BUSINESS, "growth", uow=sms.uow, clock=sms.clock)
    uc.record_consent(shop.id, DEMO_CUSTOMER, "point_of_sale", uow=sms.uow, clock=sms.clock)
    return shop.id


def create_app(services: Services | None = None) -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ.get("FLASK_SECRET_KEY", os.urandom(32))
    sandbox = False
    if services is None:
        settings = Settings.from_env()
        upgrade_database(settings.database_url)  # idempotent; or `neariq-sms db upgrade`
        sandbox = not settings.twilio_configured
        services = build_services(settings, sandbox=sandbox)
    sms = services

    @app.route("/api/sms", methods=METHODS)
    @app.route("/api/sms/<path:_rest>", methods=METHODS)
    def api_sms(_rest: str = "") -> Response:
        status, headers, body = handle(
            request.method,
            request.path,
            request.query_string.decode("utf-8", "replace"),
            request.headers.items(),
            request.stream.read(MAX_BODY_BYTES + 1),
            session.get("business_id"),  # set by the host's own sign-in
            services=sms,
        )
        return Response(body, status=status, headers=headers)

    if sandbox:

        @app.post("/dev/sign-in")
        def dev_sign_in() -> Response:
            """The sign-in stub: only on the sandbox, never with real Twilio credentials."""
            session["business_id"] = demo_business(sms)
            return jsonify(ok=True, businessId=session["business_id"])

    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    create_app().run(host=args.host, port=args.port)
