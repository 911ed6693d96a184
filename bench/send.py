"""Section 1: ``send_review_request`` against the same two transactions written by hand.

Both sides run on the same engine settings (the library's ``make_engine``:
WAL and ``BEGIN IMMEDIATE`` on SQLite), the same schema, the same no-op
provider, in interleaved rounds, each send to its own consenting recipient.

Two hand-written baselines:

* ``same rules`` — what a developer writes for the same feature: parse the
  number with phonenumbers; transaction 1 reads the business and its active
  number, checks consent (``FOR UPDATE``), the 30-day cooldown, consumes the
  allowance with one conditional upsert and inserts the message as
  ``submitting``; the provider call; transaction 2 records sid and status.
* ``minimal`` — the issue's bare list: consent check, conditional allowance
  update, message insert; then the sid/status update (the sender number and
  body are known up front, no cooldown, no business read).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from bench.common import (
    BENCH_POLICY,
    NoopTelephony,
    Shop,
    Sizes,
    chunks,
    create_shop,
    new_uow,
    percentile,
    phone_e164,
    phone_text,
    seed_consents,
)
from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.sql.tables import allowances, businesses, consents, messages, sms_numbers
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import Plan

COOLDOWN = timedelta(days=30)
LIMIT = BENCH_POLICY.allowance_for(Plan.ENTERPRISE)
E164 = phonenumbers.PhoneNumberFormat.E164


class HandWrittenSend:
    """The three-step send in plain SQLAlchemy Core, statements built once."""

    def __init__(self, engine: sa.Engine, telephony: NoopTelephony, *, full_rules: bool) -> None:
        self.engine = engine
        self.telephony = telephony
        self.full_rules = full_rules
        insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
        self.shop = (
            sa.select(businesses.c.name, businesses.c.plan, sms_numbers.c.number)
            .join(sms_numbers, sms_numbers.c.business_id == businesses.c.id)
            .where(
                businesses.c.id == sa.bindparam("business_id"),
                businesses.c.active.is_(True),
                sms_numbers.c.status == "active",
            )
        )
        self.consent = (
            sa.select(consents.c.consented_at, consents.c.opted_out_at)
            .where(
                consents.c.business_id == sa.bindparam("business_id"),
                consents.c.phone == sa.bindparam("phone"),
            )
            .with_for_update()
        )
        self.cooldown = sa.select(sa.func.max(messages.c.created_at)).where(
            messages.c.business_id == sa.bindparam("business_id"),
            messages.c.to_phone == sa.bindparam("phone"),
            messages.c.kind == "review_request",
            messages.c.status.not_in(["failed", "canceled"]),
        )
        upsert = insert(allowances).values(
            business_id=sa.bindparam("business_id"),
            period=sa.bindparam("period"),
            used=sa.bindparam("units"),
        )
        self.consume = upsert.on_conflict_do_update(
            index_elements=["business_id", "period"],
            set_={"used": allowances.c.used + upsert.excluded.used},
            where=allowances.c.used + upsert.excluded.used <= sa.bindparam("limit"),
        ).returning(allowances.c.used)
        self.insert_message = messages.insert()
        self.record_sid = (
            sa.update(messages)
            .where(messages.c.id == sa.bindparam("message_id"), messages.c.status == "submitting")
            .values(
                status=sa.bindparam("status"),
                provider_sid=sa.bindparam("sid"),
                updated_at=sa.bindparam("now"),
            )
        )

    def send(self, shop: Shop, to_raw: str, customer_name: str) -> str:
        parsed = phonenumbers.parse(to_raw, "US")
        if not phonenumbers.is_possible_number(parsed):
            raise ValueError("invalid phone")
        to = phonenumbers.format_number(parsed, E164)
        now = datetime.now(UTC)
        period = now.strftime("%Y-%m")
        key = {"business_id": shop.business_id, "phone": to}
        message_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            if self.full_rules:
                row = conn.execute(self.shop, key).first()
                if row is None or row.plan not in ("growth", "pro", "enterprise"):
                    raise LookupError("no sms for this business")
                name, from_ = row.name, row.number
            else:
                name, from_ = "Bench", shop.number
            consent = conn.execute(self.consent, key).first()
            if consent is None or consent.opted_out_at is not None:
                raise LookupError("consent required")
            if self.full_rules:
                latest = conn.execute(self.cooldown, key).scalar_one()
                if latest is not None and now < latest + COOLDOWN:
                    raise LookupError("cooldown")
            body = (
                f"Hi {customer_name.split()[0]}, thanks for choosing {name}! "
                f"Would you leave us a review? https://g.page/r/bench Reply STOP to opt out."
            )
            params = {**key, "period": period, "units": 1, "limit": LIMIT}
            if conn.execute(self.consume, params).first() is None:
                raise LookupError("allowance exhausted")
            conn.execute(
                self.insert_message,
                {
                    "id": message_id,
                    "business_id": shop.business_id,
                    "to_phone": to,
                    "from_phone": from_,
                    "body": body,
                    "segments": 1,
                    "units": 1,
                    "period": period,
                    "status": "submitting",
                    "created_at": now,
                    "kind": "review_request",
                    "idempotency_key": None,
                    "send_at": None,
                    "provider_sid": None,
                    "error_code": None,
                    "updated_at": now,
                },
            )
        sent = self.telephony.send(from_=PhoneNumber(from_), to=PhoneNumber(to), body=body)
        with self.engine.begin() as conn:
            conn.execute(
                self.record_sid,
                {
                    "message_id": message_id,
                    "status": sent.status.value,
                    "sid": sent.provider_sid,
                    "now": datetime.now(UTC),
                },
            )
        return sent.provider_sid


Side = Callable[[int], None]


def bench_send(url: str, sizes: Sizes, backend: str) -> dict[str, Any]:
    """Interleaved rounds of library and baselines; each side has its own business."""
    uow = new_uow(url)
    engine = uow.engine
    telephony = NoopTelephony()
    clock = SystemClock()
    warmup = max(20, sizes.sends // 50)
    per_side = sizes.sends + warmup
    shops = {
        name: create_shop(uow, f"Bench {name} {backend}", area_code=area)
        for name, area in (("library", "512"), ("same rules", "206"), ("minimal", "303"))
    }
    # Side k uses recipients k*per_side .. : every send has its own consenting recipient.
    starts = {name: k * per_side for k, name in enumerate(shops)}
    for name, shop in shops.items():
        seed_consents(
            engine,
            shop.business_id,
            [phone_e164(i) for i in range(starts[name], starts[name] + per_side)],
        )
    full = HandWrittenSend(engine, telephony, full_rules=True)
    minimal = HandWrittenSend(engine, telephony, full_rules=False)
    cursor = dict(starts)
    latencies: dict[str, list[float]] = {name: [] for name in shops}

    def run(name: str, count: int, record: bool) -> float:
        shop = shops[name]
        first = cursor[name]
        cursor[name] += count
        started = time.perf_counter()
        for i in range(first, first + count):
            t0 = time.perf_counter()
            if name == "library":
                uc.send_review_request(
                    shop.business_id,
                    phone_text(i),
                    "Jane Doe",
                    uow=uow,
                    telephony=telephony,
                    clock=clock,
                    policy=BENCH_POLICY,
                )
            elif name == "same rules":
                full.send(shop, phone_text(i), "Jane Doe")
            else:
                minimal.send(shop, phone_text(i), "Jane Doe")
            if record:
                latencies[name].append(time.perf_counter() - t0)
        return time.perf_counter() - started

    for name in shops:
        run(name, warmup, record=False)
    totals = dict.fromkeys(shops, 0.0)
    order = list(shops)
    for size in chunks(sizes.sends, sizes.rounds):
        for name in order:
            totals[name] += run(name, size, record=True)
        order.reverse()
    engine.dispose()

    def side(name: str) -> dict[str, Any]:
        lat = latencies[name]
        return {
            "sends": len(lat),
            "seconds": round(totals[name], 3),
            "sends_per_s": round(len(lat) / totals[name], 1),
            "p50_ms": round(percentile(lat, 0.5) * 1000, 3),
            "p99_ms": round(percentile(lat, 0.99) * 1000, 3),
        }

    result = {name: side(name) for name in shops}
    ratio = totals["library"] / totals["same rules"]
    ratio_min = totals["library"] / totals["minimal"]
    return {
        "backend": backend,
        **result,
        "ratio_vs_same_rules": round(ratio, 3),
        "ratio_vs_minimal": round(ratio_min, 3),
        "target": "library time <= 1.3x the same-rules baseline",
        "met": ratio <= 1.3,
    }
