"""Reconciliation: close the windows of a send or a purchase that only the provider can answer.

A process that dies between the steps of a send leaves the message
``submitting``; one whose provider call timed out does too. A process that
dies around a purchase leaves a ``pending`` claim, or a bought number no row
records. :func:`reconcile` asks the provider about each and settles it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal, get_args

import attrs

from neariq_sms.domain.business import NumberStatus, PurchasedNumber
from neariq_sms.domain.errors import ProviderError, SmsNotConfigured
from neariq_sms.domain.messages import MessageStatus, OutboundMessage, ProviderMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.usecases._common import end_unsent, log

DEFAULT_OLDER_THAN = timedelta(seconds=900)
#: How far before a message turned ``submitting`` the provider's clock may date it.
CLOCK_SLACK = timedelta(minutes=5)
#: Messages settled per storage read; the run continues until none is left.
BATCH = 100

Outcome = Literal[
    "sent",  # a submitting message the provider has: its sid and status recorded
    "failed",  # a submitting message the provider never got: failed, units given back
    "activated",  # a pending claim whose number the provider holds
    "dropped",  # a pending claim whose number was never bought
    "released",  # a number the provider holds for us that no business holds
    "orphaned",  # the same, reported only (release_orphans=False)
    "unresolved",  # the provider could not be asked; left as it was
]
#: Every outcome, in the order reports count them.
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


@attrs.frozen
class Resolution:
    """One thing reconciliation settled (or could not)."""

    #: ``account``: the provider's list of numbers, which claims and orphans are settled by.
    kind: Literal["message", "number", "account"]
    #: The message id, the number in E.164, or ``numbers`` for the account's list.
    subject: str
    outcome: Outcome
    provider_sid: str | None = None
    status: MessageStatus | None = None
    units: int = 0
    business_id: str | None = None
    reason: str | None = None

    def describe(self) -> str:
        """One line for an operator."""
        if self.kind == "message":
            head = f"message {self.subject} (business {self.business_id})"
            if self.outcome == "sent":
                status = self.status.value if self.status else "?"
                return f"{head}: submitting -> {status}, provider sid {self.provider_sid}"
            if self.outcome == "failed":
                return (
                    f"{head}: submitting -> failed, not found at the provider;"
                    f" {self.units} unit(s) given back"
                )
            return f"{head}: still submitting, provider not asked ({self.reason})"
        if self.kind == "account":
            return (
                f"the provider's numbers could not be listed ({self.reason}): pending claims"
                " and numbers no business holds are left for the next run"
            )
        head, sid = f"number {self.subject}", self.provider_sid
        if self.outcome == "activated":
            return f"{head} (business {self.business_id}): pending -> active, sid {sid}"
        if self.outcome == "dropped":
            return f"{head} (business {self.business_id}): pending claim dropped, never bought"
        if self.outcome == "released":
            return f"{head}: held by no business, released at the provider (sid {sid})"
        if self.outcome == "orphaned":
            return f"{head}: held by no business, not released (sid {sid})"
        return f"{head}: left as it was ({self.reason})"


@attrs.frozen
class ReconcileReport:
    resolutions: tuple[Resolution, ...] = ()

    def count(self, outcome: Outcome) -> int:
        return sum(r.outcome == outcome for r in self.resolutions)

    @property
    def changed(self) -> bool:
        """True when the run changed storage or the provider account."""
        return any(r.outcome not in ("orphaned", "unresolved") for r in self.resolutions)

    def counts(self) -> dict[Outcome, int]:
        """How many resolutions had each outcome (every outcome, zeros too)."""
        return {outcome: self.count(outcome) for outcome in OUTCOMES}

    def summary(self) -> str:
        """The count line."""
        parts = ", ".join(f"{n} {outcome}" for outcome, n in self.counts().items())
        return f"reconciled {len(self.resolutions)}: {parts}"


def reconcile(
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    clock: Clock,
    older_than: timedelta = DEFAULT_OLDER_THAN,
    release_orphans: bool = True,
) -> ReconcileReport:
    """Settle what crashes and unknown provider outcomes left open.

    - Messages ``submitting`` for longer than ``older_than``: the provider is
      asked for messages with the same sender, recipient and body sent since
      the message turned ``submitting``. Found: its sid and status are
      recorded (the message keeps its units: it went out). Not found: the
      message is ``failed`` and its units are given back.
    - Pending number claims older than ``older_than``: activated when the
      provider holds the number, dropped otherwise.
    - Numbers the provider holds with their webhook pointing at us that no
      business holds (pending or active): released, or only reported when
      ``release_orphans`` is false.

    ``older_than`` must exceed the longest a send or a purchase can be in
    flight (the provider timeout, 10 s by default), or a call still running
    could be settled under it. Every change is one conditional statement from
    the state read, so concurrent runs and live traffic are safe. Idempotent:
    a second run changes nothing. A lookup the provider fails is reported as
    ``unresolved`` and left for the next run.

    Raises:
        SmsNotConfigured: when there is no provider to ask.
    """
    if not telephony.configured:
        raise SmsNotConfigured()
    now = clock.now()
    cutoff = now - older_than
    resolutions: list[Resolution] = []
    resolutions += _messages(uow=uow, telephony=telephony, clock=clock, cutoff=cutoff)
    try:
        owned = list(telephony.owned_numbers())
    except ProviderError as exc:
        # Claims and orphans are settled against this list: without it none can be, and
        # the run must say so (the CLI exits 1 on anything unresolved).
        log.warning("reconcile: the provider's numbers could not be listed: %s", exc.reason)
        resolutions += _unlisted(uow=uow, cutoff=cutoff, reason=exc.reason)
        report = ReconcileReport(tuple(resolutions))
        log.info("%s", report.summary())
        return report
    resolutions += _claims(uow=uow, owned=owned, cutoff=cutoff)
    resolutions += _orphans(uow=uow, telephony=telephony, owned=owned, release=release_orphans)
    report = ReconcileReport(tuple(resolutions))
    log.info("%s", report.summary())
    return report


# --- messages ------------------------------------------------------------------------


def _messages(
    *, uow: UnitOfWork, telephony: TelephonyProvider, clock: Clock, cutoff: datetime
) -> list[Resolution]:
    done: list[Resolution] = []
    skipped: set[str] = set()
    while True:
        with uow:
            stuck = [
                m
                for m in uow.messages.submitting_before(cutoff, BATCH + len(skipped))
                if m.id not in skipped
            ]
        if not stuck:
            return done
        for message in stuck:
            resolution = _settle_message(message, uow=uow, telephony=telephony, clock=clock)
            if resolution is None:
                continue  # settled meanwhile by someone else
            done.append(resolution)
            if resolution.outcome == "unresolved":
                skipped.add(message.id)
        if len(stuck) < BATCH:
            return done


def _settle_message(
    message: OutboundMessage, *, uow: UnitOfWork, telephony: TelephonyProvider, clock: Clock
) -> Resolution | None:
    since = (message.updated_at or message.created_at) - CLOCK_SLACK
    try:
        candidates = telephony.find_messages(
            from_=message.from_, to=message.to, sent_after=since, sent_before=clock.now()
        )
    except ProviderError as exc:
        log.warning("reconcile: lookup failed message=%s: %s", message.id, exc.reason)
        return Resolution(
            "message",
            message.id,
            "unresolved",
            business_id=message.business_id,
            reason=exc.reason,
        )
    now = clock.now()
    with uow:
        match = _match(message, candidates, uow)
        if match is not None:
            moved = uow.messages.transition(
                message.id,
                allowed_from={MessageStatus.SUBMITTING},
                to=match.status,
                now=now,
                provider_sid=match.provider_sid,
            )
            uow.commit()
            if moved is None:
                return None
            log.info("reconcile: message found message=%s sid=%s", message.id, match.provider_sid)
            return Resolution(
                "message",
                message.id,
                "sent",
                provider_sid=match.provider_sid,
                status=match.status,
                units=moved.units,
                business_id=message.business_id,
            )
        if end_unsent(uow, message, to=MessageStatus.FAILED, now=now) is None:
            return None
        uow.commit()
    log.info("reconcile: message never reached the provider message=%s", message.id)
    return Resolution(
        "message", message.id, "failed", units=message.units, business_id=message.business_id
    )


def _match(
    message: OutboundMessage, candidates: Sequence[ProviderMessage], uow: UnitOfWork
) -> ProviderMessage | None:
    """The earliest provider message with our sender, recipient and body that no
    other message of ours has claimed (inside an open unit of work)."""
    for candidate in sorted(candidates, key=lambda c: (c.sent_at, c.provider_sid)):
        if (candidate.from_, candidate.to, candidate.body) != (
            message.from_,
            message.to,
            message.body,
        ):
            continue
        if uow.messages.by_provider_sid(candidate.provider_sid) is None:
            return candidate
    return None


# --- numbers -------------------------------------------------------------------------


def _claims(
    *, uow: UnitOfWork, owned: Sequence[PurchasedNumber], cutoff: datetime
) -> list[Resolution]:
    by_number: dict[PhoneNumber, PurchasedNumber] = {n.number: n for n in owned}
    done: list[Resolution] = []
    with uow:
        claims = list(uow.numbers.pending_before(cutoff))
    for claim in claims:
        bought = by_number.get(claim.number)
        with uow:
            current = uow.numbers.get(claim.id)
            if current is None or current.status is not NumberStatus.PENDING:
                continue
            if bought is not None:
                uow.numbers.update(current.activated(bought))
                outcome: Outcome = "activated"
            else:
                uow.numbers.delete(claim.id)
                outcome = "dropped"
            uow.commit()
        log.info("reconcile: pending claim %s number=%s", outcome, claim.number)
        done.append(
            Resolution(
                "number",
                claim.number.e164,
                outcome,
                provider_sid=bought.provider_sid if bought else None,
                business_id=claim.business_id,
            )
        )
    return done


def _unlisted(*, uow: UnitOfWork, cutoff: datetime, reason: str) -> list[Resolution]:
    """What a run could not settle for want of the provider's list of numbers."""
    with uow:
        claims = list(uow.numbers.pending_before(cutoff))
    return [
        *(
            Resolution(
                "number",
                claim.number.e164,
                "unresolved",
                business_id=claim.business_id,
                reason=reason,
            )
            for claim in claims
        ),
        Resolution("account", "numbers", "unresolved", reason=reason),
    ]


def _orphans(
    *,
    uow: UnitOfWork,
    telephony: TelephonyProvider,
    owned: Sequence[PurchasedNumber],
    release: bool,
) -> list[Resolution]:
    done: list[Resolution] = []
    for bought in owned:
        with uow:
            # Provisioning claims the number in storage before it buys, so a
            # purchase in flight is never taken for an orphan.
            holder = uow.numbers.holder_of(bought.number)
        if holder is not None:
            continue
        subject = bought.number.e164
        if not release:
            done.append(Resolution("number", subject, "orphaned", provider_sid=bought.provider_sid))
            continue
        try:
            telephony.release(bought.provider_sid)
        except ProviderError as exc:
            log.warning("reconcile: releasing an orphan failed number=%s: %s", subject, exc.reason)
            done.append(
                Resolution(
                    "number",
                    subject,
                    "unresolved",
                    provider_sid=bought.provider_sid,
                    reason=exc.reason,
                )
            )
            continue
        log.info("reconcile: orphaned number released number=%s", subject)
        done.append(Resolution("number", subject, "released", provider_sid=bought.provider_sid))
    return done


__all__ = ["DEFAULT_OLDER_THAN", "OUTCOMES", "ReconcileReport", "Resolution", "reconcile"]
