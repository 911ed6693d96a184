"""Inbound keywords (STOP / START / HELP) and the CTIA-style replies."""

from __future__ import annotations

import enum
import string

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_TRAILING = string.punctuation + "\u00a1\u00bf\u2026\u3002"


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def normalise(body: str) -> str:
    """Trim, collapse inner white space, drop trailing punctuation, upper-case."""
    return " ".join(body.split()).rstrip(_TRAILING).rstrip().upper()


def classify(body: str) -> Keyword | None:
    """The keyword the *whole* message is, if any ("STOP PLEASE" is none)."""
    word = normalise(body)
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


def reply_for(keyword: Keyword, business_name: str) -> str:
    """The one reply a keyword gets; the opt-out confirmation carries no marketing."""
    if keyword is Keyword.OPT_OUT:
        return (
            f"{business_name}: You are unsubscribed and will receive no more messages."
            " Reply START to resubscribe."
        )
    if keyword is Keyword.OPT_IN:
        return (
            f"{business_name}: You are resubscribed to messages."
            " Reply HELP for help, STOP to opt out."
        )
    return (
        f"{business_name}: review requests and customer messages."
        " Msg & data rates may apply. Reply STOP to opt out."
    )
