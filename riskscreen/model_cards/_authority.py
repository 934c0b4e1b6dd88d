"""What only the authority can say: the fields a card and a record ask it to complete.

The run knows the model, the data and the numbers; it cannot know who owns the
tool, the data protection impact assessment (DPIA) or when it will be reviewed.
Those fields are passed as ``authority={...}`` and, until they are, every
rendering marks them "To complete by the authority".
"""

from __future__ import annotations

import datetime

#: key -> (label, what to write); the order is the order shown.
AUTHORITY_FIELDS = {
    "organisation": ("Organisation", "the local authority responsible for the tool"),
    "team": ("Team", "the team that runs the tool and answers questions about it"),
    "owner": (
        "Owner (senior responsible owner)",
        "the role accountable for the tool's use and for this record",
    ),
    "contact_email": ("Contact email", "a team mailbox for questions and concerns"),
    "website": ("Website", "the page where the public can read this record"),
    "dpia_reference": (
        "Data protection impact assessment (DPIA) reference",
        "the reference and date of the DPIA covering this processing",
    ),
    "equality_impact_assessment": (
        "Equality impact assessment",
        "the reference and date of the equality impact assessment",
    ),
    "review_date": (
        "Review date",
        "when the model is re-validated on new data and this card reviewed (at least yearly)",
    ),
    "lawful_basis": (
        "Lawful basis",
        "the UK GDPR Article 6 basis and Article 9 condition relied on",
    ),
    "phase": ("Phase", "pre-deployment, pilot (beta), production or retired"),
    "supplier": (
        "Supplier or developer",
        "who deploys and supports the tool, if not the authority itself",
    ),
    "data_access_terms": (
        "Terms of access to data",
        "what any supplier may do with the authority's data",
    ),
    "previous_process": (
        "Previous process",
        "how children were identified for early help before this tool",
    ),
    "frequency": ("Frequency of use", "e.g. before each termly panel"),
    "training": (
        "Required training",
        "what panel members learn before using the list (what a score is and is not)",
    ),
    "appeals": (
        "Appeals and review",
        "how a family can ask about, challenge or correct what the list says about a child",
    ),
    "data_collection": (
        "Data collection",
        "the systems and returns the data come from (school census, CIN census, SSDA903, "
        "local CME/EHE registers) and how often they are refreshed",
    ),
    "data_sharing": ("Data sharing agreements", "agreements between schools and services"),
    "data_access": (
        "Data access and storage",
        "who can see the lists and the pseudonymisation key, where they are kept, retention",
    ),
}


def check_authority(authority, owner: str) -> dict[str, str | None]:
    """Every authority field: the text given, or None (to complete)."""
    if authority is None:
        authority = {}
    if not hasattr(authority, "items"):
        raise ValueError(
            f"The 'authority' parameter of {owner} must be a mapping of field to text, such as "
            f"{{'owner': 'Director of Children's Services'}}. Got {type(authority).__name__}."
        )
    unknown = sorted(set(authority) - set(AUTHORITY_FIELDS))
    if unknown:
        raise ValueError(
            f"The 'authority' parameter of {owner} has unknown field(s) {unknown}; known fields: "
            f"{list(AUTHORITY_FIELDS)}."
        )
    out = {}
    for key in AUTHORITY_FIELDS:
        value = authority.get(key)
        if isinstance(value, (datetime.date, datetime.datetime)):
            value = value.isoformat()
        if value is not None and not isinstance(value, str):
            raise ValueError(
                f"The 'authority' parameter of {owner}: field {key!r} must be text or a date. "
                f"Got {type(value).__name__}."
            )
        out[key] = value.strip() or None if isinstance(value, str) else None
    return out
