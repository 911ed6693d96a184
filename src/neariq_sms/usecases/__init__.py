"""Use cases: one plain function per operation, dependencies passed by keyword.

Each name loads its module on first use, so that a process imports only the use cases
it runs (``neariq-sms dispatch`` loads neither the registration nor the consent import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neariq_sms._lazy import lazy_names

# Bound now: ``reconcile`` is also its module's name, and importing that module
# later would replace a lazily bound function with the module.
from neariq_sms.usecases.reconcile import ReconcileReport, Resolution, reconcile

if TYPE_CHECKING:
    from neariq_sms.usecases.business import (
        change_plan,
        create_business,
        deactivate_business,
        list_businesses,
        reactivate_business,
    )
    from neariq_sms.usecases.consent import (
        consent_history,
        export_consents,
        get_consent,
        list_consents,
        opt_in,
        opt_out,
        record_consent,
    )
    from neariq_sms.usecases.consent_import import (
        ConsentRow,
        ImportReport,
        RejectedRow,
        import_consents,
    )
    from neariq_sms.usecases.conversations import (
        ConversationSummary,
        conversation_messages,
        get_message,
        list_conversations,
        mark_conversation_read,
    )
    from neariq_sms.usecases.inbound import (
        ConversationItem,
        InboundResult,
        handle_inbound_message,
        list_conversation,
    )
    from neariq_sms.usecases.numbers import (
        ProvisionResult,
        SmsStatus,
        get_status,
        provision_number,
        release_number,
        search_numbers,
    )
    from neariq_sms.usecases.paging import Page
    from neariq_sms.usecases.registration import (
        get_registration,
        parse_registration,
        register_sender,
        resend_registration_otp,
    )
    from neariq_sms.usecases.registration_sync import (
        SyncReport,
        nudge_registration,
        sync_registration,
        sync_registrations,
    )
    from neariq_sms.usecases.reminders import (
        ReminderResult,
        cancel_reminder,
        list_reminders,
        schedule_reminder,
    )
    from neariq_sms.usecases.replies import send_reply
    from neariq_sms.usecases.sending import (
        DispatchReport,
        SendResult,
        dispatch_due,
        handle_status_callback,
        send_review_request,
    )

#: The module of each name.
_HOMES = {
    "ConsentRow": "neariq_sms.usecases.consent_import",
    "ConversationItem": "neariq_sms.usecases.inbound",
    "ConversationSummary": "neariq_sms.usecases.conversations",
    "DispatchReport": "neariq_sms.usecases.sending",
    "ImportReport": "neariq_sms.usecases.consent_import",
    "InboundResult": "neariq_sms.usecases.inbound",
    "Page": "neariq_sms.usecases.paging",
    "ProvisionResult": "neariq_sms.usecases.numbers",
    "RejectedRow": "neariq_sms.usecases.consent_import",
    "ReminderResult": "neariq_sms.usecases.reminders",
    "SendResult": "neariq_sms.usecases.sending",
    "SmsStatus": "neariq_sms.usecases.numbers",
    "SyncReport": "neariq_sms.usecases.registration_sync",
    "cancel_reminder": "neariq_sms.usecases.reminders",
    "change_plan": "neariq_sms.usecases.business",
    "consent_history": "neariq_sms.usecases.consent",
    "conversation_messages": "neariq_sms.usecases.conversations",
    "create_business": "neariq_sms.usecases.business",
    "deactivate_business": "neariq_sms.usecases.business",
    "dispatch_due": "neariq_sms.usecases.sending",
    "export_consents": "neariq_sms.usecases.consent",
    "get_consent": "neariq_sms.usecases.consent",
    "get_message": "neariq_sms.usecases.conversations",
    "get_registration": "neariq_sms.usecases.registration",
    "get_status": "neariq_sms.usecases.numbers",
    "handle_inbound_message": "neariq_sms.usecases.inbound",
    "handle_status_callback": "neariq_sms.usecases.sending",
    "import_consents": "neariq_sms.usecases.consent_import",
    "list_businesses": "neariq_sms.usecases.business",
    "list_consents": "neariq_sms.usecases.consent",
    "list_conversation": "neariq_sms.usecases.inbound",
    "list_conversations": "neariq_sms.usecases.conversations",
    "list_reminders": "neariq_sms.usecases.reminders",
    "mark_conversation_read": "neariq_sms.usecases.conversations",
    "nudge_registration": "neariq_sms.usecases.registration_sync",
    "opt_in": "neariq_sms.usecases.consent",
    "opt_out": "neariq_sms.usecases.consent",
    "parse_registration": "neariq_sms.usecases.registration",
    "provision_number": "neariq_sms.usecases.numbers",
    "reactivate_business": "neariq_sms.usecases.business",
    "record_consent": "neariq_sms.usecases.consent",
    "register_sender": "neariq_sms.usecases.registration",
    "release_number": "neariq_sms.usecases.numbers",
    "resend_registration_otp": "neariq_sms.usecases.registration",
    "schedule_reminder": "neariq_sms.usecases.reminders",
    "search_numbers": "neariq_sms.usecases.numbers",
    "send_reply": "neariq_sms.usecases.replies",
    "send_review_request": "neariq_sms.usecases.sending",
    "sync_registration": "neariq_sms.usecases.registration_sync",
    "sync_registrations": "neariq_sms.usecases.registration_sync",
}


__getattr__, __dir__ = lazy_names(__name__, _HOMES)


__all__ = [
    "ConsentRow",
    "ConversationItem",
    "ConversationSummary",
    "DispatchReport",
    "ImportReport",
    "InboundResult",
    "Page",
    "ProvisionResult",
    "ReconcileReport",
    "RejectedRow",
    "ReminderResult",
    "Resolution",
    "SendResult",
    "SmsStatus",
    "SyncReport",
    "cancel_reminder",
    "change_plan",
    "consent_history",
    "conversation_messages",
    "create_business",
    "deactivate_business",
    "dispatch_due",
    "export_consents",
    "get_consent",
    "get_message",
    "get_registration",
    "get_status",
    "handle_inbound_message",
    "handle_status_callback",
    "import_consents",
    "list_businesses",
    "list_consents",
    "list_conversation",
    "list_conversations",
    "list_reminders",
    "mark_conversation_read",
    "nudge_registration",
    "opt_in",
    "opt_out",
    "parse_registration",
    "provision_number",
    "reactivate_business",
    "reconcile",
    "record_consent",
    "register_sender",
    "release_number",
    "resend_registration_otp",
    "schedule_reminder",
    "search_numbers",
    "send_reply",
    "send_review_request",
    "sync_registration",
    "sync_registrations",
]
