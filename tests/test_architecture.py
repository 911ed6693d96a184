"""The dependency rule: domain <- ports <- use cases <- adapters <- config <- cli.

Domain, ports and use cases import no adapter technology; nothing below the
composition root (``config``) imports it or the CLI; every port (a
``typing.Protocol``) lives in ``ports/``.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import neariq_sms

PACKAGE_ROOT = Path(neariq_sms.__file__).parent
INNER_LAYERS = ("domain", "ports", "usecases")
#: Everything below the composition root.
LOWER_LAYERS = (*INNER_LAYERS, "adapters")
#: The composition root and what sits on it: the lower layers never import them.
UPPER_MODULES = ("neariq_sms.config", "neariq_sms.cli")
#: Protocols outside ``ports/`` that are no port: seams between adapters of one family,
#: which no use case depends on.
ADAPTER_SEAMS = frozenset(
    {
        # The open transaction both unit-of-work adapters hand to their shared base class.
        ("adapters/_unit_of_work.py", "Block"),
        # The simulated provider's account, kept in memory or in the SQL sandbox tables.
        ("adapters/memory/telephony.py", "SandboxState"),
        # The simulated registry's objects, kept in memory or in the SQL sandbox table.
        ("adapters/memory/registry.py", "RegistryState"),
    }
)
FORBIDDEN = frozenset(
    {
        "twilio", "sqlalchemy", "alembic", "psycopg", "psycopg2",
        "flask", "fastapi", "starlette", "django", "werkzeug", "waitress",
    }
)  # fmt: skip


def inner_modules(layers: tuple[str, ...] = INNER_LAYERS) -> list[Path]:
    files = []
    for layer in layers:
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


def imported_modules(path: Path) -> set[str]:
    """Dotted names of every module an absolute import statement names, at any depth.

    ``from package import name`` counts as both ``package`` and ``package.name``
    (``name`` may be a module).
    """
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def protocols_defined(path: Path) -> set[str]:
    """Names of the classes in ``path`` that list ``Protocol`` among their bases."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ClassDef) and "Protocol" in map(_base_name, node.bases):
            found.add(node.name)
    return found


def _base_name(base: ast.expr) -> str | None:
    """``Protocol``, ``typing.Protocol`` and ``Protocol[T]`` all name ``Protocol``."""
    if isinstance(base, ast.Subscript):
        base = base.value
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else None


def relative(path: Path) -> str:
    return path.relative_to(PACKAGE_ROOT).as_posix()


def test_the_static_check_sees_imports_anywhere_in_a_module(tmp_path: Path) -> None:
    """Nested and ``from`` imports are found; relative ones are not top-level names."""
    module = tmp_path / "m.py"
    module.write_text(
        "from . import sibling\n"
        "def f():\n    import sqlalchemy.orm\n    from twilio.rest import Client\n"
    )
    assert imported_top_levels(module) == {"sqlalchemy", "twilio"}


def test_the_static_check_sees_the_composition_root_however_it_is_imported(
    tmp_path: Path,
) -> None:
    """``from neariq_sms import config`` and a nested ``import neariq_sms.cli`` both count."""
    module = tmp_path / "m.py"
    module.write_text("from neariq_sms import config\ndef f():\n    import neariq_sms.cli.serve\n")
    assert {"neariq_sms.config", "neariq_sms.cli.serve"} <= imported_modules(module)


def test_the_static_check_sees_protocols_however_they_are_spelled(tmp_path: Path) -> None:
    """``Protocol``, ``typing.Protocol`` and ``Protocol[T]`` bases all make a port."""
    module = tmp_path / "m.py"
    module.write_text(
        "import typing\nfrom typing import Protocol\n"
        "class A(Protocol): ...\nclass B(typing.Protocol): ...\n"
        "class C(Base, Protocol[T]): ...\nclass D(Base): ...\n"
    )
    assert protocols_defined(module) == {"A", "B", "C"}


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


@pytest.mark.parametrize(
    "path", inner_modules(LOWER_LAYERS), ids=lambda p: str(p.relative_to(PACKAGE_ROOT))
)
def test_nothing_below_the_composition_root_imports_it(path: Path) -> None:
    """No module of domain, ports, usecases or adapters imports ``config`` or the CLI."""
    upward = {
        name
        for name in imported_modules(path)
        if any(name == top or name.startswith(top + ".") for top in UPPER_MODULES)
    }
    assert upward == set()


@pytest.mark.parametrize(
    "path",
    sorted((PACKAGE_ROOT / "adapters" / "http").rglob("*.py")),
    ids=lambda p: str(p.relative_to(PACKAGE_ROOT)),
)
def test_the_http_adapter_reaches_the_provider_only_through_ports(path: Path) -> None:
    """Webhooks are verified and read through ``ports.webhooks``, never the Twilio adapter."""
    assert {
        n for n in imported_modules(path) if n.startswith("neariq_sms.adapters.twilio")
    } == set()


def test_every_port_lives_in_ports() -> None:
    """A ``typing.Protocol`` defined anywhere else in the package is a misplaced port."""
    misplaced = {
        (relative(path), name)
        for path in sorted(PACKAGE_ROOT.rglob("*.py"))
        if not relative(path).startswith("ports/")
        for name in protocols_defined(path)
    }
    assert misplaced - ADAPTER_SEAMS == set()
    assert misplaced >= ADAPTER_SEAMS, "a listed seam is gone: drop it from ADAPTER_SEAMS"


def test_the_composition_root_imports_without_the_sql_extra() -> None:
    """``config`` reads the SQL adapter's default URL, yet loads no SQLAlchemy at import."""
    script = (
        "import sys\n"
        "import neariq_sms.config\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sqlalchemy', 'alembic'}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
