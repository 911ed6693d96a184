"""What every answer and log line goes through: JSON answers are the standard library's
compact UTF-8 bytes whichever encoder writes them; a logged path is escaped by one rule."""

from __future__ import annotations

import json
import unicodedata
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.adapters.http import request, serialise
from neariq_sms.adapters.http.request import dump_json, loggable
from neariq_sms.adapters.http.serialise import iso_utc


def _stdlib(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


#: What the serialisers put in an answer: text (any character a body or a field
#: may carry, controls included), integers (beyond 64 bits too), booleans, null.
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.text(st.characters(exclude_categories=("Cs",)))
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=8) | st.integers(0, 9), inner, max_size=5)
    ),
    max_leaves=30,
)


def test_the_fast_encoder_is_installed_with_the_server_extra() -> None:
    # The dev extra (and so CI) installs orjson: the fast path is the one tested.
    assert request._FAST_DUMPS is not None
    assert serialise._ISO_Z is not serialise._iso_z


@given(_VALUES)
def test_an_answer_is_the_standard_librarys_bytes(value: Any) -> None:
    assert dump_json(value) == _stdlib(value)


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**64},  # orjson: integers up to 64 bits
        {1: "one", "two": 2},  # orjson: string keys only
        {"text": '\u2028\u2029\x7f\x00\U0001f600"\\'},
    ],
)
def test_what_the_fast_encoder_refuses_is_written_all_the_same(value: Any) -> None:
    assert dump_json(value) == _stdlib(value)


def _escaped(text: str) -> str:
    """The log rule written out character by character (what ``loggable`` promises)."""
    out = []
    for ch in text[:300]:
        if ch == "\\":
            out.append("\\\\")
        elif unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}:
            out.append(ch.encode("unicode_escape", "backslashreplace").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out) + ("..." if len(text) > 300 else "")


@given(st.text(st.characters(max_codepoint=0x7F)) | st.text())
def test_a_logged_path_is_escaped_whichever_way_it_is_checked(text: str) -> None:
    # Most paths take a shortcut (printable ASCII, no backslash): the same text.
    assert loggable(text) == _escaped(text)


@given(st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5, minutes=-30))])))
def test_a_time_is_written_in_utc_the_same_way_whichever_writer(moment: datetime) -> None:
    """``2026-03-11T13:00:00Z``, microseconds only when there are any: orjson's writer
    (the ``http`` extra) gives the text the standard library's isoformat gives."""
    in_utc = moment.astimezone(UTC)
    expected = in_utc.isoformat().removesuffix("+00:00") + "Z"
    assert iso_utc(moment) == expected
    assert serialise._iso_z(in_utc) == expected
