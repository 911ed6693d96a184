"""``neariq-sms serve --sandbox --demo``: the spec's curl lines answer as sms-api.md shows."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.http.live import LiveServer

#: The answers of spec/sms-api.md, in the order of its curl lines.
SPEC_STATUS = {
    "configured": True,
    "business": {
        "id": "5d49faca-17f3-45f6-a0ef-60bd93754771",
        "name": "Aster Grove Fitness",
        "smsNumber": "+15551234567",
        "smsEnabled": True,
    },
}
SPEC_SEARCH = {
    "configured": True,
    "numbers": [
        {
            "number": "+15125550123",
            "friendlyName": "(512) 555-0123",
            "locality": "Austin",
            "region": "TX",
        }
    ],
}
SPEC_PROVISION = {"ok": True, "number": "+15125550123", "sid": "PN123"}
SPEC_SEND = {"ok": True, "messageSid": "SM123", "status": "queued"}
SPEC_RELEASE = {"ok": True}


def demo_env() -> dict[str, str]:
    """A fresh clone's environment: no SMS configuration at all, not even a database URL."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("NEARIQ_SMS_", "TWILIO_"))}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("demo")
    live = LiveServer.start(tmp, "--sandbox", "--demo", env=demo_env())
    yield live
    live.stop()


def printed_commands(server: LiveServer) -> tuple[str, list[str]]:
    """The cookie line and the curl commands the demo printed (continuations joined)."""
    lines = server.wait_output(lambda out: any('"action": "release"' in line for line in out))
    cookie = next(line for line in lines if line.startswith("Cookie: neariq_session="))
    blocks: list[str] = []
    current: list[str] = []
    for line in lines:
        if line.startswith("curl "):
            current = [line]
        elif current:
            current.append(line)
        if current and not line.endswith("\\"):
            blocks.append("\n".join(current))
            current = []
    return cookie, blocks


def run_curl(command: str, *, use_curl: bool = True) -> Any:
    """Run a printed curl line with curl when present, else the same request with httpx."""
    if use_curl and shutil.which("curl"):
        done = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, timeout=30, check=True
        )
        return json.loads(done.stdout)
    tokens = shlex.split(command.replace("\\\n", " "))
    method, url, headers, data = "GET", "", {}, None
    args = iter(tokens[1:])
    for token in args:
        if token == "-X":
            method = next(args)
        elif token == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif token == "-d":
            data, method = next(args), "POST" if method == "GET" else method
        else:
            url = token
    return httpx.request(method, url, headers=headers, content=data).json()


def assert_like_the_spec(answers: list[Any]) -> None:
    status, search, provision, send, release = answers
    # The spec shows a business that already holds a number; the demo starts without one.
    assert status["configured"] is SPEC_STATUS["configured"]
    business = status["business"]
    assert {k: business[k] for k in ("id", "name")} == {
        k: SPEC_STATUS["business"][k] for k in ("id", "name")
    }
    assert set(SPEC_STATUS["business"]) <= set(business)
    assert (business["smsNumber"], business["smsEnabled"]) == (None, False)
    assert search["configured"] is True
    assert search["numbers"][0] == SPEC_SEARCH["numbers"][0]
    assert {**provision, "sid": "PN123"} == SPEC_PROVISION
    assert re.fullmatch(r"PN[0-9a-f]{32}", provision["sid"])
    # messageId is the library's addition (keys may be added, never removed).
    assert re.fullmatch(r"[0-9a-f]{32}", send.pop("messageId"))
    assert {**send, "messageSid": "SM123"} == SPEC_SEND
    assert re.fullmatch(r"SM[0-9a-f]{32}", send["messageSid"])
    assert release == SPEC_RELEASE


def test_the_demo_prints_a_cookie_and_the_specs_curl_lines(demo: LiveServer) -> None:
    """A Cookie line, then the five curl lines of sms-api.md for the local URL."""
    cookie, commands = printed_commands(demo)
    token = cookie.removeprefix("Cookie: neariq_session=")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)
    assert len(commands) == 5
    assert all(demo.base_url + "/api/sms" in c for c in commands)
    assert all(f'-H "Cookie: neariq_session={token}"' in c for c in commands)


def test_each_curl_line_answers_as_the_spec_shows(demo: LiveServer) -> None:
    """In order, the printed curl lines answer as sms-api.md shows, and again on a rerun
    (the second time through an HTTP client, as on a machine without curl)."""
    _, commands = printed_commands(demo)
    assert_like_the_spec([run_curl(c) for c in commands])
    assert_like_the_spec([run_curl(c, use_curl=False) for c in commands])


def test_session_tokens_stay_out_of_the_server_log(demo: LiveServer) -> None:
    """The server logs requests, never the cookie it resolved them with."""
    cookie, commands = printed_commands(demo)
    token = cookie.removeprefix("Cookie: neariq_session=")
    run_curl(commands[0])
    demo.stop()
    assert demo.log_path is not None
    log = demo.log_path.read_text()
    assert "GET /api/sms 200" in log
    assert token not in log


def test_a_restarted_demo_answers_the_same(tmp_path: Path) -> None:
    """Stopped after provisioning, restarted on the same database: the lines still answer."""
    first = LiveServer.start(tmp_path, "--sandbox", "--demo", env=demo_env())
    try:
        _, commands = printed_commands(first)
        run_curl(commands[2])  # provision, then stop without releasing
    finally:
        first.stop()
    second = LiveServer.start(tmp_path, "--sandbox", "--demo", env=demo_env())
    try:
        _, commands = printed_commands(second)
        assert_like_the_spec([run_curl(c) for c in commands])
    finally:
        second.stop()
    assert (tmp_path / "neariq_sms.db").is_file()
