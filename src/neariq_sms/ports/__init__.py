"""The interfaces the use cases need. Adapters implement them; nothing here does I/O."""

from neariq_sms.ports.clock import Clock
from neariq_sms.ports.services import Services
from neariq_sms.ports.storage import (
    AllowanceRepository,
    BusinessRepository,
    ConsentRepository,
    ConversationRepository,
    InboundRepository,
    MessageRepository,
    NumberRepository,
    Repositories,
    SessionRepository,
    UnitOfWork,
)
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.ports.webhooks import WebhookVerifier

__all__ = [
    "AllowanceRepository",
    "BusinessRepository",
    "Clock",
    "ConsentRepository",
    "ConversationRepository",
    "InboundRepository",
    "MessageRepository",
    "NumberRepository",
    "Repositories",
    "Services",
    "SessionRepository",
    "TelephonyProvider",
    "UnitOfWork",
    "WebhookVerifier",
]
