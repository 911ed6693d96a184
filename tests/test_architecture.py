"""The dependency rule: domain, ports and use cases import no adapter technology."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import neariq_sms

PACKAGE_ROOT = Path(neariq_sms.__file__).parent
INNER_LAYERS = ("domain", "ports", "usecases")
FORBIDDEN = frozenset(
    {
        "twilio", "sqlalchemy", "alembic", "psycopg", "psycopg2",
        "flask", "fastapi", "starlette", "django", "werkzeug", "waitress",
    }
)  # fmt: skip


def inner_modules() -> list[Path]:
    files = []
    for layer in INNER_LAYERS:
        root = PACKAGE_ROOT / layer
        files += [root.with_suffix(".py")] if root.with_suffix(".py").exists() else []
        files += sorted(root.rglob("*.py")) if root.is_dir() else []
    return files


def imported_top_levels(path: Path) -> set[str]:
    """Top-level names of every import statement, also those inside functions."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_the_static_check_sees_imports_anywhere_in_a_module(tmp_path: Path) -> None:
    """Nested and ``from`` imports are found; relative ones are not top-level names."""
    module = tmp_path / "m.py"
    module.write_text(
        "from . import sibling\n"
        "def f():\n    import sqlalchemy.orm\n    from twilio.rest import Client\n"
    )
    assert imported_top_levels(module) == {"sqlalchemy", "twilio"}


def test_the_inner_layers_exist() -> None:
    """Guard against the static check passing on an empty file list."""
    assert len(inner_modules()) >= 10


@pytest.mark.parametrize("path", inner_modules(), ids=lambda p: str(p.relative_to(PACKAGE_ROOT)))
def test_no_inner_module_imports_adapter_technology(path: Path) -> None:
    """No module of domain, ports or usecases names twilio, SQL or a web framework."""
    assert imported_top_levels(path) & FORBIDDEN == set()


def test_no_inner_module_imports_the_adapters() -> None:
    """The arrows point inwards: nothing inner imports neariq_sms.adapters."""
    offenders = []
    for path in inner_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [module]
            if any(n and n.startswith("neariq_sms.adapters") for n in names):
                offenders.append(path.name)
    assert offenders == []


def test_importing_the_inner_layers_loads_no_adapter_technology() -> None:
    """In a fresh interpreter, importing every inner module pulls in none of them."""
    modules = [
        "neariq_sms." + ".".join(p.relative_to(PACKAGE_ROOT).with_suffix("").parts)
        for p in inner_modules()
    ]
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name.removesuffix('.__init__'))\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(FORBIDDEN)!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
