"""Load with faults: many processes of mixed operations on PostgreSQL, then every
invariant checked from the database alone.

``python -m bench.load [--processes 16] [--seconds 60] [--businesses 8]``
(needs ``NEARIQ_SMS_TEST_POSTGRES_URL``, e.g. from ``source .ci/postgres.sh``).

Each worker process loops over sends (retried with their idempotency key, as
a job runner does), inbound STOP/START/HELP messages, status callbacks, consent
writes and opt-outs, and number releases and provisionings, against one
PostgreSQL schema and one loopback fake Twilio served by the parent. Faults
are injected throughout: the parent makes Twilio answer 429 or 500 or succeed
too slowly (a client timeout after it acted), and every worker's storage fails
a share of its commits. When the time is up the parent runs reconcile and then
checks the invariants with SQL over the tables (see :func:`check`), plus the
fake's account against the tables. Prints the figures as JSON; exits 1 on any
violation.
"""

# The lambdas handed to attempt() run at once, inside the iteration that made them.
# ruff: noqa: B023
# Randomness here picks operations and faults of a load run; nothing secret.
# ruff: noqa: S311

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import random
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from twilio.rest import Client

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine, upgrade
from neariq_sms.adapters.twilio import RetryPolicy, TwilioTelephony, status_report
from neariq_sms.domain import Plan, Policy, ProviderError, SmsError
from neariq_sms.testing import FaultyUnitOfWork, StorageDown

PUBLIC_URL = "https://sms.example.com"
AREA_CODES = ("512", "415", "212")
KEYWORDS = ("STOP", "START", "HELP", "stop.", "Thanks!", "UNSUBSCRIBE", "yes")
CALLBACK_STATUSES = ("sent", "delivered", "undelivered", "failed", "sending")
#: Twilio's answer arrives after the client gave up (the request took effect).
SLOW_ANSWER = 1.0
CLIENT_TIMEOUT = 0.4
#: Clock reads of concurrent processes and their lock waits: how far apart an
#: opt-out and a send may be stamped and still be ordered either way.
OPT_OUT_TOLERANCE = timedelta(seconds=2)
#: Past the longest a send or purchase stays in flight here (client timeout
#: 0.4 s, a loaded machine), so the live reconciler never settles one in flight.
RECONCILE_OLDER_THAN = timedelta(seconds=5)
FAULTY_OPERATIONS = ("search", "purchase", "release", "send", "find_messages", "owned_numbers")
POLICY = Policy(
    monthly_allowance={Plan.GROWTH: 1_000_000},
    review_cooldown=timedelta(0),
    quiet_hours=None,
)


def _engine(url: str, schema: str, **kwargs: Any) -> sa.Engine:
    return make_engine(url, connect_args={"options": f"-c search_path={schema}"}, **kwargs)


def _twilio(config: dict[str, Any], timeout: float = CLIENT_TIMEOUT) -> TwilioTelephony:
    from tests.twilio.fake_twilio import LoopbackHttpClient

    client = Client(
        config["account_sid"],
        config["auth_token"],
        http_client=LoopbackHttpClient(config["twilio_url"]),
        environment={"NEARIQ_SMS_BENCH": "no fallback to os.environ"},
    )
    return TwilioTelephony(
        client,
        public_url=PUBLIC_URL,
        timeout=timeout,
        retry=RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.2),
    )


def _customers(config: dict[str, Any]) -> list[str]:
    return [f"+1555765{i:04d}" for i in range(config["customers"])]


# --- the worker -----------------------------------------------------------------------


def worker(config: dict[str, Any], index: int, results: Any) -> None:
    rng = random.Random(config["seed"] * 1000 + index)
    engine = _engine(config["url"], config["schema"], pool_size=1, max_overflow=0)
    healthy = SqlUnitOfWork(engine)
    uow = FaultyUnitOfWork(healthy, rate=config["storage_fault_rate"], rng=rng)
    telephony = _twilio(config)
    clock = SystemClock()
    deps: dict[str, Any] = {"uow": uow, "clock": clock}
    counts: Counter[str] = Counter()
    customers = _customers(config)
    businesses = config["businesses"]
    deadline = time.monotonic() + config["seconds"]
    serial = 0

    def attempt(name: str, call: Any) -> Any:
        try:
            answer = call()
        except ProviderError as exc:
            counts[f"{name}: provider_error{' (ambiguous)' if exc.ambiguous else ''}"] += 1
        except SmsError as exc:
            counts[f"{name}: {exc.code}"] += 1
        except StorageDown:
            counts[f"{name}: storage down"] += 1
        else:
            counts[f"{name}: ok"] += 1
            return answer
        return None

    while time.monotonic() < deadline:
        serial += 1
        business = rng.choice(businesses)
        customer = rng.choice(customers)
        roll = rng.random()
        counts["operations"] += 1
        if roll < 0.40:
            key = f"w{index}-{serial}"
            for _ in range(3):  # the job runner: same key until it stops failing
                sent = attempt(
                    "send",
                    lambda: uc.send_review_request(
                        business,
                        customer,
                        "Jane",
                        **deps,
                        telephony=telephony,
                        policy=POLICY,
                        idempotency_key=key,
                    ),
                )
                if sent is not None:
                    break
        elif roll < 0.55:
            status = attempt(
                "status",
                lambda: uc.get_status(business, **deps, telephony=telephony, policy=POLICY),
            )
            if status is not None and status.number is not None:
                number = status.number.number.e164
                attempt(
                    "inbound",
                    lambda: uc.handle_inbound_message(
                        number,
                        customer,
                        rng.choice(KEYWORDS),
                        f"SMin{index:04d}{serial:024d}",
                        **deps,
                        policy=POLICY,
                    ),
                )
        elif roll < 0.70:
            with healthy:
                recent = list(
                    healthy.messages.for_recipient(business, _phone(customer), before=None, limit=3)
                )
            sids = [m.provider_sid for m in recent if m.provider_sid]
            if sids:
                error = rng.choice([None, None, None, 30003, 21610])
                attempt(
                    "callback",
                    lambda: uc.handle_status_callback(
                        status_report(rng.choice(sids), rng.choice(CALLBACK_STATUSES), error),
                        **deps,
                    ),
                )
        elif roll < 0.90:
            action = rng.random()
            if action < 0.6:
                attempt(
                    "consent",
                    lambda: uc.record_consent(
                        business, customer, "web_form", **deps, policy=POLICY
                    ),
                )
            elif action < 0.8:
                attempt("opt_out", lambda: uc.opt_out(business, customer, "api", **deps))
            else:
                attempt(
                    "opt_in",
                    lambda: uc.opt_in(
                        business, customer, "web_form", clock.now(), **deps, policy=POLICY
                    ),
                )
        else:
            status = attempt(
                "status",
                lambda: uc.get_status(business, **deps, telephony=telephony, policy=POLICY),
            )
            if status is None:
                continue
            if status.number is not None and rng.random() < 0.3:
                for _ in range(3):  # release is idempotent: retried until it succeeds
                    if attempt(
                        "release",
                        lambda: uc.release_number(business, **deps, telephony=telephony),
                    ):
                        break
            elif status.number is None:
                offers = attempt(
                    "search",
                    lambda: uc.search_numbers(
                        business, rng.choice(AREA_CODES), 20, uow=uow, telephony=telephony
                    ),
                )
                if offers:
                    choice = rng.choice(list(offers)).number.e164
                    attempt(
                        "provision",
                        lambda: uc.provision_number(
                            business, choice, **deps, telephony=telephony, policy=POLICY
                        ),
                    )
    counts["storage faults injected"] = uow.failures
    engine.dispose()
    results.put(dict(counts))


def reconciler(config: dict[str, Any], results: Any) -> None:
    """Reconcile alongside the traffic, as an operator's cron would, with flaky storage."""
    rng = random.Random(config["seed"])
    engine = _engine(config["url"], config["schema"], pool_size=1, max_overflow=0)
    uow = FaultyUnitOfWork(SqlUnitOfWork(engine), rate=config["storage_fault_rate"], rng=rng)
    telephony = _twilio(config)
    counts: Counter[str] = Counter()
    deadline = time.monotonic() + config["seconds"]
    pause = threading.Event()  # never set: wait() paces the runs
    while time.monotonic() < deadline:
        try:
            report = uc.reconcile(
                uow=uow,
                telephony=telephony,
                clock=SystemClock(),
                older_than=RECONCILE_OLDER_THAN,
            )
        except (StorageDown, SmsError) as exc:
            counts[f"reconcile run: {type(exc).__name__}"] += 1
        else:
            counts["reconcile run: ok"] += 1
            for resolution in report.resolutions:
                counts[f"reconcile live: {resolution.outcome}"] += 1
        pause.wait(0.5)
    counts["storage faults injected"] = uow.failures
    engine.dispose()
    results.put(dict(counts))


def _phone(raw: str) -> Any:
    from neariq_sms.domain import PhoneNumber

    return PhoneNumber(raw)


# --- the parent -----------------------------------------------------------------------


def _setup(config: dict[str, Any], fake: Any) -> list[str]:
    url, schema = config["url"], config["schema"]
    admin = make_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = _engine(url, schema)
    upgrade(engine)
    uow = SqlUnitOfWork(engine)
    clock = SystemClock()
    telephony = _twilio(config, timeout=5.0)
    businesses = []
    for i in range(config["business_count"]):
        shop = uc.create_business(
            f"Shop {i}", "growth", uow=uow, clock=clock, review_url=f"https://r.example/{i}"
        )
        number = f"+1{AREA_CODES[i % len(AREA_CODES)]}5550{123 + i:03d}"
        uc.provision_number(shop.id, number, uow=uow, telephony=telephony, clock=clock)
        for customer in _customers(config):
            uc.record_consent(shop.id, customer, "point_of_sale", uow=uow, clock=clock)
        businesses.append(shop.id)
    engine.dispose()
    return businesses


def check(connection: sa.Connection, provider: dict[str, Any] | None = None) -> dict[str, int]:
    """Every invariant, from SQL over the tables; the count of violations of each.

    ``provider`` (sent message sids, owned number sid -> E.164) adds the
    cross-checks against the provider's account.
    """
    q = lambda sql: connection.execute(sa.text(sql)).all()  # noqa: E731
    found: dict[str, int] = {}
    found["allowance used != units of the period's messages"] = len(
        q(
            """
            SELECT b, p FROM (
              SELECT business_id AS b, period AS p, used AS u, 0 AS s FROM allowances
              UNION ALL
              SELECT business_id, period, 0, units FROM messages
            ) x GROUP BY b, p HAVING sum(u) <> sum(s)
            """
        )
    )
    found["units neither 0 nor the segments"] = len(
        q("SELECT id FROM messages WHERE units <> 0 AND units <> segments")
    )
    found["units given back but not failed/canceled, or sent by the provider"] = len(
        q(
            # The automatic answers to keywords use no allowance by design.
            "SELECT id FROM messages WHERE units = 0 AND NOT automatic"
            " AND (status NOT IN ('failed', 'canceled') OR provider_sid IS NOT NULL)"
        )
    )
    found["sent by the provider but units given back"] = len(
        q("SELECT id FROM messages WHERE provider_sid IS NOT NULL AND units <> segments")
    )
    found["left submitting after reconcile"] = len(
        q("SELECT id FROM messages WHERE status = 'submitting'")
    )
    found["one provider sid on two messages"] = len(
        q(
            "SELECT provider_sid FROM messages WHERE provider_sid IS NOT NULL"
            " GROUP BY provider_sid HAVING count(*) > 1"
        )
    )
    found["one idempotency key on two messages"] = len(
        q(
            "SELECT business_id, idempotency_key FROM messages WHERE idempotency_key IS NOT NULL"
            " GROUP BY business_id, idempotency_key HAVING count(*) > 1"
        )
    )
    found["claims left pending after reconcile"] = len(
        q("SELECT id FROM sms_numbers WHERE status = 'pending'")
    )
    found["businesses holding two numbers"] = len(
        q(
            "SELECT business_id FROM sms_numbers WHERE status IN ('pending', 'active')"
            " GROUP BY business_id HAVING count(*) > 1"
        )
    )
    found["numbers held by two businesses"] = len(
        q(
            "SELECT number FROM sms_numbers WHERE status IN ('pending', 'active')"
            " GROUP BY number HAVING count(*) > 1"
        )
    )
    found["active numbers without a provider sid"] = len(
        q("SELECT id FROM sms_numbers WHERE status = 'active' AND provider_sid IS NULL")
    )
    found["sent to an opted-out recipient"] = _sent_while_opted_out(connection)
    if provider is not None:
        recorded = {row[0] for row in q("SELECT provider_sid FROM messages")}
        found["provider messages no message records (sent twice or lost)"] = len(
            set(provider["sent"]) - recorded
        )
        active = {
            row[0]: row[1]
            for row in q("SELECT provider_sid, number FROM sms_numbers WHERE status = 'active'")
        }
        found["numbers the provider holds that no business holds"] = sum(
            active.get(sid) != number for sid, number in provider["owned"].items()
        )
        found["active numbers the provider does not hold"] = len(
            set(active) - set(provider["owned"])
        )
    return found


def _sent_while_opted_out(connection: sa.Connection) -> int:
    """Messages the provider took whose creation lies inside an opt-out: after an
    ``opted_out`` event and before the next ``opted_in`` (a plain consent never
    lifts an opt-out), by more than the clock tolerance on either side.

    "Next" is by event id, the order the events were committed in (each is
    written holding the consent row's lock), not by their ``at``: two
    processes read their clocks and commit in either order.
    """
    rows = connection.execute(
        sa.text(
            """
            WITH intervals AS (
              SELECT e.business_id, e.phone, e.at AS out_at,
                     (SELECT i.at FROM consent_events i
                       WHERE i.business_id = e.business_id AND i.phone = e.phone
                         AND i.kind = 'opted_in' AND i.id > e.id
                       ORDER BY i.id LIMIT 1) AS in_at
                FROM consent_events e WHERE e.kind = 'opted_out'
            )
            SELECT m.id FROM messages m JOIN intervals o
              ON o.business_id = m.business_id AND o.phone = m.to_phone
             WHERE m.provider_sid IS NOT NULL
               AND m.created_at > o.out_at + :tolerance
               AND (o.in_at IS NULL OR m.created_at < o.in_at - :tolerance)
            """
        ),
        {"tolerance": OPT_OUT_TOLERANCE},
    ).all()
    return len({row[0] for row in rows})


def run(
    url: str,
    *,
    processes: int = 16,
    seconds: float = 60.0,
    business_count: int = 8,
    customers: int = 40,
    storage_fault_rate: float = 0.02,
    provider_fault_rate: float = 0.05,
    seed: int = 7,
) -> dict[str, Any]:
    """Run the load and the checks; the figures, with ``violations`` summed."""
    from tests.twilio.fake_twilio import FakeTwilio

    schema = f"nq_load_{os.getpid()}"
    config: dict[str, Any] = {
        "url": url,
        "schema": schema,
        "seconds": seconds,
        "business_count": business_count,
        "customers": customers,
        "storage_fault_rate": storage_fault_rate,
        "seed": seed,
    }
    with FakeTwilio() as fake:
        config.update(
            twilio_url=fake.base_url, account_sid=fake.account_sid, auth_token=fake.auth_token
        )
        config["businesses"] = _setup(config, fake)
        # From here on a share of every Twilio call misbehaves: 429, 500, or a
        # slow answer after acting (the client times out).
        fake.random_faults = dict.fromkeys(FAULTY_OPERATIONS, provider_fault_rate)
        fake.random_faults_rng = random.Random(seed)
        fake.random_faults_slow = SLOW_ANSWER
        context = multiprocessing.get_context("fork")
        results = context.Queue()
        started = time.monotonic()
        workers = [
            context.Process(target=worker, args=(config, i, results)) for i in range(processes)
        ]
        workers.append(context.Process(target=reconciler, args=(config, results)))
        for process in workers:
            process.start()
        totals: Counter[str] = Counter()
        for _ in workers:
            totals.update(results.get(timeout=seconds + 300))
        for process in workers:
            process.join()
        elapsed = time.monotonic() - started
        failed_workers = sum(p.exitcode != 0 for p in workers)
        fake.random_faults = {}  # the final reconcile meets a healthy Twilio
        provider_faults = Counter(fake.random_injected)

        engine = _engine(url, schema)
        uow = SqlUnitOfWork(engine)
        report = uc.reconcile(
            uow=uow,
            telephony=_twilio(config, timeout=5.0),
            clock=SystemClock(),
            older_than=timedelta(0),
        )
        with fake.lock:
            provider = {
                "sent": [m["sid"] for m in fake.messages],
                "owned": {sid: r["phone_number"] for sid, r in fake.owned.items()},
            }
        with engine.connect() as connection:
            found = check(connection, provider)
            tables = {
                # Table names from the literal tuple below, never from input.
                t: connection.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                for t in ("messages", "inbound_messages", "consent_events", "sms_numbers")
            }
        engine.dispose()
    violated = sum(found.values()) + failed_workers
    if not violated:  # kept otherwise, for a look at the rows
        admin = make_engine(url, poolclass=NullPool)
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    return {
        "schema": schema,
        "processes": processes,
        "reconciler_processes": 1,
        "seconds": round(elapsed, 1),
        "operations": totals.pop("operations", 0),
        "storage_faults_injected": totals.pop("storage faults injected", 0),
        "provider_faults_injected": sum(provider_faults.values()),
        "provider_faults": dict(sorted(provider_faults.items())),
        "outcomes": dict(sorted(totals.items())),
        "reconciled": report.counts(),
        "provider_messages": len(provider["sent"]),
        "rows": tables,
        "failed_workers": failed_workers,
        "invariants": found,
        "violations": violated,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--businesses", type=int, default=8)
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--storage-fault-rate", type=float, default=0.02)
    parser.add_argument("--provider-fault-rate", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    url = os.environ.get("NEARIQ_SMS_TEST_POSTGRES_URL")
    if not url:
        print("set NEARIQ_SMS_TEST_POSTGRES_URL (source .ci/postgres.sh)", file=sys.stderr)
        return 2
    figures = run(
        url,
        processes=args.processes,
        seconds=args.seconds,
        business_count=args.businesses,
        customers=args.customers,
        storage_fault_rate=args.storage_fault_rate,
        provider_fault_rate=args.provider_fault_rate,
        seed=args.seed,
    )
    print(json.dumps(figures, indent=2))
    return 1 if figures["violations"] else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
