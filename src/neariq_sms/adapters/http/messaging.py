"""The conversation, reminder, message and consent-history endpoints, and the
``send_reply`` / ``schedule_reminder`` / ``cancel_reminder`` actions.

Each handler parses the request inside :func:`business_first` (an unknown
business answers 404 before a shape error) into the typed values the use
cases take, then calls one use case and shapes its answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from neariq_sms import usecases as uc
from neariq_sms.adapters.http.request import (
    Request,
    Response,
    business_first,
    json_object,
    json_response,
    query_params,
    required,
)
from neariq_sms.adapters.http.serialise import (
    conversation_page_body,
    history_body,
    message_body,
    reminder_page_body,
    send_body,
    thread_body,
)
from neariq_sms.domain.conversations import parse_reply_body
from neariq_sms.domain.errors import InvalidField, MessageNotFound
from neariq_sms.domain.parsing import (
    parse_customer_name,
    parse_idempotency_key,
    parse_limit,
    parse_phone,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.reminders import ReminderState, parse_appointment, parse_reference
from neariq_sms.ports.services import Services
from neariq_sms.usecases.paging import Cursor, parse_cursor

CONVERSATIONS_PATH = "/api/sms/conversations"
THREAD_PATH = "/api/sms/conversations/messages"
READ_PATH = "/api/sms/conversations/read"
REMINDERS_PATH = "/api/sms/reminders"
HISTORY_PATH = "/api/sms/consents/history"
MESSAGES_PREFIX = "/api/sms/messages/"

MAX_THREADS = 100
DEFAULT_THREADS = 20
MAX_THREAD_PAGE = 100
DEFAULT_THREAD_PAGE = 50
MAX_REMINDERS = 100
DEFAULT_REMINDERS = 50


def _page(params: Mapping[str, str], default: int, maximum: int) -> tuple[Cursor | None, int]:
    cursor = parse_cursor(params.get("cursor") or None)
    return cursor, parse_limit(params.get("limit") or None, default=default, maximum=maximum)


def _phone(raw: object, s: Services) -> PhoneNumber:
    return parse_phone(raw, field="phone", region=s.policy.default_region)


def get_conversations(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        cursor, limit = _page(query_params(req.query), DEFAULT_THREADS, MAX_THREADS)
    page = uc.list_conversations(business_id, cursor, limit, uow=s.uow, clock=s.clock)
    return json_response(200, conversation_page_body(page))


def get_thread(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        params = query_params(req.query)
        required(params, "phone")
        phone = _phone(params["phone"], s)
        cursor, limit = _page(params, DEFAULT_THREAD_PAGE, MAX_THREAD_PAGE)
    page = uc.conversation_messages(business_id, phone, cursor, limit, uow=s.uow)
    return json_response(200, thread_body(phone, page))


def post_read(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        data = json_object(req)
        required(data, "phone")
        phone = _phone(data["phone"], s)
    unread = uc.mark_conversation_read(business_id, phone, uow=s.uow)
    return json_response(200, {"ok": True, "unread": unread})


def get_reminders(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        params = query_params(req.query)
        state = _reminder_state(params.get("status"))
        cursor, limit = _page(params, DEFAULT_REMINDERS, MAX_REMINDERS)
    page = uc.list_reminders(business_id, state, cursor, limit, uow=s.uow)
    return json_response(200, reminder_page_body(page))


def _reminder_state(raw: str | None) -> ReminderState | None:
    if raw is None or raw == "":
        return None
    try:
        return ReminderState(raw)
    except ValueError:
        names = ", ".join(state.value for state in ReminderState)
        raise InvalidField("status", f"must be one of {names}") from None


def get_history(req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        params = query_params(req.query)
        required(params, "phone")
        phone = _phone(params["phone"], s)
    events = uc.consent_history(business_id, phone, uow=s.uow, policy=s.policy)
    return json_response(200, history_body(phone, events))


def get_message(req: Request, s: Services, business_id: str) -> Response:
    message_id = req.path.removeprefix(MESSAGES_PREFIX)
    # Ids are 32 hex digits: anything else is no message of this business (not a shape error).
    if len(message_id) != 32 or not all(ch in "0123456789abcdef" for ch in message_id):
        with business_first(s, business_id):
            raise MessageNotFound()
    message = uc.get_message(business_id, message_id, uow=s.uow)
    return json_response(200, message_body(message))


# --- POST /api/sms actions -----------------------------------------------------


def send_reply(data: Mapping[str, Any], req: Request, s: Services, business_id: str) -> Response:
    with business_first(s, business_id):
        required(data, "to", "body")
        body = parse_reply_body(data["body"])
        key = parse_idempotency_key(req.headers.get("idempotency-key"))
        to = parse_phone(data["to"], field="to", region=s.policy.default_region)
    sent = uc.send_reply(
        business_id, to, body, uow=s.uow, telephony=s.telephony, clock=s.clock,
        policy=s.policy, idempotency_key=key,
    )  # fmt: skip
    return json_response(200, send_body(sent))


def schedule_reminder(
    data: Mapping[str, Any], req: Request, s: Services, business_id: str
) -> Response:
    with business_first(s, business_id):
        required(data, "to", "customerName", "appointmentAt", "reference")
        name = parse_customer_name(data["customerName"])
        appointment = parse_appointment(
            data["reference"], data["appointmentAt"], data.get("leadMinutes"), now=s.clock.now()
        )
        key = parse_idempotency_key(req.headers.get("idempotency-key"))
        to = parse_phone(data["to"], field="to", region=s.policy.default_region)
    result = uc.schedule_reminder(
        business_id, to, name, appointment, uow=s.uow, telephony=s.telephony, clock=s.clock,
        policy=s.policy, idempotency_key=key,
    )  # fmt: skip
    return json_response(200, {**send_body(result.sent), "reference": result.reference})


def cancel_reminder(
    data: Mapping[str, Any], req: Request, s: Services, business_id: str
) -> Response:
    with business_first(s, business_id):
        required(data, "reference")
        reference = parse_reference(data["reference"])
    canceled = uc.cancel_reminder(business_id, reference, uow=s.uow, clock=s.clock)
    return json_response(200, {"ok": True, "canceled": canceled})


ActionHandler = Callable[[Mapping[str, Any], Request, Services, str], Response]
SessionHandler = Callable[[Request, Services, str], Response]

#: ``POST /api/sms`` actions answered here.
ACTIONS: dict[str, ActionHandler] = {
    "send_reply": send_reply,
    "schedule_reminder": schedule_reminder,
    "cancel_reminder": cancel_reminder,
}

#: Session endpoints answered here, by path and method.
ROUTES: dict[str, dict[str, SessionHandler]] = {
    CONVERSATIONS_PATH: {"GET": get_conversations},
    THREAD_PATH: {"GET": get_thread},
    READ_PATH: {"POST": post_read},
    REMINDERS_PATH: {"GET": get_reminders},
    HISTORY_PATH: {"GET": get_history},
}

__all__ = ["ACTIONS", "MESSAGES_PREFIX", "ROUTES", "get_message"]
