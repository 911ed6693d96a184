"""The sender-registration part of the ``/api/sms`` contract.

``GET /api/sms?action=registration``, the ``register`` and
``resend_registration_otp`` actions, and the provider's status callbacks for
registration objects (``POST /api/sms/webhooks/twilio/registration``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from neariq_sms import usecases as uc
from neariq_sms.adapters.http.request import Request, Response, business_first, json_response
from neariq_sms.adapters.http.serialise import registration_body
from neariq_sms.domain.errors import InvalidField, SmsNotConfigured
from neariq_sms.ports.registry import SenderRegistry
from neariq_sms.ports.services import Services
from neariq_sms.ports.webhooks import REGISTRATION_PATH

log = logging.getLogger("neariq_sms.http")

REGISTRATION_WEBHOOK_PATH = REGISTRATION_PATH
#: The sid of a registration object as callbacks name it: bundles (BU), brands (BN),
#: services (MG), campaigns (QE, CM).
_OBJECT_SID = re.compile(r"^(BU|BN|MG|QE|CM)[0-9a-f]{32}$")
_SID_FIELDS = ("BundleSid", "BrandSid", "BrandRegistrationSid", "CampaignSid", "ResourceSid")
_STATUS = re.compile(r"^[A-Za-z_-]{1,40}$")


def _registry(s: Services) -> SenderRegistry:
    if s.registry is None:
        raise SmsNotConfigured(reason="no sender registry configured")
    return s.registry


def get_registration(s: Services, business_id: str) -> Response:
    registration = uc.get_registration(business_id, uow=s.uow)
    return json_response(200, registration_body(registration))


def register(data: Mapping[str, Any], req: Request, s: Services, business_id: str) -> Response:
    # Every shape error of the request before any rule (and 404 before it): parse here.
    with business_first(s, business_id):
        uc.parse_registration(data)
    registration = uc.register_sender(
        business_id, data, uow=s.uow, registry=s.registry, clock=s.clock
    )
    return json_response(202, {"ok": True, **registration_body(registration)})


def resend_otp(data: Mapping[str, Any], req: Request, s: Services, business_id: str) -> Response:
    registration = uc.resend_registration_otp(business_id, uow=s.uow, registry=_registry(s))
    return json_response(200, {"ok": True, **registration_body(registration)})


def registration_webhook_sid(params: Sequence[tuple[str, str]]) -> str | None:
    """The registration object a verified callback names, its fields shape-checked
    (a signature does not bind where one parameter ends and the next begins)."""
    fields = dict(params)
    status = fields.get("Status")
    if status is not None and not _STATUS.match(status):
        raise InvalidField("Status", "must be a provider status word")
    for name in _SID_FIELDS:
        sid = fields.get(name)
        if sid is None:
            continue
        if not _OBJECT_SID.match(sid):
            raise InvalidField(name, "must be a registration object sid")
        return sid
    return None


def on_registration_callback(params: Sequence[tuple[str, str]], s: Services) -> Response:
    """A verified status callback: the registration it concerns advances now."""
    sid = registration_webhook_sid(params)
    if sid is not None and s.registry is not None:
        outcome = uc.nudge_registration(sid, uow=s.uow, registry=s.registry, clock=s.clock)
        log.info("registration callback sid=%s outcome=%s", sid, outcome)
    return json_response(200, {"ok": True})


ActionHandler = Callable[[Mapping[str, Any], Request, Services, str], Response]

#: ``POST /api/sms`` actions answered here.
ACTIONS: dict[str, ActionHandler] = {
    "register": register,
    "resend_registration_otp": resend_otp,
}

__all__ = [
    "ACTIONS",
    "REGISTRATION_WEBHOOK_PATH",
    "get_registration",
    "on_registration_callback",
    "registration_webhook_sid",
]
