"""The SQL repositories, one module per aggregate, over one :class:`~..statements.Db`."""

from neariq_sms.adapters.sql.repositories.allowances import SqlAllowances
from neariq_sms.adapters.sql.repositories.businesses import SqlBusinesses, SqlSessions
from neariq_sms.adapters.sql.repositories.consents import SqlConsents
from neariq_sms.adapters.sql.repositories.conversations import SqlConversations
from neariq_sms.adapters.sql.repositories.messages import SqlInbound, SqlMessages
from neariq_sms.adapters.sql.repositories.numbers import SqlNumbers
from neariq_sms.adapters.sql.repositories.registrations import SqlRegistrations

__all__ = [
    "SqlAllowances",
    "SqlBusinesses",
    "SqlConsents",
    "SqlConversations",
    "SqlInbound",
    "SqlMessages",
    "SqlNumbers",
    "SqlRegistrations",
    "SqlSessions",
]
