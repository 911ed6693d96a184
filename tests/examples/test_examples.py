"""The Flask and FastAPI examples, each through its framework's own test client."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from neariq_sms import usecases as uc
from neariq_sms.adapters.memory import InMemoryUnitOfWork, ManualClock, SimulatedTelephony
from neariq_sms.config import Services
from neariq_sms.domain.plans import Policy
from tests.conftest import NOON_IN_AUSTIN

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEND = {"action": "send_review_request", "to": "+15557654321", "customerName": "Jane"}


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def services() -> Services:
    return Services(
        uow=InMemoryUnitOfWork(),
        telephony=SimulatedTelephony(),
        clock=ManualClock(NOON_IN_AUSTIN),
        policy=Policy(),
    )


@pytest.fixture
def business_id(services: Services) -> str:
    s = services
    business = uc.create_business("Aster Grove Fitness", "growth", uow=s.uow, clock=s.clock)
    uc.record_consent(business.id, "+15557654321", "point_of_sale", uow=s.uow, clock=s.clock)
    return business.id


def test_the_flask_example_serves_the_contract(services: Services, business_id: str) -> None:
    """Flask: the host's session names the business; the spec's flow answers as documented."""
    pytest.importorskip("flask")
    client = load("flask_app").create_app(services).test_client()
    assert client.get("/api/sms").status_code == 401
    with client.session_transaction() as session:
        session["business_id"] = business_id
    search = client.get("/api/sms?action=search&areaCode=512").get_json()
    assert search["numbers"][0]["number"] == "+15125550123"
    provision = client.post("/api/sms", json={"action": "provision", "phoneNumber": "+15125550123"})
    assert provision.get_json()["ok"] is True
    assert client.post("/api/sms", json=SEND).get_json()["status"] == "queued"
    refused = client.put("/api/sms")
    assert (refused.status_code, refused.headers["Allow"]) == (405, "GET, POST")
    too_big = client.post("/api/sms", data=b"x" * (65 * 1024))
    assert too_big.get_json()["code"] == "payload_too_large"
    assert client.post("/api/sms", json={"action": "release"}).get_json() == {"ok": True}


def test_the_fastapi_example_serves_the_contract(services: Services, business_id: str) -> None:
    """FastAPI: the host's dependency names the business; the spec's flow answers as documented."""
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    module = load("fastapi_app")
    app = module.create_app(services)
    with TestClient(app) as client:
        assert client.get("/api/sms").json()["code"] == "unauthenticated"
        app.dependency_overrides[module.current_business] = lambda: business_id
        status = client.get("/api/sms").json()
        assert status["business"]["id"] == business_id
        provision = client.post(
            "/api/sms", json={"action": "provision", "phoneNumber": "+15125550123"}
        )
        assert provision.json()["number"] == "+15125550123"
        sent = client.post("/api/sms", json=SEND, headers={"Idempotency-Key": "k1"})
        again = client.post("/api/sms", json=SEND, headers={"Idempotency-Key": "k1"})
        assert sent.json() == again.json()
        assert sent.json()["status"] == "queued"
        assert client.request("DELETE", "/api/sms").status_code == 405
        too_big = client.post("/api/sms/consents", content=b"x" * (65 * 1024))
        assert too_big.status_code == 413
        bad = client.post("/api/sms", content=b"not json")
        assert json.loads(bad.content)["code"] == "invalid_json"


def test_the_fastapi_docs_show_the_contracts_operations(services: Services) -> None:
    """``/openapi.json`` lists the contract's operations, without duplicate-id warnings."""
    pytest.importorskip("fastapi")
    import warnings

    from fastapi.testclient import TestClient

    with TestClient(load("fastapi_app").create_app(services)) as client, warnings.catch_warnings():
        warnings.simplefilter("error")
        schema = client.get("/openapi.json").json()
    operations = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
    assert {"getSms", "postSms", "getConsents", "optIn", "twilioStatus"} <= operations
    assert "/api/sms{rest}" not in schema["paths"]
    assert schema["components"]["securitySchemes"]["sessionCookie"]["name"] == "session"
