"""The Django views of ``/api/sms``: the contract, its OpenAPI document and the two webhooks.

CSRF: every view is ``csrf_exempt``, each for its own reason.

- The session endpoints change state only through a JSON body, and the
  contract refuses any body not sent as ``Content-Type: application/json``
  (400 ``invalid_json``, nothing changed). A cross-site page cannot send that
  content type without a CORS preflight, so a form or a ``fetch`` from another
  site cannot ride the user's session; the GET endpoints change nothing. This is
  the contract's CSRF defence, the same under every host, and it lets the
  dashboard's ``fetch`` calls (and the documented curl lines) work without a
  CSRF token. Wrap :func:`sms_view` in ``csrf_protect`` to demand one as well.
- The Twilio webhooks carry no session and no token: each is verified by its
  ``X-Twilio-Signature`` against ``NEARIQ_SMS_PUBLIC_URL`` (403 otherwise).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from neariq_sms.adapters.http import MAX_BODY_BYTES, handle, needs_session
from neariq_sms.adapters.http.contract import API_PATH, MESSAGES_PREFIX
from neariq_sms.contrib.django.conf import business_id_for, get_services


def _answer(request: HttpRequest, contract_path: str) -> HttpResponse:
    # The contract's own path, not request.path: the URLs may be include()d under
    # a prefix (then NEARIQ_SMS_PUBLIC_URL carries that prefix for the webhooks).
    business_id = business_id_for(request) if needs_session(contract_path) else None
    status, headers, body = handle(
        request.method or "GET",
        contract_path,
        request.META.get("QUERY_STRING", ""),
        request.headers.items(),
        request.read(MAX_BODY_BYTES + 1),
        business_id,
        services=get_services(),
    )
    return HttpResponse(body, status=status, headers=headers)


@csrf_exempt
def sms_view(request: HttpRequest, contract_path: str) -> HttpResponse:
    """One path of the contract (``contract_path``, e.g. ``/api/sms/consents``)."""
    return _answer(request, contract_path)


@csrf_exempt
def message_view(request: HttpRequest, message_id: str) -> HttpResponse:
    """``/api/sms/messages/<id>``: one message of the session's business."""
    return _answer(request, f"{MESSAGES_PREFIX}{message_id}")


@csrf_exempt
def unknown_view(request: HttpRequest, rest: str) -> HttpResponse:
    """Any other path under ``api/sms/``: the contract's JSON 404, not Django's page."""
    return _answer(request, f"{API_PATH}/{rest}")


__all__ = ["message_view", "sms_view", "unknown_view"]
