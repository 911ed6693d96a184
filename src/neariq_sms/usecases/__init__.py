"""Use cases: one plain function per operation, dependencies passed by keyword."""

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
from neariq_sms.usecases.reconcile import ReconcileReport, Resolution, reconcile
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
