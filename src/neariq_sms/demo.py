"""A scripted tour of the use cases on the in-memory sandbox: ``python -m neariq_sms.demo``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock, SimulatedTelephony
from neariq_sms.domain.errors import SmsError


def main() -> None:
    uow, telephony = InMemoryUnitOfWork(), SimulatedTelephony()
    clock = ManualClock(datetime(2026, 3, 10, 17, 0, tzinfo=UTC))  # noon in Austin
    deps: dict[str, Any] = {"uow": uow, "telephony": telephony, "clock": clock}

    shop = uc.create_business(
        "Aster Grove Fitness",
        "growth",
        uow=uow,
        clock=clock,
        review_url="https://g.page/r/aster-grove",
    )
    print(f"business  {shop.name} ({shop.plan.value}) {shop.id}")
    for found in uc.search_numbers(shop.id, "512", 3, uow=uow, telephony=telephony):
        print(f"available {found.number} {found.friendly_name} {found.locality}, {found.region}")
    bought = uc.provision_number(shop.id, "+15125550123", **deps)
    print(f"provision {bought.number} sid={bought.sid}")

    uc.record_consent(shop.id, "(555) 765-4321", "point_of_sale", uow=uow, clock=clock)
    sent = uc.send_review_request(shop.id, "+15557654321", "Jane", **deps)
    print(f"send      {sent.status.value} sid={sent.message_sid} segments={sent.segments}")
    print(f"          body: {telephony.sent[-1].body}")

    try:
        uc.send_review_request(shop.id, "+15557654321", "Jane", **deps)
    except SmsError as exc:
        print(f"again     {exc.status} {exc.code}: {exc}")

    reply = uc.handle_inbound_message("+15125550123", "+15557654321", "Stop.", uow=uow, clock=clock)
    print(f"inbound   STOP -> {reply.reply}")

    clock.advance(timedelta(hours=10))  # 22:00 in Austin: quiet hours
    uc.record_consent(shop.id, "+15125550199", "web_form", uow=uow, clock=clock)
    later = uc.send_review_request(shop.id, "+15125550199", "Ana", **deps)
    print(f"send      {later.status.value} until {later.send_at}")
    clock.advance(timedelta(hours=10))  # 08:00 next morning in Austin
    print(f"dispatch  {uc.dispatch_due(**deps)}")

    status = uc.get_status(shop.id, **deps)
    allowance = status.allowance
    print(f"allowance {allowance.used}/{allowance.limit} segments used in {allowance.period}")
    uc.release_number(shop.id, **deps)
    print("release   ok")


if __name__ == "__main__":
    main()
