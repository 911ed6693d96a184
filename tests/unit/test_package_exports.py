"""The packages that load their names on first use export what they list."""

from __future__ import annotations

import importlib
import subprocess
import sys
import types

import pytest

LAZY_PACKAGES = ("neariq_sms.domain", "neariq_sms.usecases")


@pytest.mark.parametrize("name", LAZY_PACKAGES)
def test_every_listed_name_is_its_home_modules_object(name: str) -> None:
    """Each name of ``__all__`` resolves, to the object (not a module of the same name)."""
    package = importlib.import_module(name)
    for exported in package.__all__:
        value = getattr(package, exported)
        assert not isinstance(value, types.ModuleType), exported
        assert exported in dir(package)


def test_a_name_is_the_object_even_after_its_module_of_the_same_name_is_imported() -> None:
    """``usecases.reconcile`` is the function, also when the module
    ``neariq_sms.usecases.reconcile`` is imported first (a fresh interpreter)."""
    script = (
        "import neariq_sms.usecases.reconcile\n"
        "from neariq_sms import usecases\n"
        "print(callable(usecases.reconcile) and not hasattr(usecases.reconcile, '__file__'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"
