"""The storage port: a unit of work and its repositories.

Every invariant the use cases rely on across processes is stated here as a
repository contract, so that a database can keep it with constraints and
single conditional statements. The in-memory adapter raises the very same
errors the SQL adapter does.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self

from neariq_sms.domain.business import Business, DashboardSession, SmsNumber
from neariq_sms.domain.consent import ConsentEvent, ConsentImport, ConsentRecord
from neariq_sms.domain.conversations import Conversation, ThreadMessage
from neariq_sms.domain.messages import (
    InboundMessage,
    MessageStatus,
    OutboundMessage,
    SendAnswer,
    SentMessage,
)
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.registration import SenderRegistration


class BusinessRepository(Protocol):
    def add(self, business: Business) -> None:
        """Store a new business. Raises ``BusinessConflict`` if the id exists."""
        ...

    def get(self, business_id: str, *, for_update: bool = False) -> Business | None:
        """The business, active or not, or ``None``.

        With ``for_update`` the row is locked until the transaction ends, so a
        read-modify-write (plan change, deactivation) cannot lose a concurrent one.
        """
        ...

    def with_number(self, business_id: str) -> tuple[Business, SmsNumber | None] | None:
        """The business, active or not, with the number it holds (what
        ``numbers.holding`` gives), in one read; ``None`` when there is no such business.
        """
        ...

    def update(self, business: Business) -> None:
        """Overwrite a stored business (plan, activity, settings)."""
        ...

    def list(self) -> Sequence[Business]:
        """Every business, oldest first."""
        ...


class NumberRepository(Protocol):
    def add(self, number: SmsNumber) -> None:
        """Store a number row.

        While a row is ``pending`` or ``active`` it holds two slots, which
        storage enforces: the business's one number, and the number's one
        business. Raises ``NumberAlreadyProvisioned`` when the business already
        holds a number, else ``DuplicateNumber`` when another business holds
        this one. Released rows hold nothing and are kept as history.
        """
        ...

    def get(self, number_id: str) -> SmsNumber | None: ...

    def holding(self, business_id: str) -> SmsNumber | None:
        """The business's pending or active number, if any."""
        ...

    def holder_of(self, number: PhoneNumber) -> SmsNumber | None:
        """The pending or active row of this number, whichever business holds it."""
        ...

    def rows_of(self, number: PhoneNumber) -> Sequence[SmsNumber]:
        """Every row of this number, whichever business, released ones included, oldest
        first: who ever held it."""
        ...

    def update(self, number: SmsNumber) -> None:
        """Overwrite a row (activate with its provider sid, or mark released)."""
        ...

    def delete(self, number_id: str) -> None:
        """Drop a pending claim whose purchase did not happen."""
        ...

    def history(self, business_id: str) -> Sequence[SmsNumber]:
        """Every row of the business, oldest first."""
        ...

    def pending_before(self, cutoff: datetime) -> Sequence[SmsNumber]:
        """Pending claims created before ``cutoff``, oldest first, of every business.

        A claim that old outlived the purchase it was made for: the process
        died, or the purchase's outcome was unknown (reconciliation).
        """
        ...


class ConsentRepository(Protocol):
    def get(
        self, business_id: str, phone: PhoneNumber, *, for_update: bool = False
    ) -> ConsentRecord | None:
        """The record for (business, phone).

        With ``for_update`` the row is locked until the transaction ends, so
        that rules read from it (consent, cooldown) cannot race a concurrent
        send to the same recipient.
        """
        ...

    def get_many(
        self, business_id: str, phones: Collection[PhoneNumber], *, for_update: bool = False
    ) -> Mapping[PhoneNumber, ConsentRecord]:
        """The records that exist among ``phones`` (for batched imports).

        With ``for_update`` the rows found are locked until the transaction
        ends: an import deciding from them cannot overwrite a concurrent opt-out.
        """
        ...

    def add_or_lock(self, records: Sequence[ConsentRecord]) -> Mapping[PhoneNumber, ConsentRecord]:
        """Insert each record whose (business, phone) has none yet, atomically
        (one phone per record); lock every row, inserted or not, until the
        transaction ends.

        Returns the records that were stored already, as they are once their
        lock is held: the caller decides from them and :meth:`update_many`.
        A concurrent first write of the same phone never fails either writer:
        the later one waits for the earlier and gets its row here.
        """
        ...

    def add_import(self, of: ConsentImport) -> None:
        """Store a bulk import's provenance (before the records that refer to it)."""
        ...

    def get_import(self, import_id: str) -> ConsentImport | None:
        """The import an event names (``ConsentEvent.import_id``), or ``None``."""
        ...

    def add_imported(
        self, of: ConsentImport, records: Sequence[ConsentRecord]
    ) -> Mapping[PhoneNumber, ConsentRecord]:
        """:meth:`add_or_lock` for a bulk import: each record inserted is first
        consented through ``of``, and its audit event is
        ``record.imported_event(of.id)``.

        :meth:`events` lists that event from now on, before any later one of
        the phone; storage may write it out as a row only when the phone's
        next event comes (an import then writes one row per record). Returns
        the records that were stored already, locked, as :meth:`add_or_lock`
        does. A database does it set-based (a bulk load and one merge per call).
        """
        ...

    def update_many(self, records: Sequence[ConsentRecord]) -> None:
        """Overwrite existing records, opt-out state included: read them with
        ``for_update`` first when the decision depends on that state."""
        ...

    def append_events(self, events: Sequence[ConsentEvent]) -> None:
        """Append to the audit trail (never updated, never deleted)."""
        ...

    def events(self, business_id: str, phone: PhoneNumber) -> Sequence[ConsentEvent]:
        """The audit trail of one record, oldest first."""
        ...

    def page(
        self, business_id: str, *, after: tuple[datetime, str] | None, limit: int
    ) -> Sequence[ConsentRecord]:
        """Records newest change first, ordered by (updated_at, phone) descending,
        strictly after the cursor key ``after`` when given."""
        ...

    def in_phone_order(
        self, business_id: str, *, after: str | None, limit: int
    ) -> Sequence[ConsentRecord]:
        """Up to ``limit`` records of the business in E.164 phone order, strictly
        after the phone ``after`` when given (exports walk it in short transactions)."""
        ...


class AllowanceRepository(Protocol):
    def used(self, business_id: str, period: str) -> int:
        """Segments used in the period (``YYYY-MM``); 0 when nothing was used."""
        ...

    def try_consume(self, business_id: str, period: str, units: int, limit: int) -> bool:
        """Add ``units`` to the period's use if and only if the result stays <= ``limit``.

        One atomic step: many concurrent workers never push use past the limit.
        """
        ...

    def give_back(self, business_id: str, period: str, units: int) -> None:
        """Return units consumed earlier in the same period."""
        ...


class MessageRepository(Protocol):
    def add(self, message: OutboundMessage) -> None:
        """Store a new message. Raises ``IdempotencyConflict`` when its
        (business, idempotency key) is taken."""
        ...

    def get(self, message_id: str) -> OutboundMessage | None: ...

    def by_idempotency_key(self, business_id: str, key: str) -> OutboundMessage | None: ...

    def by_provider_sid(self, provider_sid: str) -> OutboundMessage | None: ...

    def transition(
        self,
        message_id: str,
        *,
        allowed_from: Collection[MessageStatus],
        to: MessageStatus,
        now: datetime,
        provider_sid: str | None = None,
        error_code: int | None = None,
        units: int | None = None,
    ) -> OutboundMessage | None:
        """Move a message to ``to`` if and only if its status is in ``allowed_from``.

        One conditional statement, so concurrent callers cannot both win: the
        base of forward-only statuses and of claiming scheduled messages.
        ``provider_sid``, ``error_code`` and ``units`` are written when not
        ``None``. Returns the updated message, or ``None`` when nothing moved.
        """
        ...

    def record_sent(self, sends: Sequence[tuple[str, SentMessage]], *, now: datetime) -> None:
        """Step three of many sends at once, by message id: each message still
        ``submitting`` takes the provider's sid and status (and ``updated_at``);
        one that a status callback moved on already keeps its own. What
        :meth:`transition` from ``submitting`` does, in one statement for all."""
        ...

    def record_answer(self, message_id: str, answer: SendAnswer) -> None:
        """Keep what the first request of a send answered; a message that already
        has an answer keeps it (the first answer is the one repeats get)."""
        ...

    def forget_idempotency_key(self, message_id: str) -> None:
        """Free the message's idempotency key: its send never reached the provider,
        so a repeat with the key is a new send. The message itself stays."""
        ...

    def latest_review_request_at(self, business_id: str, to: PhoneNumber) -> datetime | None:
        """When the business last asked this recipient for a review, not
        counting messages that never went out (failed, canceled)."""
        ...

    def claim_due(self, now: datetime, limit: int) -> Sequence[OutboundMessage]:
        """Claim up to ``limit`` scheduled messages whose ``send_at`` has come:
        each moves to ``submitting``, oldest ``send_at`` first (equal ones in any
        order); returns them as they now are, in (``send_at``, id) order.

        Concurrent callers claim disjoint messages and never wait for one
        another's claims (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite holds
        the write lock): the base of running several dispatchers. The claimed
        rows stay locked until the transaction ends, so a transaction that would
        cancel them waits, and then finds them no longer scheduled.
        """
        ...

    def scheduled_for(self, business_id: str) -> Sequence[OutboundMessage]:
        """The business's messages still scheduled."""
        ...

    def for_recipient(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[OutboundMessage]:
        """Messages to one phone, newest first by (created_at, id), strictly
        before the cursor key when given."""
        ...

    def for_business(self, business_id: str) -> Sequence[OutboundMessage]:
        """Every message of the business, oldest first (audits and tests)."""
        ...

    def latest_reminder(self, business_id: str, reference: str) -> OutboundMessage | None:
        """The business's reminder with this reference: the pending one if any (there is
        at most one), else the newest that went out, else the newest (a reschedule
        makes a new one)."""
        ...

    def reminders(
        self,
        business_id: str,
        *,
        statuses: Collection[MessageStatus] | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[OutboundMessage]:
        """The business's reminders, soonest ``send_at`` first by (send_at, id),
        strictly after the cursor key when given; only ``statuses`` when given."""
        ...

    def submitting_before(self, cutoff: datetime, limit: int) -> Sequence[OutboundMessage]:
        """Messages of every business that became ``submitting`` before ``cutoff``
        (by ``updated_at``) and are still, oldest first, at most ``limit``.

        Such a message's provider call ended in a crash or an unknown outcome
        (reconciliation).
        """
        ...


class InboundRepository(Protocol):
    def add(self, message: InboundMessage) -> bool:
        """Store an inbound message; ``False`` (and nothing stored) when its
        provider sid was stored before — providers redeliver webhooks."""
        ...

    def for_sender(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[InboundMessage]:
        """Messages from one phone, newest first by (received_at, id)."""
        ...

    def get(self, message_id: str) -> InboundMessage | None: ...


class ConversationRepository(Protocol):
    """One summary row per (business, phone) thread, so that the thread list
    never scans the messages.

    Adapters keep it themselves: every message stored (``messages.add``, and
    ``inbound.add`` when it stores) updates its thread when the unit of work
    commits — it becomes the last message unless a later one is there already,
    and an inbound one adds one to ``unread`` and moves ``last_inbound_at`` —
    in one atomic statement per thread (no read-modify-write). Written at
    commit, thread rows are always the last rows a transaction locks (see
    :class:`UnitOfWork`), and no use case can forget them.
    """

    def get(self, business_id: str, phone: PhoneNumber) -> Conversation | None: ...

    def page(
        self, business_id: str, *, before: tuple[datetime, str] | None, limit: int
    ) -> Sequence[Conversation]:
        """Threads, most recent activity first by (last_message_at, phone E.164),
        strictly before the cursor key when given."""
        ...

    def summaries(
        self, business_id: str, *, before: tuple[datetime, str] | None, limit: int
    ) -> Sequence[tuple[Conversation, ConsentRecord | None]]:
        """The threads of :meth:`page`, each with its phone's consent record (if
        any), in one read: what the conversation list shows."""
        ...

    def thread(
        self,
        business_id: str,
        phone: PhoneNumber,
        *,
        before: tuple[datetime, str] | None,
        limit: int,
    ) -> Sequence[ThreadMessage]:
        """A page of the thread's messages, both directions, newest first by
        (created or received at, id), strictly before the cursor key when given."""
        ...

    def mark_read(self, business_id: str, phone: PhoneNumber) -> None:
        """Zero the thread's ``unread``; nothing when there is no such thread."""
        ...


class RegistrationRepository(Protocol):
    """Each business's current sender registration: at most one row per business
    (a resubmission updates it).

    A sync works on one registration over several transactions (mark a step
    attempting, commit, call the provider, store the sid): it first
    claims the registration (:meth:`claim`), a lease with an expiry, so that two
    syncs (other hosts, a cron overlapping itself) never work on the same one
    at once, and a sync that died frees it when the lease runs out.
    """

    def add(self, registration: SenderRegistration) -> None:
        """Store a business's first registration. Raises ``RegistrationInProgress``
        when the business has one already (a concurrent first ``register``)."""
        ...

    def current(self, business_id: str, *, for_update: bool = False) -> SenderRegistration | None:
        """The business's registration, or ``None``.

        With ``for_update`` the row is locked until the transaction ends, so a
        read-modify-write (resubmission, counting a blocked send) cannot lose a
        concurrent one. In the lock order it comes after the message rows.
        """
        ...

    def get(self, registration_id: str) -> SenderRegistration | None: ...

    def update(self, registration: SenderRegistration) -> None:
        """Overwrite the stored registration (status, steps, issues, counters, lease).

        The caller holds the row (``current(..., for_update=True)``) or the
        lease (:meth:`claim`).
        """
        ...

    def in_flight(self, *, limit: int) -> Sequence[SenderRegistration]:
        """Registrations a sync still advances (``draft``, ``submitted``,
        ``in_review``), least recently updated first, at most ``limit``; leased
        ones included (:meth:`claim` decides)."""
        ...

    def awaiting_number(self, *, limit: int) -> Sequence[SenderRegistration]:
        """Approved registrations whose business holds an active number (with its
        provider sid) that is not in the Messaging Service (the ``number`` step
        not ``approved``: adding it failed at provisioning), least recently
        updated first, at most ``limit``; leased ones included."""
        ...

    def claim(
        self, registration_id: str, *, owner: str, now: datetime, until: datetime
    ) -> SenderRegistration | None:
        """Lease the registration to ``owner`` until ``until``, if and only if no
        other owner's lease runs past ``now``.

        One conditional ``UPDATE ... WHERE leased_until IS NULL OR leased_until
        <= now OR lease_owner = owner`` (no lock held between transactions), so
        of two syncs at once exactly one wins. Returns the registration as
        leased, or ``None`` when another owner holds it. Renewing one's own
        lease succeeds.
        """
        ...

    def release(self, registration_id: str, *, owner: str) -> None:
        """End ``owner``'s lease; nothing when another owner holds it now."""
        ...


class SessionRepository(Protocol):
    def add(self, session: DashboardSession) -> None: ...

    def get(self, token_hash: str) -> DashboardSession | None: ...

    def delete(self, token_hash: str) -> None: ...

    def delete_for_business(self, business_id: str) -> int:
        """Delete every session of one business; returns how many there were."""
        ...


class Repositories(Protocol):
    """The repositories of an open unit of work."""

    @property
    def businesses(self) -> BusinessRepository: ...

    @property
    def numbers(self) -> NumberRepository: ...

    @property
    def consents(self) -> ConsentRepository: ...

    @property
    def allowances(self) -> AllowanceRepository: ...

    @property
    def messages(self) -> MessageRepository: ...

    @property
    def inbound(self) -> InboundRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def conversations(self) -> ConversationRepository: ...

    @property
    def registrations(self) -> RegistrationRepository: ...


class UnitOfWork(Repositories, Protocol):
    """The transaction boundary of a use case.

    ``with uow:`` begins a transaction; leaving the block rolls back whatever
    was not committed with :meth:`commit`. Repositories are reachable only
    inside the block. One instance may be shared by many threads: each thread
    has its own transaction. A use case may open several blocks in a row (a
    send commits before it calls the provider).

    **Lock order.** A transaction that locks several rows takes them in this
    order, and every use case keeps it, so that no two transactions wait on
    each other (PostgreSQL locks rows; SQLite takes the whole database at
    once and cannot deadlock):

    1. the business row (``businesses.get(..., for_update=True)``);
    2. consent rows (``consents.get``/``get_many`` with ``for_update``, and
       every consent write), several in E.164 order;
    3. message rows (``messages.transition``), then the business's registration
       row (``registrations.current(..., for_update=True)``, counting a blocked
       send; every other writer of that row locks nothing after it);
    4. the allowance row of a month (``allowances.try_consume``/``give_back``);
    5. conversation rows (``conversations.mark_read``, and the thread updates
       every stored message makes at commit).

    A send's first step reads the consent row for update, consumes the
    allowance and only then inserts its new message, which no other
    transaction can be holding. A refusal that records an opt-out (Twilio
    21610) therefore writes the consent row before failing the message and
    giving its units back.
    """

    def __enter__(self) -> Self: ...

    def reading(self) -> AbstractContextManager[Self]:
        """``with uow.reading():`` a block that only reads, instead of ``with uow:``.

        It never waits for writers, nor makes them wait (SQLite: a deferred
        transaction on a consistent snapshot, where ``with uow:`` takes the
        write lock up front). Everything else is as in ``with uow:``; a block
        opened this way must not write.

        Inside another reading block of the same thread it opens nothing: its
        reads join the outer block's transaction (on SQLite its snapshot), which
        stays open until the outer block ends; a host may so read a request's
        session and answer in one block.
        Inside ``with uow:`` it raises, as a second ``with uow:`` does.
        """
        ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make the block's changes durable. A conflict found only now raises
        the same domain error the repository method would have."""
        ...

    def rollback(self) -> None:
        """Discard the block's changes so far; the block stays open."""
        ...


__all__ = [
    "AllowanceRepository",
    "BusinessRepository",
    "ConsentRepository",
    "ConversationRepository",
    "InboundRepository",
    "MessageRepository",
    "NumberRepository",
    "RegistrationRepository",
    "Repositories",
    "SessionRepository",
    "UnitOfWork",
]
