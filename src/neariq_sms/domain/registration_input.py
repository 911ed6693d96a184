"""What a business submits to register as a sender, parsed and checked.

The shape is the HTTP contract's (camelCase keys, nested ``business``,
``representative`` and ``campaign`` objects); every error names its path
(``business.ein``, ``campaign.sampleMessages``). Like the rest of
:mod:`neariq_sms.domain.parsing`, every missing field is reported before any
malformed one, and phone numbers last.

The allowed values are the provider's (Twilio's Trust Hub enums); the limits
are the campaign vetting's (description 40-4,096 characters, message flow
40-2,048, 2-5 samples of 20-1,024).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

import attrs

from neariq_sms.domain.errors import InvalidField, MissingField
from neariq_sms.domain.parsing import parse_phone, parse_present, parse_text
from neariq_sms.domain.phone import PhoneNumber

BUSINESS_TYPES = (
    "Sole Proprietorship",
    "Partnership",
    "Limited Liability Corporation",
    "Co-operative",
    "Non-profit Corporation",
    "Corporation",
)
INDUSTRIES = (
    "AGRICULTURE", "AUTOMOTIVE", "BANKING", "CONSUMER", "EDUCATION", "ELECTRONICS", "ENERGY",
    "ENGINEERING", "FAST_MOVING_CONSUMER_GOODS", "FINANCIAL", "FINTECH", "FOOD_AND_BEVERAGE",
    "GOVERNMENT", "HEALTHCARE", "HOSPITALITY", "INSURANCE", "JEWELRY", "LEGAL", "MANUFACTURING",
    "MEDIA", "NOT_FOR_PROFIT", "OIL_AND_GAS", "ONLINE", "RAW_MATERIALS", "REAL_ESTATE",
    "RELIGION", "RETAIL", "TECHNOLOGY", "TELECOMMUNICATIONS", "TRANSPORTATION", "TRAVEL",
)  # fmt: skip
COMPANY_TYPES = ("private", "public", "non_profit", "government")
JOB_POSITIONS = ("Director", "GM", "VP", "CEO", "CFO", "General Counsel")
#: The two-letter codes of the states, DC and the territories a US address may name.
US_REGIONS = frozenset(
    {
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN",
        "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH",
        "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
        "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI",
    }
)  # fmt: skip

DESCRIPTION_LENGTH = (40, 4096)
MESSAGE_FLOW_LENGTH = (40, 2048)
SAMPLE_LENGTH = (20, 1024)
SAMPLE_COUNT = (2, 5)
#: Names, titles, streets: what a person types, within the provider's field sizes.
MAX_TEXT = 255

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"^[^@\s]{{1,64}}@{_LABEL}(?:\.{_LABEL})+$")
_POSTAL_CODE = re.compile(r"^\d{5}(?:-\d{4})?$")


@attrs.frozen
class Address:
    street: str
    city: str
    #: Two-letter US state, DC or territory code.
    region: str
    postal_code: str
    country: str = "US"


@attrs.frozen
class BusinessInfo:
    """The business as the registry knows it (its EIN record)."""

    legal_name: str
    address: Address
    #: Nine digits; ``None`` for a sole proprietor, who has none.
    ein: str | None = None
    business_type: str | None = None
    industry: str | None = None
    website: str | None = None
    company_type: str | None = None
    stock_exchange: str | None = None
    stock_ticker: str | None = None


@attrs.frozen
class Representative:
    """The person who answers for the business (for a sole proprietor: the owner,
    whose mobile ``phone`` receives the confirmation text)."""

    first_name: str
    last_name: str
    email: str
    phone: PhoneNumber
    title: str | None = None
    job_position: str | None = None


@attrs.frozen
class CampaignContent:
    """What the business will text, as the campaign vetting reads it."""

    description: str
    message_flow: str
    sample_messages: tuple[str, ...]

    @property
    def has_embedded_links(self) -> bool:
        return any(_has_link(sample) for sample in self.sample_messages)


@attrs.frozen
class RegistrationDetails:
    """Everything the provider needs from the business. ``campaign`` is always
    set once registered (proposed from the business's templates when omitted)."""

    business: BusinessInfo | None
    representative: Representative | None
    campaign: CampaignContent | None = None


def _has_link(text: str) -> bool:
    return bool(re.search(r"https?://|\[link\]|www\.", text, re.IGNORECASE))


# --- parsing ---------------------------------------------------------------------------

_STANDARD_BUSINESS = ("legalName", "ein", "businessType", "industry", "website", "companyType")
_SOLE_BUSINESS = ("legalName",)
_ADDRESS = ("street", "city", "region", "postalCode", "country")
_STANDARD_REPRESENTATIVE = ("firstName", "lastName", "title", "jobPosition", "email", "phone")
_SOLE_REPRESENTATIVE = ("firstName", "lastName", "email", "phone")
_CAMPAIGN = ("description", "messageFlow", "sampleMessages")


def parse_registration_details(
    *, sole_proprietor: bool, business: object, representative: object, campaign: object
) -> RegistrationDetails:
    """The ``business``, ``representative`` and (optional) ``campaign`` objects of a
    ``register`` request.

    A sole proprietor sends ``business`` without ``ein``, ``businessType``,
    ``industry``, ``website`` and ``companyType`` (sent anyway, they are
    checked), and ``representative`` without ``title`` and ``jobPosition``.
    A ``public`` company also names its ``stockExchange`` and ``stockTicker``.

    Raises:
        MissingField, InvalidField (naming the path), InvalidPhone
        (``representative.phone``).
    """
    business_keys = _SOLE_BUSINESS if sole_proprietor else _STANDARD_BUSINESS
    person_keys = _SOLE_REPRESENTATIVE if sole_proprietor else _STANDARD_REPRESENTATIVE
    b = _object(business, "business")
    address = _object(b.get("address"), "business.address")
    person = _object(representative, "representative")
    c = None if campaign is None else _object(campaign, "campaign")
    _require(b, "business", business_keys)
    _require(address, "business.address", _ADDRESS)
    if b.get("companyType") == "public":
        _require(b, "business", ("stockExchange", "stockTicker"))
    _require(person, "representative", person_keys)
    if c is not None:
        _require(c, "campaign", _CAMPAIGN)
    if sole_proprietor and b.get("ein") is not None:
        raise InvalidField(
            "business.ein", "a business with an EIN registers as standard or low_volume"
        )
    info = _business(b, _address(address))
    content = None if c is None else parse_campaign(c)
    # The phone last: it is the one ``invalid_phone`` of the request.
    return RegistrationDetails(
        business=info, representative=_representative(person), campaign=content
    )


def parse_campaign(raw: Mapping[str, object], path: str = "campaign") -> CampaignContent:
    """A campaign object's three fields, present or not (``MissingField``), within
    their limits (``InvalidField``)."""
    _require(raw, path, _CAMPAIGN)
    samples = raw["sampleMessages"]
    if not isinstance(samples, list) or not all(isinstance(x, str) for x in samples):
        raise InvalidField(f"{path}.sampleMessages", "must be a list of strings")
    low, high = SAMPLE_COUNT
    if not low <= len(samples) <= high:
        raise InvalidField(f"{path}.sampleMessages", f"must hold {low} to {high} messages")
    for index, sample in enumerate(samples):
        _length(sample.strip(), f"{path}.sampleMessages[{index}]", SAMPLE_LENGTH)
    return CampaignContent(
        description=_length(_text(raw, path, "description", limit=None), f"{path}.description",
                            DESCRIPTION_LENGTH),
        message_flow=_length(_text(raw, path, "messageFlow", limit=None), f"{path}.messageFlow",
                             MESSAGE_FLOW_LENGTH),
        sample_messages=tuple(sample.strip() for sample in samples),
    )  # fmt: skip


def parse_ein(raw: object, *, field: str = "business.ein") -> str:
    """A US Employer Identification Number: nine digits, ``12-3456789`` accepted."""
    text = parse_text(raw, field).strip()
    digits = text.replace("-", "", 1) if len(text) == 10 and text[2] == "-" else text
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        raise InvalidField(field, "must be nine digits (an EIN such as 12-3456789)")
    return digits


def parse_email(raw: object, *, field: str) -> str:
    text = parse_text(raw, field).strip()
    if len(text) > 254 or not text.isascii() or not _EMAIL.match(text):
        raise InvalidField(field, "must be an email address")
    return text


def parse_url(raw: object, *, field: str) -> str:
    """An http(s) address of a real host (the business's live site)."""
    text = parse_text(raw, field).strip()
    try:
        parts = urlsplit(text)
        host = parts.hostname
    except ValueError:
        host = None
    if (
        len(text) > 500
        or not text.isprintable()
        or " " in text
        or parts.scheme not in {"http", "https"}
        or host is None
        or "." not in host.strip(".")
    ):
        raise InvalidField(field, "must be an http(s) address such as https://example.com")
    return text


def _business(raw: Mapping[str, object], address: Address) -> BusinessInfo:
    p = "business"
    company_type = _choice(raw, p, "companyType", COMPANY_TYPES)
    public = company_type == "public"
    return BusinessInfo(
        legal_name=_text(raw, p, "legalName"),
        address=address,
        ein=None if raw.get("ein") is None else parse_ein(raw["ein"]),
        business_type=_choice(raw, p, "businessType", BUSINESS_TYPES),
        industry=_choice(raw, p, "industry", INDUSTRIES),
        website=None if raw.get("website") is None else parse_url(raw["website"],
                                                                   field=f"{p}.website"),
        company_type=company_type,
        stock_exchange=_text(raw, p, "stockExchange", limit=20) if public else None,
        stock_ticker=_text(raw, p, "stockTicker", limit=10) if public else None,
    )  # fmt: skip


def _address(raw: Mapping[str, object]) -> Address:
    p = "business.address"
    country = _text(raw, p, "country", limit=2).upper()
    if country != "US":
        raise InvalidField(f"{p}.country", "must be US (registration covers US texting)")
    region = _text(raw, p, "region", limit=2).upper()
    if region not in US_REGIONS:
        raise InvalidField(f"{p}.region", "must be a two-letter US state code such as TX")
    postal = _text(raw, p, "postalCode", limit=10)
    if not _POSTAL_CODE.match(postal):
        raise InvalidField(f"{p}.postalCode", "must be a US ZIP code such as 78701")
    return Address(
        street=_text(raw, p, "street"), city=_text(raw, p, "city"), region=region,
        postal_code=postal, country=country,
    )  # fmt: skip


def _representative(raw: Mapping[str, object]) -> Representative:
    p = "representative"
    first, last = _text(raw, p, "firstName"), _text(raw, p, "lastName")
    title = None if raw.get("title") is None else _text(raw, p, "title")
    position = _choice(raw, p, "jobPosition", JOB_POSITIONS)
    email = parse_email(raw["email"], field=f"{p}.email")
    phone = parse_phone(raw["phone"], field=f"{p}.phone", region="US")
    return Representative(
        first_name=first, last_name=last, email=email, phone=phone, title=title,
        job_position=position,
    )  # fmt: skip


# --- small checks ------------------------------------------------------------------------


def _object(raw: object, path: str) -> Mapping[str, object]:
    parse_present(raw, path)
    if not isinstance(raw, Mapping) or not all(isinstance(k, str) for k in raw):
        raise InvalidField(path, "must be an object")
    return raw


def _require(raw: Mapping[str, object], path: str, keys: Sequence[str]) -> None:
    for key in keys:
        value = raw.get(key)
        if value is None or (isinstance(value, str | list) and not _blank_free(value)):
            raise MissingField(f"{path}.{key}")


def _blank_free(value: str | list[object]) -> bool:
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _text(raw: Mapping[str, object], path: str, key: str, *, limit: int | None = MAX_TEXT) -> str:
    field = f"{path}.{key}"
    text = parse_text(raw.get(key), field).strip()
    if limit is not None and len(text) > limit:
        raise InvalidField(field, f"must be at most {limit} characters")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in text):
        raise InvalidField(field, "must not contain control characters")
    return text


def _length(text: str, field: str, bounds: tuple[int, int]) -> str:
    low, high = bounds
    if not low <= len(text) <= high:
        raise InvalidField(field, f"must be {low} to {high} characters long")
    return text


def _choice(raw: Mapping[str, object], path: str, key: str, allowed: Sequence[str]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        raise InvalidField(f"{path}.{key}", "must be one of " + ", ".join(allowed))
    return value


__all__ = [
    "BUSINESS_TYPES",
    "COMPANY_TYPES",
    "DESCRIPTION_LENGTH",
    "INDUSTRIES",
    "JOB_POSITIONS",
    "MESSAGE_FLOW_LENGTH",
    "SAMPLE_COUNT",
    "SAMPLE_LENGTH",
    "US_REGIONS",
    "Address",
    "BusinessInfo",
    "CampaignContent",
    "RegistrationDetails",
    "Representative",
    "parse_campaign",
    "parse_ein",
    "parse_email",
    "parse_registration_details",
    "parse_url",
]
