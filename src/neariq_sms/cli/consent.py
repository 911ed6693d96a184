"""``neariq-sms consent``: bulk import from CSV and export to CSV."""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from neariq_sms import usecases as uc
from neariq_sms.cli import csvfile
from neariq_sms.cli.common import CliError, Commands, emit, storage_services
from neariq_sms.usecases import ConsentRow, RejectedRow

#: Header names ``consent import`` understands, after lower-casing and turning
#: spaces and dashes into underscores.
PHONE_HEADERS = (
    "phone",
    "phone_number",
    "mobile",
    "mobile_number",
    "mobile_phone",
    "cell",
    "number",
)
CONSENTED_AT_HEADERS = (
    "consented_at",
    "consent_date",
    "consented_on",
    "consent_time",
    "opted_in_at",
)
SOURCE_HEADERS = ("source", "consent_source")


def _normalise_header(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _pick(headers: Sequence[str], candidates: Sequence[str]) -> int | None:
    normalised = [_normalise_header(h) for h in headers]
    for wanted in candidates:
        if wanted in normalised:
            return normalised.index(wanted)
    return None


class _CountingReader(io.RawIOBase):
    """Counts the bytes read from a binary file (for the progress bar)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self.count += len(data)
        return len(data)


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total_bytes: int, counter: _CountingReader) -> None:
        self.enabled = sys.stderr.isatty()
        self.total = max(total_bytes, 1)
        self.counter = counter
        self._last = 0.0

    def update(self, rows: int, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < 0.2:
            return
        self._last = now
        share = min(self.counter.count / self.total, 1.0)
        bar = "#" * int(share * 30)
        sys.stderr.write(f"\rimporting [{bar:<30}] {share:4.0%} {rows:,} rows")
        sys.stderr.flush()

    def done(self, rows: int) -> None:
        if self.enabled:
            self.update(rows, force=True)
            sys.stderr.write("\n")
            sys.stderr.flush()


def _shown(header: Sequence[str]) -> str:
    """The first column names, fit for one terminal line."""
    names = ["".join(c if c.isprintable() else "?" for c in h.strip())[:30] for h in header[:8]]
    more = ", ..." if len(header) > 8 else ""
    return (", ".join(repr(n) for n in names) or "none") + more


def rejected_path(path: Path) -> Path:
    """Where ``consent import`` writes the rejected rows of ``path``."""
    stem = path.name[: -len(path.suffix)] if path.suffix else path.name
    return path.with_name(f"{stem}.rejected.csv")


#: Rows per transaction. Large: every batch inserts into the random-order phone
#: index, and fewer, larger sorted batches touch (and write back) each of its pages
#: fewer times, which keeps a million-row import near linear time (issue 15).
#: Memory stays flat, at under 1 KB per row of a batch.
BATCH_ROWS = 50_000
#: Rows per progress update.
PROGRESS_ROWS = 5_000


class _CsvImport:
    """One ``consent import`` run: the reader over the file, its rejects file, the progress."""

    def __init__(self, path: Path, found: csvfile.CsvFormat, raw: IO[bytes]) -> None:
        self.path = path
        self.found = found
        self.counter = _CountingReader(raw)
        text = io.TextIOWrapper(
            io.BufferedReader(self.counter), encoding=found.encoding, errors="replace", newline=""
        )
        self.reader = csv.reader(text, delimiter=found.delimiter)
        try:
            self.header = next(self.reader)
        except StopIteration:
            raise CliError(f"{path} is empty") from None
        except csv.Error as exc:
            raise CliError(f"{path} is not a readable CSV file: {exc}") from None
        phone_col = _pick(self.header, PHONE_HEADERS)
        if phone_col is None:
            raise CliError(
                f"{path} has no phone column (read as {found.describe()};"
                f" columns: {_shown(self.header)}); name one of: {', '.join(PHONE_HEADERS)}"
            )
        self.columns = (
            phone_col,
            _pick(self.header, CONSENTED_AT_HEADERS),
            _pick(self.header, SOURCE_HEADERS),
        )
        self.progress = _Progress(path.stat().st_size, self.counter)
        self.rows_read = 0
        self.reject_file = rejected_path(path)
        self._rejects: IO[str] | None = None
        self._reject_writer: Any = None

    def rows(self) -> Iterator[ConsentRow]:
        """The file's non-blank rows, each with its line and cells."""
        phone_col, at_col, source_col = self.columns
        width = 1 + max(c for c in self.columns if c is not None)
        reader = self.reader
        try:
            for row in reader:
                if not "".join(row).strip():
                    continue
                self.rows_read += 1
                if self.rows_read % PROGRESS_ROWS == 0:
                    self.progress.update(self.rows_read)
                if len(row) >= width:
                    phone: str | None = row[phone_col]
                    at = None if at_col is None else row[at_col]
                    source = None if source_col is None else row[source_col]
                else:  # a short row: its missing cells are absent, not empty
                    phone, at, source = (
                        row[c] if c is not None and c < len(row) else None for c in self.columns
                    )
                yield ConsentRow(reader.line_num, phone, at, source, cells=row)
        except csv.Error as exc:
            raise CliError(f"{self.path}, line {reader.line_num}: {exc}") from None

    def on_reject(self, rejected: RejectedRow) -> None:
        """Write a rejected row as it came, with its line and reason."""
        # An operator opens this file in a spreadsheet: no cell of the input may run there.
        safe = csvfile.spreadsheet_safe
        if self._reject_writer is None:
            self._rejects = self.reject_file.open("w", newline="", encoding="utf-8")
            # The input's delimiter: the spreadsheet that saved the file opens this one.
            self._reject_writer = csv.writer(self._rejects, delimiter=self.found.delimiter)
            self._reject_writer.writerow([*map(safe, self.header), "line", "reason"])
        row = rejected.row
        original = row.cells if row.cells is not None else [str(row.phone or "")]
        self._reject_writer.writerow(
            [*map(safe, original), row.line, f"{rejected.code}: {rejected.reason}"]
        )

    def close(self) -> None:
        if self._rejects is not None:
            self._rejects.close()
        self.progress.done(self.rows_read)


def cmd_consent_import(args: argparse.Namespace) -> int:
    s = storage_services()
    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    with path.open("rb") as raw:
        # The format comes from a sample of the first bytes; then the file streams.
        try:
            found = csvfile.detect_format(
                raw.read(csvfile.SAMPLE_BYTES),
                is_header=lambda cells: _pick(cells, PHONE_HEADERS) is not None,
            )
        except csvfile.UnreadableFile as exc:
            raise CliError(f"{path} {exc}") from None
        raw.seek(0)
        run = _CsvImport(path, found, raw)
        try:
            report = uc.import_consents(
                args.business,
                run.rows(),
                uow=s.uow,
                clock=s.clock,
                source=args.source,
                policy=s.policy,
                batch_size=BATCH_ROWS,
                on_reject=run.on_reject,
                day_first=args.day_first,
            )
        finally:
            run.close()
    if report.rejected == 0 and run.reject_file.exists():
        run.reject_file.unlink()  # a stale report of an earlier run of this very file
    emit(
        f"imported {report.imported}",
        f"updated  {report.updated}",
        f"skipped  {report.skipped}",
        f"rejected {report.rejected}",
    )
    if report.rejected:
        emit(f"rejected rows and their reasons: {run.reject_file}")
    return 0


def cmd_consent_export(args: argparse.Namespace) -> int:
    from neariq_sms.adapters.http.serialise import iso_utc

    s = storage_services()
    writer = csv.writer(sys.stdout)
    records = uc.export_consents(args.business, uow=s.uow)
    first = next(records, None)  # the business check runs before anything is written
    writer.writerow(
        ["phone", "source", "consented_at", "opted_out", "opted_out_at", "opt_out_source"]
    )
    if first is not None:
        for record in (first, *records):
            writer.writerow(
                [
                    record.phone.e164,
                    record.source,
                    iso_utc(record.consented_at) or "",
                    "true" if record.opted_out else "false",
                    iso_utc(record.opted_out_at) or "",
                    record.opt_out_source or "",
                ]
            )
    sys.stdout.flush()
    return 0


def register(commands: Commands) -> None:
    consent = commands.add_parser(
        "consent", help="bulk consent import and export", description="Consent records in bulk."
    )
    c_commands = consent.add_subparsers(dest="consent_command", required=True, metavar="COMMAND")
    c_import = c_commands.add_parser(
        "import",
        help="import consent records from a CSV file",
        description="Import consent rows from a CSV file of any size: comma, semicolon, tab"
        " or pipe separated, UTF-8 (with or without BOM), UTF-16 or Windows-1252."
        f" Columns (header names in any case): phone ({'/'.join(PHONE_HEADERS)}), optional"
        f" consented_at ({'/'.join(CONSENTED_AT_HEADERS)}) and source"
        f" ({'/'.join(SOURCE_HEADERS)}). Dates: ISO 8601 (2024-01-05), numeric dates month"
        " first (01/05/2024, 1/5/24; see --day-first) or with a month name (Jan 5, 2024),"
        " optionally with a time (14:30, 2:30 PM); a time without zone is UTC. A row without"
        " a date is consent as of the import for a new phone and never renews a stored one."
        " Sources are free text made into slugs ('Front Desk' -> front_desk); keyword and"
        " provider are the library's own and rejected. Rejected rows are written with their"
        " reason to FILE.rejected.csv (formula cells quoted, so a spreadsheet never runs"
        " them); the counts are printed. An import never lifts an opt-out.",
    )
    c_import.add_argument("file", metavar="FILE.csv", help="the CSV file")
    c_import.add_argument("--business", required=True, help="the business id")
    c_import.add_argument(
        "--source", default="import", help="source for rows without one (default import)"
    )
    c_import.add_argument(
        "--day-first",
        action="store_true",
        help="read numeric dates day first (05/01/2024 is 5 January); default month first",
    )
    c_import.set_defaults(func=cmd_consent_import)
    c_export = c_commands.add_parser(
        "export",
        help="write the consent records as CSV to stdout",
        description="Write every consent record of a business, with its opt-out state,"
        " as CSV to stdout.",
    )
    c_export.add_argument("--business", required=True, help="the business id")
    c_export.set_defaults(func=cmd_consent_export)
