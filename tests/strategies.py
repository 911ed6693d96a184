"""Hypothesis strategies for the domain, in one module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import strategies as st

from neariq_sms.domain.messages import MessageStatus
from neariq_sms.domain.plans import Plan
from neariq_sms.domain.segments import GSM7_BASIC, GSM7_EXTENSION

#: Fictional +1 555 numbers (the spec's examples live there); no time zone is known
#: for them, so the business's zone decides quiet hours.
customer_phones = st.integers(min_value=100, max_value=199).map(lambda n: f"+1555765{n:04d}")

#: Any NANP number whose area code and exchange start with 2-9 (area code not N11).
nanp_numbers = st.builds(
    lambda npa, nxx, line: f"+1{npa}{nxx}{line:04d}",
    st.integers(200, 999).filter(lambda n: n % 100 != 11).map(str),
    st.integers(200, 999).map(str),
    st.integers(0, 9999),
)

#: A few distinct spellings of one number, as users type them.
phone_spellings = st.sampled_from(
    ["+15557654321", "(555) 765-4321", "555-765-4321", "555.765.4321", "1 555 765 4321"]
)

plans = st.sampled_from(list(Plan))
sms_plans = st.sampled_from([p for p in Plan if p.includes_sms])
provider_statuses = st.sampled_from(
    [s.value for s in MessageStatus if s not in (MessageStatus.SCHEDULED, MessageStatus.SUBMITTING)]
)

gsm_basic_text = st.text(alphabet=sorted(GSM7_BASIC), max_size=400)
gsm_text = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), max_size=400)
#: Text that forces UCS-2: at least one character outside GSM-7, emoji included.
non_gsm_chars = st.sampled_from(["é\u0301", "ł", "😀", "👍🏽", "中", "ж", "\u2019"])

#: Moments within a few years of the spec's dates, always aware UTC.
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)

#: How far a test advances the clock: a minute up to forty days.
clock_steps = st.integers(min_value=1, max_value=40 * 24 * 60).map(lambda m: timedelta(minutes=m))

#: Bodies customers text in; some keywords, some not.
inbound_bodies = st.sampled_from(
    ["STOP", "Stop.", " stop ", "opt out", "START", "yes", "HELP", "info", "STOP PLEASE", "Thanks!"]
)
