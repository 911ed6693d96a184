"""Each example as its docstring runs it: a clean virtual environment with only the
example's extra installed from the built wheel, ``python examples/X.py`` as a real
process in a fresh directory, and a real HTTP client signing in through its stub.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.http.live import READY_TIMEOUT, clean_env, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "+15557654321"
NUMBER = "+15125550123"


PIP = [sys.executable, "-m", "pip"]
EXTRAS = {"flask_app": "flask", "fastapi_app": "fastapi"}


def build_wheel(tmp: Path) -> Path:
    """The project's wheel, built from a copy so the checkout gets no build/ folder."""
    source = tmp / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    out = tmp / "wheel"
    subprocess.run(
        [*PIP, "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        timeout=300,
        capture_output=True,
    )
    [built] = out.glob("neariq_sms-*.whl")
    return built


def clean_venv(venv: Path, wheel: Path, extra: str) -> Path:
    """A virtual environment holding the project with ``extra`` and nothing else.

    It gets no pip of its own (ensurepip is the slow part): this interpreter's pip
    installs into it with ``--python``.
    """
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    python = venv / "bin" / "python"
    done = subprocess.run(
        [*PIP, "--python", str(python), "install", "-q", f"{wheel}[{extra}]"],
        timeout=600,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return python


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One clean venv per example, installed side by side from one built wheel."""
    tmp = tmp_path_factory.mktemp("clean")
    wheel = build_wheel(tmp)
    with ThreadPoolExecutor(len(EXTRAS)) as pool:
        futures = {
            example: pool.submit(clean_venv, tmp / f"venv-{extra}", wheel, extra)
            for example, extra in EXTRAS.items()
        }
        return {example: future.result() for example, future in futures.items()}


def start(python: Path, example: str, cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = clean_env("", NEARIQ_SMS_QUIET_HOURS="off")  # noon or night, Jane's send is queued
    del env["NEARIQ_SMS_DATABASE_URL"]  # the default: ./neariq_sms.db in the fresh directory
    env.pop("PYTHONPATH", None)
    log = (cwd / "example.log").open("wb")
    process = subprocess.Popen(
        [str(python), str(ROOT / "examples" / f"{example}.py"), "--port", str(port)],
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError((cwd / "example.log").read_text())
        try:
            if httpx.get(f"{base}/api/sms/openapi.json", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    process.kill()
    raise AssertionError("the example never answered: " + (cwd / "example.log").read_text())


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def the_documented_flow(base: str) -> None:
    """Signed out 401; the stub signs in; status, search, provision, send, consents, release."""
    with httpx.Client(base_url=base, timeout=10) as client:
        signed_out = client.get("/api/sms")
        assert (signed_out.status_code, signed_out.json()["code"]) == (401, "unauthenticated")
        signed_in = client.post("/dev/sign-in")
        assert signed_in.status_code == 200, signed_in.text
        business_id = signed_in.json()["businessId"]
        status = client.get("/api/sms").json()
        assert (status["configured"], status["business"]["id"]) == (True, business_id)
        found = client.get("/api/sms", params={"action": "search", "areaCode": "512"}).json()
        assert found["numbers"][0]["number"] == NUMBER
        provision = client.post("/api/sms", json={"action": "provision", "phoneNumber": NUMBER})
        assert provision.json()["number"] == NUMBER, provision.text
        sent = client.post(
            "/api/sms",
            json={"action": "send_review_request", "to": CUSTOMER, "customerName": "Jane"},
        )
        assert sent.json()["status"] == "queued", sent.text
        consents = client.get("/api/sms/consents").json()["consents"]
        assert [c["phone"] for c in consents] == [CUSTOMER]
        unknown = client.get("/api/sms/nowhere")
        assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
        refused = client.delete("/api/sms")
        assert (refused.status_code, refused.headers["Allow"]) == (405, "GET, POST")
        assert client.post("/api/sms", json={"action": "release"}).json() == {"ok": True}
        # Signing in again finds the same demo business in the example's database.
        assert client.post("/dev/sign-in").json()["businessId"] == business_id


def test_the_flask_example_runs_from_a_clean_venv(tmp_path: Path, venvs: dict[str, Path]) -> None:
    python = venvs["flask_app"]
    workdir = tmp_path / "fresh"
    workdir.mkdir()
    process, base = start(python, "flask_app", workdir)
    try:
        the_documented_flow(base)
    finally:
        stop(process)
    assert (workdir / "neariq_sms.db").exists()


def test_the_fastapi_example_runs_from_a_clean_venv(tmp_path: Path, venvs: dict[str, Path]) -> None:
    python = venvs["fastapi_app"]
    workdir = tmp_path / "fresh"
    workdir.mkdir()
    process, base = start(python, "fastapi_app", workdir)
    try:
        the_documented_flow(base)
        schema = httpx.get(f"{base}/openapi.json", timeout=10).json()
        operations = {op["operationId"] for ops in schema["paths"].values() for op in ops.values()}
        assert {"getSms", "postSms", "recordConsent", "optOut", "twilioInbound"} <= operations
        assert not any("{rest}" in path for path in schema["paths"])
    finally:
        stop(process)
    assert "Duplicate Operation ID" not in (workdir / "example.log").read_text()
