"""Valid ``register`` payloads, as the HTTP contract spells them (shared by the tests)."""

from __future__ import annotations

import copy
from typing import Any

CAMPAIGN: dict[str, Any] = {
    "description": (
        "Acme Plumbing texts its customers appointment reminders, review requests after a visit"
        " and replies to their questions."
    ),
    "messageFlow": (
        "Customers give their mobile number when they book at acmeplumbing.example and tick an"
        " unchecked SMS consent box naming Acme Plumbing; Reply STOP to opt out, HELP for help."
    ),
    "sampleMessages": [
        "Acme Plumbing: Hi [name], thanks for visiting! Leave us a review: [link] Reply STOP to"
        " opt out.",
        "Acme Plumbing: Reminder: your appointment is [day] at [time]. Reply STOP to opt out.",
    ],
}

STANDARD: dict[str, Any] = {
    "action": "register",
    "kind": "standard",
    "business": {
        "legalName": "Acme Plumbing LLC",
        "ein": "12-3456789",
        "businessType": "Limited Liability Corporation",
        "industry": "CONSUMER",
        "website": "https://acmeplumbing.example.com",
        "companyType": "private",
        "address": {
            "street": "100 Congress Ave",
            "city": "Austin",
            "region": "TX",
            "postalCode": "78701",
            "country": "US",
        },
    },
    "representative": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "title": "Owner",
        "jobPosition": "CEO",
        "email": "ada@acmeplumbing.example.com",
        "phone": "+15125550142",
    },
    "campaign": CAMPAIGN,
}

SOLE_PROPRIETOR: dict[str, Any] = {
    "action": "register",
    "kind": "sole_proprietor",
    "business": {
        "legalName": "Ada's Garden Care",
        "address": copy.deepcopy(STANDARD["business"]["address"]),
    },
    "representative": {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "email": "ada@gardencare.example.com",
        "phone": "+15125550143",
    },
}


def payload(base: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` (the standard payload) with dotted-path changes
    (``payload(**{"business.ein": "1"})``); a value of ``...`` deletes the key."""
    data = copy.deepcopy(STANDARD if base is None else base)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        if value is ...:
            node.pop(last, None)
        else:
            node[last] = value
    return data
