"""A first end-to-end pass over the use cases on the in-memory adapters."""

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import ManualClock, SimulatedTelephony
from neariq_sms.domain import MessageStatus
from neariq_sms.ports import UnitOfWork


def test_a_consenting_customer_gets_one_review_request(
    uow: UnitOfWork, telephony: SimulatedTelephony, clock: ManualClock
) -> None:
    """Create, provision, consent, send: the provider gets exactly one message."""
    business = uc.create_business("Aster Grove Fitness", "growth", uow=uow, clock=clock)
    uc.provision_number(business.id, "+15125550123", uow=uow, telephony=telephony, clock=clock)
    uc.record_consent(business.id, "+15557654321", "point_of_sale", uow=uow, clock=clock)

    result = uc.send_review_request(
        business.id, "+15557654321", "Jane", uow=uow, telephony=telephony, clock=clock
    )

    assert result.status is MessageStatus.QUEUED
    assert [m.to.e164 for m in telephony.sent] == ["+15557654321"]
