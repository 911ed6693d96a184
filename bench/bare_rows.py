"""What both bare import loops read (issue 15): a consent CSV's valid rows in E.164,
a batch at a time. Only the standard library and phonenumbers: no library code."""

from __future__ import annotations

import csv
from collections.abc import Iterator

import phonenumbers

BATCH = 5_000
E164 = phonenumbers.PhoneNumberFormat.E164

Row = tuple[str, str, str, str]


def valid_batches(path: str, business_id: str, size: int = BATCH) -> Iterator[list[Row]]:
    """``(business_id, e164, consented_at, source)`` rows of ``path`` (header skipped)
    whose phone parses as a possible US number, ``size`` at a time."""
    batch: list[Row] = []
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for phone, consented_at, source in reader:
            try:
                parsed = phonenumbers.parse(phone, "US")
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_possible_number(parsed):
                continue
            batch.append(
                (business_id, phonenumbers.format_number(parsed, E164), consented_at, source)
            )
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch
