"""neariq_sms: the SMS feature of the NearIQ dashboard as a library.

Domain objects live in :mod:`neariq_sms.domain`, the ports in
:mod:`neariq_sms.ports`, the operations in :mod:`neariq_sms.usecases`, and
the concrete adapters under :mod:`neariq_sms.adapters`.
"""

__version__ = "0.1.0"
