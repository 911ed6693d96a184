"""Twilio: the production telephony provider and its signed webhooks.

Needs the ``twilio`` extra (``pip install 'neariq-sms[twilio]'``).
"""

from neariq_sms.adapters.twilio.telephony import RetryPolicy, TwilioTelephony
from neariq_sms.adapters.twilio.webhooks import (
    INBOUND_PATH,
    SIGNATURE_HEADER,
    STATUS_PATH,
    TwilioSignatureVerifier,
    inbound_from_form,
    parse_form,
    status_from_form,
    twiml_reply,
)

__all__ = [
    "INBOUND_PATH",
    "SIGNATURE_HEADER",
    "STATUS_PATH",
    "RetryPolicy",
    "TwilioSignatureVerifier",
    "TwilioTelephony",
    "inbound_from_form",
    "parse_form",
    "status_from_form",
    "twiml_reply",
]
