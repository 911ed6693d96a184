"""The review-request text."""

from __future__ import annotations

import string
import unicodedata

from neariq_sms.domain.errors import InvalidField, MissingField

OPT_OUT_FOOTER = "Reply STOP to opt out."
DEFAULT_TEMPLATE = (
    "Hi {first_name}, thanks for choosing {business_name}! "
    "Would you leave us a quick review? {review_link}"
)
MAX_CUSTOMER_NAME = 60
_PLACEHOLDERS = {"first_name", "business_name", "review_link"}


def validate_customer_name(raw: object, *, field: str = "customerName") -> str:
    """1-60 characters after trimming, no control characters."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise MissingField(field)
    if not isinstance(raw, str):
        raise InvalidField(field, "must be a string")
    name = raw.strip()
    if len(name) > MAX_CUSTOMER_NAME:
        raise InvalidField(field, f"must be at most {MAX_CUSTOMER_NAME} characters")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise InvalidField(field, "must not contain control characters")
    return name


def validate_template(template: str) -> str:
    """A template may use only ``{first_name}``, ``{business_name}`` and ``{review_link}``."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
    except ValueError as exc:
        raise InvalidField("review_template", str(exc)) from None
    unknown = fields - _PLACEHOLDERS
    if unknown:
        raise InvalidField("review_template", f"unknown placeholders {sorted(unknown)}")
    return template


def render_review_request(
    *, template: str | None, customer_name: str, business_name: str, review_link: str | None
) -> str:
    """The body sent to the customer; it always ends with the opt-out footer."""
    first_name = customer_name.split()[0]
    text = (template or DEFAULT_TEMPLATE).format(
        first_name=first_name, business_name=business_name, review_link=review_link or ""
    )
    text = " ".join(text.split())
    if not text.endswith(OPT_OUT_FOOTER):
        text = f"{text} {OPT_OUT_FOOTER}"
    return text
