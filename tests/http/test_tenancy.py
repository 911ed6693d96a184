"""One business's session never reads or changes another's data."""

from __future__ import annotations

from tests.http.live import (
    CUSTOMER,
    LiveServer,
    consent,
    error_of,
    post_action,
    provision_first,
)


def test_sessions_are_confined_to_their_own_business(server: LiveServer) -> None:
    """Opt-outs, consents, numbers and idempotency keys stay with the session's business."""
    first, second = server.tenant(name="First"), server.tenant(name="Second")
    with first.client() as a, second.client() as b:
        number_a, number_b = provision_first(a, "404"), provision_first(b, "404")
        consent(a)
        consent(b)
        consent(b, "+15557650202")

        assert a.get("/api/sms").json()["business"]["id"] == first.id
        assert b.get("/api/sms").json()["business"]["id"] == second.id

        # A's opt-out does not touch B's record of the same phone.
        assert a.post("/api/sms/consents/opt-out", json={"phone": CUSTOMER}).status_code == 200
        assert b.get("/api/sms/consents", params={"phone": CUSTOMER}).json()["optedOut"] is False

        # A cannot read B's records, by phone or by listing.
        only_b = a.get("/api/sms/consents", params={"phone": "+15557650202"})
        assert (only_b.status_code, error_of(only_b)) == (404, "consent_not_found")
        listed = {c["phone"] for c in a.get("/api/sms/consents").json()["consents"]}
        assert listed == {CUSTOMER}

        # Body fields or headers naming another business are ignored.
        hijack = a.post(
            "/api/sms",
            json={"action": "release", "businessId": second.id, "business": {"id": second.id}},
            headers={"X-Business-Id": second.id},
        )
        assert hijack.json() == {"ok": True}
        assert a.get("/api/sms").json()["business"]["smsNumber"] is None
        assert b.get("/api/sms").json()["business"]["smsNumber"] == number_b
        assert number_a != number_b

        # The same idempotency key in two businesses is two different requests.
        key = [("Idempotency-Key", "shared-key")]
        consent(a, "+15557650303")
        provision_first(a, "404")
        sent_a = post_action(a, "send_review_request", key, to="+15557650303", customerName="Al")
        sent_b = post_action(b, "send_review_request", key, to=CUSTOMER, customerName="Bo")
        assert sent_a.status_code == sent_b.status_code == 200
        assert sent_a.json()["messageSid"] != sent_b.json()["messageSid"]
        assert b.get("/api/sms").json()["business"]["allowance"]["used"] == 1
