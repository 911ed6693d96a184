"""A real ``neariq-sms serve`` process on 127.0.0.1, and tenants to drive it with."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import httpx

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.http import create_session
from neariq_sms.config import make_uow
from neariq_sms.ports import UnitOfWork

READY_TIMEOUT = 30.0
CUSTOMER = "+15557654321"


def neariq_sms_command() -> list[str]:
    """The installed console script next to this interpreter, else the module."""
    script = Path(sys.executable).with_name("neariq-sms")
    return [str(script)] if script.exists() else [sys.executable, "-m", "neariq_sms.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(database_url: str, **extra: str) -> dict[str, str]:
    """The test process's environment without any SMS or Twilio configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEARIQ_SMS_", "TWILIO_"))}
    env["NEARIQ_SMS_DATABASE_URL"] = database_url
    env.update(extra)
    return env


@attrs.define
class LiveServer:
    base_url: str
    database_url: str
    env: dict[str, str]
    process: subprocess.Popen[str]
    output: list[str] = attrs.Factory(list)
    #: Where the server's stderr (its log) goes.
    log_path: Path | None = None
    _uow: UnitOfWork | None = None
    _drainer: threading.Thread | None = None

    @classmethod
    def start(
        cls, tmp: Path, *args: str, env: dict[str, str] | None = None, **extra_env: str
    ) -> LiveServer:
        port = free_port()
        database_url = f"sqlite:///{tmp / 'neariq_sms.db'}"
        full_env = env if env is not None else clean_env(database_url, **extra_env)
        log = (tmp / "server.log").open("w")
        process = subprocess.Popen(
            [*neariq_sms_command(), "serve", "--host", "127.0.0.1", "--port", str(port), *args],
            env=full_env,
            cwd=tmp,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        log.close()  # the child holds its own descriptor
        # Without NEARIQ_SMS_DATABASE_URL the server uses its default file in its working directory.
        url = full_env.get("NEARIQ_SMS_DATABASE_URL", f"sqlite:///{tmp / 'neariq_sms.db'}")
        server = cls(
            f"http://127.0.0.1:{port}", url, full_env, process, log_path=tmp / "server.log"
        )
        server._drainer = threading.Thread(target=server._drain, daemon=True)
        server._drainer.start()
        server.wait_ready()
        return server

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"neariq-sms serve exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.base_url}/api/sms/openapi.json", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("neariq-sms serve did not become ready")

    def wait_output(self, predicate: Any, timeout: float = 10.0) -> list[str]:
        """The output lines once ``predicate(lines)`` holds (the server prints before serving)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = list(self.output)
            if predicate(lines):
                return lines
            time.sleep(0.02)
        raise AssertionError(f"server output never matched: {self.output}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._drainer is not None:
            self._drainer.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()
        engine = getattr(self._uow, "engine", None)
        if engine is not None:
            engine.dispose()  # the test process's pooled connections (still usable after)

    @property
    def uow(self) -> UnitOfWork:
        """The server's database, opened from the test process (setup only)."""
        if self._uow is None:
            self._uow = make_uow(self.database_url)
        return self._uow

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*neariq_sms_command(), *args],
            env=self.env,
            capture_output=True,
            text=True,
            input=input,
            timeout=60,
        )

    def tenant(self, plan: str = "growth", name: str = "Test Shop", **kwargs: Any) -> Tenant:
        clock = SystemClock()
        business = uc.create_business(name, plan, uow=self.uow, clock=clock, **kwargs)
        token = create_session(business.id, uow=self.uow, clock=clock)
        return Tenant(business.id, token, self.base_url)

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10, **kwargs)


@attrs.define
class Tenant:
    """A business with a signed-in session on a live server."""

    id: str
    token: str
    base_url: str

    @property
    def cookie(self) -> str:
        return f"neariq_session={self.token}"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"Cookie": self.cookie}, timeout=10)


def snapshot(client: httpx.Client) -> tuple[Any, ...]:
    """What a rejected request must leave untouched: status, allowance, consents."""
    status = client.get("/api/sms")
    consents = client.get("/api/sms/consents", params={"limit": "200"})
    return status.status_code, status.json(), consents.status_code, consents.json()


def error_of(response: httpx.Response) -> str:
    """The ``code`` of an error answer, after checking the error body's shape."""
    body = response.json()
    assert set(body) == {"ok", "error", "code"}, body
    assert body["ok"] is False
    assert isinstance(body["error"], str)
    assert body["error"]
    assert response.headers["content-type"].startswith("application/json")
    code: str = body["code"]
    return code


def post_action(
    client: httpx.Client, action: str, headers: Sequence[tuple[str, str]] = (), **fields: Any
) -> httpx.Response:
    return client.post("/api/sms", json={"action": action, **fields}, headers=list(headers))


def provision_first(client: httpx.Client, area_code: str = "512") -> str:
    found = client.get("/api/sms", params={"action": "search", "areaCode": area_code})
    assert found.status_code == 200, found.text
    number: str = found.json()["numbers"][0]["number"]
    answer = post_action(client, "provision", phoneNumber=number)
    assert answer.status_code == 200, answer.text
    return number


def consent(client: httpx.Client, phone: str = CUSTOMER) -> None:
    answer = client.post("/api/sms/consents", json={"phone": phone, "source": "point_of_sale"})
    assert answer.status_code == 200, answer.text
