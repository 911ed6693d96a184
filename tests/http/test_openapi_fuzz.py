"""schemathesis against the live reference server: no 5xx, no answer outside the document."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from neariq_sms.adapters.http import openapi_document
from tests.http.live import LiveServer, consent, provision_first


@pytest.fixture(scope="module")
def fuzzed(server: LiveServer) -> dict[str, str]:
    """A business of its own, with a number and a consenting customer, for the fuzzer."""
    tenant = server.tenant(name="Fuzzed Fitness")
    with tenant.client() as client:
        provision_first(client, "212")
        consent(client)
    return {"base_url": server.base_url, "cookie": tenant.cookie}


# The shipped document; test_the_served_document_is_the_shipped_one ties it to the server.
schema = schemathesis.openapi.from_dict(json.loads(openapi_document()))

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_live_server_keeps_its_openapi_document(case: Any, fuzzed: dict[str, str]) -> None:
    """Generated requests (valid and not) get documented statuses, types and bodies."""
    case.call_and_validate(
        base_url=fuzzed["base_url"], headers={"Cookie": fuzzed["cookie"]}, checks=CHECKS
    )


def test_the_served_document_is_the_shipped_one(fuzzed: dict[str, str]) -> None:
    """GET /api/sms/openapi.json on the live server is the document fuzzed above."""
    served = httpx.get(f"{fuzzed['base_url']}/api/sms/openapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(openapi_document())
