"""Conversations, reminders, replies, messages and consent history against a live
sandbox server, as a black-box client meets them (messaging.md §§2-5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

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
from tests.http.test_webhooks import INBOUND, inbound, signed_post

STRANGER = "+15557650000"
MESSAGE_KEYS = {
    "id", "direction", "kind", "to", "from", "body", "segments", "status", "messageSid",
    "errorCode", "createdAt", "sendAt", "updatedAt",
}  # fmt: skip


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sid() -> str:
    return "SM" + uuid.uuid4().hex


@pytest.fixture
def shop(server: LiveServer) -> tuple[Tenant, str]:
    tenant = server.tenant(name="Aster Grove Fitness")
    with tenant.client() as client:
        number = provision_first(client, "303")
        consent(client)
    return tenant, number


def test_a_thread_holds_both_directions_and_the_list_counts_unread(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    tenant, number = shop
    assert signed_post(server, INBOUND, inbound(number, "Open Sunday?", sid())).status_code == 200
    with tenant.client() as client:
        reply = post_action(client, "send_reply", to=CUSTOMER, body="Yes, 9 to 5!")
        assert reply.status_code == 200, reply.text
        sent = reply.json()
        assert set(sent) == {"ok", "messageId", "messageSid", "status"}
        assert sent["status"] == "queued"

        thread = client.get("/api/sms/conversations/messages", params={"phone": CUSTOMER})
        assert thread.status_code == 200, thread.text
        body = thread.json()
        assert body["phone"] == CUSTOMER
        assert body["nextCursor"] is None
        first, second = body["messages"]
        assert set(first) == MESSAGE_KEYS
        assert (first["direction"], first["kind"], first["id"]) == (
            "outbound", "reply", sent["messageId"],
        )  # fmt: skip
        assert (second["direction"], second["kind"], second["status"]) == (
            "inbound", "inbound", "received",
        )  # fmt: skip

        [listed] = client.get("/api/sms/conversations").json()["conversations"]
        assert listed == {
            "phone": CUSTOMER,
            "lastMessageAt": first["createdAt"],
            "lastMessage": {"direction": "outbound", "body": "Yes, 9 to 5!", "kind": "reply"},
            "unread": 1,
            "optedOut": False,
            "canReply": True,
        }
        read = client.post("/api/sms/conversations/read", json={"phone": CUSTOMER})
        assert read.json() == {"ok": True, "unread": 0}
        assert client.get("/api/sms/conversations").json()["conversations"][0]["unread"] == 0

        found = client.get(f"/api/sms/messages/{sent['messageId']}")
        assert found.status_code == 200
        assert found.json() == first


def test_a_stranger_who_texted_in_can_be_answered_and_a_stop_shows_in_the_thread(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    tenant, number = shop
    with tenant.client() as client:
        refused = post_action(client, "send_reply", to=STRANGER, body="Hi")
        assert (refused.status_code, error_of(refused)) == (400, "consent_required")
    stranger = {**inbound(number, "Is this the gym?", sid()), "From": STRANGER}
    assert signed_post(server, INBOUND, stranger).status_code == 200
    with tenant.client() as client:
        assert post_action(client, "send_reply", to=STRANGER, body="It is!").status_code == 200
    stop = {**inbound(number, "STOP", sid()), "From": STRANGER}
    assert signed_post(server, INBOUND, stop).status_code == 200
    with tenant.client() as client:
        refused = post_action(client, "send_reply", to=STRANGER, body="Bye")
        assert error_of(refused) == "recipient_opted_out"
        messages = client.get("/api/sms/conversations/messages", params={"phone": STRANGER}).json()[
            "messages"
        ]
        assert [(m["direction"], m["kind"]) for m in messages] == [
            ("outbound", "reply"),  # the confirmation STOP gets
            ("inbound", "inbound"),
            ("outbound", "reply"),
            ("inbound", "inbound"),
        ]
        threads = client.get("/api/sms/conversations").json()["conversations"]
        thread = next(t for t in threads if t["phone"] == STRANGER)
        assert (thread["optedOut"], thread["canReply"]) == (True, False)


def test_a_reminder_is_scheduled_rescheduled_listed_and_canceled(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    tenant, _ = shop
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    fields = {"to": CUSTOMER, "customerName": "Jane", "reference": "appt-1"}
    with tenant.client() as client:
        first = post_action(client, "schedule_reminder", appointmentAt=iso(starts), **fields)
        assert first.status_code == 200, first.text
        scheduled = first.json()
        assert scheduled["status"] == "scheduled"
        assert scheduled["reference"] == "appt-1"
        assert scheduled["sendAt"] == iso(starts - timedelta(days=1))
        again = post_action(client, "schedule_reminder", appointmentAt=iso(starts), **fields)
        assert again.json() == scheduled
        used = client.get("/api/sms").json()["business"]["allowance"]["used"]

        later = starts + timedelta(days=1)
        moved = post_action(
            client, "schedule_reminder", appointmentAt=iso(later), leadMinutes=60, **fields
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["sendAt"] == iso(later - timedelta(hours=1))
        assert moved.json()["messageId"] != scheduled["messageId"]
        assert client.get("/api/sms").json()["business"]["allowance"]["used"] == used

        listing = client.get("/api/sms/reminders", params={"status": "scheduled"}).json()
        [pending] = listing["reminders"]
        assert pending["reference"] == "appt-1"
        assert pending["appointmentAt"] == iso(later)
        assert pending["kind"] == "reminder"
        assert pending["from"].startswith("+1303")
        canceled = client.get("/api/sms/reminders", params={"status": "canceled"}).json()
        assert [r["id"] for r in canceled["reminders"]] == [scheduled["messageId"]]

        gone = post_action(client, "cancel_reminder", reference="appt-1")
        assert gone.json() == {"ok": True, "canceled": True}
        assert post_action(client, "cancel_reminder", reference="appt-1").json() == {
            "ok": True, "canceled": False,
        }  # fmt: skip
        assert client.get("/api/sms").json()["business"]["allowance"]["used"] == used - 1
        unknown = post_action(client, "cancel_reminder", reference="nope")
        assert (unknown.status_code, error_of(unknown)) == (404, "reminder_not_found")


def test_a_reminder_due_already_goes_out_now_and_cannot_be_rescheduled(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    tenant, _ = shop
    soon = datetime.now(UTC) + timedelta(hours=2)
    fields = {"to": CUSTOMER, "customerName": "Jane", "reference": "appt-now"}
    with tenant.client() as client:
        sent = post_action(client, "schedule_reminder", appointmentAt=iso(soon), **fields)
        assert sent.status_code == 200, sent.text
        assert sent.json()["status"] == "queued"
        assert sent.json()["messageSid"].startswith("SM")
        before = snapshot(client)
        moved = post_action(
            client, "schedule_reminder", appointmentAt=iso(soon + timedelta(hours=1)), **fields
        )
        assert (moved.status_code, error_of(moved)) == (409, "reminder_already_sent")
        assert snapshot(client) == before
        [listed] = client.get("/api/sms/reminders", params={"status": "sent"}).json()["reminders"]
        assert listed["id"] == sent.json()["messageId"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"customerName": "Jane", "appointmentAt": "2099-01-01T10:00:00Z", "reference": "r"},
         "missing_field"),
        ({"to": CUSTOMER, "customerName": "Jane", "appointmentAt": "2099-01-01T10:00:00Z"},
         "missing_field"),
        ({"to": CUSTOMER, "customerName": "Jane", "reference": "r",
          "appointmentAt": "2099-01-01T10:00:00"}, "invalid_field"),
        ({"to": CUSTOMER, "customerName": "Jane", "reference": "r",
          "appointmentAt": "2001-01-01T10:00:00Z"}, "invalid_field"),
        ({"to": CUSTOMER, "customerName": "Jane", "reference": "r" * 201,
          "appointmentAt": "2099-01-01T10:00:00Z"}, "invalid_field"),
        ({"to": CUSTOMER, "customerName": "Jane", "reference": "r",
          "appointmentAt": "2099-01-01T10:00:00Z", "leadMinutes": 4}, "invalid_field"),
        ({"to": CUSTOMER, "customerName": "Jane", "reference": "r",
          "appointmentAt": "2099-01-01T10:00:00Z", "leadMinutes": True}, "invalid_field"),
        ({"to": "12", "customerName": "Jane", "reference": "r",
          "appointmentAt": "2099-01-01T10:00:00Z"}, "invalid_phone"),
    ],
)  # fmt: skip
def test_a_bad_reminder_is_refused_with_its_code_and_changes_nothing(
    server: LiveServer, shop: tuple[Tenant, str], fields: dict[str, object], code: str
) -> None:
    tenant, _ = shop
    with tenant.client() as client:
        before = snapshot(client)
        answer = post_action(client, "schedule_reminder", **fields)
        assert (answer.status_code, error_of(answer)) == (400, code)
        assert snapshot(client) == before
        assert client.get("/api/sms/reminders").json()["reminders"] == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (None, "missing_field"),
        ("  ", "missing_field"),
        ("x" * 1601, "invalid_field"),
        (7, "invalid_field"),
        ("a\x07b", "invalid_field"),
    ],
)
def test_a_bad_reply_body_is_refused(
    server: LiveServer, shop: tuple[Tenant, str], body: object, code: str
) -> None:
    tenant, _ = shop
    with tenant.client() as client:
        answer = post_action(client, "send_reply", to=CUSTOMER, body=body)
        assert (answer.status_code, error_of(answer)) == (400, code)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/sms/conversations", {"limit": "101"}),
        ("/api/sms/conversations", {"cursor": "garbage"}),
        ("/api/sms/conversations/messages", {"phone": CUSTOMER, "limit": "0"}),
        ("/api/sms/reminders", {"status": "pending"}),
        ("/api/sms/reminders", {"cursor": "e30"}),
    ],
)
def test_paging_outside_its_range_is_invalid_field(
    server: LiveServer, shop: tuple[Tenant, str], path: str, params: dict[str, str]
) -> None:
    tenant, _ = shop
    with tenant.client() as client:
        answer = client.get(path, params=params)
        assert (answer.status_code, error_of(answer)) == (400, "invalid_field")


def test_another_business_sees_and_touches_none_of_it(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    tenant, number = shop
    signed_post(server, INBOUND, inbound(number, "hello", sid()))
    starts = iso(datetime.now(UTC) + timedelta(days=3))
    with tenant.client() as client:
        sent = post_action(client, "send_reply", to=CUSTOMER, body="Hi!").json()
        post_action(
            client, "schedule_reminder", to=CUSTOMER, customerName="Jane",
            appointmentAt=starts, reference="mine",
        )  # fmt: skip
    other = server.tenant(name="Other Shop")
    with other.client() as client:
        provision_first(client, "206")
        for missing in (sent["messageId"], "0" * 32, "not-an-id"):
            answer = client.get(f"/api/sms/messages/{missing}")
            assert (answer.status_code, error_of(answer)) == (404, "message_not_found")
        assert client.get("/api/sms/conversations").json()["conversations"] == []
        thread = client.get("/api/sms/conversations/messages", params={"phone": CUSTOMER})
        assert thread.json()["messages"] == []
        assert client.get("/api/sms/reminders").json()["reminders"] == []
        answer = post_action(client, "cancel_reminder", reference="mine")
        assert (answer.status_code, error_of(answer)) == (404, "reminder_not_found")
        history = client.get("/api/sms/consents/history", params={"phone": CUSTOMER})
        assert history.json() == {"phone": CUSTOMER, "events": []}
    with tenant.client() as client:
        assert (
            client.get("/api/sms/reminders", params={"status": "scheduled"}).json()["reminders"][0][
                "reference"
            ]
            == "mine"
        )


def test_the_consent_history_is_the_audit_trail_oldest_first(
    server: LiveServer, shop: tuple[Tenant, str]
) -> None:
    tenant, number = shop
    signed_post(server, INBOUND, inbound(number, "STOP", sid()))
    signed_post(server, INBOUND, inbound(number, "START", sid()))
    with tenant.client() as client:
        history = client.get("/api/sms/consents/history", params={"phone": CUSTOMER})
        assert history.status_code == 200
        events = history.json()["events"]
    assert [(e["kind"], e["source"]) for e in events] == [
        ("consented", "point_of_sale"), ("opted_out", "keyword"), ("opted_in", "keyword"),
    ]  # fmt: skip


def test_new_endpoints_need_a_session_and_answer_404_for_an_unknown_business(
    server: LiveServer,
) -> None:
    paths = [
        ("GET", "/api/sms/conversations", None),
        ("GET", f"/api/sms/conversations/messages?phone={CUSTOMER}", None),
        ("POST", "/api/sms/conversations/read", {"phone": CUSTOMER}),
        ("GET", "/api/sms/reminders", None),
        ("GET", f"/api/sms/consents/history?phone={CUSTOMER}", None),
        ("GET", "/api/sms/messages/" + "0" * 32, None),
    ]
    with server.client() as anonymous:
        for method, path, body in paths:
            answer = anonymous.request(method, path, json=body)
            assert (answer.status_code, error_of(answer)) == (401, "unauthenticated"), path
    ghost = server.tenant(name="Ghost")
    server.cli("business", "deactivate", ghost.id)
    with httpx.Client(
        base_url=server.base_url, headers={"Cookie": ghost.cookie}, timeout=10
    ) as client:
        for method, path, body in [*paths, ("GET", "/api/sms/conversations?limit=0", None)]:
            answer = client.request(method, path, json=body)
            assert answer.status_code in (401, 404), path
