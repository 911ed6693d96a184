"""Inbound keywords (STOP / START / HELP) and the CTIA-style replies."""

from __future__ import annotations

import enum
import unicodedata

OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})

#: Default-ignorable code points outside the format category (Cf): the combining
#: grapheme joiner, the Hangul fillers, the Khmer inherent vowels.
_INVISIBLE = frozenset("\u034f\u115f\u1160\u17b4\u17b5\u3164\uffa0")
#: Variation selectors only pick a glyph (emoji or text presentation).
_VARIATION_SELECTORS = (("\ufe00", "\ufe0f"), ("\U000e0100", "\U000e01ef"))


class Keyword(enum.Enum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def _invisible(ch: str) -> bool:
    """Characters that change nothing a reader sees: format characters (zero-width
    space and joiners, BOM, soft hyphen, direction marks), NUL and the other
    controls that are not white space, the other default-ignorables."""
    category = unicodedata.category(ch)
    if category == "Cf" or (category == "Cc" and not ch.isspace()) or ch in _INVISIBLE:
        return True
    return any(low <= ch <= high for low, high in _VARIATION_SELECTORS)


def _surrounding(ch: str) -> bool:
    """What may enclose a keyword: white space, punctuation (quotes, brackets, "!"),
    symbols (emoji, their skin tones, flags) and the marks attached to them (keycaps)."""
    return ch.isspace() or unicodedata.category(ch)[0] in "PSZM"


def _separator(ch: str) -> bool:
    """Inside the message: white space and every dash ("opt-out", "opt \u2014 out")."""
    return ch.isspace() or unicodedata.category(ch) == "Pd"


def _strip(text: str) -> str:
    start, end = 0, len(text)
    while start < end and _surrounding(text[start]):
        start += 1
    while end > start and _surrounding(text[end - 1]):
        end -= 1
    return text[start:end]


def normalise(body: str) -> str:
    """The text a message is compared as.

    Invisible characters dropped, Unicode NFKC (full-width and other
    compatibility letters become plain ones), surrounding white space,
    punctuation and symbols stripped, every inner run of white space and
    dashes one space, upper case: ``" \u201cOpt\u2014Out\u201d \U0001f64f"`` is
    ``"OPT OUT"``.
    """
    visible = "".join(ch for ch in body if not _invisible(ch))
    text = _strip(unicodedata.normalize("NFKC", visible))
    words: list[str] = []
    word: list[str] = []
    for ch in text:
        if not _separator(ch):
            word.append(ch)
        elif word:
            words.append("".join(word))
            word = []
    if word:
        words.append("".join(word))
    return " ".join(words).upper()


def classify(body: str) -> Keyword | None:
    """The keyword the *whole* message is, once normalised, if any.

    ``"(stop)"``, ``"STOP \U0001f64f"``, ``"\uff33\uff34\uff2f\uff30"`` and ``"opt-out"`` are
    opt-outs; ``"STOP PLEASE"`` and ``"we have to stop this"`` are no keyword.
    """
    word = normalise(body)
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


def combine(own: Keyword | None, provider: Keyword | None) -> Keyword | None:
    """The keyword a message counts as when the provider classified it as well.

    Twilio's ``OptOutType`` (Advanced Opt-Out) knows a Messaging Service's
    custom and localised keywords (``ARRET``, ``PARAR``). An opt-out from
    either side is an opt-out, since a missed STOP is the costly mistake;
    otherwise the provider's classification, when it gave one, wins: the
    provider's own block list followed it.
    """
    if Keyword.OPT_OUT in (own, provider):
        return Keyword.OPT_OUT
    return provider if provider is not None else own


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
