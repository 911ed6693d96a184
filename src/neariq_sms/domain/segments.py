"""SMS segment counting as carriers (and Twilio) count and bill it.

GSM-7: 160 septets in one segment, 153 per part once concatenated; the
extension characters (``€ { } [ ] ~ \\ ^ |`` and form feed) take two septets
and an escape pair is never split across parts. Any character outside GSM-7
switches the whole message to UCS-2: 70 UTF-16 code units, 67 per part, and a
user-perceived character (a grapheme cluster: a flag, an emoji with a skin
tone or joined by ZWJ, a keycap, a letter with combining accents) is never
split, as Twilio's segment calculator keeps it whole. Like that calculator,
CR LF counts as two characters.
"""

from __future__ import annotations

import enum
import functools
import unicodedata
from collections.abc import Iterator

import attrs

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

#: Twilio refuses bodies longer than this (error 21617).
MAX_BODY_CHARS = 1600


class Encoding(enum.Enum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@attrs.frozen
class SegmentCount:
    encoding: Encoding
    #: Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole body.
    units: int
    segments: int


# --- grapheme clusters (Unicode UAX #29, the rules that occur in messages) ----------

_ZWJ = 0x200D
_CR, _LF = 0x0D, 0x0A


class _Kind:
    """Grapheme_Cluster_Break values (plain ints: the inner loop compares them a lot)."""

    OTHER, CONTROL, EXTEND, ZWJ, SPACING_MARK, PREPEND = range(6)
    REGIONAL_INDICATOR, L, V, T, LV, LVT, PICTOGRAPHIC = range(6, 13)


#: Kinds that never join the character before or after them, except a pictograph
#: after a ZWJ: a body of these alone splits into its code points.
_SIMPLE = frozenset({_Kind.OTHER, _Kind.CONTROL, _Kind.PICTOGRAPHIC})
_MARKS = frozenset({_Kind.EXTEND, _Kind.ZWJ, _Kind.SPACING_MARK})


#: Extended_Pictographic, coarsely: the symbol blocks emoji live in. It only
#: decides whether a ZWJ joins two of them (GB11), so a wider net is harmless.
_PICTOGRAPHIC_RANGES = (
    (0x2190, 0x21FF),
    (0x2300, 0x23FF),
    (0x25A0, 0x25FF),
    (0x2600, 0x27BF),
    (0x2934, 0x2935),
    (0x2B00, 0x2BFF),
    (0x1F000, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
)
_PICTOGRAPHIC_SINGLES = frozenset(
    {0xA9, 0xAE, 0x203C, 0x2049, 0x2122, 0x2139, 0x24C2, 0x3030, 0x303D, 0x3297, 0x3299}
)
_PREPEND = frozenset({*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x08E2, 0x110BD, 0x110CD})
#: Grapheme_Extend code points outside the Mn and Me categories.
_EXTEND_EXTRA = frozenset({0x200C, 0xFF9E, 0xFF9F, *range(0xE0020, 0xE0080)})
#: Emoji skin-tone modifiers: Extend since Unicode 11, although their category is Sk.
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)


@functools.lru_cache(maxsize=4096)  # a message uses few distinct characters
def _kind(ch: str) -> int:
    cp = ord(ch)
    if cp == _ZWJ:
        return _Kind.ZWJ
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return _Kind.REGIONAL_INDICATOR
    if cp in _EXTEND_EXTRA or cp in _EMOJI_MODIFIERS:
        return _Kind.EXTEND
    if cp in _PREPEND:
        return _Kind.PREPEND
    category = unicodedata.category(ch)
    if category in ("Mn", "Me"):
        return _Kind.EXTEND
    if category == "Mc" or cp in (0x0E33, 0x0EB3):
        return _Kind.SPACING_MARK
    if category in ("Cc", "Cf", "Zl", "Zp"):
        return _Kind.CONTROL
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return _Kind.L
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return _Kind.V
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return _Kind.T
    if 0xAC00 <= cp <= 0xD7A3:
        return _Kind.LV if (cp - 0xAC00) % 28 == 0 else _Kind.LVT
    if cp in _PICTOGRAPHIC_SINGLES or any(lo <= cp <= hi for lo, hi in _PICTOGRAPHIC_RANGES):
        return _Kind.PICTOGRAPHIC
    return _Kind.OTHER


_NONE: frozenset[int] = frozenset()
_HANGUL_JOINS: dict[int, frozenset[int]] = {
    _Kind.L: frozenset({_Kind.L, _Kind.V, _Kind.LV, _Kind.LVT}),
    _Kind.LV: frozenset({_Kind.V, _Kind.T}),
    _Kind.V: frozenset({_Kind.V, _Kind.T}),
    _Kind.LVT: frozenset({_Kind.T}),
    _Kind.T: frozenset({_Kind.T}),
}


def _joins(prev: int, kind: int, *, pictographic_run: bool, regional_run: int) -> bool:
    """Whether no cluster boundary falls between a ``prev`` and a ``kind`` character."""
    if prev is _Kind.CONTROL or kind is _Kind.CONTROL:  # GB4, GB5 (and CR LF apart)
        return False
    if kind in _MARKS:  # GB9, GB9a
        return True
    if prev is _Kind.PREPEND:  # GB9b
        return True
    if kind in _HANGUL_JOINS.get(prev, _NONE):  # GB6-GB8
        return True
    if prev is _Kind.ZWJ and kind is _Kind.PICTOGRAPHIC:  # GB11
        return pictographic_run
    if prev is _Kind.REGIONAL_INDICATOR and kind is _Kind.REGIONAL_INDICATOR:
        return regional_run % 2 == 1  # GB12, GB13: flags pair up from the left
    return False


def grapheme_clusters(text: str) -> Iterator[str]:
    """Split ``text`` into user-perceived characters (extended grapheme clusters).

    Implements UAX #29's rules for what messages contain: combining marks and
    spacing marks stay with their base, Hangul syllables from jamo, emoji
    modifiers, ZWJ emoji sequences, regional-indicator pairs (flags), tag
    sequences (subdivision flags) and keycaps. Controls stand alone, and CR LF
    is two characters, as in Twilio's segment calculator.
    """
    if not text:
        return
    kinds = [_kind(ch) for ch in text]
    if _SIMPLE.issuperset(kinds):
        yield from text  # the common case: nothing joins
        return
    start = 0
    prev = kinds[0]
    pictographic_run = prev is _Kind.PICTOGRAPHIC  # ExtPict Extend* so far (GB11)
    regional_run = 1 if prev is _Kind.REGIONAL_INDICATOR else 0
    for i in range(1, len(text)):
        kind = kinds[i]
        join = _joins(prev, kind, pictographic_run=pictographic_run, regional_run=regional_run)
        if not join:
            yield text[start:i]
            start = i
        if kind is _Kind.PICTOGRAPHIC:
            pictographic_run = True
        elif kind is not _Kind.EXTEND and not (kind is _Kind.ZWJ and pictographic_run):
            pictographic_run = False
        regional_run = regional_run + 1 if kind is _Kind.REGIONAL_INDICATOR else 0
        prev = kind
    yield text[start:]


# --- packing ------------------------------------------------------------------


def _ucs2_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _ucs2_cost(piece: str) -> int:
    if len(piece) == 1:  # most pieces: no need to encode
        return 2 if ord(piece) > 0xFFFF else 1
    return _ucs2_units(piece)


def _pieces(body: str, encoding: Encoding, per_part: int) -> tuple[list[str], list[int]]:
    """What may not be split and its cost: GSM-7 characters (escapes cost two), or
    UCS-2 grapheme clusters (a cluster wider than a whole part goes by code point)."""
    if encoding is Encoding.GSM7:
        return list(body), [2 if ch in GSM7_EXTENSION else 1 for ch in body]
    pieces: list[str] = []
    for cluster in grapheme_clusters(body):
        if len(cluster) == 1 or _ucs2_units(cluster) <= per_part:
            pieces.append(cluster)
        else:
            pieces.extend(cluster)
    return pieces, [_ucs2_cost(piece) for piece in pieces]


_GSM7 = GSM7_BASIC | GSM7_EXTENSION


def _encoding(body: str) -> Encoding:
    return Encoding.GSM7 if _GSM7.issuperset(body) else Encoding.UCS2


_LIMITS = {Encoding.GSM7: (160, 153), Encoding.UCS2: (70, 67)}


def _part_starts(costs: list[int], single: int, per_part: int) -> list[int]:
    """Indexes of the pieces that open a part, greedily filling each part."""
    if sum(costs) <= single:
        return [0]
    starts, used = [0], 0
    for i, cost in enumerate(costs):
        if used + cost > per_part:
            starts.append(i)
            used = 0
        used += cost
    return starts


def split_segments(body: str) -> list[str]:
    """The parts ``body`` is sent as, in order; they join back into ``body``.

    One part when the body fits a single segment; otherwise parts of at most
    153 septets (GSM-7) or 67 UTF-16 units (UCS-2), none splitting an escape
    pair or a grapheme cluster. An empty body is one empty part.
    """
    encoding = _encoding(body)
    single, per_part = _LIMITS[encoding]
    pieces, costs = _pieces(body, encoding, per_part)
    starts = _part_starts(costs, single, per_part)
    ends = [*starts[1:], len(pieces)]
    return ["".join(pieces[a:b]) for a, b in zip(starts, ends, strict=True)]


def _gsm7_basic_parts(septets: int) -> int:
    """Parts of a body of basic GSM-7 characters only: nothing a part could split."""
    return 1 if septets <= 160 else -(-septets // 153)


def segments_of(body: str) -> int:
    """``count_segments(body).segments``, without building the count for the
    common body (GSM-7 basic characters only): a thread page asks for each
    inbound message's."""
    if GSM7_BASIC.issuperset(body):
        return _gsm7_basic_parts(len(body))
    return count_segments(body).segments


def count_segments(body: str) -> SegmentCount:
    """Count the segments ``body`` is sent as; an empty body is one segment."""
    if GSM7_BASIC.issuperset(body):
        # Most bodies: one septet per character, nothing a part could split.
        septets = len(body)
        return SegmentCount(Encoding.GSM7, septets, _gsm7_basic_parts(septets))
    encoding = _encoding(body)
    single, per_part = _LIMITS[encoding]
    _, costs = _pieces(body, encoding, per_part)
    return SegmentCount(encoding, sum(costs), len(_part_starts(costs, single, per_part)))
