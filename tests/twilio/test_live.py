"""Opt-in: TwilioTelephony against the real Twilio API with the account's *test* credentials.

Test credentials (Console > Account > API keys & tokens > Test credentials)
never buy or send anything and cost nothing; Twilio answers according to
"magic" numbers instead. To try the adapter for real::

    export TWILIO_TEST_ACCOUNT_SID=AC...   # the *test* Account SID
    export TWILIO_TEST_AUTH_TOKEN=...      # the *test* Auth Token
    .venv/bin/python -m pytest -m twilio_live -ra

Magic numbers used here (https://www.twilio.com/docs/iam/test-credentials):

- buy ``+15005550006``: succeeds; ``+15005550000``: unavailable (21422);
  ``+15005550001``: invalid (21421).
- send from ``+15005550006``: succeeds; to ``+15005550001``: invalid (21211);
  to ``+15005550004``: the recipient opted out (21610); to ``+15005550009``:
  not a mobile number (21614).

Test credentials cannot search available numbers or release numbers (Twilio
answers 20008), so those two are covered by the loopback tests only.
"""

from __future__ import annotations

import os
import re

import pytest
from twilio.rest import Client

from neariq_sms.adapters.twilio import TwilioTelephony
from neariq_sms.domain.errors import (
    InvalidPhone,
    NumberUnavailable,
    RecipientOptedOut,
    SmsNotConfigured,
)
from neariq_sms.domain.phone import PhoneNumber

SID = os.environ.get("TWILIO_TEST_ACCOUNT_SID", "")
TOKEN = os.environ.get("TWILIO_TEST_AUTH_TOKEN", "")

pytestmark = [
    pytest.mark.twilio_live,
    pytest.mark.skipif(
        not (SID and TOKEN), reason="set TWILIO_TEST_ACCOUNT_SID and TWILIO_TEST_AUTH_TOKEN"
    ),
]

MAGIC_OK = PhoneNumber("+15005550006")
RECIPIENT = PhoneNumber("+14108675310")


@pytest.fixture
def twilio() -> TwilioTelephony:
    return TwilioTelephony(Client(SID, TOKEN), public_url=None, timeout=15.0)


def test_live_purchase_of_the_magic_available_number(twilio: TwilioTelephony) -> None:
    """+15005550006 can always be 'bought' with test credentials."""
    bought = twilio.purchase(MAGIC_OK)
    assert re.fullmatch(r"PN[0-9a-fA-F]{32}", bought.provider_sid)


@pytest.mark.parametrize("number", ["+15005550000", "+15005550001"])
def test_live_purchase_of_an_unavailable_number(twilio: TwilioTelephony, number: str) -> None:
    """21422 and 21421 from the real API map to number_unavailable."""
    with pytest.raises(NumberUnavailable):
        twilio.purchase(PhoneNumber(number))


def test_live_send(twilio: TwilioTelephony) -> None:
    """A message from the magic sender is accepted."""
    sent = twilio.send(from_=MAGIC_OK, to=RECIPIENT, body="neariq-sms live test")
    assert re.fullmatch(r"SM[0-9a-fA-F]{32}", sent.provider_sid)


def test_live_send_to_an_opted_out_recipient(twilio: TwilioTelephony) -> None:
    """+15005550004 answers 21610."""
    with pytest.raises(RecipientOptedOut):
        twilio.send(from_=MAGIC_OK, to=PhoneNumber("+15005550004"), body="hi")


@pytest.mark.parametrize("number", ["+15005550001", "+15005550009"])
def test_live_send_to_an_invalid_recipient(twilio: TwilioTelephony, number: str) -> None:
    """21211 and 21614 map to invalid_phone on 'to'."""
    with pytest.raises(InvalidPhone):
        twilio.send(from_=MAGIC_OK, to=PhoneNumber(number), body="hi")


def test_live_wrong_token_is_not_configured() -> None:
    """The real 401 / 20003 maps to sms_not_configured."""
    twilio = TwilioTelephony(Client(SID, "0" * 32), public_url=None, timeout=15.0)
    with pytest.raises(SmsNotConfigured):
        twilio.send(from_=MAGIC_OK, to=RECIPIENT, body="hi")
