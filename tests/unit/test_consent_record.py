"""ConsentRecord's transitions: who may lift which opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neariq_sms.domain import (
    InvalidField,
    MissingField,
    OptOutLocked,
    PhoneNumber,
    RecipientOptedOut,
)
from neariq_sms.domain.consent import ConsentRecord
from neariq_sms.domain.parsing import parse_source

T0 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


def _opted_out(source: str) -> ConsentRecord:
    record = ConsentRecord.first_consent(
        "b1", PhoneNumber("+15557654321"), source="paper", at=T0 - timedelta(days=1), now=T0
    )
    out = record.opt_out(source=source, now=T0)
    assert out is not None
    return out


@pytest.mark.parametrize("source", ["keyword", "provider"])
def test_an_opt_out_by_text_or_carrier_is_lifted_by_the_keyword_only(source: str) -> None:
    record = _opted_out(source)
    assert record.opt_out_locked
    for given in (None, LATER - timedelta(minutes=1)):
        with pytest.raises(OptOutLocked):
            record.opt_in(source="web_form", now=LATER, consented_at=given)
    lifted = record.opt_in(source="keyword", now=LATER)
    assert lifted is not None
    assert (lifted.allows_sending, lifted.consented_at) == (True, LATER)


def test_a_business_opt_out_is_lifted_by_a_given_newer_consent_only() -> None:
    record = _opted_out("api")
    assert not record.opt_out_locked
    with pytest.raises(MissingField):
        record.opt_in(source="web_form", now=LATER)
    with pytest.raises(InvalidField):
        record.opt_in(source="web_form", now=LATER, consented_at=T0)
    with pytest.raises(RecipientOptedOut):
        record.consent(source="web_form", at=LATER, now=LATER)
    lifted = record.opt_in(source="web_form", now=LATER, consented_at=T0 + timedelta(seconds=1))
    assert lifted is not None
    assert lifted.allows_sending


def test_the_first_opt_out_stays() -> None:
    record = _opted_out("keyword")
    assert record.opt_out(source="api", now=LATER) is None


@pytest.mark.parametrize("source", ["keyword", "provider", "import", " Import "])
def test_reserved_sources_are_refused_unless_asked_for(source: str) -> None:
    with pytest.raises(InvalidField):
        parse_source(source)
    assert parse_source(source, reserved=True) == source.strip().lower()
