"""A hypothesis state machine drives random sequences of every use case and
checks the library's invariants after each step, on every storage backend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.adapters.twilio import status_report
from neariq_sms.domain import (
    PUBLIC_ERRORS,
    AllowanceExhausted,
    BusinessNotFound,
    ConsentRequired,
    Cooldown,
    DuplicateNumber,
    InvalidField,
    Keyword,
    MessageStatus,
    MissingField,
    NoSmsNumber,
    NumberAlreadyProvisioned,
    NumberStatus,
    NumberUnavailable,
    OptOutLocked,
    OutboundMessage,
    PhoneNumber,
    Plan,
    PlanRequired,
    Policy,
    ProviderError,
    RecipientOptedOut,
    SentMessage,
    SmsError,
    SmsNotConfigured,
    period_of,
)
from neariq_sms.domain.parsing import parse_customer_name
from neariq_sms.domain.reminders import Appointment
from neariq_sms.ports import UnitOfWork
from tests.backends import UowFactory
from tests.conftest import NOON_IN_AUSTIN
from tests.strategies import clock_steps, inbound_bodies, plans, provider_statuses
from tests.usecases.support import snapshot

#: Customers: fictional 555 numbers (the business's zone applies) and one Idaho
#: number whose area code spans two zones.
PHONES = ["+15557650101", "+15557650102", "+15557650103", "+12085550100"]
#: Numbers the sandbox sells: the first few lines of two area codes.
SELLABLE = [f"+1{ac}55501{line}" for ac in ("512", "415") for line in (23, 24, 25)]
KEYS = ["k1", "k2", "k3"]
REFERENCES = ["appt-1", "appt-2"]
REPLIES = ["See you soon!", "Thanks 😀"]
NAMES = ["Jane", "Ana María", "Zoë 😀", "Bob"]
TEMPLATES = [
    None,
    "Hi {first_name}! " + "Thank you for visiting {business_name}. " * 4 + "{review_link}",
]
POLICY = Policy(monthly_allowance={Plan.GROWTH: 4, Plan.PRO: 6, Plan.ENTERPRISE: 9})

#: Errors a rule raises before any provider call: the provider must not have been asked.
RULE_ERRORS = (
    BusinessNotFound, MissingField, InvalidField, SmsNotConfigured, PlanRequired, NoSmsNumber,
    ConsentRequired, Cooldown, AllowanceExhausted, NumberAlreadyProvisioned, DuplicateNumber,
)  # fmt: skip
PROVIDER_OPS = ("purchase", "release", "send")

failures = st.sampled_from(
    [
        ("send", ProviderError(reason="rejected", provider_code=30007), False),
        ("send", ProviderError(reason="timeout", ambiguous=True), False),
        ("send", ProviderError(reason="timeout", ambiguous=True), True),
        ("send", RecipientOptedOut(), False),
        ("purchase", ProviderError(reason="down"), False),
        ("purchase", NumberUnavailable(number="+15125550123"), False),
        ("release", ProviderError(reason="down"), False),
        ("release", ProviderError(reason="timeout", ambiguous=True), True),
    ]
)


def _same_request(first: OutboundMessage, phone: str, name: str) -> bool:
    """Whether a send with ``first``'s key is its repeat (not a shape error, not another
    recipient: those answer before or instead of the replay)."""
    try:
        parse_customer_name(name)
        return PhoneNumber.parse(phone, region="US", field="to") == first.to
    except SmsError:
        return False


#: The model's opted-out states.
OUT = ("out", "locked")


class WatchedTelephony(SimulatedTelephony):
    """The simulator, reporting every message that really goes out to the machine's model."""

    def __init__(self, on_sent: Callable[[PhoneNumber, PhoneNumber], None]) -> None:
        super().__init__()
        self.on_sent = on_sent
        self.opted_out_at_send: list[tuple[PhoneNumber, PhoneNumber]] = []
        self.returned_sids: dict[str, tuple[PhoneNumber, PhoneNumber]] = {}
        #: Our id of every message handed to the provider, in order.
        self.sent_ids: list[str] = []

    def send(
        self,
        *,
        from_: PhoneNumber,
        to: PhoneNumber,
        body: str,
        message_id: str | None = None,
        validity_period: int | None = None,
    ) -> SentMessage:
        count = len(self.sent)
        if message_id is not None:
            self.sent_ids.append(message_id)
        try:
            answer = super().send(
                from_=from_, to=to, body=body, message_id=message_id,
                validity_period=validity_period,
            )  # fmt: skip
        except RecipientOptedOut:
            self.opted_out_at_send.append((from_, to))
            raise
        finally:
            if len(self.sent) > count:
                self.on_sent(from_, to)
        self.returned_sids[answer.provider_sid] = (from_, to)
        return answer


class SmsMachine(RuleBasedStateMachine):
    """Random use-case sequences against one storage, a manual clock and the simulator."""

    make_uow: ClassVar[UowFactory]
    businesses = Bundle("businesses")
    #: Businesses that started ready to send (plan, number, consent); later steps may change that.
    ready = Bundle("ready")

    def __init__(self) -> None:
        super().__init__()
        self.uow: UnitOfWork = type(self).make_uow()
        self.clock = ManualClock(NOON_IN_AUSTIN)
        self.telephony = WatchedTelephony(self._check_consent_at_send)
        # The model: what the use cases' answers say storage must hold.
        # (business, phone) -> "in", "out" (by the business) or "locked" (by
        # keyword or the carrier: only the customer's START lifts it).
        self.consent: dict[tuple[str, str], str] = {}
        self.holder: dict[PhoneNumber, str] = {}  # number -> business holding it
        #: number -> every business that ever held it (a STOP to it reaches them all)
        self.held_by: dict[PhoneNumber, set[str]] = {}
        self.plan: dict[str, Plan] = {}
        self.active: dict[str, bool] = {}
        self.last_status: dict[str, MessageStatus] = {}
        self.moved_by_callback: set[str] = set()
        self.used_seen: dict[tuple[str, str], int] = {}
        self.periods: set[str] = {period_of(NOON_IN_AUSTIN)}
        self._before: dict[str, Any] | None = None
        self.keys_stored: set[tuple[str, str]] = set()
        #: (business, phone) -> when the customer last texted the business in.
        self.texted_in: dict[tuple[str, str], Any] = {}
        #: Reminders canceled or replaced: none of them may ever be sent.
        self.dead_reminders: set[str] = set()
        #: What the first request with each stored key answered: every repeat answers the same.
        self.first_answers: dict[tuple[str, str], object] = {}

    # --- helpers -----------------------------------------------------------------

    def _check_consent_at_send(self, from_: PhoneNumber, to: PhoneNumber) -> None:
        business = self.holder.get(from_)
        assert business is not None, f"sent from {from_}, which no business holds"
        state = self.consent.get((business, to.e164))
        assert state not in OUT, "sent to an opted-out phone"
        texted = self.texted_in.get((business, to.e164))
        in_window = texted is not None and self.clock.now() - texted < timedelta(hours=24)
        assert state == "in" or in_window, "sent without consent or the customer's 24 hours"

    def _snapshot(self) -> dict[str, Any]:
        return snapshot(self.uow, phones=PHONES, periods=self.periods)

    def _opted_out(self, key: tuple[str, str], how: str) -> None:
        """The first opt-out stays: a later one changes neither state nor who made it."""
        if self.consent.get(key) not in OUT:
            self.consent[key] = how

    def _call(self, work: Callable[[], Any]) -> Any:
        """Run a use case; return its result or the SmsError it raised.

        A call that raised and made no provider call must have changed nothing.
        """
        before = self._before if self._before is not None else self._snapshot()
        self._before = None
        calls = {op: self.telephony.calls[op] for op in PROVIDER_OPS}
        owned, sent = dict(self.telephony.owned), len(self.telephony.sent)
        try:
            outcome = work()
        except SmsError as exc:
            outcome = exc
        if isinstance(outcome, SmsError):
            assert isinstance(outcome, PUBLIC_ERRORS), f"internal error {outcome.code} escaped"
            provider_called = any(self.telephony.calls[op] != calls[op] for op in PROVIDER_OPS)
            if isinstance(outcome, RULE_ERRORS):
                assert not provider_called, f"{outcome.code} after a provider call"
            if not provider_called:
                assert self._snapshot() == before, f"{outcome.code} but storage changed"
                assert (self.telephony.owned, len(self.telephony.sent)) == (owned, sent)
        for from_, to in self.telephony.opted_out_at_send:
            self._opted_out((self.holder[from_], to.e164), "locked")
        self.telephony.opted_out_at_send.clear()
        return outcome

    # --- rules -------------------------------------------------------------------

    @initialize(
        targets=(businesses, ready),
        plan=st.sampled_from([Plan.GROWTH, Plan.PRO, Plan.ENTERPRISE]),
        template=st.sampled_from(TEMPLATES),
        consenting=st.sets(st.sampled_from(PHONES), min_size=1),
    )
    def ready_business(self, plan: Plan, template: str | None, consenting: set[str]) -> str:
        # Start where the interesting rules apply: on an SMS plan, a number, consent.
        business = self.create_business(plan, "America/Chicago", template)
        self.provision(business, SELLABLE[0])
        for phone in sorted(consenting):
            self.record_consent(business, phone, None)
        return business

    @rule(
        target=businesses,
        plan=plans,
        zone=st.sampled_from(["America/Chicago", "America/New_York", "Europe/London"]),
        template=st.sampled_from(TEMPLATES),
    )
    def create_business(self, plan: Plan, zone: str, template: str | None) -> str:
        business = uc.create_business(
            "Aster Grove Fitness", plan.value, uow=self.uow, clock=self.clock, timezone=zone,
            review_url="https://g.page/r/aster", review_template=template,
        )  # fmt: skip
        self.plan[business.id], self.active[business.id] = plan, True
        return business.id

    @rule(business=businesses, plan=plans)
    def change_plan(self, business: str, plan: Plan) -> None:
        self._call(lambda: uc.change_plan(business, plan.value, uow=self.uow))
        self.plan[business] = plan

    @rule(business=businesses, really=st.integers(0, 4))
    def deactivate(self, business: str, really: int) -> None:
        if really:
            return  # deactivation ends a business's story: keep it rare
        outcome = self._call(
            lambda: uc.deactivate_business(
                business, uow=self.uow, clock=self.clock, telephony=self.telephony
            )
        )
        if not isinstance(outcome, SmsError):
            self.active[business] = False
            self.holder = {n: b for n, b in self.holder.items() if b != business}

    @rule(business=businesses, number=st.sampled_from(SELLABLE))
    def provision(self, business: str, number: str) -> None:
        outcome = self._call(
            lambda: uc.provision_number(
                business, number, uow=self.uow, telephony=self.telephony, clock=self.clock,
                policy=POLICY,
            )
        )  # fmt: skip
        if isinstance(outcome, uc.ProvisionResult):
            self.holder[PhoneNumber(outcome.number)] = business
            self.held_by.setdefault(PhoneNumber(outcome.number), set()).add(business)

    @rule(business=businesses)
    def release(self, business: str) -> None:
        outcome = self._call(
            lambda: uc.release_number(
                business, uow=self.uow, telephony=self.telephony, clock=self.clock
            )
        )
        if not isinstance(outcome, SmsError):
            del self.holder[outcome.number]

    @rule(
        business=businesses, phone=st.sampled_from(PHONES), days_ago=st.none() | st.integers(0, 90)
    )
    def record_consent(self, business: str, phone: str, days_ago: int | None) -> None:
        at = None if days_ago is None else self.clock.now() - timedelta(days=days_ago)
        outcome = self._call(
            lambda: uc.record_consent(
                business, phone, "point_of_sale", at, uow=self.uow, clock=self.clock
            )
        )
        if self.active[business] and self.consent.get((business, phone)) in OUT:
            assert isinstance(outcome, RecipientOptedOut)
        elif not isinstance(outcome, SmsError):
            self.consent[(business, phone)] = "in"

    @rule(
        business=businesses,
        phone=st.sampled_from(PHONES),
        source=st.sampled_from(["api", "manual"]),
    )
    def opt_out(self, business: str, phone: str, source: str) -> None:
        outcome = self._call(
            lambda: uc.opt_out(business, phone, source, uow=self.uow, clock=self.clock)
        )
        if not isinstance(outcome, SmsError):
            self._opted_out((business, phone), "out")

    @rule(business=businesses, phone=st.sampled_from(PHONES))
    def opt_in(self, business: str, phone: str) -> None:
        outcome = self._call(
            lambda: uc.opt_in(
                business, phone, "web_form", self.clock.now(), uow=self.uow, clock=self.clock
            )
        )
        if self.active[business] and self.consent.get((business, phone)) == "locked":
            assert isinstance(outcome, OptOutLocked)
        elif not isinstance(outcome, SmsError):
            self.consent[(business, phone)] = "in"

    @rule(
        business=businesses,
        phone=st.sampled_from(PHONES),
        body=inbound_bodies,
        sid=st.none() | st.sampled_from(["SMin1", "SMin2", "SMin3"]),
        to_own_number=st.booleans(),
    )
    def inbound(
        self, business: str, phone: str, body: str, sid: str | None, to_own_number: bool
    ) -> None:
        own = [n for n, b in self.holder.items() if b == business]
        to = own[0] if own and to_own_number else PhoneNumber("+15125550199")
        result = self._call(
            lambda: uc.handle_inbound_message(
                to.e164, phone, body, sid, uow=self.uow, clock=self.clock
            )
        )
        assert result.business_id == self.holder.get(to)
        if result.business_id is None or result.duplicate:
            return
        self.texted_in[(result.business_id, phone)] = self.clock.now()
        if result.keyword is Keyword.OPT_OUT:
            # Every business that ever held the number: the customer may be answering any.
            for reached in self.held_by.get(to, {result.business_id}):
                self._opted_out((reached, phone), "locked")
        elif result.keyword is Keyword.OPT_IN:
            self.consent[(result.business_id, phone)] = "in"

    @rule(
        business=businesses,
        rows=st.lists(st.sampled_from([*PHONES, "garbage", ""]), max_size=6),
        batch_size=st.integers(1, 3),
    )
    def import_consents(self, business: str, rows: list[str], batch_size: int) -> None:
        report = self._call(
            lambda: uc.import_consents(
                business, ({"phone": p} for p in rows), uow=self.uow, clock=self.clock,
                batch_size=batch_size,
            )
        )  # fmt: skip
        if isinstance(report, SmsError):
            return
        assert report.imported + report.updated + report.skipped + report.rejected == len(rows)
        assert report.rejected == sum(1 for p in rows if p not in PHONES)
        for phone in rows:
            if phone in PHONES and self.consent.get((business, phone)) not in OUT:
                self.consent[(business, phone)] = "in"

    @rule(
        business=ready,
        phone=st.sampled_from(PHONES),
        name=st.sampled_from(NAMES),
        key=st.none() | st.sampled_from(KEYS),
    )
    def send_with_key(self, business: str, phone: str, name: str, key: str | None) -> None:
        self.send(business, phone, name, key)

    @rule(business=businesses, phone=st.sampled_from(PHONES), name=st.sampled_from(NAMES))
    def send_without_key(self, business: str, phone: str, name: str) -> None:
        self.send(business, phone, name, None)

    def send(self, business: str, phone: str, name: str, key: str | None) -> None:
        with self.uow:
            first = self.uow.messages.by_idempotency_key(business, key) if key else None
        if key is not None and (business, key) in self.keys_stored:
            assert first is not None, "a stored idempotency key was lost"
        sends = self.telephony.calls["send"]
        outcome = self._call(
            lambda: uc.send_review_request(
                business, phone, name, uow=self.uow, telephony=self.telephony, clock=self.clock,
                policy=POLICY, idempotency_key=key,
            )
        )  # fmt: skip
        answer = (
            outcome
            if isinstance(outcome, uc.SendResult)
            else (type(outcome), outcome.code, outcome.message)
        )
        if key is not None and (
            isinstance(outcome, uc.SendResult) or self.telephony.calls["send"] != sends
        ):
            self.keys_stored.add((business, key))
            self.first_answers.setdefault((business, key), answer)
        if first is not None:
            assert self.telephony.calls["send"] == sends, "a repeated key reached the provider"
            if _same_request(first, phone, name):
                assert answer == self.first_answers[(business, key or "")], "a repeat answered anew"
        elif isinstance(outcome, uc.SendResult):
            expected = 0 if outcome.status is MessageStatus.SCHEDULED else 1
            assert self.telephony.calls["send"] == sends + expected

    @rule()
    def dispatch_due(self) -> None:
        self._call(
            lambda: uc.dispatch_due(uow=self.uow, telephony=self.telephony, clock=self.clock)
        )

    @rule(
        pick=st.integers(0, 50),
        status=provider_statuses,
        error_code=st.sampled_from([None, 30003, 21610]),
    )
    def status_callback(self, pick: int, status: str, error_code: int | None) -> None:
        sids = [*self.telephony.returned_sids, "SMunknown"]
        sid = sids[pick % len(sids)]
        moved = self._call(
            lambda: uc.handle_status_callback(
                status_report(sid, status, error_code), uow=self.uow, clock=self.clock
            )
        )
        if sid not in self.telephony.returned_sids:
            assert moved is False
            return
        with self.uow:
            message = self.uow.messages.by_provider_sid(sid)
        assert message is not None
        if moved:
            self.moved_by_callback.add(message.id)
        if error_code == 21610:
            self._opted_out((message.business_id, message.to.e164), "locked")

    @rule(step=st.one_of(st.integers(1, 600).map(lambda m: timedelta(minutes=m)), clock_steps))
    def advance_clock(self, step: timedelta) -> None:
        self.periods.add(period_of(self.clock.advance(step)))

    @rule(failure=failures)
    def inject_failure(self, failure: tuple[Any, SmsError, bool]) -> None:
        operation, error, after_effect = failure
        self.telephony.fail_next(operation, error, after_effect=after_effect)

    @rule(phone=st.sampled_from(PHONES))
    def carrier_opt_out(self, phone: str) -> None:
        self.telephony.carrier_opted_out.add(PhoneNumber(phone))

    @rule(
        business=ready,
        phone=st.sampled_from(PHONES),
        reference=st.sampled_from(REFERENCES),
        hours=st.integers(-2, 24 * 40),
        lead=st.sampled_from([5, 60, 1_440]),
    )
    def schedule_reminder(
        self, business: str, phone: str, reference: str, hours: int, lead: int
    ) -> None:
        starts = self.clock.now() + timedelta(hours=hours, minutes=30)
        with self.uow:
            before = self.uow.messages.latest_reminder(business, reference)
        outcome = self._call(
            lambda: uc.schedule_reminder(
                business, PhoneNumber(phone), "Jane", Appointment(reference, starts,
                timedelta(minutes=lead)), uow=self.uow, telephony=self.telephony,
                clock=self.clock, policy=POLICY,
            )
        )  # fmt: skip
        if not isinstance(outcome, uc.ReminderResult) or before is None:
            return
        if before.status is MessageStatus.SCHEDULED and before.id != outcome.sent.message_id:
            self.dead_reminders.add(before.id)  # replaced: it must never go out

    @rule(business=businesses, reference=st.sampled_from(REFERENCES))
    def cancel_reminder(self, business: str, reference: str) -> None:
        with self.uow:
            before = self.uow.messages.latest_reminder(business, reference)
        canceled = self._call(
            lambda: uc.cancel_reminder(business, reference, uow=self.uow, clock=self.clock)
        )
        if canceled is True and before is not None:
            assert before.status is MessageStatus.SCHEDULED
            self.dead_reminders.add(before.id)

    @rule(business=ready, phone=st.sampled_from(PHONES), body=st.sampled_from(REPLIES))
    def send_reply(self, business: str, phone: str, body: str) -> None:
        self._call(
            lambda: uc.send_reply(
                business, PhoneNumber(phone), body, uow=self.uow, telephony=self.telephony,
                clock=self.clock, policy=POLICY,
            )
        )  # fmt: skip

    @rule(business=businesses, phone=st.sampled_from(PHONES))
    def read_thread(self, business: str, phone: str) -> None:
        self._call(lambda: uc.mark_conversation_read(business, PhoneNumber(phone), uow=self.uow))

    # --- invariants --------------------------------------------------------------

    @invariant()
    def every_invariant_holds(self) -> None:
        """One read of storage per step (SQL backends pay per transaction), then each check."""
        state = self._snapshot()
        self._before = state  # storage changes only inside _call: the next call's "before"
        held: dict[PhoneNumber, str] = {}
        for business in state["businesses"]:
            rows = state[business.id]
            self._check_allowance(business.id, business.plan, rows["messages"], rows["used"])
            self._check_status_moves_forward(rows["messages"])
            self._check_one_message_per_key(rows["messages"])
            self._check_reminders(rows["messages"])
            self._check_consent(business.id, rows["consents"])
            slots = [n for n in rows["numbers"] if n.holds_slot]
            assert len(slots) <= 1, "a business holds two numbers"
            for row in slots:
                assert row.status is NumberStatus.ACTIVE, "a pending claim was left behind"
                assert row.number not in held, "a number is held by two businesses"
                held[row.number] = business.id
        assert held == self.holder

    def _check_allowance(
        self, business: str, plan: Plan, messages: list[Any], used: dict[str, int]
    ) -> None:
        """used == the units of the period's messages == the segments of those not refunded,
        and a step that consumed units stayed within the plan's limit."""
        for period, value in used.items():
            of_period = [m for m in messages if m.period == period]
            assert value == sum(m.units for m in of_period), period
            # The automatic answers to keywords use no allowance.
            kept = [m for m in of_period if not m.automatic and not self._refunded(m.id, m.status)]
            assert value == sum(m.segments for m in kept), period
            if value > self.used_seen.get((business, period), 0):
                assert value <= POLICY.allowance_for(plan), "used passed the limit"
            self.used_seen[(business, period)] = value

    def _refunded(self, message_id: str, status: MessageStatus) -> bool:
        """Given back: canceled by us, or refused by the provider while we waited for it."""
        return message_id not in self.moved_by_callback and status in (
            MessageStatus.CANCELED,
            MessageStatus.FAILED,
        )

    def _check_status_moves_forward(self, messages: list[Any]) -> None:
        for message in messages:
            last = self.last_status.get(message.id)
            if last is not None and message.status != last:
                assert message.status.rank > last.rank, f"{last} -> {message.status}"
            self.last_status[message.id] = message.status

    def _check_reminders(self, messages: list[Any]) -> None:
        pending = [
            m.reference
            for m in messages
            if m.reference is not None and m.status is MessageStatus.SCHEDULED
        ]
        assert len(pending) == len(set(pending)), "two pending reminders for one reference"
        assert not self.dead_reminders & set(self.telephony.sent_ids), (
            "a canceled reminder went out"
        )

    def _check_one_message_per_key(self, messages: list[Any]) -> None:
        keys = [m.idempotency_key for m in messages if m.idempotency_key is not None]
        assert len(keys) == len(set(keys)), "two messages share an idempotency key"

    def _check_consent(self, business: str, records: list[Any]) -> None:
        for record in records:
            key = (business, record.phone.e164)
            assert record.allows_sending == (self.consent.get(key) == "in"), key
        stored = {r.phone.e164 for r in records}
        assert all(p in stored for (b, p), state in self.consent.items() if b == business)


#: Examples per SQL backend in CI: every example runs the same rules on memory
#: (the profile's 200); the SQL runs check the adapters agree, at a cost per step
#: of real transactions that a 15-minute suite cannot pay 200 times over.
SQL_EXAMPLES = {"sqlite": 70, "postgres": 40}


def test_random_sequences_of_use_cases_keep_every_invariant(
    uow_factory: UowFactory, request: pytest.FixtureRequest
) -> None:
    """Every invariant of the library holds after every step of random use-case sequences."""

    class Machine(SmsMachine):
        make_uow = staticmethod(uow_factory)

    # max_examples comes from the loaded profile ("ci": 200, "dev": 50), capped for SQL.
    examples = settings.default.max_examples
    backend = request.node.callspec.params["uow_factory"]
    examples = min(examples, SQL_EXAMPLES.get(backend, examples))
    run_state_machine_as_test(
        Machine, settings=settings(max_examples=examples, stateful_step_count=30)
    )
