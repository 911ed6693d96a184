"""README's library example runs as printed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_python_example_runs_and_sends_or_schedules() -> None:
    """The first ```python block of README runs in a fresh interpreter on the sandbox."""
    block = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert block is not None
    done = subprocess.run(
        [sys.executable, "-c", block.group(1)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    status, _, sid = done.stdout.strip().partition(" ")
    assert (status, sid.startswith("SM")) in {("queued", True), ("scheduled", False)}
