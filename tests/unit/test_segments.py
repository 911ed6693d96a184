"""Segment counting as Twilio counts and bills it (GSM-7 160/153, UCS-2 70/67)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neariq_sms.domain import Encoding, count_segments
from neariq_sms.domain.segments import grapheme_clusters, segments_of, split_segments
from tests.strategies import gsm_basic_text, gsm_text, non_gsm_chars


@pytest.mark.parametrize(("length", "segments"), [(1, 1), (160, 1), (161, 2), (306, 2), (307, 3)])
def test_plain_ascii_is_gsm7_160_then_153_per_part(length: int, segments: int) -> None:
    """160 ASCII characters fit one segment; the 161st makes two."""
    count = count_segments("a" * length)
    assert count.encoding is Encoding.GSM7
    assert count.segments == segments


@pytest.mark.parametrize("extension", ["€", "{", "}", "[", "]", "~", "\\", "^", "|"])
def test_an_extension_character_costs_two_septets(extension: str) -> None:
    """One € or { in a 160-character body makes 161 septets: two segments."""
    at_limit = count_segments("a" * 158 + extension)
    over = count_segments("a" * 159 + extension)
    assert (at_limit.encoding, at_limit.units, at_limit.segments) == (Encoding.GSM7, 160, 1)
    assert (over.encoding, over.units, over.segments) == (Encoding.GSM7, 161, 2)


def test_an_escape_pair_is_never_split_across_parts() -> None:
    """152 septets then a € do not fit 153: the € opens the second part."""
    assert count_segments("a" * 152 + "€" + "a" * 151).segments == 2
    assert count_segments("a" * 152 + "€" + "a" * 152).segments == 3


def test_one_emoji_switches_the_message_to_ucs2() -> None:
    """An emoji is outside GSM-7 and, as a surrogate pair, two UTF-16 units."""
    count = count_segments("Thanks! 😀")
    assert count.encoding is Encoding.UCS2
    assert count.units == len("Thanks! ") + 2
    assert count.segments == 1


@pytest.mark.parametrize(
    ("length", "segments"), [(70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_ucs2_is_70_then_67_per_part(length: int, segments: int) -> None:
    """70 UCS-2 characters fit one segment, 71 need two, 135 need three."""
    count = count_segments("ж" * length)
    assert count.encoding is Encoding.UCS2
    assert count.segments == segments


def test_an_emoji_straddling_the_part_boundary_is_not_split() -> None:
    """66 units then an emoji: the pair moves whole to the next part (134 units, 3 parts)."""
    body = "ж" * 66 + "😀" + "ж" * 66
    count = count_segments(body)
    assert count.units == 134
    assert count.segments == 3


def test_an_extension_character_in_ucs2_costs_one_unit() -> None:
    """In UCS-2 mode the GSM escape does not apply: € is one UTF-16 unit."""
    assert count_segments("ж" * 69 + "€").segments == 1


def test_an_empty_body_is_one_segment() -> None:
    """Nothing still goes out as one (empty) segment."""
    assert count_segments("").segments == 1


@given(gsm_basic_text)
def test_basic_gsm_text_follows_the_closed_form(body: str) -> None:
    """Without extension characters the count is 1 up to 160, then ceil(n / 153)."""
    expected = 1 if len(body) <= 160 else math.ceil(len(body) / 153)
    count = count_segments(body)
    assert (count.encoding, count.units, count.segments) == (Encoding.GSM7, len(body), expected)


@given(gsm_text, non_gsm_chars, st.integers(min_value=0, max_value=400))
def test_one_non_gsm_character_makes_the_whole_message_ucs2(
    body: str, char: str, where: int
) -> None:
    """The encoding is decided by the whole body, and UCS-2 never needs fewer segments."""
    where = min(where, len(body))
    mixed = body[:where] + char + body[where:]
    count = count_segments(mixed)
    assert count.encoding is Encoding.UCS2
    assert count.units == len(mixed.encode("utf-16-le")) // 2
    assert count.segments >= count_segments(body).segments


@given(gsm_text, gsm_text)
def test_a_longer_body_never_has_fewer_segments(head: str, tail: str) -> None:
    """Appending text never lowers the count."""
    assert count_segments(head + tail).segments >= count_segments(head).segments


# --- grapheme clusters: what the reader sees as one character is never split --------

#: The flag of Scotland: a black flag, the tag letters "gbsct", a cancel tag.
SCOTLAND = "\U0001f3f4" + "".join(chr(0xE0000 + ord(c)) for c in "gbsct") + "\U000e007f"
#: Multi-code-point characters Twilio's segment calculator keeps whole, with their
#: UTF-16 length.
CLUSTERS = [
    pytest.param("🇮🇹", 4, id="flag: regional-indicator pair"),
    pytest.param("👍🏽", 4, id="skin-tone modifier"),
    pytest.param("1️⃣", 3, id="keycap"),
    pytest.param("👩‍💻", 5, id="ZWJ sequence"),
    pytest.param("👨‍👩‍👧‍👦", 11, id="ZWJ family"),
    pytest.param("🏳️‍🌈", 6, id="ZWJ with a variation selector"),
    pytest.param(SCOTLAND, 14, id="tag sequence: subdivision flag"),
    pytest.param("e\u0301", 2, id="combining accent"),
    pytest.param("\u1100\u1161\u11a8", 3, id="hangul jamo"),
]


def test_a_flag_is_not_split_across_parts_as_at_twilio() -> None:
    """The issue's case: 65 letters, a flag, 65 letters is 3 segments in Twilio's calculator."""
    assert count_segments("a" * 65 + "🇮🇹" + "a" * 65).segments == 3


@pytest.mark.parametrize(("cluster", "width"), CLUSTERS)
def test_a_cluster_straddling_a_part_boundary_moves_whole(cluster: str, width: int) -> None:
    """With one unit short of room in part one, the whole cluster opens part two."""
    assert len(cluster.encode("utf-16-le")) // 2 == width
    fits = "ж" * (67 - width) + cluster + "ж" * 67
    straddles = "ж" * (68 - width) + cluster + "ж" * 66
    assert count_segments(fits).segments == 2
    assert count_segments(straddles).segments == 3
    assert split_segments(straddles)[1].startswith(cluster)


@pytest.mark.parametrize(("cluster", "width"), CLUSTERS)
def test_a_cluster_is_one_grapheme(cluster: str, width: int) -> None:
    """The segmentation treats each example as exactly one user-perceived character."""
    assert list(grapheme_clusters(cluster)) == [cluster]
    assert list(grapheme_clusters("a" + cluster + "b")) == ["a", cluster, "b"]


def test_neighbouring_flags_pair_up_in_order() -> None:
    """Four regional indicators are two flags, never the middle pair."""
    assert list(grapheme_clusters("🇮🇹🇫🇷")) == ["🇮🇹", "🇫🇷"]
    assert list(grapheme_clusters("🇮🇹🇫")) == ["🇮🇹", "🇫"]


def test_crlf_counts_as_two_characters_as_twilio_does() -> None:
    """Twilio's calculator counts CR and LF one by one (a GSM part may end between them)."""
    assert list(grapheme_clusters("a\r\nb")) == ["a", "\r", "\n", "b"]
    assert count_segments("a" * 152 + "\r\n" + "a" * 152).segments == 2


cluster_texts = st.lists(
    st.one_of(
        st.sampled_from([c.values[0] for c in CLUSTERS]),
        st.sampled_from(["ж", "a", "\u200d", "\u0301", "🇮", "\r", "\n", "€", "😀"]),
        st.just("\u0301" * 40),
    ),
    max_size=120,
).map("".join)


@given(cluster_texts)
def test_parts_rejoin_into_the_body_and_each_fits_a_segment(body: str) -> None:
    """The parts concatenate to the body, each ends on a cluster boundary, and each fits
    its segment (UCS-2: 70 units alone, 67 per part once split)."""
    parts = split_segments(body)
    assert "".join(parts) == body
    assert len(parts) == count_segments(body).segments
    boundaries, at = {0}, 0
    for cluster in grapheme_clusters(body):
        if len(cluster.encode("utf-16-le")) // 2 > 67:  # wider than a part: split it must be
            boundaries.update(range(at, at + len(cluster)))
        at += len(cluster)
        boundaries.add(at)
    at = 0
    for part in parts:
        at += len(part)
        assert at in boundaries
    if count_segments(body).encoding is Encoding.UCS2:
        limit = 70 if len(parts) == 1 else 67
        assert all(len(p.encode("utf-16-le")) // 2 <= limit for p in parts)


@given(cluster_texts, cluster_texts)
def test_appending_never_lowers_the_count_with_clusters(head: str, tail: str) -> None:
    """Appending text never lowers the count, even when it extends the last cluster."""
    assert count_segments(head + tail).segments >= count_segments(head).segments


@given(st.one_of(gsm_basic_text, gsm_text, st.text(max_size=400)))
def test_segments_of_is_the_counts_segments(body: str) -> None:
    """The thread page's shortcut answers what the full count answers."""
    assert segments_of(body) == count_segments(body).segments
