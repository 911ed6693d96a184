"""Worker processes of the consent races (importable under spawn): see ``race.py``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from threading import Barrier

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import ManualClock, SystemClock
from neariq_sms.domain import SmsError
from tests.sql.race import NOON_IN_AUSTIN, DbSpec, open_uow


def _sid() -> str:
    return "SM" + uuid.uuid4().hex


def import_rows(spec: DbSpec, barrier: Barrier, business_id: str, phones: Sequence[str]) -> str:
    """Import one consent row per phone, in batches, starting with the live writers."""
    uow, clock = open_uow(spec), ManualClock(NOON_IN_AUSTIN)
    barrier.wait()
    try:
        report = uc.import_consents(
            business_id, ({"phone": p} for p in phones), uow=uow, clock=clock, batch_size=50
        )
    except SmsError as exc:
        return f"error:{exc.code}"
    return f"ok:{report.imported}:{report.updated}:{report.skipped}:{report.rejected}"


def live_writes(
    spec: DbSpec, barrier: Barrier, business_id: str, number: str, phones: Sequence[str], kind: str
) -> list[str]:
    """STOP each phone by text, or write its consent, while an import runs."""
    uow, clock = open_uow(spec), ManualClock(NOON_IN_AUSTIN)
    barrier.wait()
    outcomes = []
    for phone in phones:
        try:
            if kind == "stop":
                result = uc.handle_inbound_message(
                    number, phone, "STOP", _sid(), uow=uow, clock=clock
                )
                outcomes.append(f"ok:{result.keyword}")
            else:
                uc.record_consent(business_id, phone, "web_form", uow=uow, clock=clock)
                outcomes.append("ok")
        except SmsError as exc:
            outcomes.append(exc.code)
    return outcomes


def flip_flop(spec: DbSpec, barrier: Barrier, number: str, phone: str, rounds: int) -> list[str]:
    """START then STOP by text, ``rounds`` times, on the real clock."""
    uow, clock = open_uow(spec), SystemClock()
    barrier.wait()
    outcomes = []
    for _ in range(rounds):
        for body in ("START", "STOP"):
            try:
                uc.handle_inbound_message(number, phone, body, _sid(), uow=uow, clock=clock)
                outcomes.append("ok")
            except SmsError as exc:
                outcomes.append(exc.code)
    return outcomes
