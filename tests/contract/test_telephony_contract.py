"""The TelephonyProvider contract, run against every adapter.

The simulated provider (the sandbox) and Twilio over the loopback fake must
behave the same where a use case can tell: if the simulator lies, the use-case
tests built on it prove nothing. Failures are driven by each adapter's own
means: ``fail_next`` and the scripting sets on the simulator, the fake
server's injection and inventory on Twilio.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.adapters.memory.telephony import Operation
from neariq_sms.adapters.sql.sandbox import SqlSandboxState
from neariq_sms.adapters.twilio import RetryPolicy, TwilioTelephony
from neariq_sms.domain.business import AvailableNumber, PurchasedNumber
from neariq_sms.domain.errors import (
    NumberUnavailable,
    ProviderError,
    RecipientOptedOut,
    SmsNotConfigured,
)
from neariq_sms.domain.messages import MessageStatus
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports.telephony import TelephonyProvider
from tests.sql.backends import postgres_engine, sqlite_engine
from tests.twilio.fake_twilio import FakeTwilio

SPEC_EXAMPLE = AvailableNumber(PhoneNumber("+15125550123"), "(512) 555-0123", "Austin", "TX")
CUSTOMER = PhoneNumber("+15557654321")


@dataclass
class Harness:
    telephony: TelephonyProvider
    unconfigured: TelephonyProvider
    make_unavailable: Callable[[PhoneNumber], None]
    opt_out_at_carrier: Callable[[PhoneNumber], None]
    #: The next call of an operation fails as in an outage (retries included).
    fail_next: Callable[[Operation], object]


@pytest.fixture
def simulated() -> Harness:
    sim = SimulatedTelephony()
    return Harness(
        telephony=sim,
        unconfigured=SimulatedTelephony(configured=False),
        make_unavailable=sim.unavailable.add,
        opt_out_at_carrier=sim.carrier_opted_out.add,
        fail_next=lambda op: sim.fail_next(op, ProviderError(reason="injected")),
    )


@pytest.fixture
def twilio() -> Iterator[Harness]:
    with FakeTwilio() as fake:
        adapter = TwilioTelephony(
            fake.client(),
            public_url="https://sms.example.com",
            timeout=0.3,
            retry=RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0),
        )
        yield Harness(
            telephony=adapter,
            unconfigured=TwilioTelephony(None, public_url=None),
            make_unavailable=lambda number: fake.unavailable.add(number.e164),
            opt_out_at_carrier=lambda number: fake.opted_out.add(number.e164),
            # Search is retried (three attempts here); a send never is.
            fail_next=lambda op: fake.inject(op, status=500, times=3 if op == "search" else 1),
        )


def _sandbox_on(engine: sa.Engine) -> Harness:
    sim = SimulatedTelephony(state=SqlSandboxState(engine))
    return Harness(
        telephony=sim,
        unconfigured=SimulatedTelephony(configured=False, state=SqlSandboxState(engine)),
        make_unavailable=sim.unavailable.add,
        opt_out_at_carrier=sim.carrier_opted_out.add,
        fail_next=lambda op: sim.fail_next(op, ProviderError(reason="injected")),
    )


@pytest.fixture(params=["sqlite", "postgres"])
def sandbox_engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """A migrated, empty database whose sandbox tables hold the simulator's account."""
    engine = sqlite_engine() if request.param == "sqlite" else postgres_engine()
    yield engine
    engine.dispose()


@pytest.fixture
def sandbox_sqlite() -> Iterator[Harness]:
    """The simulator with its account in a SQLite database (what ``serve --sandbox`` runs)."""
    engine = sqlite_engine()
    yield _sandbox_on(engine)
    engine.dispose()


@pytest.fixture
def sandbox_postgres() -> Iterator[Harness]:
    engine = postgres_engine()
    yield _sandbox_on(engine)
    engine.dispose()


@pytest.fixture(params=["simulated", "sandbox_sqlite", "sandbox_postgres", "twilio"])
def harness(request: pytest.FixtureRequest) -> Harness:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def bought(harness: Harness) -> PurchasedNumber:
    return harness.telephony.purchase(SPEC_EXAMPLE.number)


def test_configured_reflects_the_credentials(harness: Harness) -> None:
    """Configured with credentials; without them every call is sms_not_configured."""
    assert harness.telephony.configured is True
    assert harness.unconfigured.configured is False
    with pytest.raises(SmsNotConfigured):
        harness.unconfigured.search_available("512", 1)
    with pytest.raises(SmsNotConfigured):
        harness.unconfigured.send(from_=SPEC_EXAMPLE.number, to=CUSTOMER, body="Hi")


def test_search_first_result_is_the_spec_example(harness: Harness) -> None:
    """Area code 512 starts at +15125550123, (512) 555-0123, Austin, TX."""
    assert harness.telephony.search_available("512", 1) == [SPEC_EXAMPLE]


def test_search_respects_the_limit_and_the_area_code(harness: Harness) -> None:
    """At most ``limit`` distinct local numbers, each in the area code, each named nationally."""
    found = harness.telephony.search_available("415", 4)
    assert len(found) == 4
    assert len({n.number for n in found}) == 4
    for offer in found:
        assert offer.number.e164.startswith("+1415")
        assert offer.friendly_name == offer.number.national


def test_purchase_returns_the_number_and_a_pn_sid(harness: Harness) -> None:
    """The bought number is no longer offered."""
    purchase = bought(harness)
    assert purchase.number == SPEC_EXAMPLE.number
    assert re.fullmatch(r"PN[0-9a-f]{32}", purchase.provider_sid)
    assert SPEC_EXAMPLE.number not in {
        n.number for n in harness.telephony.search_available("512", 5)
    }


def test_purchase_of_an_unavailable_number_is_number_unavailable(harness: Harness) -> None:
    """The provider's 'cannot be bought' carries the number."""
    harness.make_unavailable(SPEC_EXAMPLE.number)
    with pytest.raises(NumberUnavailable) as caught:
        bought(harness)
    assert caught.value.number == SPEC_EXAMPLE.number.e164


def test_release_is_idempotent(harness: Harness) -> None:
    """Releasing, releasing again, and releasing an unknown sid all succeed."""
    purchase = bought(harness)
    harness.telephony.release(purchase.provider_sid)
    harness.telephony.release(purchase.provider_sid)
    harness.telephony.release("PN" + "e" * 32)


def test_send_answers_an_sm_sid_and_queued(harness: Harness) -> None:
    """Twilio's sid shape and first status (no Messaging Service)."""
    sender = bought(harness).number
    sent = harness.telephony.send(from_=sender, to=CUSTOMER, body="Hi Jane")
    assert re.fullmatch(r"SM[0-9a-f]{32}", sent.provider_sid)
    assert sent.status is MessageStatus.QUEUED


def test_send_to_a_recipient_who_opted_out_at_the_carrier(harness: Harness) -> None:
    """Twilio's 21610 and the simulator's carrier list both surface as RecipientOptedOut."""
    sender = bought(harness).number
    harness.opt_out_at_carrier(CUSTOMER)
    with pytest.raises(RecipientOptedOut):
        harness.telephony.send(from_=sender, to=CUSTOMER, body="Hi")


def test_send_from_a_number_the_account_does_not_own(harness: Harness) -> None:
    """A provider refusal that is not ours to interpret: ProviderError with Twilio's 21606."""
    with pytest.raises(ProviderError) as caught:
        harness.telephony.send(from_=SPEC_EXAMPLE.number, to=CUSTOMER, body="Hi")
    assert caught.value.provider_code == 21606
    assert caught.value.ambiguous is False


def test_a_search_outage_is_a_provider_error(harness: Harness) -> None:
    """An outage surfaces as ProviderError, never as an SDK exception."""
    harness.fail_next("search")
    with pytest.raises(ProviderError):
        harness.telephony.search_available("512", 1)


def test_a_send_outage_is_a_provider_error_and_the_next_send_goes_through(
    harness: Harness,
) -> None:
    """The failure is the provider's, not a state the adapter gets stuck in."""
    sender = bought(harness).number
    harness.fail_next("send")
    with pytest.raises(ProviderError):
        harness.telephony.send(from_=sender, to=CUSTOMER, body="Hi")
    assert harness.telephony.send(from_=sender, to=CUSTOMER, body="Hi").provider_sid


# --- the sandbox as one account ---------------------------------------------------------


def test_simulators_never_repeat_a_sid() -> None:
    """Two simulators (two processes, or one restarted) hand out distinct sids."""
    first, second = SimulatedTelephony(), SimulatedTelephony()
    bought = [t.purchase(SPEC_EXAMPLE.number) for t in (first, second)]
    sent = [t.send(from_=SPEC_EXAMPLE.number, to=CUSTOMER, body="Hi") for t in (first, second)]
    assert bought[0].provider_sid != bought[1].provider_sid
    assert sent[0].provider_sid != sent[1].provider_sid


def test_simulators_on_one_database_are_one_account(sandbox_engine: sa.Engine) -> None:
    """Bought through one, the number sends through the other, is offered and sold by
    neither again, and each finds what the other sent; after release both may buy it."""
    one, other = _sandbox_on(sandbox_engine).telephony, _sandbox_on(sandbox_engine).telephony
    purchase = one.purchase(SPEC_EXAMPLE.number)
    assert other.owned_numbers() == [purchase]
    assert SPEC_EXAMPLE not in other.search_available("512", 3)
    with pytest.raises(NumberUnavailable):
        other.purchase(SPEC_EXAMPLE.number)
    before = datetime.now(UTC) - timedelta(seconds=1)
    sent = other.send(from_=SPEC_EXAMPLE.number, to=CUSTOMER, body="Hi Jane")
    found = one.find_messages(
        from_=SPEC_EXAMPLE.number,
        to=CUSTOMER,
        sent_after=before,
        sent_before=datetime.now(UTC) + timedelta(seconds=1),
    )
    assert [(m.provider_sid, m.body) for m in found] == [(sent.provider_sid, "Hi Jane")]
    other.release(purchase.provider_sid)
    assert one.owned_numbers() == []
    assert one.search_available("512", 1) == [SPEC_EXAMPLE]
    assert other.purchase(SPEC_EXAMPLE.number).provider_sid != purchase.provider_sid
