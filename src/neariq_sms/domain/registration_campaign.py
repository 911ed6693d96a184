"""The campaign a business registers when it describes none: proposed from its own
templates (review request, reminder, reply), with the opt-in description and the
STOP/HELP wording campaign vetting looks for.

Vetting reads three things together: a description of who texts whom and why, a
message flow that says how customers agree (an unchecked consent box or a
spoken script, with the consent text itself), and samples that name the brand,
mark variable parts in ``[brackets]`` and carry the opt-out wording.
"""

from __future__ import annotations

from neariq_sms.domain.business import Business
from neariq_sms.domain.registration_input import (
    DESCRIPTION_LENGTH,
    MESSAGE_FLOW_LENGTH,
    SAMPLE_LENGTH,
    CampaignContent,
)
from neariq_sms.domain.reminders import DEFAULT_REMINDER_TEMPLATE
from neariq_sms.domain.review import DEFAULT_TEMPLATE, OPT_OUT_FOOTER

HELP_FOOTER = "Reply HELP for help, STOP to opt out."


def propose_campaign(business: Business, *, website: str | None) -> CampaignContent:
    """The description, message flow and three samples (review request, reminder,
    reply) for ``business``, within the vetting's limits.

    ``website`` is where the business's privacy policy lives (its registered
    site), else its review page, else none is named.
    """
    name = business.name
    review = (business.review_template or DEFAULT_TEMPLATE).format(
        first_name="[first name]", business_name=name, review_link="[review link]"
    )
    reminder = (business.reminder_template or DEFAULT_REMINDER_TEMPLATE).format(
        first_name="[first name]", business_name=name, date="[date]", time="[time]"
    )
    reply = f"Hi [first name], [staff reply to the customer's question]. {HELP_FOOTER}"
    samples = tuple(_sample(name, text) for text in (review, reminder, reply))
    site = website or business.review_url
    return CampaignContent(
        description=_fit(_description(name), DESCRIPTION_LENGTH[1]),
        message_flow=_fit(_message_flow(name, site), MESSAGE_FLOW_LENGTH[1]),
        sample_messages=samples,
    )


def _description(name: str) -> str:
    return (
        f"{name} texts its own customers, who gave their mobile number to {name} and agreed"
        " to receive texts: reminders of their upcoming appointments, a request to review"
        f" {name} after a visit (with a link to the review page), and replies from {name}'s"
        " staff to messages the customer sent. No marketing or promotions are sent. Every"
        " message names the business; customers reply STOP to opt out or HELP for help."
    )


def _message_flow(name: str, site: str | None) -> str:
    privacy = f" Privacy policy: {site}." if site else ""
    return (
        f"Customers give their mobile number to {name} when they book an appointment or check"
        " out, in person, by phone or online, and agree to texts by ticking an SMS consent"
        " checkbox that is unchecked by default (by phone, a staff member reads the same"
        f' consent text and records the answer). The consent text reads: "I agree to receive'
        f" appointment reminders, review requests and replies from {name} by text message."
        " Message frequency varies. Msg & data rates may apply. Reply STOP to opt out, HELP"
        f' for help."{privacy} Mobile numbers are never shared with or sold to third parties'
        " for marketing."
    )


def _sample(name: str, text: str) -> str:
    text = " ".join(text.split())
    if name not in text:
        text = f"{name}: {text}"
    if "STOP" not in text:
        text = f"{text} {OPT_OUT_FOOTER}"
    return _fit(text, SAMPLE_LENGTH[1])


def _fit(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


__all__ = ["HELP_FOOTER", "propose_campaign"]
