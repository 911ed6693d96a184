"""Malformed input against a live server: never a 500, never a change."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.http.live import (
    CUSTOMER,
    LiveServer,
    Tenant,
    consent,
    error_of,
    provision_first,
    snapshot,
)


@pytest.fixture(scope="module")
def shop(server: LiveServer) -> Iterator[tuple[Tenant, httpx.Client]]:
    tenant = server.tenant()
    with tenant.client() as client:
        provision_first(client, "213")
        consent(client)
        yield tenant, client


BAD_BODIES: list[bytes] = [
    b"",
    b" ",
    b"{",
    b"[1, 2]",
    b"true",
    b"1e999",
    b'{"action": NaN}',
    b'{"action": Infinity}',
    b"\xef\xbb\xbf{}",
    b"\x00\x01\x02",
    b"action=provision&phoneNumber=%2B15125550123",
    b"[" * 30_000 + b"]" * 30_000,
    b'{"a":' * 20_000 + b"1" + b"}" * 20_000,
    b'{"action": "provision", "phoneNumber": "+1512\\ud800"}',
    b'{"action": "send_review_request", "to": null, "customerName": null}',
    b'{"action": "send_review_request", "to": [], "customerName": {}}',
    b'{"action": "send_review_request", "to": true, "customerName": 1.5}',
    b'{"action": "send_review_request", "to": "+15557654321", "customerName": "\\u0000"}',
    b'{"action": "send_review_request", "to": "+15557654321", "customerName": "\\u202e"}',
    b'{"action": ["provision"]}',
    b'{"action": {"$ne": null}}',
    b'{"action": "release", "action": "provision"}',
    b'{"action": "provision", "phoneNumber": "' + b"9" * 5000 + b'"}',
    b'{"action": "\\ud83d"}',
]


@pytest.mark.parametrize("body", BAD_BODIES, ids=range(len(BAD_BODIES)))
def test_malformed_bodies_answer_400_and_change_nothing(
    shop: tuple[Tenant, httpx.Client], body: bytes
) -> None:
    """Every malformed POST to every endpoint is a 4xx in the error shape; nothing changes."""
    _, client = shop
    before = snapshot(client)
    for path in ["/api/sms", "/api/sms/consents", "/api/sms/consents/opt-out"]:
        answer = client.post(path, content=body, headers={"Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, (path, answer.text)
        error_of(answer)
    assert snapshot(client) == before


BAD_QUERIES = [
    "action=search&areaCode=512&areaCode=513",
    "action=search&action=search&areaCode=512",
    "action=%ff%fe&areaCode=512",
    "action=search&areaCode=%00%00%00",
    "action=search&areaCode=512&limit=1e3",
    "action=search&areaCode=512&limit=%20",
    "action=search&areaCode=5%312",
    "action=search&areaCode=512&" + "&".join(f"x{i}=1" for i in range(40)),
    "action=search&areaCode=512;limit=2",
    "action=" + "a" * 5000,
    "%%%%&&&===",
    "action",
]


@pytest.mark.parametrize("query", BAD_QUERIES, ids=range(len(BAD_QUERIES)))
def test_odd_query_strings_never_break_the_server(
    shop: tuple[Tenant, httpx.Client], query: str
) -> None:
    """Odd query strings answer 200 or a 4xx in the error shape, never a 5xx."""
    _, client = shop
    before = snapshot(client)
    for path in ["/api/sms", "/api/sms/consents"]:
        answer = client.get(f"{path}?{query}")
        assert answer.status_code < 500, (path, query, answer.text)
        if answer.status_code >= 400:
            error_of(answer)
    assert snapshot(client) == before


@pytest.mark.parametrize(
    "query", ["cursor=not-a-cursor", "cursor=W10", "limit=0", "limit=201", "phone=nope", "phone="]
)
def test_bad_consent_queries_are_400(shop: tuple[Tenant, httpx.Client], query: str) -> None:
    """Cursors this API never returned, limits out of range and bad phones answer 400."""
    _, client = shop
    answer = client.get(f"/api/sms/consents?{query}")
    assert answer.status_code == 400
    assert error_of(answer) in {"invalid_field", "invalid_phone", "missing_field"}


def test_chunked_bodies_are_read_and_bounded(shop: tuple[Tenant, httpx.Client]) -> None:
    """A chunked body without Content-Length is read, and over 64 KiB answers 413."""
    _, client = shop

    def chunks(total: int) -> Iterator[bytes]:
        yield b'{"phone": "' + CUSTOMER.encode() + b'", "source": "web_form", "pad": "'
        for _ in range(total // 1024):
            yield b"x" * 1024
        yield b'"}'

    json_type = {"Content-Type": "application/json"}
    small = client.post("/api/sms/consents", content=chunks(1024), headers=json_type)
    assert small.status_code == 200, small.text
    before = snapshot(client)
    big = client.post("/api/sms/consents", content=chunks(200 * 1024), headers=json_type)
    assert (big.status_code, error_of(big)) == (413, "payload_too_large")
    assert snapshot(client) == before


def test_json_must_be_sent_as_json(shop: tuple[Tenant, httpx.Client]) -> None:
    """A JSON object under another Content-Type (what a cross-site form can send) is
    invalid_json; application/json with parameters or a +json type is read."""
    _, client = shop
    body = b'{"phone": "+15557650101", "source": "paper"}'
    before = snapshot(client)
    for content_type in [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ]:
        headers = {"Content-Type": content_type} if content_type else {}
        answer = client.post("/api/sms/consents", content=body, headers=headers)
        assert (answer.status_code, error_of(answer)) == (400, "invalid_json"), content_type
    assert snapshot(client) == before
    form = client.post("/api/sms", data={"action": "release"})
    assert (form.status_code, error_of(form)) == (400, "invalid_json")
    for content_type in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.x+json",
    ]:
        answer = client.post(
            "/api/sms/consents", content=body, headers={"Content-Type": content_type}
        )
        assert answer.status_code == 200, content_type


@pytest.mark.parametrize("encoded", ["%0A", "%0D%0A", "%0D", "%E2%80%A8", "%00"])
def test_a_line_break_in_the_path_cannot_forge_a_log_line(server: LiveServer, encoded: str) -> None:
    """The request line is logged with control characters escaped: %0A writes ``\\n``,
    never a new line of the server's log."""
    marker = uuid.uuid4().hex
    forged = f"2026-01-01 00:00:00,000 WARNING neariq_sms.http: forged {marker}"
    answer = httpx.get(f"{server.base_url}/api/sms/{encoded}{forged.replace(' ', '%20')}")
    assert (answer.status_code, error_of(answer)) == (404, "not_found")
    assert server.log_path is not None
    # The app logs the request before it answers: the line is there already.
    lines = [line for line in server.log_path.read_text().splitlines() if marker in line]
    assert len(lines) == 1, lines
    assert not lines[0].startswith(forged)
    assert forged in lines[0]


def _cursor(at: str, key: str = "+15557654321") -> str:
    return base64.urlsafe_b64encode(json.dumps([at, key]).encode()).decode().rstrip("=")


HUGE = "9" * 5000  # past int()'s 4,300-digit limit
BAD_FIELD_QUERIES = [
    ("/api/sms", f"action=search&areaCode=512&limit={HUGE}"),
    ("/api/sms", f"action=search&areaCode=512&limit=0{HUGE}"),
    ("/api/sms/consents", f"limit={HUGE}"),
    ("/api/sms/consents", f"limit={'0' * 5000}1"),
    ("/api/sms/consents", "cursor=" + _cursor("9999-12-31T23:59:59-23:59")),
    ("/api/sms/consents", "cursor=" + _cursor("0001-01-01T00:00:00+23:59")),
    ("/api/sms/consents", "cursor=" + _cursor("9999-12-31T23:59:59.999999-00:01")),
    ("/api/sms/consents", "cursor=" + _cursor("2026-01-01T00:00:00\x0cZ")),
    ("/api/sms/consents", "cursor=" + _cursor("2026-01-01T00:00:00+00:00", "\x00")),
]


@pytest.mark.parametrize(("path", "query"), BAD_FIELD_QUERIES, ids=range(len(BAD_FIELD_QUERIES)))
def test_huge_limits_and_out_of_range_cursors_are_invalid_fields(
    shop: tuple[Tenant, httpx.Client], path: str, query: str
) -> None:
    """A limit of thousands of digits or a cursor holding a date out of range: 400
    invalid_field, not a 500."""
    _, client = shop
    before = snapshot(client)
    answer = client.get(f"{path}?{query}")
    assert (answer.status_code, error_of(answer)) == (400, "invalid_field"), answer.text
    assert snapshot(client) == before


@pytest.mark.parametrize(
    "at",
    [
        "2024-01-01T00:00:00\x0cZ",
        "2024-01-01T00:00:00\x00Z",
        "2024-01-01\x0000:00:00",
        "2024-01-01\x1f00:00:00Z",
        "2024-01-01T00:00:00\u200bZ",
        "2024-01-01T00:00:00\u2028",
    ],
)
@pytest.mark.parametrize("path", ["/api/sms/consents", "/api/sms/consents/opt-in"])
def test_a_consent_time_with_a_control_character_is_invalid(
    shop: tuple[Tenant, httpx.Client], path: str, at: str
) -> None:
    """A consentedAt with a control or format character inside is 400 invalid_field,
    nothing written."""
    _, client = shop
    before = snapshot(client)
    body = {"phone": "+15557650102", "source": "paper", "consentedAt": at}
    answer = client.post(path, json=body)
    assert (answer.status_code, error_of(answer)) == (400, "invalid_field"), answer.text
    assert snapshot(client) == before
