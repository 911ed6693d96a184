"""The install README documents: the package is not on PyPI, so users build the wheel.

A wheel built from this checkout installs into a clean virtual environment and its
``neariq-sms`` runs there: ``--version``, and a first command in a fresh directory,
which needs the packaged migrations.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import neariq_sms
from tests.examples.test_clean_venv import build_wheel, clean_venv
from tests.http.live import clean_env

pytestmark = pytest.mark.slow


def test_the_built_wheel_installs_and_runs_in_a_clean_venv(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    assert wheel.name == f"neariq_sms-{neariq_sms.__version__}-py3-none-any.whl"
    python = clean_venv(tmp_path / "venv", wheel, "sql")
    script = python.with_name("neariq-sms")
    env = clean_env("")
    del env["NEARIQ_SMS_DATABASE_URL"]
    env.pop("PYTHONPATH", None)
    fresh = tmp_path / "fresh"
    fresh.mkdir()

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *argv],
            cwd=fresh,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    version = run("--version")
    assert (version.returncode, version.stdout) == (0, f"neariq-sms {neariq_sms.__version__}\n")
    created = run("business", "create", "--name", "Aster Grove", "--plan", "growth")
    assert (created.returncode, created.stderr) == (0, ""), created.stderr
    assert len(created.stdout.splitlines()[-1]) == 36
    # Without the server extra, serve says which extra to install (from the wheel).
    served = run("serve", "--port", "0")
    assert served.returncode == 1
    assert "Traceback" not in served.stderr
    assert f"{wheel.name}[server]" in served.stderr
