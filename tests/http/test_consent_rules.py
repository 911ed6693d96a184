"""Who may lift which opt-out, and the library's own consent sources, through HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import handle
from neariq_sms.domain import PhoneNumber
from tests.http.live import CUSTOMER, LiveServer, Tenant, error_of, snapshot
from tests.http.test_contract import JSON, Shop
from tests.http.test_webhooks import INBOUND, inbound, shop, signed_post

OPT_IN = "/api/sms/consents/opt-in"
__all__ = ["shop"]  # the live fixture, shared with the webhook tests


def _trail(shop: Shop) -> list[Any]:
    return list(uc.consent_history(shop.id, CUSTOMER, uow=shop.services.uow))


def _refused(shop: Shop, path: str, body: dict[str, Any]) -> tuple[int, str]:
    """The answer's status and code, after checking that it changed nothing."""
    before = (shop.state(), _trail(shop))
    status, _, answer = shop.post(path, body)
    assert (shop.state(), _trail(shop)) == before, answer
    return status, answer["code"]


def test_a_stop_by_text_is_lifted_only_by_the_customers_start(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    """After STOP by text the dashboard's opt-in answers 409 opt_out_locked (with or
    without consentedAt) and changes nothing; the customer's START lifts it."""
    tenant, number = shop
    assert signed_post(server, INBOUND, inbound(number, "STOP", "SM" + "d" * 32)).status_code == 200
    with tenant.client() as client:
        before = snapshot(client)
        later = datetime.now(UTC).isoformat()  # newer than the STOP, not in the future
        for body in (
            {"phone": CUSTOMER, "source": "web_form"},
            {"phone": CUSTOMER, "source": "web_form", "consentedAt": later},
        ):
            answer = client.post(OPT_IN, json=body)
            assert (answer.status_code, error_of(answer)) == (409, "opt_out_locked"), body
        assert snapshot(client) == before
    start = signed_post(server, INBOUND, inbound(number, "START", "SM" + "e" * 32))
    assert start.status_code == 200
    with tenant.client() as client:
        assert (
            client.get("/api/sms/consents", params={"phone": CUSTOMER}).json()["optedOut"] is False
        )


def test_a_carrier_opt_out_is_locked_against_the_dashboard() -> None:
    """A 21610 refusal records a provider opt-out: 409 opt_out_locked, even with a newer consent."""
    shop = Shop().ready()
    shop.telephony.carrier_opted_out.add(PhoneNumber(CUSTOMER))
    send = {"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"}
    assert shop.post("/api/sms", send)[0] >= 400
    record = uc.get_consent(shop.id, CUSTOMER, uow=shop.services.uow)
    assert record is not None
    assert record.opt_out_source == "provider"
    shop.clock.advance(timedelta(hours=1))
    body = {"phone": CUSTOMER, "source": "web_form", "consentedAt": "2026-03-10T17:30:00Z"}
    assert _refused(shop, OPT_IN, body) == (409, "opt_out_locked")
    assert _refused(shop, "/api/sms/consents", body) == (400, "recipient_opted_out")


def test_a_dashboard_opt_out_is_lifted_only_by_a_given_newer_consent() -> None:
    """Opted out by the business: opt-in needs consentedAt (400 missing_field), newer than
    the opt-out (400 invalid_field) and not in the future; then it lifts it."""
    shop = Shop().ready()
    assert shop.post("/api/sms/consents/opt-out", {"phone": CUSTOMER})[0] == 200  # at 17:00
    shop.clock.advance(timedelta(hours=1))
    phone = {"phone": CUSTOMER, "source": "web_form"}
    assert _refused(shop, OPT_IN, phone) == (400, "missing_field")
    for at in ("2026-03-10T16:00:00Z", "2026-03-10T17:00:00Z", "2026-03-10T19:00:00Z"):
        assert _refused(shop, OPT_IN, {**phone, "consentedAt": at}) == (400, "invalid_field"), at
    assert _refused(shop, "/api/sms/consents", phone) == (400, "recipient_opted_out")
    status, _, record = shop.post(OPT_IN, {**phone, "consentedAt": "2026-03-10T17:00:01Z"})
    assert status == 200
    assert (record["optedOut"], record["consentedAt"]) == (False, "2026-03-10T17:00:01Z")
    assert [e.kind.value for e in _trail(shop)][-2:] == ["opted_out", "opted_in"]


@pytest.mark.parametrize("source", ["keyword", "provider", "import", " Keyword ", "PROVIDER"])
@pytest.mark.parametrize("path", ["/api/sms/consents", "/api/sms/consents/opt-out", OPT_IN])
def test_the_librarys_own_sources_are_refused_from_outside(path: str, source: str) -> None:
    """keyword, provider and import would forge the audit trail: 400 invalid_field."""
    shop = Shop().ready()
    body = {"phone": "+15557650002", "source": source}
    assert _refused(shop, path, body) == (400, "invalid_field")


UNKNOWN_BUSINESS_BAD_REQUESTS = [
    ("GET", "/api/sms/consents", "phone=garbage", None),
    ("GET", "/api/sms/consents", "cursor=not-a-cursor", None),
    ("GET", "/api/sms/consents", "limit=0", None),
    ("POST", "/api/sms/consents", "", {"phone": "garbage", "source": "paper"}),
    ("POST", "/api/sms/consents", "", {"source": "paper"}),
    ("POST", "/api/sms/consents", "", {"phone": CUSTOMER, "source": "Not A Slug!"}),
    ("POST", "/api/sms/consents", "", {"phone": CUSTOMER, "source": "paper", "consentedAt": 7}),
    ("POST", "/api/sms/consents", "", {"phone": CUSTOMER, "consentedAt": "2999-01-01"}),
    ("POST", "/api/sms/consents/opt-out", "", {"phone": "garbage"}),
    ("POST", "/api/sms/consents/opt-out", "", {"phone": CUSTOMER, "source": 7}),
    ("POST", OPT_IN, "", {"phone": CUSTOMER}),
    ("POST", OPT_IN, "", {"phone": "garbage", "source": "web_form"}),
]


@pytest.mark.parametrize(("method", "path", "query", "body"), UNKNOWN_BUSINESS_BAD_REQUESTS)
def test_a_business_that_never_existed_is_404_before_any_shape_error(
    method: str, path: str, query: str, body: dict[str, Any] | None
) -> None:
    """A session naming an unknown business: 404 business_not_found, not the 400 the same
    request gets from a real business (the HTTP adapter reads the business on a parse error)."""
    shop = Shop().ready()
    raw = b"" if body is None else json.dumps(body).encode()
    status, _, answer = shop.call(method, path, raw, query)
    assert status == 400, answer
    status, _, data = handle(
        method, path, query, JSON, raw, "no-such-business", services=shop.services
    )
    assert (status, json.loads(data)["code"]) == (404, "business_not_found")


def test_consent_errors_answer_in_the_specs_order() -> None:
    """missing_field before invalid_field before invalid_phone, across the body's fields."""
    shop = Shop().ready()
    cases = [
        ({"phone": "", "source": "Not A Slug!"}, "missing_field"),
        ({"phone": 7, "source": None}, "missing_field"),
        ({"phone": "garbage", "source": "Not A Slug!"}, "invalid_field"),
        ({"phone": "garbage", "source": "paper", "consentedAt": "2999-01-01"}, "invalid_field"),
        ({"phone": 7, "source": "paper"}, "invalid_field"),
        ({"phone": "garbage", "source": "paper"}, "invalid_phone"),
    ]
    for body, code in cases:
        for path in ("/api/sms/consents", OPT_IN):
            assert _refused(shop, path, body)[1] == code, (path, body)
