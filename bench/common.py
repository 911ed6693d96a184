"""Shared pieces of the benchmarks: sizes, fixtures, a no-op provider, statistics."""

from __future__ import annotations

import contextlib
import itertools
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import sqlalchemy as sa

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine, upgrade
from neariq_sms.adapters.sql.sandbox import SqlSandboxState
from neariq_sms.domain.messages import MessageStatus, SentMessage
from neariq_sms.domain.phone import PhoneNumber
from neariq_sms.domain.plans import Plan, Policy

#: Every benchmark's send runs with quiet hours off (deterministic at any hour)
#: and a limit no run reaches; the cooldown stays on (every send has its own recipient).
BENCH_POLICY = Policy(
    monthly_allowance={Plan.GROWTH: 500, Plan.PRO: 2_000, Plan.ENTERPRISE: 10**9},
    quiet_hours=None,
)
#: The benchmark's own PostgreSQL database (dropped and made afresh): name another when
#: several people benchmark on one server.
BENCH_DB_NAME = os.environ.get("NEARIQ_SMS_BENCH_DB_NAME", "neariq_sms_bench")
REVIEW_URL = "https://g.page/r/bench"


@attrs.frozen
class Sizes:
    """How big each section runs; ``--smoke`` only proves the code still works."""

    sends: int = 5_000
    #: The consent import's two sizes (issue 15: 200k and 1M rows) and its interleaved runs.
    import_rows: tuple[int, int] = (200_000, 1_000_000)
    import_rounds: int = 3
    lookups: int = 2_000
    http_requests: int = 1_200
    #: GET /api/sms requests per phase of the read-latency section.
    read_gets: int = 500
    http_clients: int = 8
    http_servers: int = 2
    rounds: int = 5
    #: Section 6: stored messages, and timed GETs of each page.
    conversation_messages: int = 1_000_000
    conversation_requests: int = 1_000
    #: Due scheduled messages across businesses, dispatched by two processes per side.
    dispatch_messages: int = 10_000
    dispatch_businesses: int = 100
    dispatch_rounds: int = 3


FULL = Sizes()
SMOKE = Sizes(
    sends=200,
    import_rows=(2_000, 10_000),
    import_rounds=1,
    lookups=200,
    http_requests=600,
    read_gets=40,
    rounds=2,
    conversation_messages=5_000,
    conversation_requests=40,
    dispatch_messages=200,
    dispatch_businesses=10,
    dispatch_rounds=1,
)


class NoopTelephony:
    """A provider that accepts every message at once: the cost of Twilio is not measured."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return True

    def next_sid(self) -> str:
        with self._lock:
            return f"SM{next(self._ids):032x}"

    def search_available(self, area_code: str, limit: int) -> Sequence[Any]:
        return []

    def purchase(self, number: PhoneNumber) -> Any:
        raise NotImplementedError

    def release(self, provider_sid: str) -> None:
        return None

    def send(
        self, *, from_: PhoneNumber, to: PhoneNumber, body: str, message_id: str | None = None
    ) -> SentMessage:
        return SentMessage(provider_sid=self.next_sid(), status=MessageStatus.QUEUED)


def phone_text(i: int) -> str:
    """The ``i``-th distinct US number, in one of the formats customers type."""
    area = _AREAS[i % 10]
    line = _line(i)
    match i % 4:
        case 0:
            return f"({area}) {line[:3]}-{line[3:]}"
        case 1:
            return f"+1 {area} {line[:3]} {line[3:]}"
        case 2:
            return f"{area}.{line[:3]}.{line[3:]}"
        case _:
            return f"{area}{line}"


def phone_e164(i: int) -> str:
    return f"+1{_AREAS[i % 10]}{_line(i)}"


_AREAS = ("512", "206", "303", "415", "617", "702", "713", "305", "312", "404")


def _line(i: int) -> str:
    # Exchange and line; the exchange starts at 200, since NANP exchanges never start with 0 or 1.
    return f"{2_000_000 + i // 10:07d}"


#: The seven ways people write a US number in the import file (issue 15's method).
_IMPORT_FORMATS = (
    "({a}) {x}-{n}",
    "{a}-{x}-{n}",
    "{a}.{x}.{n}",
    "{a}{x}{n}",
    "+1 {a} {x} {n}",
    "+1{a}{x}{n}",
    "1-{a}-{x}-{n}",
)
#: Rows that no import accepts: not numbers, too short, too long.
_INVALID_PHONES = (
    "12345",
    "not a phone",
    "+1 512 23",
    "(512) 234-567",
    "call me",
    "512-234-56789-1",
    "N/A",
    "+44 20",
)
_IMPORT_SOURCES = ("web_form", "point_of_sale", "paper")
#: One row in a hundred is invalid: 2,000 of every 200,000.
INVALID_EVERY = 100


def import_rows_valid(rows: int) -> int:
    """How many of the first ``rows`` rows of :func:`write_import_csv` are valid (and distinct)."""
    return rows - rows // INVALID_EVERY


def import_phone_e164(k: int) -> str:
    """The ``k``-th valid number of the import file (all distinct), as E.164."""
    area, exchange, line = _import_parts(k)
    return f"+1{area}{exchange}{line}"


def _import_parts(k: int) -> tuple[str, str, str]:
    # A multiplicative permutation: distinct for k < 8,000,000 and in no sorted order,
    # as a customer list is. Exchanges 200-999: NANP exchanges never start with 0 or 1.
    rest = (k // 10 * 7_919 + 13) % 8_000_000
    return _AREAS[k % 10], f"{200 + rest // 10_000}", f"{rest % 10_000:04d}"


def write_import_csv(path: Path, rows: int) -> None:
    """The deterministic file of issue 15: ``phone,consented_at,source``.

    Per 200,000 rows, 198,000 distinct valid US numbers in seven common
    formats and 2,000 invalid rows (every hundredth row).
    """
    valid = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write("phone,consented_at,source\n")
        for i in range(rows):
            if i % INVALID_EVERY == INVALID_EVERY - 1:
                phone = _INVALID_PHONES[i // INVALID_EVERY % len(_INVALID_PHONES)]
            else:
                a, x, n = _import_parts(valid)
                phone = _IMPORT_FORMATS[valid % len(_IMPORT_FORMATS)].format(a=a, x=x, n=n)
                valid += 1
            day = 1 + i % 28
            source = _IMPORT_SOURCES[i % len(_IMPORT_SOURCES)]
            out.write(f'"{phone}",2024-03-{day:02d}T10:15:00Z,{source}\n')


@attrs.frozen
class Shop:
    """A business on an SMS plan, its active number, and a session-free id."""

    business_id: str
    number: str


def create_shop(
    uow: SqlUnitOfWork, name: str, plan: str = "enterprise", *, area_code: str = "512"
) -> Shop:
    """A business with an active number, bought from the sandbox of that database (one
    per area code), so that ``serve --sandbox`` processes on it can send from it."""
    clock = SystemClock()
    telephony = SimulatedTelephony(state=SqlSandboxState(uow.engine))
    business = uc.create_business(name, plan, uow=uow, clock=clock, review_url=REVIEW_URL)
    [first, *_] = uc.search_numbers(business.id, area_code, uow=uow, telephony=telephony)
    result = uc.provision_number(
        business.id, first.number.e164, uow=uow, telephony=telephony, clock=clock
    )
    return Shop(business.id, PhoneNumber.parse(result.number).e164)


def seed_consents(engine: sa.Engine, business_id: str, phones: Sequence[str]) -> None:
    """Consent rows written directly (fixture data, not what is measured)."""
    from neariq_sms.adapters.sql.tables import consents

    now = datetime.now(UTC)
    rows = [
        {
            "business_id": business_id,
            "phone": p,
            "source": "web_form",
            "consented_at": now,
            "updated_at": now,
            "opted_out_at": None,
            "opt_out_source": None,
        }
        for p in phones
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), 5_000):
            conn.execute(consents.insert(), rows[start : start + 5_000])


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    url = sqlite_url(path)
    upgrade(url)
    return url


def fresh_postgres(base_url: str) -> str:
    """A new, empty, migrated benchmark database next to ``base_url``'s (dropped first)."""
    url = sa.make_url(base_url)
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{BENCH_DB_NAME}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{BENCH_DB_NAME}" TEMPLATE template0')
    finally:
        admin.dispose()
    bench_url = url.set(database=BENCH_DB_NAME).render_as_string(hide_password=False)
    upgrade(bench_url)
    return bench_url


def postgres_base_url() -> str | None:
    return os.environ.get("NEARIQ_SMS_BENCH_POSTGRES_URL") or os.environ.get(
        "NEARIQ_SMS_TEST_POSTGRES_URL"
    )


def new_uow(url: str) -> SqlUnitOfWork:
    return SqlUnitOfWork(make_engine(url))


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of unsorted values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@attrs.define
class Stopwatch:
    """Accumulates the time of interleaved runs."""

    seconds: float = 0.0
    count: int = 0

    def run(self, work: Callable[[], int]) -> None:
        started = time.perf_counter()
        done = work()
        self.seconds += time.perf_counter() - started
        self.count += done

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("nan")


def chunks(total: int, parts: int) -> Iterator[int]:
    """``total`` split into ``parts`` near-equal sizes (every one at least 1)."""
    parts = max(1, min(parts, total))
    base, extra = divmod(total, parts)
    for i in range(parts):
        yield base + (1 if i < extra else 0)


def compile_package() -> None:
    """Write the bytecode of ``neariq_sms`` as an installed wheel has it (pip
    compiles at install), before any process is timed: from a source checkout
    run with ``PYTHONDONTWRITEBYTECODE=1`` (this machine's default), every
    ``neariq-sms`` process compiled the whole package again, about 0.3 s of a
    start that a user never pays. The bare loops import nothing of ours."""
    import compileall

    import neariq_sms

    compileall.compile_dir(Path(neariq_sms.__file__).parent, quiet=1)


def _cpu_times() -> tuple[int, int] | None:
    """(steal, total) jiffies of all CPUs since boot, from Linux's ``/proc/stat``."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal: guest time is inside user.
    times = [int(x) for x in fields[1:9]]
    return times[7], sum(times)


@contextlib.contextmanager
def steal_share() -> Iterator[dict[str, float]]:
    """The share of CPU time the hypervisor gave to other guests while the block ran
    (``{"steal_pct": ...}``; empty where ``/proc/stat`` says nothing). On a shared
    virtual machine, a latency percentile means little without it: a vCPU paused
    for the host's other tenants stalls whatever request it was serving."""
    found: dict[str, float] = {}
    before = _cpu_times()
    try:
        yield found
    finally:
        after = _cpu_times()
        if before is not None and after is not None and after[1] > before[1]:
            share = (after[0] - before[0]) / (after[1] - before[1])
            found["steal_pct"] = round(100 * share, 1)


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "sqlite": __import__("sqlite3").sqlite_version,
        "sqlalchemy": sa.__version__,
        "executable": sys.executable,
    }
