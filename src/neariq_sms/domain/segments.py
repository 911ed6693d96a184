"""SMS segment counting as carriers (and Twilio) count and bill it.

GSM-7: 160 septets in one segment, 153 per part once concatenated; the
extension characters (``€ { } [ ] ~ \\ ^ |`` and form feed) take two septets
and an escape pair is never split across parts. Any character outside GSM-7
switches the whole message to UCS-2: 70 UTF-16 code units, 67 per part, and a
surrogate pair (most emoji) is never split.
"""

from __future__ import annotations

import enum

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


def _pack(costs: list[int], single: int, per_part: int) -> int:
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts += 1
            used = 0
        used += cost
    return parts


def count_segments(body: str) -> SegmentCount:
    """Count the segments ``body`` is sent as; an empty body is one segment."""
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in body):
        costs = [2 if ch in GSM7_EXTENSION else 1 for ch in body]
        return SegmentCount(Encoding.GSM7, sum(costs), _pack(costs, 160, 153))
    costs = [2 if ord(ch) > 0xFFFF else 1 for ch in body]
    return SegmentCount(Encoding.UCS2, sum(costs), _pack(costs, 70, 67))
