"""README's library example runs as printed and type-checks under ``mypy --strict``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: Pins the system clock before the example runs: noon / 22:00 in Austin (the sandbox's 512).
_AT = (
    "import datetime as _dt, neariq_sms.adapters.clock as _clock\n"
    "_clock.SystemClock.now = lambda self: _dt.datetime({}, tzinfo=_dt.UTC)\n"
)
NOON_IN_AUSTIN = _AT.format("2026, 3, 10, 17, 0")
TEN_PM_IN_AUSTIN = _AT.format("2026, 3, 11, 3, 0")


def python_example() -> str:
    """The first ```python block of README: the library example."""
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None
    return block.group(1)


def workflows_example() -> str:
    """The ```python block of "Reminders and conversations"."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Reminders and conversations") :]
    block = re.search(r"```python\n(.*?)```", section, re.S)
    assert block is not None
    return block.group(1)


def run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_readme_python_example_runs_and_sends_or_schedules() -> None:
    """The example runs as printed, in a fresh interpreter on the sandbox, at whatever hour."""
    status, _, rest = run(python_example()).partition(" ")
    assert (status, rest.startswith("SM")) in {("queued", True), ("scheduled", False)}


def test_the_readme_python_example_sends_at_noon() -> None:
    assert re.fullmatch(r"queued SM[0-9a-f]{32}", run(NOON_IN_AUSTIN + python_example()))


def test_the_readme_python_example_says_when_it_sends_in_quiet_hours() -> None:
    """At night the example prints the send time and why, not ``scheduled None``."""
    printed = run(TEN_PM_IN_AUSTIN + python_example())
    assert printed == "scheduled for 2026-03-11T13:00:00+00:00 (quiet hours)", printed


def test_the_readme_workflows_example_runs_as_printed() -> None:
    """Reminder scheduled a day ahead, the reply is the thread's last message, one unread,
    the reminder canceled: whatever the hour (a reply inside the 24 hours never waits)."""
    first, second, third = run(NOON_IN_AUSTIN + workflows_example()).splitlines()
    assert first == "scheduled 2026-03-12 17:00:00+00:00"
    assert (second, third) == ("Of course! 1", "True")


@pytest.mark.slow
def test_the_readme_python_examples_pass_mypy_strict(tmp_path: Path) -> None:
    """The package ships py.typed, so the examples must type-check as a user's code would."""
    example = tmp_path / "readme_example.py"
    example.write_text(python_example(), encoding="utf-8")
    workflows = tmp_path / "readme_workflows.py"
    workflows.write_text(workflows_example(), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.11",
            str(example),
            str(workflows),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
