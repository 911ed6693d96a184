"""The contract function in-process: what a live sandbox cannot script, and property tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neariq_sms import usecases as uc
from neariq_sms.adapters.http import create_session, handle, openapi_document
from neariq_sms.adapters.http.errors import HTTP_ERRORS
from neariq_sms.adapters.http.sessions import hash_token, resolve_session
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock, SimulatedTelephony
from neariq_sms.adapters.twilio.webhooks import TwilioSignatureVerifier
from neariq_sms.config import Services
from neariq_sms.domain.errors import ProviderError
from neariq_sms.domain.plans import Policy

NOON_IN_AUSTIN = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
TEN_PM_IN_AUSTIN = datetime(2026, 3, 11, 3, 0, tzinfo=UTC)
CUSTOMER = "+15557654321"
JSON = {"Content-Type": "application/json"}


class Shop:
    """A Growth business with a number and a consenting customer, on in-memory adapters."""

    def __init__(self, now: datetime = NOON_IN_AUSTIN, policy: Policy | None = None) -> None:
        self.clock = ManualClock(now)
        self.telephony = SimulatedTelephony()
        self.services = Services(
            uow=InMemoryUnitOfWork(),
            telephony=self.telephony,
            clock=self.clock,
            policy=policy or Policy(),
            webhooks=TwilioSignatureVerifier("test-token", "http://testserver"),
        )
        s = self.services
        self.business = uc.create_business(
            "Aster Grove Fitness", "growth", uow=s.uow, clock=s.clock
        )
        self.id = self.business.id

    def ready(self) -> Shop:
        self.post("/api/sms", {"action": "provision", "phoneNumber": "+15125550123"})
        self.post("/api/sms/consents", {"phone": CUSTOMER, "source": "point_of_sale"})
        return self

    def call(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        query: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], Any]:
        status, response_headers, data = handle(
            method, path, query, headers or JSON, body, self.id, services=self.services
        )
        return status, dict(response_headers), json.loads(data)

    def post(self, path: str, payload: Any, headers: dict[str, str] | None = None) -> Any:
        return self.call(
            "POST", path, json.dumps(payload).encode(), headers={**JSON, **(headers or {})}
        )

    def only_message_id(self) -> str:
        with self.services.uow:
            [message] = self.services.uow.messages.for_business(self.id)
        return message.id

    def state(self) -> tuple[Any, ...]:
        """Everything a rejected request must leave as it was, provider calls included."""
        s = self.services
        with s.uow:
            messages = [(m.status, m.units) for m in s.uow.messages.for_business(self.id)]
            number = s.uow.numbers.holding(self.id)
            used = s.uow.allowances.used(self.id, "2026-03")
            consents = list(s.uow.consents.in_phone_order(self.id, after=None, limit=10**9))
        return (messages, number, used, consents, dict(self.telephony.calls))


def test_a_provider_failure_is_502_and_charges_nothing() -> None:
    """The provider refuses: 502 provider_error, the units come back, nothing queued."""
    shop = Shop().ready()
    shop.telephony.fail_next("send", ProviderError(reason="boom", provider_code=30001))
    status, _, body = shop.post(
        "/api/sms", {"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"}
    )
    assert (status, body["code"]) == (502, "provider_error")
    answer = shop.call("GET", "/api/sms")[2]
    assert answer["business"]["allowance"]["used"] == 0


def test_a_quiet_hours_request_is_scheduled_with_its_send_time() -> None:
    """At 22:00 in Austin the answer is scheduled, messageSid null, sendAt 08:00 local in UTC."""
    shop = Shop(now=TEN_PM_IN_AUSTIN).ready()
    status, _, body = shop.post(
        "/api/sms", {"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"}
    )
    assert status == 200
    assert body == {
        "ok": True,
        "messageId": shop.only_message_id(),
        "messageSid": None,
        "status": "scheduled",
        "sendAt": "2026-03-11T13:00:00Z",
    }
    assert shop.telephony.sent == []


def test_an_idempotent_repeat_answers_the_first_result_without_sending() -> None:
    """The same Idempotency-Key for the same business answers the first answer again."""
    shop = Shop().ready()
    request = {"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"}
    first = shop.post("/api/sms", request, {"Idempotency-Key": "visit-8812"})
    again = shop.post("/api/sms", request, {"idempotency-key": "visit-8812"})
    assert first == again
    assert first[2]["status"] == "queued"
    assert len(shop.telephony.sent) == 1


def test_status_reports_plan_and_allowance_in_segments() -> None:
    """GET /api/sms reports the spec's keys plus plan and allowance."""
    shop = Shop().ready()
    shop.post("/api/sms", {"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"})
    status, headers, body = shop.call("GET", "/api/sms")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "configured": True,
        "business": {
            "id": shop.id,
            "name": "Aster Grove Fitness",
            "smsNumber": "+15125550123",
            "smsEnabled": True,
            "plan": "growth",
            "registration": None,
            "allowance": {"limit": 500, "used": 1, "remaining": 499, "period": "2026-03"},
        },
    }


def test_consent_records_answer_in_the_documented_shape() -> None:
    """A record answers with phone, source, consentedAt, optedOut, optedOutAt, optOutSource."""
    shop = Shop()
    status, _, record = shop.post(
        "/api/sms/consents",
        {"phone": "(555) 765-4321", "source": "web_form", "consentedAt": "2026-03-01T10:00:00Z"},
    )
    assert status == 200
    assert record == {
        "phone": CUSTOMER,
        "source": "web_form",
        "consentedAt": "2026-03-01T10:00:00Z",
        "optedOut": False,
        "optedOutAt": None,
        "optOutSource": None,
    }
    _, _, out = shop.post("/api/sms/consents/opt-out", {"phone": CUSTOMER})
    assert (out["optedOut"], out["optOutSource"], out["optedOutAt"]) == (
        True,
        "api",
        "2026-03-10T17:00:00Z",
    )
    shop.clock.advance(timedelta(hours=1))
    _, _, back = shop.post(
        "/api/sms/consents/opt-in",
        {"phone": CUSTOMER, "source": "paper", "consentedAt": "2026-03-10T17:30:00Z"},
    )
    assert (back["optedOut"], back["source"], back["consentedAt"]) == (
        False,
        "paper",
        "2026-03-10T17:30:00Z",
    )
    future = shop.post(
        "/api/sms/consents", {"phone": "+15557650001", "source": "api", "consentedAt": "2099-01-01"}
    )
    assert (future[0], future[2]["code"]) == (400, "invalid_field")


def test_consent_pages_follow_their_cursor() -> None:
    """Listing pages newest first and the cursor walks every record exactly once."""
    shop = Shop()
    phones = [f"+1555765{i:04d}" for i in range(7)]
    for phone in phones:
        shop.clock.advance(timedelta(seconds=1))
        shop.post("/api/sms/consents", {"phone": phone, "source": "api"})
    seen: list[str] = []
    cursor = ""
    while True:
        _, _, page = shop.call("GET", "/api/sms/consents", query=f"limit=3&cursor={cursor}")
        seen += [c["phone"] for c in page["consents"]]
        if page["nextCursor"] is None:
            break
        cursor = page["nextCursor"]
    assert seen == phones[::-1]


def test_sessions_are_stored_hashed_and_resolve_to_their_business() -> None:
    """Only the token's hash is stored; the token resolves; unknown ones do not."""
    shop = Shop()
    s = shop.services
    token = create_session(shop.id, uow=s.uow, clock=s.clock)
    with s.uow:
        stored = s.uow.sessions.get(hash_token(token))
        assert s.uow.sessions.get(token) is None
    assert stored is not None
    assert token not in repr(stored)
    assert resolve_session(token, uow=s.uow, clock=s.clock) == shop.id
    assert resolve_session(token + "x", uow=s.uow, clock=s.clock) is None
    shop.clock.advance(timedelta(days=31))
    assert resolve_session(token, uow=s.uow, clock=s.clock) is None


def test_the_openapi_document_is_served_and_lists_every_error_code() -> None:
    """GET /api/sms/openapi.json is the shipped OpenAPI 3.1 document, needing no session."""
    shop = Shop()
    status, _, body = handle(
        "GET", "/api/sms/openapi.json", "", {}, b"", None, services=shop.services
    )
    document = json.loads(body)
    assert status == 200
    assert json.loads(openapi_document()) == document
    assert document["openapi"].startswith("3.1")
    codes = document["components"]["schemas"]["Error"]["properties"]["code"]["enum"]
    assert set(codes) == {e.code for e in HTTP_ERRORS}
    schemes = document["components"]["securitySchemes"]
    assert schemes["sessionCookie"]["name"] == "neariq_session"
    assert schemes["twilioSignature"]["name"] == "X-Twilio-Signature"


def test_a_bug_answers_500_in_the_error_shape_without_details() -> None:
    """An unexpected exception is an internal_error answer, not a crash or a traceback."""

    class BrokenClock:
        def now(self) -> datetime:
            raise RuntimeError("secret detail")

    shop = Shop()
    services = Services(
        uow=shop.services.uow, telephony=shop.telephony, clock=BrokenClock(), policy=Policy()
    )
    status, _, body = handle("GET", "/api/sms", "", {}, b"", shop.id, services=services)
    assert status == 500
    assert json.loads(body)["code"] == "internal_error"
    assert b"secret" not in body


# --- properties ------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
fields = st.sampled_from(
    ["action", "phoneNumber", "to", "customerName", "phone", "source", "consentedAt"]
)
actions = st.sampled_from(["provision", "send_review_request", "release", "search", "", "x"])
payloads = st.one_of(
    json_values,
    st.dictionaries(fields, json_values | actions | st.just(CUSTOMER), max_size=5),
)
paths = st.sampled_from(
    [
        "/api/sms",
        "/api/sms/consents",
        "/api/sms/consents/opt-out",
        "/api/sms/consents/opt-in",
        "/api/sms/webhooks/twilio/status",
        "/api/sms/nope",
    ]
)
query_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60
) | st.lists(
    st.tuples(
        st.sampled_from(["action", "areaCode", "limit", "phone", "cursor", "x"]),
        st.sampled_from(["search", "512", "0", "51", "20", "", "%ff", CUSTOMER, "abc"]),
    ),
    max_size=5,
).map(lambda pairs: "&".join(f"{k}={v}" for k, v in pairs))


def _check_answer(status: int, body: bytes) -> dict[str, Any] | list[Any]:
    assert status < 500, body
    data = json.loads(body)
    if status >= 400:
        assert set(data) == {"ok", "error", "code"}
        assert data["ok"] is False
    assert isinstance(data, dict | list)
    return data  # type: ignore[no-any-return]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path=paths, payload=payloads, raw=st.binary(max_size=40) | st.none())
def test_arbitrary_posts_never_fail_and_rejections_change_nothing(
    path: str, payload: Any, raw: bytes | None
) -> None:
    """Any JSON (or bytes) to any path: no 5xx, the error shape, and no change when rejected."""
    shop = Shop().ready()
    before = shop.state()
    body = raw if raw is not None else json.dumps(payload).encode()
    status, _, data = handle("POST", path, "", JSON, body, shop.id, services=shop.services)
    _check_answer(status, data)
    if status >= 400:
        assert shop.state() == before


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(["/api/sms", "/api/sms/consents"]),
    query=query_text,
    method=st.sampled_from(["GET", "GET", "PUT", "head"]),
    business=st.sampled_from(["own", None, "unknown"]),
)
def test_arbitrary_query_strings_never_fail_and_change_nothing(
    path: str, query: str, method: str, business: str | None
) -> None:
    """GETs with any query string, method or session change nothing and never answer 5xx."""
    shop = Shop().ready()
    before = shop.state()
    business_id = {"own": shop.id, None: None, "unknown": "no-such-business"}[business]
    status, _, data = handle(method, path, query, {}, b"", business_id, services=shop.services)
    _check_answer(status, data)
    assert shop.state() == before


@pytest.mark.parametrize("business_id", [None, "no-such-business"])
def test_session_precedence_comes_first(business_id: str | None) -> None:
    """401 before 404 before the request's shape."""
    shop = Shop()
    status, _, body = handle(
        "POST", "/api/sms", "", {}, b"not json", business_id, services=shop.services
    )
    expected = (401, "unauthenticated") if business_id is None else (404, "business_not_found")
    assert (status, json.loads(body)["code"]) == expected


# --- 404 before the request's shape; no business read of the contract's own ------------


class CountingUnitOfWork(InMemoryUnitOfWork):
    """Counts the transactions opened (``with uow:``)."""

    opened = 0

    def __enter__(self) -> CountingUnitOfWork:
        self.opened += 1
        return super().__enter__()


BAD_REQUESTS: list[tuple[str, str, str, bytes, dict[str, str]]] = [
    ("GET", "/api/sms", "action=launch", b"", {}),
    ("GET", "/api/sms", "action=search&action=search", b"", {}),
    ("GET", "/api/sms", "action=search&areaCode=12", b"", {}),
    ("GET", "/api/sms/consents", "cursor=not-a-cursor", b"", {}),
    ("GET", "/api/sms/consents", "limit=%C2%B2", b"", {}),
    ("GET", "/api/sms/consents", "phone=bad", b"", {}),
    ("POST", "/api/sms", "", b"not json", JSON),
    ("POST", "/api/sms", "", b'{"action": "launch"}', JSON),
    ("POST", "/api/sms", "", b'{"action": 7}', JSON),
    ("POST", "/api/sms", "", b"{}", JSON),
    ("POST", "/api/sms", "", b'{"action": "provision"}', JSON),
    ("POST", "/api/sms", "", b'{"action": "send_review_request", "to": "bad"}', JSON),
    (
        "POST",
        "/api/sms",
        "",
        b'{"action": "send_review_request", "to": "+15557654321", "customerName": "Jo"}',
        {**JSON, "Idempotency-Key": " "},
    ),
    ("POST", "/api/sms/consents", "", b'{"phone": "bad"}', JSON),
    (
        "POST",
        "/api/sms/consents",
        "",
        b'{"phone": "+15557654321", "source": "x"}',
        {"Content-Type": "text/plain"},
    ),
    ("POST", "/api/sms/consents/opt-out", "", b'{"source": "BAD SLUG"}', JSON),
    ("POST", "/api/sms/consents/opt-in", "", b'{"phone": "+15557654321"}', JSON),
]


@pytest.mark.parametrize(("method", "path", "query", "body", "headers"), BAD_REQUESTS)
def test_an_inactive_business_is_404_before_any_shape_error(
    method: str, path: str, query: str, body: bytes, headers: dict[str, str]
) -> None:
    """Each request is a 400 for an active business and a 404 once it is deactivated."""
    shop = Shop().ready()
    status, _, answer = shop.call(method, path, body, query, headers)
    assert status == 400, answer
    services = shop.services
    uc.deactivate_business(
        shop.id, uow=services.uow, clock=shop.clock, telephony=services.telephony
    )
    status, _, answer = shop.call(method, path, body, query, headers)
    assert (status, answer["code"]) == (404, "business_not_found")


def test_the_contract_opens_no_transaction_of_its_own_for_a_good_request() -> None:
    """A good request costs the use case's transactions only: the contract reads no business."""
    shop = Shop().ready()
    uow = CountingUnitOfWork()
    uow._store = shop.services.uow._store  # type: ignore[attr-defined]  # same data
    services = Services(
        uow=uow, telephony=shop.telephony, clock=shop.clock, policy=shop.services.policy
    )
    deps: dict[str, Any] = {"uow": uow, "clock": shop.clock, "policy": services.policy}
    calls: list[tuple[tuple[str, str, str, bytes], Any]] = [
        (
            ("GET", "/api/sms", "", b""),
            lambda: uc.get_status(shop.id, telephony=shop.telephony, **deps),
        ),
        (
            ("GET", "/api/sms/consents", "", b""),
            lambda: uc.list_consents(shop.id, uow=uow),
        ),
        (
            ("POST", "/api/sms/consents/opt-in", "", b'{"phone": "+15557654329", "source": "web"}'),
            lambda: uc.opt_in(shop.id, "+15557654329", "web", **deps),
        ),
    ]
    for (method, path, query, body), direct in calls:
        uow.opened = 0
        direct()
        expected = uow.opened
        uow.opened = 0
        status, _, _ = handle(method, path, query, JSON, body, shop.id, services=services)
        assert status == 200
        assert uow.opened == expected, path
