"""The review-request text."""

from __future__ import annotations

OPT_OUT_FOOTER = "Reply STOP to opt out."
DEFAULT_TEMPLATE = (
    "Hi {first_name}, thanks for choosing {business_name}! "
    "Would you leave us a quick review? {review_link}"
)
MAX_CUSTOMER_NAME = 60
#: The placeholders a review template may use.
PLACEHOLDERS = frozenset({"first_name", "business_name", "review_link"})


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
