"""Registration through the contract function in-process: the error order of
``register`` and the status fields, which a live sandbox cannot script."""

from __future__ import annotations

import json
from typing import Any

import attrs

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import handle
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock, SimulatedTelephony
from neariq_sms.adapters.memory.registry import SimulatedRegistry
from neariq_sms.config import Services
from neariq_sms.domain.plans import Policy
from tests.conftest import NOON_IN_AUSTIN
from tests.registration_data import STANDARD, payload

JSON = {"Content-Type": "application/json"}


class Shop:
    """A Growth business with a number, registration required, on in-memory adapters."""

    def __init__(self, *, registry: bool = True) -> None:
        self.clock = ManualClock(NOON_IN_AUSTIN)
        self.registry = SimulatedRegistry()
        self.services = Services(
            uow=InMemoryUnitOfWork(),
            telephony=SimulatedTelephony(),
            clock=self.clock,
            policy=Policy(quiet_hours=None, registration_required=True),
            registry=self.registry if registry else None,
        )
        s = self.services
        self.id = uc.create_business("Acme Plumbing", "growth", uow=s.uow, clock=s.clock).id
        self.post({"action": "provision", "phoneNumber": "+15125550123"})

    def call(self, method: str, body: Any = None, query: str = "") -> tuple[int, Any]:
        raw = b"" if body is None else json.dumps(body).encode()
        status, _, data = handle(
            method, "/api/sms", query, JSON, raw, self.id, services=self.services
        )
        return status, json.loads(data)

    def post(self, body: Any) -> tuple[int, Any]:
        return self.call("POST", body)

    def sync(self) -> None:
        s = self.services
        uc.sync_registrations(uow=s.uow, registry=self.registry, clock=s.clock)


def code(answer: tuple[int, Any]) -> tuple[int, str]:
    return answer[0], answer[1]["code"]


def test_register_answers_in_the_contracts_error_order() -> None:
    """404 before the shape; the shape before 503; 503 before the plan; the plan before 409."""
    shop = Shop()
    s = shop.services
    bad = payload(**{"business.ein": "1"})
    uc.change_plan(shop.id, "starter", uow=s.uow)
    assert code(shop.post(bad)) == (400, "invalid_field")
    assert code(shop.post(STANDARD)) == (403, "plan_required")
    uc.change_plan(shop.id, "growth", uow=s.uow)
    assert shop.post(STANDARD)[0] == 202
    assert code(shop.post(STANDARD)) == (409, "registration_in_progress")
    uc.deactivate_business(shop.id, uow=s.uow, clock=s.clock, telephony=s.telephony)
    assert code(shop.post(bad)) == (404, "business_not_found")

    unregistered = Shop(registry=False)
    assert code(unregistered.post(bad)) == (400, "invalid_field")
    assert code(unregistered.post(STANDARD)) == (503, "sms_not_configured")
    assert code(unregistered.post({"action": "resend_registration_otp"})) == (
        503, "sms_not_configured",
    )  # fmt: skip


def test_the_status_says_sms_is_enabled_only_once_approved() -> None:
    shop = Shop()
    status = shop.call("GET")[1]["business"]
    assert (status["registration"], status["smsEnabled"]) == (None, False)
    assert shop.post(STANDARD)[0] == 202
    shop.sync()
    status = shop.call("GET")[1]["business"]
    assert status["registration"] == {"kind": "standard", "status": "in_review"}
    assert status["smsEnabled"] is False
    shop.sync()
    status = shop.call("GET")[1]["business"]
    assert (status["registration"]["status"], status["smsEnabled"]) == ("approved", True)


def test_registration_off_keeps_today_s_status() -> None:
    """Without the requirement smsEnabled depends on plan and number only."""
    shop = Shop()
    shop.services = attrs.evolve(shop.services, policy=Policy(quiet_hours=None))
    assert shop.call("GET")[1]["business"]["smsEnabled"] is True


def test_the_registration_action_answers_the_documented_shape() -> None:
    shop = Shop()
    assert shop.call("GET", query="action=registration") == (200, {"registration": None})
    status, body = shop.post(STANDARD)
    assert status == 202
    registration = body["registration"]
    assert set(registration) == {
        "kind", "status", "steps", "errors", "messagingServiceSid", "submittedAt", "updatedAt",
    }  # fmt: skip
    assert [s["name"] for s in registration["steps"]] == [
        "customer_profile", "trust_product", "brand", "messaging_service", "campaign", "number",
    ]  # fmt: skip
    assert registration["submittedAt"] == "2026-03-10T17:00:00Z"
    assert shop.call("GET", query="action=registration")[1] == {"registration": registration}
