"""Consent records and their append-only audit trail."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from neariq_sms.domain.errors import InvalidField, MissingField, OptOutLocked, RecipientOptedOut
from neariq_sms.domain.phone import PhoneNumber

#: The customer's own keyword (STOP / START by text).
KEYWORD = "keyword"
#: The carrier reported the opt-out (Twilio error 21610).
PROVIDER = "provider"
#: A bulk import.
IMPORT = "import"
#: The library's own sources: a caller writing one would forge the audit trail.
RESERVED_SOURCES = frozenset({KEYWORD, PROVIDER, IMPORT})
#: Opt-outs only the customer's opt-in keyword lifts (the carrier blocks the pair until then).
CUSTOMER_OPT_OUTS = frozenset({KEYWORD, PROVIDER})


class ConsentEventKind(enum.Enum):
    CONSENTED = "consented"
    OPTED_OUT = "opted_out"
    OPTED_IN = "opted_in"
    #: A newer consent for a phone that already had one.
    RENEWED = "renewed"


@attrs.frozen
class ConsentEvent:
    """An entry of the audit trail: what happened to a consent, when, from where."""

    business_id: str
    phone: PhoneNumber
    kind: ConsentEventKind
    source: str
    at: datetime
    #: The bulk import that recorded it (:class:`ConsentImport`), if one did.
    import_id: str | None = None


@attrs.frozen
class ConsentImport:
    """One bulk import: the provenance its records' events refer to (who, when, how)."""

    id: str
    business_id: str
    #: The source of rows that name none.
    source: str
    started_at: datetime


@attrs.frozen
class ConsentRecord:
    """One business's record for one phone.

    ``consented_at`` is ``None`` for a phone that opted out without ever
    consenting (a STOP from an unknown number must still block later sends).

    Records are made and changed only through the named constructors and
    transitions below; each returns the new record with the audit event that
    records the change (:data:`ConsentChange`), so storage appends exactly
    what the domain decided.
    """

    business_id: str
    phone: PhoneNumber
    source: str
    consented_at: datetime | None
    updated_at: datetime
    opted_out_at: datetime | None = None
    opt_out_source: str | None = None

    # --- named constructors: a phone's first record, with its event ---

    @classmethod
    def first_consent(
        cls, business_id: str, phone: PhoneNumber, *, source: str, at: datetime, now: datetime
    ) -> ConsentChange:
        """The record of a phone's first consent (given at ``at``)."""
        record = cls(business_id, phone, source=source, consented_at=at, updated_at=now)
        return record, record._event(ConsentEventKind.CONSENTED, source)

    @classmethod
    def imported(
        cls, of: ConsentImport, phone: PhoneNumber, *, source: str, at: datetime, now: datetime
    ) -> ConsentRecord:
        """The record of a phone first consented (given at ``at``) through import ``of``.

        Its event is :meth:`imported_event`: an import stores many, so the
        record alone stands for it until storage writes it out.
        """
        return cls(of.business_id, phone, source=source, consented_at=at, updated_at=now)

    def imported_event(self, import_id: str) -> ConsentEvent:
        """The audit event of this record as first stored by import ``import_id``."""
        return attrs.evolve(
            self._event(ConsentEventKind.CONSENTED, self.source), import_id=import_id
        )

    @classmethod
    def first_opt_in(
        cls, business_id: str, phone: PhoneNumber, *, source: str, at: datetime, now: datetime
    ) -> ConsentChange:
        """The record of a phone whose first word is an explicit subscribe (given at ``at``)."""
        record, _ = cls.first_consent(business_id, phone, source=source, at=at, now=now)
        return record, record._event(ConsentEventKind.OPTED_IN, source)

    @classmethod
    def first_opt_out(
        cls, business_id: str, phone: PhoneNumber, *, source: str, now: datetime
    ) -> ConsentChange:
        """The record of a phone that opts out without ever consenting: it still
        blocks every later send, import and consent write."""
        record = cls(
            business_id,
            phone,
            source=source,
            consented_at=None,
            updated_at=now,
            opted_out_at=now,
            opt_out_source=source,
        )
        return record, record._event(ConsentEventKind.OPTED_OUT, source)

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None

    @property
    def opt_out_locked(self) -> bool:
        """Opted out by the customer's text or by the carrier: only the
        customer's own opt-in keyword lifts it."""
        return self.opted_out and self.opt_out_source in CUSTOMER_OPT_OUTS

    @property
    def allows_sending(self) -> bool:
        return self.consented_at is not None and not self.opted_out

    # --- transitions: each returns the change, or None when nothing changes ---

    def renewed(self, *, source: str, at: datetime, now: datetime) -> ConsentChange | None:
        """A consent write (dashboard, API, import) given at ``at``: renews an older consent.

        Never lifts an opt-out (:class:`RecipientOptedOut`); only :meth:`opted_in` does.
        ``None`` when the stored consent is as new as ``at``: consent never moves back.
        """
        if self.opted_out:
            raise RecipientOptedOut()
        if not self._older_than(at):
            return None
        return self._consented(ConsentEventKind.RENEWED, source, at=at, now=now)

    def withdrawn(self, *, source: str, now: datetime) -> ConsentChange | None:
        """Opt out now; ``None`` when already opted out (the first opt-out stays)."""
        if self.opted_out:
            return None
        record = attrs.evolve(self, opted_out_at=now, opt_out_source=source, updated_at=now)
        return record, record._event(ConsentEventKind.OPTED_OUT, source)

    def opted_in(
        self, *, source: str, now: datetime, consented_at: datetime | None = None
    ) -> ConsentChange | None:
        """An explicit (re-)subscribe with consent given at ``consented_at`` (default now).

        Who may lift which opt-out:

        - the customer's opt-in keyword (``source`` :data:`KEYWORD`) lifts any
          opt-out, with consent now;
        - an opt-out by keyword or the carrier is lifted by nothing else
          (:class:`OptOutLocked`);
        - an opt-out the business recorded is lifted by the business only with
          a given ``consented_at`` newer than the opt-out (``MissingField`` /
          ``InvalidField`` for ``consentedAt`` otherwise).

        Without an opt-out it renews the consent; ``None`` when a given
        ``consented_at`` is not newer than the stored consent.
        """
        if source == KEYWORD:
            consented_at = now
        elif self.opt_out_locked:
            raise OptOutLocked()
        elif self.opted_out_at is not None:
            if consented_at is None:
                raise MissingField("consentedAt")
            if consented_at <= self.opted_out_at:
                raise InvalidField("consentedAt", "must be newer than the opt-out it lifts")
        elif consented_at is None:
            consented_at = now
        elif not self._older_than(consented_at):
            return None
        return self._consented(ConsentEventKind.OPTED_IN, source, at=consented_at, now=now)

    def _older_than(self, at: datetime) -> bool:
        return self.consented_at is None or self.consented_at < at

    def _consented(
        self, kind: ConsentEventKind, source: str, *, at: datetime, now: datetime
    ) -> ConsentChange:
        record = attrs.evolve(
            self,
            source=source,
            consented_at=at,
            opted_out_at=None,
            opt_out_source=None,
            updated_at=now,
        )
        return record, record._event(kind, source)

    def _event(self, kind: ConsentEventKind, source: str) -> ConsentEvent:
        return ConsentEvent(self.business_id, self.phone, kind, source, self.updated_at)


#: A record as a constructor or transition left it, with the event that records it.
ConsentChange = tuple[ConsentRecord, ConsentEvent]
