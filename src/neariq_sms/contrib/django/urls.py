"""``path("", include("neariq_sms.contrib.django.urls"))`` serves ``/api/sms`` and its paths.

Names (namespace ``neariq_sms``): ``api``, ``consents``, ``opt-out``, ``opt-in``,
``consent-history``, ``conversations``, ``conversation-messages``,
``conversation-read``, ``reminders``, ``message`` (``/api/sms/messages/<id>``),
``openapi``, ``twilio-inbound``, ``twilio-status``, ``twilio-registration``. Under a prefix
(``path("sms/", include(...))``), set ``NEARIQ_SMS_PUBLIC_URL`` to the public
address including that prefix: Twilio's webhooks are signed for it.
"""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from neariq_sms.adapters.http import ROUTES
from neariq_sms.adapters.http.contract import (
    API_PATH,
    CONSENTS_PATH,
    INBOUND_WEBHOOK_PATH,
    OPENAPI_PATH,
    OPT_IN_PATH,
    OPT_OUT_PATH,
    REGISTRATION_WEBHOOK_PATH,
    STATUS_WEBHOOK_PATH,
)
from neariq_sms.adapters.http.messaging import (
    CONVERSATIONS_PATH,
    HISTORY_PATH,
    READ_PATH,
    REMINDERS_PATH,
    THREAD_PATH,
)
from neariq_sms.contrib.django import views

app_name = "neariq_sms"

NAMES = {
    API_PATH: "api",
    CONSENTS_PATH: "consents",
    OPT_OUT_PATH: "opt-out",
    OPT_IN_PATH: "opt-in",
    HISTORY_PATH: "consent-history",
    CONVERSATIONS_PATH: "conversations",
    THREAD_PATH: "conversation-messages",
    READ_PATH: "conversation-read",
    REMINDERS_PATH: "reminders",
    OPENAPI_PATH: "openapi",
    INBOUND_WEBHOOK_PATH: "twilio-inbound",
    STATUS_WEBHOOK_PATH: "twilio-status",
    REGISTRATION_WEBHOOK_PATH: "twilio-registration",
}

urlpatterns: list[URLPattern] = [
    *(
        path(route.removeprefix("/"), views.sms_view, {"contract_path": route}, name=NAMES[route])
        for route in ROUTES
    ),
    re_path(r"^api/sms/messages/(?P<message_id>[^/]+)\Z", views.message_view, name="message"),
    re_path(r"^api/sms/(?P<rest>.*)\Z", views.unknown_view),
]
