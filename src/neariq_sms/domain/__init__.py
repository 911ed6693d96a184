"""Pure domain objects and rules. Imports attrs, phonenumbers and the standard library only.

Each name loads its module on first use: a process imports only the rules it uses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neariq_sms._lazy import lazy_names

if TYPE_CHECKING:
    from neariq_sms.domain.allowance import Allowance, period_of
    from neariq_sms.domain.business import (
        AvailableNumber,
        Business,
        DashboardSession,
        NumberStatus,
        PurchasedNumber,
        SmsNumber,
    )
    from neariq_sms.domain.consent import (
        ConsentEvent,
        ConsentEventKind,
        ConsentImport,
        ConsentRecord,
    )
    from neariq_sms.domain.errors import (
        PUBLIC_ERRORS,
        AllowanceExhausted,
        BusinessConflict,
        BusinessNotFound,
        ConsentRequired,
        Cooldown,
        DuplicateNumber,
        IdempotencyConflict,
        InvalidField,
        InvalidPhone,
        MissingField,
        NoSmsNumber,
        NumberAlreadyProvisioned,
        NumberUnavailable,
        OptOutLocked,
        PlanRequired,
        ProviderError,
        RecipientOptedOut,
        SmsError,
        SmsNotConfigured,
    )
    from neariq_sms.domain.keywords import Keyword, classify
    from neariq_sms.domain.messages import (
        InboundMessage,
        MessageKind,
        MessageStatus,
        OutboundMessage,
        ProviderMessage,
        SendAnswer,
        SentMessage,
    )
    from neariq_sms.domain.phone import PhoneNumber
    from neariq_sms.domain.plans import DEFAULT_POLICY, Plan, Policy
    from neariq_sms.domain.quiet_hours import QuietHours
    from neariq_sms.domain.segments import Encoding, SegmentCount, count_segments

#: The module of each name.
_HOMES = {
    "Allowance": "neariq_sms.domain.allowance",
    "AllowanceExhausted": "neariq_sms.domain.errors",
    "AvailableNumber": "neariq_sms.domain.business",
    "Business": "neariq_sms.domain.business",
    "BusinessConflict": "neariq_sms.domain.errors",
    "BusinessNotFound": "neariq_sms.domain.errors",
    "ConsentEvent": "neariq_sms.domain.consent",
    "ConsentEventKind": "neariq_sms.domain.consent",
    "ConsentImport": "neariq_sms.domain.consent",
    "ConsentRecord": "neariq_sms.domain.consent",
    "ConsentRequired": "neariq_sms.domain.errors",
    "Cooldown": "neariq_sms.domain.errors",
    "DEFAULT_POLICY": "neariq_sms.domain.plans",
    "DashboardSession": "neariq_sms.domain.business",
    "DuplicateNumber": "neariq_sms.domain.errors",
    "Encoding": "neariq_sms.domain.segments",
    "IdempotencyConflict": "neariq_sms.domain.errors",
    "InboundMessage": "neariq_sms.domain.messages",
    "InvalidField": "neariq_sms.domain.errors",
    "InvalidPhone": "neariq_sms.domain.errors",
    "Keyword": "neariq_sms.domain.keywords",
    "MessageKind": "neariq_sms.domain.messages",
    "MessageStatus": "neariq_sms.domain.messages",
    "MissingField": "neariq_sms.domain.errors",
    "NoSmsNumber": "neariq_sms.domain.errors",
    "NumberAlreadyProvisioned": "neariq_sms.domain.errors",
    "NumberStatus": "neariq_sms.domain.business",
    "NumberUnavailable": "neariq_sms.domain.errors",
    "OptOutLocked": "neariq_sms.domain.errors",
    "OutboundMessage": "neariq_sms.domain.messages",
    "PUBLIC_ERRORS": "neariq_sms.domain.errors",
    "PhoneNumber": "neariq_sms.domain.phone",
    "Plan": "neariq_sms.domain.plans",
    "PlanRequired": "neariq_sms.domain.errors",
    "Policy": "neariq_sms.domain.plans",
    "ProviderError": "neariq_sms.domain.errors",
    "ProviderMessage": "neariq_sms.domain.messages",
    "PurchasedNumber": "neariq_sms.domain.business",
    "QuietHours": "neariq_sms.domain.quiet_hours",
    "RecipientOptedOut": "neariq_sms.domain.errors",
    "SegmentCount": "neariq_sms.domain.segments",
    "SendAnswer": "neariq_sms.domain.messages",
    "SentMessage": "neariq_sms.domain.messages",
    "SmsError": "neariq_sms.domain.errors",
    "SmsNotConfigured": "neariq_sms.domain.errors",
    "SmsNumber": "neariq_sms.domain.business",
    "classify": "neariq_sms.domain.keywords",
    "count_segments": "neariq_sms.domain.segments",
    "period_of": "neariq_sms.domain.allowance",
}


__getattr__, __dir__ = lazy_names(__name__, _HOMES)


__all__ = [
    "DEFAULT_POLICY",
    "PUBLIC_ERRORS",
    "Allowance",
    "AllowanceExhausted",
    "AvailableNumber",
    "Business",
    "BusinessConflict",
    "BusinessNotFound",
    "ConsentEvent",
    "ConsentEventKind",
    "ConsentImport",
    "ConsentRecord",
    "ConsentRequired",
    "Cooldown",
    "DashboardSession",
    "DuplicateNumber",
    "Encoding",
    "IdempotencyConflict",
    "InboundMessage",
    "InvalidField",
    "InvalidPhone",
    "Keyword",
    "MessageKind",
    "MessageStatus",
    "MissingField",
    "NoSmsNumber",
    "NumberAlreadyProvisioned",
    "NumberStatus",
    "NumberUnavailable",
    "OptOutLocked",
    "OutboundMessage",
    "PhoneNumber",
    "Plan",
    "PlanRequired",
    "Policy",
    "ProviderError",
    "ProviderMessage",
    "PurchasedNumber",
    "QuietHours",
    "RecipientOptedOut",
    "SegmentCount",
    "SendAnswer",
    "SentMessage",
    "SmsError",
    "SmsNotConfigured",
    "SmsNumber",
    "classify",
    "count_segments",
    "period_of",
]
