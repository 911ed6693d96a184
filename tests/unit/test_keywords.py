"""Keyword classification: the whole message is the keyword."""

from __future__ import annotations

import pytest

from neariq_sms.domain import Keyword, classify
from neariq_sms.domain.keywords import reply_for

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


@pytest.mark.parametrize(
    "body", ["Stop.", " stop ", "STOP!", "stop!!", "sToP", "opt out", "Opt   Out.", "\tSTOP\n"]
)
def test_white_space_case_and_trailing_punctuation_do_not_matter(body: str) -> None:
    """Trimmed, collapsed, case-folded, trailing punctuation dropped."""
    assert classify(body) is Keyword.OPT_OUT


@pytest.mark.parametrize(
    "body",
    [
        "STOP PLEASE",
        "we have to stop this",
        "Stop. Thank you",
        "please stop",
        "STOP 12345",
        "",
        "?",
    ],
)
def test_a_keyword_inside_a_longer_message_is_no_keyword(body: str) -> None:
    """Only a message that is wholly the keyword counts."""
    assert classify(body) is None


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
