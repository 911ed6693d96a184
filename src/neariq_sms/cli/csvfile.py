"""CSV files as people save them: any common delimiter and encoding in, spreadsheet-safe cells out.

Spreadsheets save "CSV" with commas or, where the comma is the decimal mark,
semicolons; "Unicode text" is tab-separated UTF-16; Excel on Windows writes
its ANSI code page unless told UTF-8. The format is chosen from a sample of
the first bytes only (byte-order mark, then ``csv.Sniffer``), so a file of
any size still streams in constant memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from collections.abc import Callable, Sequence

import attrs

#: Bytes looked at to choose the encoding and the delimiter.
SAMPLE_BYTES = 32 * 1024
#: Delimiters spreadsheets write, in the order tried after the sniffer's guess.
DELIMITERS = (",", ";", "\t", "|")
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}

# UTF-32's marks begin like UTF-16's, so they are tried first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
#: Leading bytes of files people pick by mistake instead of a CSV export.
_NOT_CSV = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another ZIP archive"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 workbook (.xls)"),
    (b"%PDF", "a PDF document"),
)
_SAVE_AS_CSV = "save it from the spreadsheet as CSV and import that file"
#: A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Control characters that text files carry; any other one hints at binary data.
_TEXT_CONTROLS = frozenset("\t\n\r\f\v")


class UnreadableFile(Exception):
    """Not text a CSV reader can use; the message says what the file looks like."""


@attrs.frozen
class CsvFormat:
    """How to read one file: the codec for :class:`io.TextIOWrapper` and the delimiter."""

    encoding: str
    encoding_name: str
    delimiter: str

    def describe(self) -> str:
        """E.g. ``UTF-16, tab-separated``."""
        return f"{self.encoding_name}, {_DELIMITER_NAMES[self.delimiter]}-separated"


def detect_format(sample: bytes, *, is_header: Callable[[Sequence[str]], bool]) -> CsvFormat:
    """The encoding and delimiter of a file from its first bytes.

    ``sample`` is the file's start (up to :data:`SAMPLE_BYTES`; shorter means
    the whole file). ``is_header`` says whether a first row is one the caller
    can use: of the delimiters, the sniffer's guess is tried first, then the
    others, and the first that makes a usable header wins; when none does, the
    sniffer's guess (or the comma) stands and the caller reports the header.

    Raises:
        UnreadableFile: a workbook, a PDF or other binary data.
    """
    for magic, what in _NOT_CSV:
        if sample.startswith(magic):
            raise UnreadableFile(f"is {what}, not a CSV file: {_SAVE_AS_CSV}")
    encoding, name = _encoding(sample)
    complete = len(sample) < SAMPLE_BYTES
    # The BOM codecs (utf-8-sig, utf-16, utf-32) read and drop the mark themselves.
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=complete)
    if not complete and "\n" in text:
        text = text[: text.rindex("\n") + 1]  # the last line may be cut short
    if _looks_binary(text):
        raise UnreadableFile(f"is not a text file (it holds binary data): {_SAVE_AS_CSV}")
    try:
        guess: str | None = csv.Sniffer().sniff(text, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:  # one column, or too few rows to tell
        guess = None
    for delimiter in dict.fromkeys([*([guess] if guess else []), *DELIMITERS]):
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
        if is_header(header):
            return CsvFormat(encoding, name, delimiter)
    return CsvFormat(encoding, name, guess or ",")


def _encoding(sample: bytes) -> tuple[str, str]:
    """(codec, name for people)."""
    for bom, codec, name in _BOMS:
        if sample.startswith(bom):
            return codec, name
    # UTF-16 without a mark: in mostly-ASCII text every other byte is NUL.
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4:
        if odd.count(0) > len(odd) // 2 and even.count(0) == 0:
            return "utf-16-le", "UTF-16 LE"
        if even.count(0) > len(even) // 2 and odd.count(0) == 0:
            return "utf-16-be", "UTF-16 BE"
    if b"\0" in sample:
        raise UnreadableFile(f"is not a text file (it holds binary data): {_SAVE_AS_CSV}")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        # Not UTF-8: Excel's "CSV (Comma delimited)" on Windows writes Windows-1252.
        return "cp1252", "Windows-1252"
    return "utf-8", "UTF-8"


def _looks_binary(text: str) -> bool:
    controls = sum(
        1 for c in text if c not in _TEXT_CONTROLS and unicodedata.category(c) in ("Cc", "Cs")
    )
    return "\0" in text or controls > len(text) // 100


def spreadsheet_safe(cell: str) -> str:
    """The cell as text a spreadsheet shows and never runs (OWASP's CSV injection advice).

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage
    return (also after spaces, which some importers trim) gets a leading
    ``'``: spreadsheets show it as text. The importer reads such a cell back
    unchanged in meaning (phone parsing skips the quote).
    """
    if cell.startswith(_FORMULA_START) or cell.lstrip(" ").startswith(_FORMULA_START):
        return "'" + cell
    return cell
