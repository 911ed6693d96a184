"""Inbound messages: keywords, CTIA replies, the conversation view."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from neariq_sms.domain.errors import InvalidPhone
from neariq_sms.domain.keywords import Keyword, classify, combine, reply_for
from neariq_sms.domain.messages import InboundMessage, OutboundMessage
from neariq_sms.domain.parsing import parse_limit, parse_phone
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import DEFAULT_POLICY, Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.usecases._common import (
    active_business,
    log,
    mask,
    store_opt_in,
    store_opt_out,
)
from neariq_sms.usecases.paging import DEFAULT_PAGE, MAX_PAGE, Page, encode_cursor, parse_cursor

MAX_INBOUND_BODY = 1600


@attrs.frozen
class InboundResult:
    """What became of an inbound message; ``reply`` is the text to answer with, if any
    (none for a duplicate: the first delivery was answered)."""

    business_id: str | None
    keyword: Keyword | None
    reply: str | None
    duplicate: bool = False


def handle_inbound_message(
    to: str,
    from_: str,
    body: str,
    provider_sid: str | None = None,
    *,
    uow: UnitOfWork,
    clock: Clock,
    policy: Policy = DEFAULT_POLICY,
    provider_keyword: Keyword | None = None,
) -> InboundResult:
    """Take a message a customer sent to a business number.

    The whole message is the keyword, once normalised (see
    :func:`~neariq_sms.domain.keywords.normalise`): STOP and its synonyms
    record an opt-out (source ``keyword``) and get one confirmation; START,
    YES and UNSTOP an opt-in; HELP and INFO the help text.
    ``provider_keyword``, the provider's own classification (Twilio's
    ``OptOutType``), counts as well (:func:`~neariq_sms.domain.keywords.combine`).
    Every message is stored for the conversation view (who it reaches is
    :func:`_reached`'s rule); a message from an unknown sender creates no
    consent. Redelivery of the same provider sid changes nothing.
    """
    now = clock.now()
    try:
        to_number = PhoneNumber.parse(to, region=policy.default_region, field="To")
        sender = PhoneNumber.parse(from_, region=policy.default_region, field="From")
    except InvalidPhone:
        log.info("inbound message with an unparseable number ignored sid=%r", provider_sid)
        return InboundResult(None, None, None)
    # NUL is no SMS character and PostgreSQL text cannot hold it. The keyword is
    # the stored text's, so the conversation view shows what was acted on.
    text = body.replace("\x00", "")[:MAX_INBOUND_BODY]
    keyword = combine(classify(text), provider_keyword)
    with uow:
        owner_id, opted_out_of = _reached(uow, to_number, keyword)
        business = uow.businesses.get(owner_id) if owner_id else None
        if business is None:
            log.info("inbound message to a number no business holds to=%s", to_number)
            return InboundResult(None, None, None)
        message = InboundMessage(
            id=uuid.uuid4().hex, business_id=business.id, from_=sender, to=to_number,
            body=text, received_at=now, provider_sid=provider_sid or None,
            keyword=keyword.value if keyword else None,
        )  # fmt: skip
        stored = uow.inbound.add(message)
        if stored and keyword is Keyword.OPT_OUT:
            for business_id in opted_out_of:
                store_opt_out(uow, business_id, sender, source="keyword", clock=clock)
        elif stored and keyword is Keyword.OPT_IN:
            store_opt_in(uow, business.id, sender, source="keyword", clock=clock)
        reply = _answer(uow, message, keyword, business.name) if stored else None
        uow.commit()
    log.info(
        "inbound message business=%s from=%s keyword=%s duplicate=%s",
        *(business.id, mask(sender), message.keyword, not stored),
    )
    return InboundResult(business.id, keyword, reply, duplicate=not stored)


def _answer(
    uow: UnitOfWork, message: InboundMessage, keyword: Keyword | None, business_name: str
) -> str | None:
    """Inside an open unit of work: a keyword's carrier-required answer, stored in the
    thread (it goes back in the webhook's response). Only for a first delivery: a
    redelivery was answered the first time, and gets no second confirmation."""
    reply = reply_for(keyword, business_name) if keyword else None
    if reply is not None:
        uow.messages.add(OutboundMessage.automatic_reply(message, reply, id=uuid.uuid4().hex))
    return reply


def _reached(
    uow: UnitOfWork, to_number: PhoneNumber, keyword: Keyword | None
) -> tuple[str | None, list[str]]:
    """Inside an open unit of work: the business a message to ``to_number`` is
    stored for, and the businesses an opt-out reaches (sorted: one lock order
    for every transaction writing their records).

    Consent is per business, so an opt-out reaches every business that ever
    held the number, not only its holder: a customer who texts STOP to a
    number its business released (and keeps texting from another) is opted
    out of that business. When the number is now another business's, the
    STOP opts the customer out of the holder and of every former holder as
    well: the customer may be answering either one, and wrongly stopping a
    business costs a consent the customer can give again (START to that
    business's own number), while wrongly texting an opted-out customer
    breaks the law. The message itself is stored for the holder, or, for a
    number nobody holds now, for its latest former holder (whose name the
    confirmation carries). An opt-in or any other message reaches only the
    business holding the number; to a number nobody holds it is ignored.
    """
    held = uow.numbers.holder_of(to_number)
    owner_id = held.business_id if held is not None and held.active else None
    if keyword is not Keyword.OPT_OUT:
        return owner_id, []
    rows = uow.numbers.rows_of(to_number)
    if owner_id is None and rows:
        owner_id = rows[-1].business_id
    return owner_id, sorted({row.business_id for row in rows})


@attrs.frozen
class ConversationItem:
    """One message of a conversation, either direction."""

    direction: str  # "inbound" or "outbound"
    at: datetime
    id: str
    body: str
    status: str | None

    @classmethod
    def of(cls, message: InboundMessage | OutboundMessage) -> ConversationItem:
        if isinstance(message, InboundMessage):
            return cls("inbound", message.received_at, message.id, message.body, None)
        return cls("outbound", message.created_at, message.id, message.body, message.status.value)


def list_conversation(
    business_id: str,
    phone: PhoneNumber | str,
    cursor: str | None = None,
    limit: int | None = None,
    *,
    uow: UnitOfWork,
    policy: Policy = DEFAULT_POLICY,
) -> Page[ConversationItem]:
    """Messages between the business and one phone, newest first, a page at a time.

    ``phone`` may be text, parsed in the policy's region; ``cursor`` is a page's
    ``next_cursor``.

    Raises:
        MissingField, InvalidField, InvalidPhone, BusinessNotFound.
    """
    number = parse_phone(phone, field="phone", region=policy.default_region)
    before = parse_cursor(cursor)
    count = parse_limit(limit, default=DEFAULT_PAGE, maximum=MAX_PAGE)
    with uow.reading():
        active_business(uow, business_id)
        outbound = uow.messages.for_recipient(business_id, number, before=before, limit=count + 1)
        inbound = uow.inbound.for_sender(business_id, number, before=before, limit=count + 1)
    messages: list[InboundMessage | OutboundMessage] = [*outbound, *inbound]
    items = sorted(
        (ConversationItem.of(m) for m in messages),
        key=lambda item: (item.at, item.id),
        reverse=True,
    )
    more = len(items) > count
    items = items[:count]
    next_cursor = encode_cursor(items[-1].at, items[-1].id) if more else None
    return Page(items, next_cursor)


__all__ = ["ConversationItem", "InboundResult", "handle_inbound_message", "list_conversation"]
