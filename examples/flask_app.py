"""/api/sms inside a Flask app: the host's own session names the business."""

from __future__ import annotations

import os

from flask import Flask, Response, request, session

from neariq_sms.adapters.http import MAX_BODY_BYTES, handle
from neariq_sms.config import Services, Settings, build_services

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def create_app(services: Services | None = None) -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ.get("FLASK_SECRET_KEY", os.urandom(32))
    sms = services or build_services(Settings.from_env())

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

    return app
