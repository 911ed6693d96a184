from __future__ import annotations

from collections.abc import Iterator

import pytest

from neariq_sms.adapters.twilio import RetryPolicy, TwilioTelephony
from tests.twilio.fake_twilio import FakeTwilio

PUBLIC_URL = "https://sms.example.com"
#: Fast backoff: a test never waits more than a few hundredths of a second.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=2.0)
TIMEOUT = 0.3


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    """Every backoff the adapter asked for, in seconds (recorded instead of slept)."""
    return []


@pytest.fixture
def twilio(fake: FakeTwilio, sleeps: list[float]) -> TwilioTelephony:
    return TwilioTelephony(
        fake.client(),
        public_url=PUBLIC_URL,
        timeout=TIMEOUT,
        retry=FAST_RETRY,
        sleep=sleeps.append,
    )
