"""Keyword classification: the whole message is the keyword, after normalising."""

from __future__ import annotations

import pytest

from neariq_sms.domain import Keyword, classify
from neariq_sms.domain.keywords import normalise, reply_for

OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"]
OPT_IN = ["START", "YES", "UNSTOP"]
HELP = ["HELP", "INFO"]


@pytest.mark.parametrize(
    ("words", "keyword"),
    [(OPT_OUT, Keyword.OPT_OUT), (OPT_IN, Keyword.OPT_IN), (HELP, Keyword.HELP)],
)
def test_every_listed_word_is_recognised_in_any_case(words: list[str], keyword: Keyword) -> None:
    """Each word of each list matches, upper, lower and title case."""
    for word in words:
        for variant in (word, word.lower(), word.title()):
            assert classify(variant) is keyword, variant


#: Whole messages a customer might send, by what makes them differ from the bare word.
VARIANTS: dict[str, list[tuple[str, Keyword | None]]] = {
    "case and white space": [
        ("stop", Keyword.OPT_OUT),
        ("Stop", Keyword.OPT_OUT),
        ("sToP", Keyword.OPT_OUT),
        (" stop ", Keyword.OPT_OUT),
        ("\tSTOP\n", Keyword.OPT_OUT),
        ("STOP\r\n", Keyword.OPT_OUT),
        ("STOP\u00a0", Keyword.OPT_OUT),
        ("\u3000STOP\u3000", Keyword.OPT_OUT),
        ("\u2028STOP", Keyword.OPT_OUT),
    ],
    "trailing and leading punctuation": [
        ("Stop.", Keyword.OPT_OUT),
        ("STOP!", Keyword.OPT_OUT),
        ("stop!!!", Keyword.OPT_OUT),
        ("STOP?", Keyword.OPT_OUT),
        ("Stop\u2026", Keyword.OPT_OUT),
        ("STOP\u3002", Keyword.OPT_OUT),
        ("\u00a1STOP!", Keyword.OPT_OUT),
        ("STOP\uff01", Keyword.OPT_OUT),
        ("-STOP-", Keyword.OPT_OUT),
        ("...stop", Keyword.OPT_OUT),
        ("quit!", Keyword.OPT_OUT),
        ("UNSUBSCRIBE.", Keyword.OPT_OUT),
        ("start.", Keyword.OPT_IN),
        ("Yes!", Keyword.OPT_IN),
        ("help?", Keyword.HELP),
        ("info.", Keyword.HELP),
    ],
    "quotes and brackets": [
        ('"STOP"', Keyword.OPT_OUT),
        ("'stop'", Keyword.OPT_OUT),
        ("\u201cStop\u201d", Keyword.OPT_OUT),
        ("\u2018stop\u2019", Keyword.OPT_OUT),
        ("\u00abSTOP\u00bb", Keyword.OPT_OUT),
        ("(stop)", Keyword.OPT_OUT),
        ("[STOP]", Keyword.OPT_OUT),
        ("{stop}", Keyword.OPT_OUT),
        ("<STOP>", Keyword.OPT_OUT),
        ("*STOP*", Keyword.OPT_OUT),
        ("_stop_", Keyword.OPT_OUT),
        ("(END)", Keyword.OPT_OUT),
        ('"Quit"', Keyword.OPT_OUT),
        ('"yes"', Keyword.OPT_IN),
        ("(HELP)", Keyword.HELP),
    ],
    "emoji and other symbols": [
        ("STOP \U0001f64f", Keyword.OPT_OUT),
        ("STOP\U0001f64f\U0001f3fd", Keyword.OPT_OUT),
        ("\U0001f6d1 STOP", Keyword.OPT_OUT),
        ("STOP \u2764\ufe0f", Keyword.OPT_OUT),
        ("STOP \U0001f44d\U0001f3fb", Keyword.OPT_OUT),
        ("STOP \U0001f1fa\U0001f1f8", Keyword.OPT_OUT),
        ("STOP \U0001f468\u200d\U0001f469\u200d\U0001f467", Keyword.OPT_OUT),
        ("stop :)", Keyword.OPT_OUT),
        ("Stop!!! \U0001f621", Keyword.OPT_OUT),
        ("STOP #\ufe0f\u20e3", Keyword.OPT_OUT),
        ("STOP \u2705", Keyword.OPT_OUT),
        ("YES \U0001f44d", Keyword.OPT_IN),
    ],
    "full-width and other compatibility forms": [
        ("\uff33\uff34\uff2f\uff30", Keyword.OPT_OUT),
        ("\uff53\uff54\uff4f\uff50", Keyword.OPT_OUT),
        ("\uff33\uff34\uff2f\uff30\u3002", Keyword.OPT_OUT),
        ("\uff35\uff2e\uff33\uff35\uff22\uff33\uff23\uff32\uff29\uff22\uff25", Keyword.OPT_OUT),
        ("\U0001d412\U0001d413\U0001d40e\U0001d40f", Keyword.OPT_OUT),
        ("\u24c8\u24e3\u24de\u24df", Keyword.OPT_OUT),
        ("\u017ftop", Keyword.OPT_OUT),
        ("\uff33\uff34\uff21\uff32\uff34", Keyword.OPT_IN),
        ("\uff28\uff25\uff2c\uff30", Keyword.HELP),
    ],
    "format, zero-width and NUL characters": [
        ("\u200bSTOP", Keyword.OPT_OUT),
        ("ST\u200bOP", Keyword.OPT_OUT),
        ("STOP\u200d", Keyword.OPT_OUT),
        ("\ufeffSTOP", Keyword.OPT_OUT),
        ("S\u00adTOP", Keyword.OPT_OUT),
        ("ST\u2060OP", Keyword.OPT_OUT),
        ("STOP\u200e", Keyword.OPT_OUT),
        ("\u202eSTOP\u202c", Keyword.OPT_OUT),
        ("ST\u034fOP", Keyword.OPT_OUT),
        ("S\ufe0fTOP", Keyword.OPT_OUT),
        ("ST\x00OP", Keyword.OPT_OUT),
        ("STOP\x00", Keyword.OPT_OUT),
        ("S\x7fTOP", Keyword.OPT_OUT),
        ("Start\u200b", Keyword.OPT_IN),
    ],
    "hyphen and space variants of opt out": [
        ("opt out", Keyword.OPT_OUT),
        ("OPT OUT", Keyword.OPT_OUT),
        ("Opt Out", Keyword.OPT_OUT),
        ("opt-out", Keyword.OPT_OUT),
        ("OPT-OUT", Keyword.OPT_OUT),
        ("Opt-Out.", Keyword.OPT_OUT),
        ("opt  out", Keyword.OPT_OUT),
        ("Opt   Out.", Keyword.OPT_OUT),
        ("opt - out", Keyword.OPT_OUT),
        ("opt\u2011out", Keyword.OPT_OUT),
        ("opt\u2013out", Keyword.OPT_OUT),
        ("opt\u2014out", Keyword.OPT_OUT),
        ("opt\u00a0out", Keyword.OPT_OUT),
        ("opt\tout", Keyword.OPT_OUT),
        ("opt--out!", Keyword.OPT_OUT),
        ("\uff2f\uff30\uff34\uff0d\uff2f\uff35\uff34", Keyword.OPT_OUT),
        ("optout", Keyword.OPT_OUT),
        ("OptOut", Keyword.OPT_OUT),
    ],
    "longer messages and near misses": [
        ("STOP PLEASE", None),
        ("we have to stop this", None),
        ("Stop. Thank you", None),
        ("please stop", None),
        ("STOP 12345", None),
        ("STOP2", None),
        ("STOPP", None),
        ("STOPSTOP", None),
        ("STOP STOP", None),
        ("S T O P", None),
        ("S.T.O.P.", None),
        ("ST OP", None),
        ("ST\nOP", None),
        ("stop.please", None),
        ("stop \U0001f64f please", None),
        ("\uff33\uff34\uff2f\uff30 \uff2e\uff2f\uff37", None),
        ("don't stop", None),
        ("opt", None),
        ("out", None),
        ("opt out please", None),
        ("opt in", None),
        ("START OVER", None),
        ("yes please", None),
        ("help me", None),
        ("I need help", None),
        ("no", None),
    ],
    "nothing at all": [
        ("", None),
        ("   ", None),
        ("?", None),
        ("\U0001f64f", None),
        ("\u200b", None),
        ("\x00", None),
    ],
}
CASES = [
    pytest.param(body, keyword, id=f"{category}: {body!r}")
    for category, cases in VARIANTS.items()
    for body, keyword in cases
]


def test_the_suite_covers_at_least_91_whole_message_variants() -> None:
    """The issue's count: at least 91 variants, both ways, in every category."""
    assert len(CASES) >= 91
    assert sum(1 for _, keyword in (c.values for c in CASES) if keyword is None) >= 25


@pytest.mark.parametrize(("body", "keyword"), CASES)
def test_a_whole_message_variant_is_classified_after_normalising(
    body: str, keyword: Keyword | None
) -> None:
    """NFKC, format characters dropped, surrounding punctuation and symbols stripped,
    inner white space and hyphens collapsed, case folded; the whole message must match."""
    assert classify(body) is keyword


def test_normalise_collapses_to_the_comparable_text() -> None:
    """What classification compares: upper case, one space between words."""
    assert normalise(" \u201cOpt\u2014\u2014Out\u201d \U0001f64f ") == "OPT OUT"
    assert normalise("ST\x00OP\u200b!") == "STOP"
    assert normalise("see  you\ttomorrow") == "SEE YOU TOMORROW"


def test_the_opt_out_reply_confirms_once_and_tells_how_to_resubscribe() -> None:
    """The confirmation names the business and START, with no marketing."""
    reply = reply_for(Keyword.OPT_OUT, "Aster Grove Fitness")
    assert reply.startswith("Aster Grove Fitness:")
    assert "START" in reply
    assert "review" not in reply.lower()


def test_the_help_reply_names_the_business_and_how_to_opt_out() -> None:
    """HELP gets the business's name and the STOP instruction."""
    reply = reply_for(Keyword.HELP, "Aster Grove Fitness")
    assert "Aster Grove Fitness" in reply
    assert "STOP" in reply
