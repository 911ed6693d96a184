"""The migrated schema, the engines' settings, and what only SQL can get wrong."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from neariq_sms.adapters.memory import SimulatedTelephony
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine, metadata, upgrade
from neariq_sms.adapters.sql.migrate import HEAD, alembic_config
from neariq_sms.adapters.sql.sandbox import SqlSandboxState
from neariq_sms.adapters.sql.tables import businesses, sms_numbers
from neariq_sms.domain import Business, MessageStatus, NumberStatus, Plan, SmsNumber
from neariq_sms.domain.errors import DuplicateNumber, NumberAlreadyProvisioned
from neariq_sms.domain.phone import PhoneNumber
from tests.sql.backends import postgres_url

T0 = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_head_the_package_names_is_alembics_head() -> None:
    """``migrate.HEAD`` (which spares commands importing Alembic) is the newest migration."""
    assert head_revision() == HEAD


def test_the_migrated_schema_equals_the_tables_metadata(engine: sa.Engine) -> None:
    """Alembic's autogenerate finds no difference between the migrations and the tables."""
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def _indexes(connection: sa.Connection, schema: str | None = None) -> dict[str, Any]:
    inspector = sa.inspect(connection)
    return {
        index["name"]: (
            table,
            index["column_names"],
            index["unique"],
            {key: str(value) for key, value in index.get("dialect_options", {}).items()},
        )
        for table in metadata.tables
        for index in inspector.get_indexes(table, schema=schema)
    }


def test_the_tables_create_the_migrated_indexes_partial_ones_included(
    engine: sa.Engine, tmp_path: Path
) -> None:
    """``metadata.create_all`` makes the indexes the migrations make, each partial
    index's WHERE included: Alembic's comparison above does not look at WHERE."""
    with engine.connect() as migrated:
        if engine.dialect.name == "sqlite":
            expected = _indexes(migrated)
            copy = make_engine(f"sqlite:///{tmp_path / 'from-metadata.db'}")
            with copy.begin() as connection:
                metadata.create_all(connection)
                created = _indexes(connection)
            copy.dispose()
        else:
            schema = migrated.execute(sa.text("SELECT current_schema()")).scalar_one()
            expected = _indexes(migrated, schema)
            migrated.execute(sa.text(f'CREATE SCHEMA "{schema}_copy"'))
            migrated.execute(sa.text(f'SET LOCAL search_path TO "{schema}_copy"'))
            metadata.create_all(migrated)
            created = _indexes(migrated, f"{schema}_copy")
            migrated.rollback()  # the copy leaves nothing behind
    partial = {name: opts for name, (_, _, _, opts) in expected.items() if opts}
    assert set(partial) >= {
        "uq_sms_numbers_business_holds",
        "uq_sms_numbers_number_held",
        "uq_messages_business_id_reference_scheduled",
    }
    assert created == expected


def test_upgrading_an_up_to_date_database_changes_nothing(engine: sa.Engine) -> None:
    """A second upgrade is a no-op: the version stays at head and the data stays."""
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.businesses.add(Business("b1", "Aster", Plan.GROWTH, T0))
        uow.commit()
    upgrade(engine)
    with uow:
        assert [b.id for b in uow.businesses.list()] == ["b1"]
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()


def test_timestamps_come_back_aware_and_in_utc(engine: sa.Engine) -> None:
    """Whatever zone a datetime was given in, storage returns the same instant in UTC."""
    in_austin = datetime(2026, 3, 10, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.businesses.add(Business("b1", "Aster", Plan.GROWTH, in_austin))
        uow.commit()
    with uow:
        stored = uow.businesses.get("b1")
    assert stored is not None
    assert stored.created_at == in_austin
    assert stored.created_at.tzinfo is UTC
    assert stored.created_at.hour == 17


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-10 17:00:00.123456", datetime(2026, 3, 10, 17, 0, 0, 123456, tzinfo=UTC)),
        ("2026-03-10 17:00:00", datetime(2026, 3, 10, 17, 0, tzinfo=UTC)),
        ("2026-03-10 17:00:00.000000", datetime(2026, 3, 10, 17, 0, tzinfo=UTC)),
    ],
)
def test_sqlite_reads_stored_timestamp_text_as_aware_utc(
    tmp_path: Path, text: str, expected: datetime
) -> None:
    """SQLite's fast parse of the stored text and the generic path for other text
    (written by hand or another tool) give the same aware UTC value."""
    engine = make_engine(f"sqlite:///{tmp_path / 'ts.db'}")
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO businesses (id, name, plan, created_at, timezone, active)"
                " VALUES ('b1', 'Aster', 'growth', :at, 'UTC', 1)"
            ),
            {"at": text},
        )
    with SqlUnitOfWork(engine) as uow:
        stored = uow.businesses.get("b1")
    engine.dispose()
    assert stored is not None
    assert stored.created_at == expected
    assert stored.created_at.tzinfo is UTC


def test_naive_datetimes_are_refused(engine: sa.Engine) -> None:
    """A naive datetime is an error, never silently read as local or UTC time."""
    uow = SqlUnitOfWork(engine)
    with uow, pytest.raises(sa.exc.StatementError, match="naive"):
        uow.businesses.add(Business("b1", "Aster", Plan.GROWTH, datetime(2026, 3, 10)))


def test_a_violated_constraint_leaves_the_transaction_usable(engine: sa.Engine) -> None:
    """After a uniqueness error the same block can go on and commit (savepoints on PostgreSQL)."""
    uow = SqlUnitOfWork(engine)
    number = PhoneNumber("+15125550123")
    with uow:
        for business_id in ("b1", "b2"):
            uow.businesses.add(Business(business_id, business_id, Plan.GROWTH, T0))
        uow.numbers.add(SmsNumber("n1", "b1", number, NumberStatus.ACTIVE, T0))
        with pytest.raises(DuplicateNumber):
            uow.numbers.add(SmsNumber("n2", "b2", number, NumberStatus.PENDING, T0))
        with pytest.raises(NumberAlreadyProvisioned):
            uow.numbers.add(
                SmsNumber("n3", "b1", PhoneNumber("+15125550124"), NumberStatus.PENDING, T0)
            )
        uow.numbers.add(
            SmsNumber("n4", "b2", PhoneNumber("+15125550125"), NumberStatus.PENDING, T0)
        )
        uow.commit()
    with uow:
        assert [n.id for n in uow.numbers.history("b2")] == ["n4"]


def test_the_partial_indexes_keep_released_rows_as_history(engine: sa.Engine) -> None:
    """The same number may appear many times once released, but held by one row only."""
    uow = SqlUnitOfWork(engine)
    number = PhoneNumber("+15125550123")
    with uow:
        uow.businesses.add(Business("b1", "b1", Plan.GROWTH, T0))
        for i in range(3):
            uow.numbers.add(SmsNumber(f"old{i}", "b1", number, NumberStatus.RELEASED, T0))
        uow.numbers.add(SmsNumber("now", "b1", number, NumberStatus.ACTIVE, T0))
        uow.commit()
    with engine.connect() as connection:
        raw = sa.text(
            "INSERT INTO sms_numbers (id, business_id, number, status, created_at)"
            " VALUES ('x', 'b1', :number, 'pending', :at)"
        )
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(raw, {"number": "+15125550199", "at": "2026-03-10 17:00:00"})


def test_the_allowance_cannot_go_below_zero_even_by_hand(engine: sa.Engine) -> None:
    """The CHECK (used >= 0) holds for any writer, not only for this adapter."""
    uow = SqlUnitOfWork(engine)
    with uow:
        uow.businesses.add(Business("b1", "b1", Plan.GROWTH, T0))
        assert uow.allowances.try_consume("b1", "2026-03", 2, 5)
        uow.commit()
    with engine.connect() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(sa.text("UPDATE allowances SET used = used - 3"))


def test_sqlite_runs_with_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    """The embedded default is configured for many processes on one file."""
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        pragma = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    engine.dispose()
    assert pragma["journal_mode"] == "wal"
    assert pragma["foreign_keys"] == 1
    assert isinstance(pragma["busy_timeout"], int)
    assert pragma["busy_timeout"] >= 5000


def test_in_memory_sqlite_is_refused() -> None:
    """A private in-memory database cannot be shared by threads and processes."""
    with pytest.raises(ValueError, match="file"):
        make_engine("sqlite://")


def test_the_password_never_shows_in_a_repr() -> None:
    """The unit of work's repr names the database but hides its password."""
    uow = SqlUnitOfWork(sa.create_engine("postgresql+psycopg://app:s3cr3t-pw@db.example/sms"))
    assert "s3cr3t-pw" not in repr(uow)
    assert "db.example/sms" in repr(uow)


@pytest.fixture(params=["sqlite", "postgres"])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """A database with no schema at all, on each SQL engine."""
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        yield engine
        engine.dispose()
        return
    url = postgres_url()
    schema = f"nq_migrate_{os.getpid()}_{abs(hash(request.node.nodeid)) % 10**8}"
    admin = make_engine(url, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(url, connect_args={"options": f"-c search_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def test_upgrading_a_sandbox_database_from_0001_keeps_its_numbers_sendable(
    empty_engine: sa.Engine,
) -> None:
    """Before 0002 every sandbox process adopted the active numbers at start, with sids
    counted from 1 per process (so two businesses could share one). The upgrade adopts
    them once, gives a repeated sid a fresh one, and keeps the data as it was."""
    upgrade(empty_engine, "0001")
    old_sid = "PN" + "0" * 31 + "1"  # what two old sandbox processes both handed out
    rows = [
        ("n1", "b1", "+15125550123", "active", old_sid),
        ("n2", "b2", "+14155550123", "active", old_sid),
        ("n3", "b3", "+13035550123", "released", "PN" + "0" * 31 + "2"),
    ]
    with empty_engine.begin() as connection:
        for business in ("b1", "b2", "b3"):
            connection.execute(
                businesses.insert(),
                {
                    "id": business,
                    "name": "Shop",
                    "plan": "growth",
                    "created_at": T0,
                    "timezone": "America/Chicago",
                    "active": True,
                },
            )
        for number_id, business, number, status, sid in rows:
            connection.execute(
                sms_numbers.insert(),
                {
                    "id": number_id,
                    "business_id": business,
                    "number": number,
                    "status": status,
                    "created_at": T0,
                    "provider_sid": sid,
                },
            )
    upgrade(empty_engine)

    uow = SqlUnitOfWork(empty_engine)
    with uow:
        held = [uow.numbers.holding(b) for b in ("b1", "b2", "b3")]
        assert [b.id for b in uow.businesses.list()] == ["b1", "b2", "b3"]
    first, second, third = held
    assert first is not None
    assert second is not None
    assert third is None
    assert first.provider_sid == old_sid
    assert second.provider_sid != old_sid
    assert re.fullmatch(r"PN[0-9a-f]{32}", second.provider_sid or "")
    sandbox = SimulatedTelephony(state=SqlSandboxState(empty_engine))
    assert sandbox.owned == {old_sid: first.number, second.provider_sid: second.number}
    for number in (first, second):
        sent = sandbox.send(from_=number.number, to=PhoneNumber("+15557654321"), body="Hi")
        assert sent.status is MessageStatus.QUEUED
    sandbox.release(second.provider_sid or "")
    assert list(sandbox.owned) == [old_sid]
    with empty_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


@pytest.mark.parametrize("since", ["0001", "0003"])
def test_upgrading_an_older_database_keeps_every_row_and_builds_its_threads(
    empty_engine: sa.Engine, since: str
) -> None:
    """From 0.1.0's schema (0001) or the one before 0004: every message and inbound
    message stays; each (business, phone) pair gets its thread with its latest
    message; the history counts as read."""
    upgrade(empty_engine, since)
    customer, other = "+15557654321", "+15557654322"
    with empty_engine.begin() as connection:
        connection.execute(
            businesses.insert(),
            {
                "id": "b1",
                "name": "Shop",
                "plan": "growth",
                "created_at": T0,
                "timezone": "America/Chicago",
                "active": True,
            },
        )
        for i, (to, at) in enumerate([(customer, T0), (other, T0 + timedelta(hours=2))]):
            connection.execute(
                sa.text(
                    "INSERT INTO messages (id, business_id, to_phone, from_phone, body, segments,"
                    " units, period, status, created_at, kind) VALUES (:id, 'b1', :to,"
                    " '+15125550123', :body, 1, 1, '2026-03', 'delivered', :at, 'review_request')"
                ),
                {"id": f"m{i}", "to": to, "body": f"review {i}", "at": at},
            )
        connection.execute(
            sa.text(
                "INSERT INTO inbound_messages (id, business_id, from_phone, to_phone, body,"
                " received_at, provider_sid) VALUES ('i1', 'b1', :from_, '+15125550123',"
                " 'Thanks!', :at, 'SM1')"
            ),
            {"from_": customer, "at": T0 + timedelta(hours=1)},
        )
    upgrade(empty_engine)

    uow = SqlUnitOfWork(empty_engine)
    with uow:
        stored = [m.id for m in uow.messages.for_business("b1")]
        inbound = uow.inbound.get("i1")
        threads = list(uow.conversations.page("b1", before=None, limit=10))
    assert stored == ["m0", "m1"]
    assert inbound is not None
    assert inbound.body == "Thanks!"
    assert [(t.phone.e164, t.last_body, t.last_kind, t.unread) for t in threads] == [
        (other, "review 1", "review_request", 0),
        (customer, "Thanks!", "inbound", 0),
    ]
    assert threads[1].last_inbound_at == T0 + timedelta(hours=1)
    with empty_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []


def test_upgrading_from_0005_keeps_the_sandbox_messages_and_adds_registrations(
    empty_engine: sa.Engine,
) -> None:
    """0006 adds the registrations and the sandbox registry: a message the sandbox
    sent before went through no Messaging Service, and a business has no registration."""
    upgrade(empty_engine, "0005")
    with empty_engine.begin() as connection:
        connection.execute(
            businesses.insert(),
            {"id": "b1", "name": "Shop", "plan": "growth", "created_at": T0,
             "timezone": "America/Chicago", "active": True},
        )  # fmt: skip
        connection.execute(
            sa.text(
                "INSERT INTO sandbox_messages (sid, from_phone, to_phone, body, sent_at)"
                " VALUES ('SM1', '+15125550123', '+15557654321', 'Hi', :at)"
            ),
            {"at": T0},
        )
    upgrade(empty_engine)
    sent = SqlSandboxState(empty_engine).sent()
    assert [(m.sid, m.body, m.messaging_service_sid) for m in sent] == [("SM1", "Hi", None)]
    with SqlUnitOfWork(empty_engine) as uow:
        assert uow.registrations.current("b1") is None
        assert uow.businesses.get("b1") is not None
    with empty_engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), metadata)
    assert diff == []
