"""An idempotent repeat answers exactly what the first request answered, through the
HTTP contract, except that a send which provably never reached the provider for a
transient reason is tried again under its key (still at most one provider send)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import Response, handle
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock, SimulatedTelephony
from neariq_sms.adapters.twilio import status_report
from neariq_sms.config import Services
from neariq_sms.domain import Policy
from neariq_sms.domain.errors import InvalidPhone, ProviderError, RecipientOptedOut, SmsError
from tests.conftest import NOON_IN_AUSTIN
from tests.usecases.support import CUSTOMER, ready_business

#: 21:30 in Austin: inside quiet hours.
NIGHT_IN_AUSTIN = datetime(2026, 3, 11, 2, 30, tzinfo=UTC)


def services(*, quiet_hours: bool = False) -> Services:
    clock = ManualClock(NOON_IN_AUSTIN)
    policy = Policy() if quiet_hours else Policy(quiet_hours=None)
    return Services(InMemoryUnitOfWork(), SimulatedTelephony(clock=clock), clock, policy)


def shop(s: Services) -> str:
    assert isinstance(s.telephony, SimulatedTelephony)
    assert isinstance(s.clock, ManualClock)
    return ready_business(s.uow, s.telephony, s.clock).id


def send(s: Services, business_id: str, key: str = "visit-8812") -> tuple[int, object]:
    body = json.dumps({"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"})
    headers = {"Content-Type": "application/json", "Idempotency-Key": key}
    answer: Response = handle(
        "POST", "/api/sms", "", headers, body.encode(), business_id, services=s
    )
    return answer.status, answer.json()


def provider(s: Services) -> SimulatedTelephony:
    assert isinstance(s.telephony, SimulatedTelephony)
    return s.telephony


REFUSALS: list[tuple[str, Callable[[], SmsError], int, str]] = [
    (
        "rejected",
        lambda: ProviderError(reason="the sender is not ours", provider_code=21606),
        502,
        "provider_error",
    ),
    ("opted out at the carrier", RecipientOptedOut, 400, "recipient_opted_out"),
    ("not a mobile number", lambda: InvalidPhone(field="to"), 400, "invalid_phone"),
    (
        "outcome unknown",
        lambda: ProviderError(reason="no answer in time", ambiguous=True),
        502,
        "provider_error",
    ),
]


@pytest.mark.parametrize(
    ("error", "status", "code"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_refused_send_answers_the_same_refusal_on_every_repeat(
    error: Callable[[], SmsError], status: int, code: str
) -> None:
    """502 first means 502 again, with the same body, and no second provider call."""
    s = services()
    business = shop(s)
    provider(s).fail_next("send", error())

    first = send(s, business)
    assert first[0] == status
    assert first[1]["code"] == code  # type: ignore[index]
    assert send(s, business) == first
    assert send(s, business) == first
    assert provider(s).calls["send"] == 1


def test_an_accepted_send_answers_its_first_status_after_callbacks_moved_it() -> None:
    """Delivered since, the repeat still answers the ``queued`` the first request got."""
    s = services()
    business = shop(s)
    first = send(s, business)
    assert first[0] == 200
    sid = first[1]["messageSid"]  # type: ignore[index]
    uc.handle_status_callback(status_report(sid, "delivered"), uow=s.uow, clock=s.clock)

    assert send(s, business) == first
    assert first[1]["status"] == "queued"  # type: ignore[index]


def test_a_scheduled_send_answers_scheduled_after_it_went_out() -> None:
    """Deferred by quiet hours, then dispatched: the repeat answers the first, scheduled one."""
    s = services(quiet_hours=True)
    business = shop(s)
    assert isinstance(s.clock, ManualClock)
    s.clock.set(NIGHT_IN_AUSTIN)
    first = send(s, business)
    assert (first[0], first[1]["status"]) == (200, "scheduled")  # type: ignore[index]
    s.clock.advance(timedelta(hours=12))
    assert uc.dispatch_due(uow=s.uow, telephony=s.telephony, clock=s.clock).submitted == 1

    assert send(s, business) == first


@pytest.mark.parametrize(
    "reason", ["Twilio is limiting the request rate", "could not connect to Twilio"]
)
def test_a_send_that_never_reached_the_provider_is_tried_again_under_its_key(
    reason: str,
) -> None:
    """A 429 or a refused connection: the repeat sends (once), and later repeats answer
    what that successful try answered."""
    s = services()
    business = shop(s)
    provider(s).fail_next("send", ProviderError(reason=reason, transient=True))

    first = send(s, business)
    assert first[0] == 502
    second = send(s, business)
    assert second[0] == 200
    assert second[1]["status"] == "queued"  # type: ignore[index]
    assert send(s, business) == second
    assert provider(s).calls["send"] == 2
    assert len(provider(s).sent) == 1
    with s.uow:
        assert s.uow.allowances.used(business, "2026-03") == 1
