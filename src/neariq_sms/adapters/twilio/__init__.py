"""Twilio: the production telephony provider, the sender registry (US A2P
10DLC) and the signed webhooks.

Needs the ``twilio`` extra (``pip install 'neariq-sms[twilio]'``) for the
provider and the signature check. The webhook paths and form helpers of
:mod:`neariq_sms.adapters.twilio.webhooks` import without it: the HTTP
contract routes the webhooks whether or not a provider is installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neariq_sms.adapters.twilio.webhooks import (
    INBOUND_PATH,
    SIGNATURE_HEADER,
    STATUS_MESSAGE_PARAM,
    STATUS_PATH,
    TWILIO_MESSAGE_STATUSES,
    InboundWebhook,
    TwilioSignatureVerifier,
    inbound_from_form,
    parse_form,
    status_from_form,
    status_message_id,
    status_report,
    status_report_from_form,
    twiml_reply,
)

if TYPE_CHECKING:
    from neariq_sms.adapters.twilio.registry import TwilioSenderRegistry
    from neariq_sms.adapters.twilio.telephony import RetryPolicy, TwilioTelephony

_LAZY = {
    "RetryPolicy": "telephony",
    "TwilioTelephony": "telephony",
    "TwilioSenderRegistry": "registry",
}


def __getattr__(name: str) -> Any:
    """The provider and the registry (which import the twilio SDK) load on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "INBOUND_PATH",
    "SIGNATURE_HEADER",
    "STATUS_MESSAGE_PARAM",
    "STATUS_PATH",
    "TWILIO_MESSAGE_STATUSES",
    "InboundWebhook",
    "RetryPolicy",
    "TwilioSenderRegistry",
    "TwilioSignatureVerifier",
    "TwilioTelephony",
    "inbound_from_form",
    "parse_form",
    "status_from_form",
    "status_message_id",
    "status_report",
    "status_report_from_form",
    "twiml_reply",
]
