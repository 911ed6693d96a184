"""The JSON shapes of the specs, built from use-case results."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from neariq_sms.domain.business import AvailableNumber
from neariq_sms.domain.consent import ConsentEvent, ConsentRecord
from neariq_sms.domain.conversations import Direction, ThreadMessage
from neariq_sms.domain.errors import SmsError
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.registration import SenderRegistration
from neariq_sms.usecases import ConversationSummary, Page, ProvisionResult, SendResult, SmsStatus

Json = dict[str, Any]

#: An enum's ``.value`` is a descriptor call: a page asks it once per message.
_DIRECTION = {direction: direction.value for direction in Direction}


def _iso_z(moment: datetime) -> str:
    # In UTC, isoformat() ends in "+00:00": cut rather than search (a page has ~150).
    return moment.isoformat()[:-6] + "Z"


def _fast_iso_z() -> Callable[[datetime], str]:
    """:func:`_iso_z` through orjson's RFC 3339 writer when it is installed (the
    ``http`` extra): the same text in a third of the time."""
    try:
        from orjson import OPT_UTC_Z, dumps
    except ModuleNotFoundError:
        return _iso_z

    def iso_z(moment: datetime) -> str:
        return dumps(moment, option=OPT_UTC_Z)[1:-1].decode()

    return iso_z


_ISO_Z = _fast_iso_z()


def iso_utc(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``: ``2026-03-11T13:00:00Z`` (microseconds when any)."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:  # storage hands back UTC already
        moment = moment.astimezone(UTC)
    return _ISO_Z(moment)


def status_body(status: SmsStatus) -> Json:
    """``GET /api/sms``: ``configured`` and the business with its number, plan and allowance.

    ``smsNumber`` is ``null`` and ``smsEnabled`` false without an active number;
    the allowance counts SMS segments for the period ``YYYY-MM``.
    """
    allowance = status.allowance
    return {
        "configured": status.configured,
        "business": {
            "id": status.business.id,
            "name": status.business.name,
            "smsNumber": status.number.number.e164 if status.number else None,
            "smsEnabled": status.sms_enabled,
            "plan": status.business.plan.value,
            "registration": registration_summary(status.registration),
            "allowance": {
                "limit": allowance.limit,
                "used": allowance.used,
                "remaining": allowance.remaining,
                "period": allowance.period,
            },
        },
    }


def registration_summary(registration: SenderRegistration | None) -> Json | None:
    """``business.registration`` of ``GET /api/sms``: ``{"kind", "status"}`` or ``null``."""
    if registration is None:
        return None
    return {"kind": registration.kind.value, "status": registration.status.value}


def registration_body(registration: SenderRegistration | None) -> Json:
    """``GET /api/sms?action=registration`` (and ``register``'s answer): the registration
    with its steps and the provider's reasons, or ``{"registration": null}``."""
    if registration is None:
        return {"registration": None}
    return {
        "registration": {
            **(registration_summary(registration) or {}),
            "steps": [
                {"name": s.name.value, "sid": s.sid, "status": s.state.value}
                for s in registration.steps
            ],
            "errors": [
                {"code": i.code, "description": i.description, "field": i.field}
                for i in registration.issues
            ],
            "messagingServiceSid": registration.messaging_service_sid,
            "submittedAt": iso_utc(registration.submitted_at),
            "updatedAt": iso_utc(registration.updated_at),
        }
    }


def search_body(configured: bool, numbers: Sequence[AvailableNumber]) -> Json:
    """``GET /api/sms?action=search``: ``configured`` and the numbers for sale
    (``number``, ``friendlyName``, ``locality``, ``region``)."""
    return {
        "configured": configured,
        "numbers": [
            {
                "number": n.number.e164,
                "friendlyName": n.friendly_name,
                "locality": n.locality,
                "region": n.region,
            }
            for n in numbers
        ],
    }


def provision_body(result: ProvisionResult) -> Json:
    """``provision``: ``{"ok": true, "number", "sid"}``."""
    return {"ok": True, "number": result.number, "sid": result.sid}


def send_body(result: SendResult) -> Json:
    """Every sending answer: ``{"ok": true, "messageId", "messageSid", "status"}``.

    ``messageId`` is the library's own id, stable from the moment the message
    is stored. A message deferred by quiet hours (or a reminder not yet due)
    has ``messageSid`` ``null``, ``status`` ``scheduled`` and ``sendAt``
    (ISO-8601 UTC).
    """
    body: Json = {
        "ok": True,
        "messageId": result.message_id,
        "messageSid": result.message_sid,
        "status": result.status.value,
    }
    if result.send_at is not None:
        body["sendAt"] = iso_utc(result.send_at)
    return body


def consent_body(record: ConsentRecord) -> Json:
    """One consent record: ``phone``, ``source``, ``consentedAt``, ``optedOut``,
    ``optedOutAt``, ``optOutSource`` (times ISO-8601 UTC or ``null``)."""
    return {
        "phone": record.phone.e164,
        "source": record.source,
        "consentedAt": iso_utc(record.consented_at),
        "optedOut": record.opted_out,
        "optedOutAt": iso_utc(record.opted_out_at),
        "optOutSource": record.opt_out_source,
    }


def consent_page_body(page: Page[ConsentRecord]) -> Json:
    """A page of records: ``consents`` and ``nextCursor`` (``null`` on the last page)."""
    return {"consents": [consent_body(r) for r in page.items], "nextCursor": page.next_cursor}


def message_body(message: ThreadMessage) -> Json:
    """MESSAGE: one message of either direction, as the lookup and a thread show it."""
    created = iso_utc(message.created_at)
    # Most messages of a page were not updated since: one formatting for both.
    updated = created if message.updated_at == message.created_at else iso_utc(message.updated_at)
    return {
        "id": message.id,
        "direction": _DIRECTION[message.direction],
        "kind": message.kind,
        "to": message.to.e164,
        "from": message.from_.e164,
        "body": message.body,
        "segments": message.segments,
        "status": message.status,
        "messageSid": message.provider_sid,
        "errorCode": message.error_code,
        "createdAt": created,
        "sendAt": iso_utc(message.send_at),
        "updatedAt": updated,
    }


def reminder_body(message: ThreadMessage) -> Json:
    """A reminder in the list: MESSAGE with its ``reference`` and ``appointmentAt``."""
    return {
        **message_body(message),
        "reference": message.reference,
        "appointmentAt": iso_utc(message.appointment_at),
    }


def reminder_page_body(page: Page[ThreadMessage]) -> Json:
    return {"reminders": [reminder_body(m) for m in page.items], "nextCursor": page.next_cursor}


def thread_body(phone: PhoneNumber, page: Page[ThreadMessage]) -> Json:
    """``GET /conversations/messages``: ``phone``, ``messages`` newest first, ``nextCursor``."""
    return {
        "phone": phone.e164,
        "messages": [message_body(m) for m in page.items],
        "nextCursor": page.next_cursor,
    }


def conversation_page_body(page: Page[ConversationSummary]) -> Json:
    """``GET /conversations``: threads, most recent activity first."""
    return {
        "conversations": [
            {
                "phone": t.conversation.phone.e164,
                "lastMessageAt": iso_utc(t.conversation.last_message_at),
                "lastMessage": {
                    "direction": _DIRECTION[t.conversation.last_direction],
                    "body": t.conversation.last_body,
                    "kind": t.conversation.last_kind,
                },
                "unread": t.conversation.unread,
                "optedOut": t.opted_out,
                "canReply": t.can_reply,
            }
            for t in page.items
        ],
        "nextCursor": page.next_cursor,
    }


def history_body(phone: PhoneNumber, events: Sequence[ConsentEvent]) -> Json:
    """``GET /consents/history``: the phone's audit trail, oldest first."""
    return {
        "phone": phone.e164,
        "events": [{"kind": e.kind.value, "source": e.source, "at": iso_utc(e.at)} for e in events],
    }


def error_body(code: str, message: str) -> Json:
    """The error shape: ``{"ok": false, "error": message, "code": code}``."""
    return {"ok": False, "error": message, "code": code}


def sms_error_body(exc: SmsError) -> Json:
    """The error shape for a domain error, with its code and message."""
    return error_body(exc.code, exc.message)


__all__ = [
    "Json",
    "consent_body",
    "consent_page_body",
    "conversation_page_body",
    "error_body",
    "history_body",
    "iso_utc",
    "message_body",
    "provision_body",
    "registration_body",
    "registration_summary",
    "reminder_body",
    "reminder_page_body",
    "search_body",
    "send_body",
    "sms_error_body",
    "status_body",
    "thread_body",
]
