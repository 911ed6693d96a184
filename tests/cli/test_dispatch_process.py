"""``neariq-sms dispatch`` as the whole process cron starts, on SQLite."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock
from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork, upgrade
from neariq_sms.adapters.sql.sandbox import SqlSandboxState
from neariq_sms.domain.messages import MessageStatus
from tests.http.live import clean_env

#: Runs the command as its console script does, then prints whether the garbage
#: collector runs again and which PostgreSQL modules were loaded.
_DISPATCH_AND_LIST = (
    "import gc, sys\n"
    "from neariq_sms.cli import main\n"
    "sys.argv = ['neariq-sms', 'dispatch', '--sandbox']\n"
    "status = main()\n"
    "print('collector', gc.isenabled(), 'frozen', gc.get_freeze_count() > 0)\n"
    "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')))\n"
    "sys.exit(status)\n"
)


def test_a_sqlite_dispatch_never_loads_the_postgresql_dialect(tmp_path: Path) -> None:
    """Building the services and sending a due message on SQLite leave SQLAlchemy's
    PostgreSQL dialect (and its drivers' modules) unloaded: a cron job's start-up.
    The garbage collector, paused for the start-up, runs again for the sending."""
    url = f"sqlite:///{tmp_path / 'dispatch.db'}"
    upgrade(url)  # here, not in the child: Alembic loads every dialect it knows
    uow = SqlUnitOfWork.from_url(url)
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    clock = ManualClock(datetime(day.year, day.month, day.day, 10, tzinfo=UTC))  # quiet hours
    telephony = SimulatedTelephony(state=SqlSandboxState(uow.engine), clock=clock)
    business = uc.create_business(
        "Aster", "growth", uow=uow, clock=clock, review_url="https://example.com/r"
    )
    [number, *_] = uc.search_numbers(business.id, "512", uow=uow, telephony=telephony)
    uc.provision_number(business.id, number.number.e164, uow=uow, telephony=telephony, clock=clock)
    uc.record_consent(business.id, "+15125550123", "web_form", uow=uow, clock=clock)
    sent = uc.send_review_request(
        business.id, "+15125550123", "Jane", uow=uow, telephony=telephony, clock=clock
    )
    assert sent.status is MessageStatus.SCHEDULED
    uow.engine.dispose()

    done = subprocess.run(
        [sys.executable, "-c", _DISPATCH_AND_LIST],
        env=clean_env(url),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "submitted 1"
    assert lines[-2:] == ["collector True frozen True", "[]"]
