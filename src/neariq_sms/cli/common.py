"""What every command shares: the one-line error, output, and building the services."""

from __future__ import annotations

import argparse
import contextlib
import gc
import ipaddress
import sys
from collections.abc import Iterator
from typing import Any, TextIO, TypeAlias

from neariq_sms import __version__
from neariq_sms.config import Services, Settings, build_services

#: The type ``add_subparsers`` returns, which each command group registers on.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def install_hint(extra: str) -> str:
    """How to add an extra; the package is not on PyPI, so from a checkout or a wheel."""
    wheel = f"neariq_sms-{__version__}-py3-none-any.whl"
    return f"pip install -e '.[{extra}]' in a checkout, or pip install '{wheel}[{extra}]'"


class CliError(Exception):
    """A failure to report in one line, with exit status 1 unless given another."""

    def __init__(self, message: str, *, exit_status: int = 1) -> None:
        super().__init__(message)
        self.exit_status = exit_status


def emit(*lines: str, file: TextIO | None = None) -> None:
    out = file or sys.stdout
    for line in lines:
        print(line, file=out)
    out.flush()


def safe_url(url: str) -> str:
    """A database URL fit to print: SQLAlchemy's rendering, the password masked.

    ``memory://`` prints as given; a URL SQLAlchemy cannot parse (or read at
    all, without the ``[sql]`` extra) prints its scheme only.
    """
    if url.startswith("memory:"):
        return url
    scheme_only = url.partition(":")[0] + "://***"
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError:
        return scheme_only
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return scheme_only


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and the loopback addresses (127.0.0.0/8, ``::1``)."""
    name = host.strip()
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def build(settings: Settings, **kwargs: Any) -> Services:
    try:
        return build_services(settings, **kwargs)
    except ModuleNotFoundError as exc:
        raise CliError(
            f"a dependency is missing ({exc.name}); install the server extra:"
            f" {install_hint('server')}"
        ) from None


#: True once ``main()`` runs as the process's own command (not called by a host or a test).
_own_process = [False]


def own_process() -> None:
    """Tell :func:`startup` that this process exists to run one command."""
    _own_process[0] = True


@contextlib.contextmanager
def startup() -> Iterator[None]:
    """A command process's start-up, without the cyclic garbage collector.

    Loading SQLAlchemy and building the services allocate some 50,000 objects
    that live as long as the process, and the collector's passes over them
    (a full one among them) were about a tenth of a short command's start-up.
    Paused while it runs; then those objects are frozen out of later passes.
    Only in a process of its own: a host's collector is left as it is.
    """
    if not (_own_process[0] and gc.isenabled()):
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def storage_services(*, sandbox: bool = False) -> Services:
    """The services of a command that uses storage, its database checked (and a new
    SQLite file migrated) first; ``sandbox``: with the database's simulated provider."""
    from neariq_sms.cli.database import prepare_database

    with startup():
        settings = Settings.from_env()
        prepare_database(settings.database_url, upgrade=False)
        return build(settings, sandbox=sandbox)


def add_sandbox_flag(parser: argparse.ArgumentParser) -> None:
    """``--sandbox`` on a command that calls the provider: the sandbox of this database."""
    parser.add_argument(
        "--sandbox",
        action="store_true",
        help="use the built-in simulated provider: the same one `serve --sandbox` uses on"
        " this database",
    )
