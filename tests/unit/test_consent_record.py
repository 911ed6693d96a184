"""ConsentRecord's constructors and transitions: the change each makes, its event, and
who may lift which opt-out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import (
    InvalidField,
    MissingField,
    OptOutLocked,
    PhoneNumber,
    RecipientOptedOut,
)
from neariq_sms.domain.consent import ConsentEvent, ConsentEventKind, ConsentRecord
from neariq_sms.domain.parsing import parse_source
from tests.strategies import moments

T0 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
PHONE = PhoneNumber("+15557654321")


def _consented(at: datetime = T0 - timedelta(days=1), now: datetime = T0) -> ConsentRecord:
    record, _ = ConsentRecord.first_consent("b1", PHONE, source="paper", at=at, now=now)
    return record


def _opted_out(source: str) -> ConsentRecord:
    change = _consented().withdrawn(source=source, now=T0)
    assert change is not None
    return change[0]


def test_each_first_record_comes_with_the_event_that_records_it() -> None:
    """first_consent, first_opt_in and first_opt_out each return the record and its event."""
    consent, consent_event = ConsentRecord.first_consent(
        "b1", PHONE, source="paper", at=T0 - timedelta(days=2), now=T0
    )
    assert (consent.consented_at, consent.allows_sending) == (T0 - timedelta(days=2), True)
    assert consent_event == ConsentEvent("b1", PHONE, ConsentEventKind.CONSENTED, "paper", T0)
    opt_in, opt_in_event = ConsentRecord.first_opt_in("b1", PHONE, source="api", at=T0, now=T0)
    assert opt_in.allows_sending
    assert opt_in_event == ConsentEvent("b1", PHONE, ConsentEventKind.OPTED_IN, "api", T0)
    opt_out, opt_out_event = ConsentRecord.first_opt_out("b1", PHONE, source="keyword", now=T0)
    assert (opt_out.consented_at, opt_out.opted_out_at, opt_out.allows_sending) == (None, T0, False)
    assert opt_out_event == ConsentEvent("b1", PHONE, ConsentEventKind.OPTED_OUT, "keyword", T0)


def test_a_newer_consent_renews_and_an_older_or_equal_one_changes_nothing() -> None:
    """renewed moves consented_at forward with a RENEWED event, never back."""
    record = _consented(at=T0)
    assert record.renewed(source="web_form", at=T0, now=LATER) is None
    assert record.renewed(source="web_form", at=T0 - timedelta(days=1), now=LATER) is None
    change = record.renewed(source="web_form", at=LATER, now=LATER)
    assert change is not None
    renewed, event = change
    assert (renewed.source, renewed.consented_at, renewed.updated_at) == ("web_form", LATER, LATER)
    assert event == ConsentEvent("b1", PHONE, ConsentEventKind.RENEWED, "web_form", LATER)


def test_a_consent_write_never_lifts_an_opt_out() -> None:
    for source in ("api", "keyword"):
        with pytest.raises(RecipientOptedOut):
            _opted_out(source).renewed(source="web_form", at=LATER, now=LATER)


@pytest.mark.parametrize("source", ["keyword", "provider"])
def test_an_opt_out_by_text_or_carrier_is_lifted_by_the_keyword_only(source: str) -> None:
    record = _opted_out(source)
    assert record.opt_out_locked
    for given_at in (None, LATER - timedelta(minutes=1)):
        with pytest.raises(OptOutLocked):
            record.opted_in(source="web_form", now=LATER, consented_at=given_at)
    change = record.opted_in(source="keyword", now=LATER)
    assert change is not None
    lifted, event = change
    assert (lifted.allows_sending, lifted.consented_at) == (True, LATER)
    assert (lifted.opted_out_at, lifted.opt_out_source) == (None, None)
    assert event == ConsentEvent("b1", PHONE, ConsentEventKind.OPTED_IN, "keyword", LATER)


def test_a_business_opt_out_is_lifted_by_a_given_newer_consent_only() -> None:
    record = _opted_out("api")
    assert not record.opt_out_locked
    with pytest.raises(MissingField):
        record.opted_in(source="web_form", now=LATER)
    with pytest.raises(InvalidField):
        record.opted_in(source="web_form", now=LATER, consented_at=T0)
    change = record.opted_in(source="web_form", now=LATER, consented_at=T0 + timedelta(seconds=1))
    assert change is not None
    assert change[0].allows_sending


def test_an_opt_in_without_an_opt_out_renews_like_a_consent() -> None:
    """Without an opt-out, an opt-in with an older given time changes nothing; without
    one it is consent now."""
    record = _consented(at=T0)
    assert record.opted_in(source="web_form", now=LATER, consented_at=T0) is None
    change = record.opted_in(source="web_form", now=LATER)
    assert change is not None
    assert (change[0].consented_at, change[1].kind) == (LATER, ConsentEventKind.OPTED_IN)


def test_the_first_opt_out_stays() -> None:
    record = _opted_out("keyword")
    assert record.withdrawn(source="api", now=LATER) is None


def test_an_opt_out_records_its_source_and_time_with_an_event() -> None:
    change = _consented().withdrawn(source="manual", now=LATER)
    assert change is not None
    record, event = change
    assert (record.opted_out_at, record.opt_out_source, record.allows_sending) == (
        LATER,
        "manual",
        False,
    )
    assert record.consented_at == T0 - timedelta(days=1)  # the consent it withdraws stays
    assert event == ConsentEvent("b1", PHONE, ConsentEventKind.OPTED_OUT, "manual", LATER)


@pytest.mark.parametrize("source", ["keyword", "provider", "import", " Import "])
def test_reserved_sources_are_refused_unless_asked_for(source: str) -> None:
    with pytest.raises(InvalidField):
        parse_source(source)
    assert parse_source(source, reserved=True) == source.strip().lower()


# --- invariants over any sequence of writes ----------------------------------------

_business_sources = st.sampled_from(["paper", "web_form", "api", "point_of_sale"])
_writes = st.lists(
    st.tuples(
        st.sampled_from(["renew", "opt_out", "opt_in", "keyword_opt_out", "keyword_opt_in"]),
        _business_sources,
        moments,
    ),
    max_size=12,
)


def _apply(record: ConsentRecord, kind: str, source: str, at: datetime, now: datetime) -> object:
    """One write; the change, ``None``, or the refusal it raised."""
    try:
        if kind == "renew":
            return record.renewed(source=source, at=at, now=now)
        if kind == "opt_out":
            return record.withdrawn(source=source, now=now)
        if kind == "keyword_opt_out":
            return record.withdrawn(source="keyword", now=now)
        if kind == "keyword_opt_in":
            return record.opted_in(source="keyword", now=now)
        return record.opted_in(source=source, now=now, consented_at=at)
    except (RecipientOptedOut, OptOutLocked, MissingField, InvalidField) as exc:
        return exc


@given(_writes)
def test_consent_never_moves_back_and_only_an_opt_in_lifts_an_opt_out(
    writes: list[tuple[str, str, datetime]],
) -> None:
    """Over any writes with a clock that never runs back: consented_at never moves
    back, a renewal never lifts an opt-out, an opt-out stays until an opt-in lifts
    it (a locked one only the keyword), and every change carries its event,
    stamped with the record's new time."""
    record = _consented(at=T0 - timedelta(days=3650), now=T0 - timedelta(days=3650))
    for kind, source, at in writes:
        now = max(at, record.updated_at)
        result = _apply(record, kind, source, min(at, now), now)
        if not isinstance(result, tuple):
            if record.opted_out and kind == "renew":
                assert isinstance(result, RecipientOptedOut)
            continue
        after, event = result
        assert (event.business_id, event.phone, event.at) == ("b1", PHONE, after.updated_at)
        assert after.consented_at is not None
        assert record.consented_at is not None
        assert after.consented_at >= record.consented_at
        if record.opted_out:
            assert not after.opted_out, f"{kind} changed an opted-out record without lifting it"
            assert kind == "keyword_opt_in" or (kind == "opt_in" and not record.opt_out_locked)
            assert event.kind is ConsentEventKind.OPTED_IN
        elif after.opted_out:
            assert event.kind is ConsentEventKind.OPTED_OUT
            assert after.consented_at == record.consented_at
        record = after


@given(moments, moments, moments)
def test_renewal_keeps_the_newest_consent(first: datetime, second: datetime, now: datetime) -> None:
    """Two renewals in any order end at the newer consent time."""
    now = max(first, second, now)
    start = _consented(at=datetime(2020, 1, 1, tzinfo=UTC), now=datetime(2020, 1, 1, tzinfo=UTC))
    for order in ((first, second), (second, first)):
        record = start
        for at in order:
            change = record.renewed(source="paper", at=at, now=now)
            record = change[0] if change is not None else record
        assert record.consented_at == max(first, second)
