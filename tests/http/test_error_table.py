"""Every row of the error table and its precedence, against a live ``neariq-sms serve``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.http import create_session
from neariq_sms.config import SANDBOX_UNAVAILABLE_NUMBER
from tests.http.live import (
    CUSTOMER,
    LiveServer,
    Tenant,
    consent,
    error_of,
    post_action,
    provision_first,
    snapshot,
)


@pytest.fixture
def tenant(server: LiveServer) -> Tenant:
    return server.tenant()


@pytest.fixture
def ready(server: LiveServer) -> Iterator[tuple[Tenant, httpx.Client]]:
    """A Growth business with a number and a consenting customer."""
    tenant = server.tenant()
    with tenant.client() as client:
        provision_first(client)
        consent(client)
        yield tenant, client


def assert_rejected(client: httpx.Client, response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, error_of(response)) == (status, code), response.text


# --- 400 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body", [b"{not json", b"[]", b'"text"', b"null", b"", b"\xff\xfe", b"NaN"]
)
def test_a_body_that_is_not_a_json_object_is_invalid_json(tenant: Tenant, body: bytes) -> None:
    """Anything but a JSON object answers 400 invalid_json and changes nothing."""
    with tenant.client() as client:
        before = snapshot(client)
        answer = client.post("/api/sms", content=body, headers={"Content-Type": "application/json"})
        assert (answer.status_code, error_of(answer)) == (400, "invalid_json")
        assert snapshot(client) == before


def test_a_missing_field_is_named(ready: tuple[Tenant, httpx.Client]) -> None:
    """Absent or empty required fields answer 400 missing_field naming the field."""
    _, client = ready
    before = snapshot(client)
    cases = [
        ({"action": "provision"}, "phoneNumber"),
        ({"action": "send_review_request", "to": CUSTOMER}, "customerName"),
        ({"action": "send_review_request", "customerName": "Jane"}, "to"),
        ({"action": "send_review_request", "to": CUSTOMER, "customerName": "  "}, "customerName"),
        ({"action": ""}, "action"),
        ({}, "action"),
    ]
    for body, field in cases:
        answer = client.post("/api/sms", json=body)
        assert error_of(answer) == "missing_field", body
        assert answer.status_code == 400
        assert field in answer.json()["error"]
    assert snapshot(client) == before


def test_wrong_types_and_bad_values_are_invalid_field(ready: tuple[Tenant, httpx.Client]) -> None:
    """Wrong types, over-long names, control characters and bad area codes are invalid_field."""
    _, client = ready
    before = snapshot(client)
    bodies = [
        {"action": "send_review_request", "to": CUSTOMER, "customerName": "J" * 61},
        {"action": "send_review_request", "to": CUSTOMER, "customerName": "Ja\x00ne"},
        {"action": "send_review_request", "to": CUSTOMER, "customerName": ["Jane"]},
        {"action": "send_review_request", "to": 15557654321, "customerName": "Jane"},
        {"action": "provision", "phoneNumber": {"n": 1}},
        {"action": 7},
    ]
    for body in bodies:
        answer = client.post("/api/sms", json=body)
        assert (answer.status_code, error_of(answer)) == (400, "invalid_field"), body
    for area_code in ["12", "1234", "abc", "012", "", "\uff15\uff11\uff12"]:
        answer = client.get("/api/sms", params={"action": "search", "areaCode": area_code})
        assert (answer.status_code, error_of(answer)) == (400, "invalid_field"), area_code
    for limit in ["0", "51", "-1", "x"]:
        answer = client.get(
            "/api/sms", params={"action": "search", "areaCode": "512", "limit": limit}
        )
        assert (answer.status_code, error_of(answer)) == (400, "invalid_field"), limit
    answer = post_action(
        client,
        "send_review_request",
        headers=[("Idempotency-Key", "k" * 201)],
        to=CUSTOMER,
        customerName="Jane",
    )
    assert (answer.status_code, error_of(answer)) == (400, "invalid_field")
    assert snapshot(client) == before


def test_an_unknown_action_is_rejected(tenant: Tenant) -> None:
    """Actions outside provision / send_review_request / release answer unknown_action."""
    with tenant.client() as client:
        for action in ["launch", "PROVISION", "search"]:
            answer = post_action(client, action)
            assert (answer.status_code, error_of(answer)) == (400, "unknown_action")
        answer = client.get("/api/sms", params={"action": "provision"})
        assert (answer.status_code, error_of(answer)) == (400, "unknown_action")


def test_a_number_that_does_not_parse_is_invalid_phone(ready: tuple[Tenant, httpx.Client]) -> None:
    """Unparseable or impossible numbers answer 400 invalid_phone."""
    _, client = ready
    before = snapshot(client)
    for raw in ["not a phone", "+1 555", "12", "+999999999999999999"]:
        answer = post_action(client, "send_review_request", to=raw, customerName="Jane")
        assert (answer.status_code, error_of(answer)) == (400, "invalid_phone"), raw
        answer = client.post("/api/sms/consents", json={"phone": raw, "source": "web_form"})
        assert (answer.status_code, error_of(answer)) == (400, "invalid_phone"), raw
    assert snapshot(client) == before


def test_numbers_that_cannot_be_texted_are_invalid_phone_with_the_reason(
    ready: tuple[Tenant, httpx.Client],
) -> None:
    """Issue 14: a 0/1 area code or exchange, or an extension, is refused and says why."""
    _, client = ready
    before = snapshot(client)
    cases = {
        "(000) 000-0000": "area code",
        "+1 100 555 0123": "area code",
        "+1 512 155 0123": "exchange",
        "(512) 555-0124 ext 5": "extension",
    }
    for raw, why in cases.items():
        answer = client.post("/api/sms/consents", json={"phone": raw, "source": "web_form"})
        assert (answer.status_code, error_of(answer)) == (400, "invalid_phone"), raw
        assert why in answer.json()["error"], answer.text
        answer = post_action(client, "send_review_request", to=raw, customerName="Jane")
        assert (answer.status_code, error_of(answer)) == (400, "invalid_phone"), raw
    assert snapshot(client) == before


def test_send_or_release_without_a_number_is_no_sms_number(tenant: Tenant) -> None:
    """A business without an active number cannot send or release."""
    with tenant.client() as client:
        consent(client)
        before = snapshot(client)
        answer = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
        assert (answer.status_code, error_of(answer)) == (400, "no_sms_number")
        answer = post_action(client, "release")
        assert (answer.status_code, error_of(answer)) == (400, "no_sms_number")
        assert snapshot(client) == before


def test_a_number_another_business_holds_is_a_duplicate(server: LiveServer) -> None:
    """Provisioning a number another business holds answers 400 duplicate_number."""
    first, second = server.tenant(), server.tenant()
    with first.client() as a, second.client() as b:
        number = provision_first(a, "303")
        before = snapshot(b)
        answer = post_action(b, "provision", phoneNumber=number)
        assert (answer.status_code, error_of(answer)) == (400, "duplicate_number")
        assert snapshot(b) == before
        assert a.get("/api/sms").json()["business"]["smsNumber"] == number


def test_a_number_the_provider_no_longer_sells_is_unavailable(tenant: Tenant) -> None:
    """The sandbox honours Twilio's magic unavailable number: 400 number_unavailable."""
    with tenant.client() as client:
        before = snapshot(client)
        answer = post_action(client, "provision", phoneNumber=SANDBOX_UNAVAILABLE_NUMBER)
        assert (answer.status_code, error_of(answer)) == (400, "number_unavailable")
        assert snapshot(client) == before


def test_a_recipient_without_consent_is_refused(ready: tuple[Tenant, httpx.Client]) -> None:
    """No consent record: 400 consent_required, nothing used."""
    _, client = ready
    before = snapshot(client)
    answer = post_action(client, "send_review_request", to="+15557650000", customerName="Jane")
    assert (answer.status_code, error_of(answer)) == (400, "consent_required")
    assert snapshot(client) == before


def test_an_opted_out_recipient_is_refused(ready: tuple[Tenant, httpx.Client]) -> None:
    """After an opt-out: 400 recipient_opted_out, and a consent write does not lift it."""
    _, client = ready
    assert client.post("/api/sms/consents/opt-out", json={"phone": CUSTOMER}).status_code == 200
    before = snapshot(client)
    answer = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
    assert (answer.status_code, error_of(answer)) == (400, "recipient_opted_out")
    answer = client.post("/api/sms/consents", json={"phone": CUSTOMER, "source": "web_form"})
    assert (answer.status_code, error_of(answer)) == (400, "recipient_opted_out")
    assert snapshot(client) == before


# --- 401 / 403 / 404 / 405 / 409 / 429 --------------------------------------------


@pytest.mark.parametrize(
    "cookie",
    [
        None,
        "neariq_session=",
        "neariq_session=not-a-session",
        "neariq_session=" + "A" * 43,
        "other=1",
        "neariq_session=\u00e9\u00e9".encode("latin-1"),
        "garbage;;;==",
    ],
)
def test_without_a_valid_session_every_dashboard_endpoint_is_401(
    server: LiveServer, cookie: str | bytes | None
) -> None:
    """Missing, unknown or malformed session cookies answer 401 unauthenticated."""
    headers = {"Cookie": cookie} if cookie is not None else {}
    with server.client(headers=headers) as client:
        answers = [
            client.get("/api/sms"),
            client.get("/api/sms", params={"action": "search", "areaCode": "512"}),
            client.post("/api/sms", json={"action": "release"}),
            client.post("/api/sms", content=b"not json"),
            client.get("/api/sms/consents"),
            client.post("/api/sms/consents", json={"phone": CUSTOMER, "source": "api"}),
            client.post("/api/sms/consents/opt-out", json={"phone": CUSTOMER}),
            client.post("/api/sms/consents/opt-in", json={"phone": CUSTOMER, "source": "api"}),
        ]
    for answer in answers:
        assert (answer.status_code, error_of(answer)) == (401, "unauthenticated")


def test_an_expired_session_is_401(server: LiveServer) -> None:
    """A session past its expiry answers 401."""
    tenant = server.tenant()
    token = create_session(
        tenant.id, uow=server.uow, clock=SystemClock(), ttl=timedelta(seconds=-1)
    )
    with server.client(headers={"Cookie": f"neariq_session={token}"}) as client:
        answer = client.get("/api/sms")
    assert (answer.status_code, error_of(answer)) == (401, "unauthenticated")


@pytest.mark.parametrize(
    "cookies",
    [
        ["theme=dark", "{cookie}"],
        ["theme=dark; lang=en", "a=1; {cookie}; b=2"],
        ["neariq_session=" + "A" * 43, "{cookie}"],
        ["neariq_session=" + "A" * 43 + "; {cookie}"],
    ],
)
def test_a_session_cookie_in_any_cookie_header_authenticates(
    server: LiveServer, cookies: list[str]
) -> None:
    """Browsers and proxies may split cookies over several Cookie headers (HTTP/2 does),
    which WSGI servers join with commas; a stale session cookie before a live one (two
    paths or domains) does not hide it."""
    tenant = server.tenant()
    headers = [("Cookie", value.format(cookie=tenant.cookie)) for value in cookies]
    answer = httpx.get(server.base_url + "/api/sms", headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["business"]["id"] == tenant.id


def test_plans_below_growth_are_refused(server: LiveServer) -> None:
    """Free and Starter businesses get 403 plan_required for search, provision and send."""
    for plan in ["free", "starter"]:
        tenant = server.tenant(plan)
        with tenant.client() as client:
            consent(client)
            before = snapshot(client)
            status = before[1]["business"]
            assert status["smsEnabled"] is False
            assert status["allowance"]["limit"] == 0
            answers = [
                client.get("/api/sms", params={"action": "search", "areaCode": "512"}),
                post_action(client, "provision", phoneNumber="+15125550150"),
                post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane"),
            ]
            for answer in answers:
                assert (answer.status_code, error_of(answer)) == (403, "plan_required")
            assert snapshot(client) == before


def test_the_allowance_is_never_exceeded(server: LiveServer) -> None:
    """Sends stop with 403 allowance_exhausted at the monthly limit; used never passes it."""
    long_link = "https://example.com/r/" + "a" * 470
    tenant = server.tenant(review_url=long_link)
    with tenant.client() as client:
        provision_first(client, "617")
        recipients = [f"+1555765{i:04d}" for i in range(60)]
        for phone in recipients:
            consent(client, phone)
        answers = []
        for phone in recipients:
            # A non-GSM first name makes the body UCS-2: ten segments a message.
            answer = post_action(client, "send_review_request", to=phone, customerName="Łukasz")
            answers.append(answer)
            if answer.status_code != 200:
                break
        last = answers[-1]
        assert (last.status_code, error_of(last)) == (403, "allowance_exhausted")
        allowance = client.get("/api/sms").json()["business"]["allowance"]
        assert allowance["used"] <= allowance["limit"] == 500
        assert allowance["remaining"] == allowance["limit"] - allowance["used"]
        assert allowance["remaining"] < 10
        before = snapshot(client)
        again = post_action(client, "send_review_request", to=recipients[-1], customerName="Łukasz")
        assert error_of(again) == "allowance_exhausted"
        assert snapshot(client) == before


def test_a_deactivated_business_is_404_even_for_a_bad_request(server: LiveServer) -> None:
    """The session's business is gone: 404 business_not_found, before any shape error."""
    tenant = server.tenant()
    done = server.cli("business", "deactivate", tenant.id)
    assert done.returncode == 0, done.stderr
    with tenant.client() as client:
        answers = [
            client.get("/api/sms"),
            client.post("/api/sms", content=b"not json"),
            post_action(client, "launch"),
            client.get("/api/sms/consents"),
        ]
    for answer in answers:
        assert (answer.status_code, error_of(answer)) == (404, "business_not_found")


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "BREW"])
def test_other_methods_are_405_with_allow(server: LiveServer, method: str) -> None:
    """Undocumented methods answer 405 method_not_allowed with an Allow header."""
    tenant = server.tenant()
    with tenant.client() as client:
        for path, allow in [
            ("/api/sms", "GET, POST"),
            ("/api/sms/consents", "GET, POST"),
            ("/api/sms/consents/opt-out", "POST"),
            ("/api/sms/webhooks/twilio/inbound", "POST"),
        ]:
            answer = client.request(method, path)
            assert answer.status_code == 405
            assert answer.headers["allow"] == allow
            if method != "HEAD":
                assert error_of(answer) == "method_not_allowed"


def test_a_second_number_is_409(ready: tuple[Tenant, httpx.Client]) -> None:
    """A business holding a number gets 409 number_already_provisioned."""
    _, client = ready
    before = snapshot(client)
    answer = post_action(client, "provision", phoneNumber="+15125550190")
    assert (answer.status_code, error_of(answer)) == (409, "number_already_provisioned")
    assert snapshot(client) == before


def test_a_second_review_request_inside_the_cooldown_is_429(
    ready: tuple[Tenant, httpx.Client],
) -> None:
    """One review request per recipient per 30 days: 429 cooldown with Retry-After."""
    _, client = ready
    first = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
    assert first.json()["status"] == "queued"
    before = snapshot(client)
    answer = post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane")
    assert (answer.status_code, error_of(answer)) == (429, "cooldown")
    assert answer.headers["retry-after"].endswith("GMT")
    assert snapshot(client) == before


def test_an_unknown_path_is_404_not_found(tenant: Tenant) -> None:
    """Paths outside the surface answer 404 not_found in the same shape."""
    with tenant.client() as client:
        for path in ["/", "/api/sms/", "/api/smsx", "/api/sms/consents/opt-out/x", "/api/%ff"]:
            answer = client.get(path)
            assert (answer.status_code, error_of(answer)) == (404, "not_found")


def test_a_body_over_64_kib_is_413(ready: tuple[Tenant, httpx.Client]) -> None:
    """Request bodies over 64 KiB answer 413 payload_too_large and change nothing."""
    _, client = ready
    before = snapshot(client)
    padding = "x" * (64 * 1024)
    answer = client.post(
        "/api/sms",
        json={
            "action": "send_review_request",
            "to": CUSTOMER,
            "customerName": "Jane",
            "p": padding,
        },
    )
    assert (answer.status_code, error_of(answer)) == (413, "payload_too_large")
    big = client.post("/api/sms/consents", content=b"{" + b" " * (5 * 1024 * 1024) + b"}")
    assert (big.status_code, error_of(big)) == (413, "payload_too_large")
    assert snapshot(client) == before
    at_limit = b'{"action": "release"' + b" " * (64 * 1024 - 21) + b"}"
    assert len(at_limit) == 64 * 1024
    answer = client.post("/api/sms", content=at_limit, headers={"Content-Type": "application/json"})
    assert answer.status_code == 200


# --- precedence --------------------------------------------------------------------


def test_plan_comes_before_the_actions_own_rules(server: LiveServer) -> None:
    """A downgraded business holding a number gets plan_required, not 409, and may release."""
    tenant = server.tenant()
    with tenant.client() as client:
        provision_first(client, "702")
        uc.change_plan(tenant.id, "starter", uow=server.uow)
        answer = post_action(client, "provision", phoneNumber="+17025550180")
        assert (answer.status_code, error_of(answer)) == (403, "plan_required")
        assert post_action(client, "release").json() == {"ok": True}


def test_send_rules_apply_in_the_spec_order(server: LiveServer) -> None:
    """no_sms_number before consent_required; consent before cooldown; shape before all."""
    tenant = server.tenant()
    with tenant.client() as client:
        answer = post_action(client, "send_review_request", to="+15557650001", customerName="Jo")
        assert error_of(answer) == "no_sms_number"
        answer = post_action(client, "send_review_request", to="bad", customerName="J" * 99)
        assert error_of(answer) == "invalid_field"
        answer = post_action(client, "send_review_request", to="bad", customerName="Jo")
        assert error_of(answer) == "invalid_phone"


# --- 503: a server without any provider ---------------------------------------------


@pytest.fixture(scope="module")
def unconfigured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = LiveServer.start(tmp_path_factory.mktemp("unconfigured"))
    yield live
    live.stop()


def test_without_provider_credentials_actions_are_503(unconfigured: LiveServer) -> None:
    """No Twilio credentials and no --sandbox: status says so, actions answer 503."""
    tenant = unconfigured.tenant()
    with tenant.client() as client:
        status = client.get("/api/sms")
        assert status.status_code == 200
        assert status.json()["configured"] is False
        answers = [
            client.get("/api/sms", params={"action": "search", "areaCode": "512"}),
            post_action(client, "provision", phoneNumber="+15125550123"),
            post_action(client, "send_review_request", to=CUSTOMER, customerName="Jane"),
            post_action(client, "release"),
        ]
        for answer in answers:
            assert (answer.status_code, error_of(answer)) == (503, "sms_not_configured")
        # The request's shape answers first ...
        answer = post_action(client, "provision", phoneNumber="nope")
        assert error_of(answer) == "invalid_phone"
    # ... and 503 comes before the plan.
    free = unconfigured.tenant("free")
    with free.client() as client:
        answer = client.get("/api/sms", params={"action": "search", "areaCode": "512"})
        assert error_of(answer) == "sms_not_configured"
    webhook = httpx.post(
        f"{unconfigured.base_url}/api/sms/webhooks/twilio/inbound",
        data={"From": CUSTOMER, "To": "+15125550123", "Body": "STOP"},
    )
    assert (webhook.status_code, error_of(webhook)) == (503, "sms_not_configured")


def test_the_database_file_lives_where_configured(unconfigured: LiveServer) -> None:
    """serve migrated the configured SQLite database before serving."""
    path = Path(unconfigured.database_url.removeprefix("sqlite:///"))
    assert path.is_file()
