"""The dependencies a driving adapter (HTTP, CLI, a host's job) hands to the use cases."""

from __future__ import annotations

import attrs

from neariq_sms.domain.plans import Policy
from neariq_sms.ports.clock import Clock
from neariq_sms.ports.registry import SenderRegistry
from neariq_sms.ports.storage import UnitOfWork
from neariq_sms.ports.telephony import TelephonyProvider
from neariq_sms.ports.webhooks import ProviderWebhooks


@attrs.frozen
class Services:
    """Everything a use case may need, built once per process (``config.build_services``)."""

    uow: UnitOfWork
    telephony: TelephonyProvider
    clock: Clock
    policy: Policy
    #: Verifies and reads provider webhooks; ``None`` when there is no provider to verify against.
    webhooks: ProviderWebhooks | None = None
    #: Registers businesses as US senders; ``None`` when the deployment has none.
    registry: SenderRegistry | None = None


__all__ = ["Services"]
