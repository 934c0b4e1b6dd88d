"""DfE code sets used by the canonical tables.

Codes follow the DfE's common basic data set for the school census (CBDS), the
Children in Need census and the SSDA903 looked-after children return.
Descriptions are kept so reports and explanations can speak in words rather
than codes.
"""

from __future__ import annotations

SEX_CODES: dict[str, str] = {"M": "Male", "F": "Female", "U": "Unknown / not recorded"}

# Main (minor-group) ethnicity codes: 18 groups plus the two missing codes.
ETHNICITY_CODES: dict[str, str] = {
    "WBRI": "White British",
    "WIRI": "White Irish",
    "WIRT": "Traveller of Irish heritage",
    "WOTH": "Any other White background",
    "WROM": "Gypsy/Roma",
    "MWBC": "White and Black Caribbean",
    "MWBA": "White and Black African",
    "MWAS": "White and Asian",
    "MOTH": "Any other Mixed background",
    "AIND": "Indian",
    "APKN": "Pakistani",
    "ABAN": "Bangladeshi",
    "AOTH": "Any other Asian background",
    "BCRB": "Black Caribbean",
    "BAFR": "Black African",
    "BOTH": "Any other Black background",
    "CHNE": "Chinese",
    "OOTH": "Any other ethnic group",
    "REFU": "Refused",
    "NOBT": "Information not yet obtained",
}

# Major ethnic groups (NPD EthnicGroupMajor) for audits with fewer, larger groups.
ETHNICITY_MAJOR: dict[str, str] = {
    "WBRI": "White",
    "WIRI": "White",
    "WIRT": "White",
    "WOTH": "White",
    "WROM": "White",
    "MWBC": "Mixed",
    "MWBA": "Mixed",
    "MWAS": "Mixed",
    "MOTH": "Mixed",
    "AIND": "Asian",
    "APKN": "Asian",
    "ABAN": "Asian",
    "AOTH": "Asian",
    "CHNE": "Asian",
    "BCRB": "Black",
    "BAFR": "Black",
    "BOTH": "Black",
    "OOTH": "Other",
    "REFU": "Unclassified",
    "NOBT": "Unclassified",
}

SEN_PROVISION_CODES: dict[str, str] = {"K": "SEN support", "E": "EHC plan"}

SEN_NEED_CODES: dict[str, str] = {
    "SPLD": "Specific learning difficulty",
    "MLD": "Moderate learning difficulty",
    "SLD": "Severe learning difficulty",
    "PMLD": "Profound and multiple learning difficulty",
    "SEMH": "Social, emotional and mental health",
    "SLCN": "Speech, language and communication needs",
    "HI": "Hearing impairment",
    "VI": "Vision impairment",
    "MSI": "Multi-sensory impairment",
    "PD": "Physical disability",
    "ASD": "Autistic spectrum disorder",
    "OTH": "Other difficulty or disability",
    "NSA": "SEN support but no specialist assessment of type",
}

EXCLUSION_KINDS: dict[str, str] = {"suspension": "Suspension", "permanent": "Permanent exclusion"}

# Exclusion reasons from 2020/21 (up to three per exclusion); OT kept for back data.
EXCLUSION_REASON_CODES: dict[str, str] = {
    "PP": "Physical assault against a pupil",
    "PA": "Physical assault against an adult",
    "VP": "Verbal abuse or threatening behaviour against a pupil",
    "VA": "Verbal abuse or threatening behaviour against an adult",
    "OW": "Use or threat of use of an offensive weapon or prohibited item",
    "BU": "Bullying",
    "RA": "Racist abuse",
    "LG": "Abuse against sexual orientation and gender identity",
    "DS": "Abuse relating to disability",
    "SM": "Sexual misconduct",
    "DA": "Drug and alcohol related",
    "DM": "Damage to property",
    "TH": "Theft",
    "DB": "Persistent or general disruptive behaviour",
    "MT": "Inappropriate use of social media or online technology",
    "PH": "Wilful and repeated transgression of public-health measures",
    "OT": "Other (before 2020/21)",
}

SOCIAL_CARE_KINDS: dict[str, str] = {
    "referral": "Referral to children's social care",
    "assessment": "Social-care assessment",
    "cin_plan": "Child-in-need plan",
    "cp_plan": "Child-protection plan",
    "looked_after": "Looked-after episode",
    "early_help": "Early help episode",
}

# CIN census PrimaryNeedCode (also the 903 CIN category of need N1-N8).
NEED_CODES: dict[str, str] = {
    "N0": "Not stated",
    "N1": "Abuse, neglect or exploitation",
    "N2": "Child's disability",
    "N3": "Parental disability or illness",
    "N4": "Family in acute stress",
    "N5": "Family dysfunction",
    "N6": "Socially unacceptable behaviour",
    "N7": "Low income",
    "N8": "Absent parenting",
    "N9": "Cases other than children in need",
}

ABUSE_CATEGORY_CODES: dict[str, str] = {
    "NEG": "Neglect",
    "PHY": "Physical abuse",
    "SAB": "Sexual abuse",
    "EMO": "Emotional abuse",
    "MUL": "Multiple categories",
}

# SSDA903 placement types (2024 list).
PLACEMENT_TYPE_CODES: dict[str, str] = {
    "A3": "Placed for adoption with consent, with current foster carer",
    "A4": "Placed for adoption with consent, not with current foster carer",
    "A5": "Placed for adoption under placement order, with current foster carer",
    "A6": "Placed for adoption under placement order, not with current foster carer",
    "H5": "Semi-independent living",
    "K1": "Secure children's home",
    "K2": "Children's home",
    "P1": "Placed with parents",
    "P2": "Independent living",
    "P3": "Residential employment",
    "R1": "Residential care home",
    "R2": "NHS or health establishment",
    "R3": "Family centre or mother and baby unit",
    "R5": "Young offender institution",
    "S1": "Residential school",
    "T0": "Temporary placement",
    "T1": "Temporary placement: hospital",
    "T2": "Temporary placement: holiday",
    "T3": "Temporary placement: carer on holiday",
    "T4": "Temporary placement: other, 7 days or fewer",
    "U1": "Kinship foster care, long term",
    "U2": "Kinship foster care, fostering for adoption",
    "U3": "Kinship foster care, other",
    "U4": "Foster care, long term",
    "U5": "Foster care, fostering for adoption",
    "U6": "Foster care, other",
    "Z1": "Other placement",
}

# CIN census AssessmentFactors (A child, B parent/carer, C other household member).
ASSESSMENT_FACTOR_CODES: dict[str, str] = {
    "1A": "Alcohol misuse: child",
    "1B": "Alcohol misuse: parent or carer",
    "1C": "Alcohol misuse: other person in household",
    "2A": "Drug misuse: child",
    "2B": "Drug misuse: parent or carer",
    "2C": "Drug misuse: other person in household",
    "3A": "Domestic violence: child",
    "3B": "Domestic violence: parent or carer",
    "3C": "Domestic violence: other person in household",
    "4A": "Mental health: child",
    "4B": "Mental health: parent or carer",
    "4C": "Mental health: other person in household",
    "5A": "Learning disability: child",
    "5B": "Learning disability: parent or carer",
    "5C": "Learning disability: other person in household",
    "6A": "Physical disability or illness: child",
    "6B": "Physical disability or illness: parent or carer",
    "6C": "Physical disability or illness: other person in household",
    "7A": "Young carer",
    "8B": "Privately fostered: overseas, education",
    "8C": "Privately fostered: overseas, other",
    "8D": "Privately fostered: UK, education",
    "8E": "Privately fostered: UK, other",
    "8F": "Privately fostered: other",
    "9A": "Unaccompanied asylum-seeking child",
    "10A": "Going or being missing",
    "11A": "Child sexual exploitation",
    "12A": "Trafficking",
    "13A": "Gangs",
    "14A": "Socially unacceptable behaviour",
    "15A": "Self-harm",
    "16A": "Neglect",
    "17A": "Emotional abuse",
    "18A": "Physical abuse",
    "18B": "Physical abuse: child on child",
    "18C": "Physical abuse: adult on child",
    "19A": "Sexual abuse",
    "19B": "Sexual abuse: child on child",
    "19C": "Sexual abuse: adult on child",
    "20": "Other",
    "21": "No factors identified",
    "22A": "Female genital mutilation",
    "23A": "Abuse linked to faith or belief",
    "24A": "Child criminal exploitation",
}

MISSING_EDUCATION_KINDS: dict[str, str] = {
    "cme": "Child missing education",
    "ehe": "Elective home education",
}

# Local CME / EHE register reasons (no national pupil-level code set exists).
MISSING_EDUCATION_REASONS: dict[str, str] = {
    "moved_abroad": "Believed to have moved out of the country",
    "moved_unknown": "Moved, whereabouts unknown",
    "not_returned": "Did not return after absence",
    "removed_from_roll": "Removed from roll, no school place",
    "awaiting_place": "Awaiting a school place",
    "mental_health": "Mental health (EHE)",
    "philosophical": "Philosophical or preferential (EHE)",
    "lifestyle": "Lifestyle (EHE)",
    "dissatisfaction": "Dissatisfaction with school (EHE)",
    "avoid_exclusion": "To avoid exclusion (EHE)",
    "other": "Other",
    "unknown": "Unknown or not recorded",
}

# Why a spell on a school roll ended. Destinations known to be outside the
# authority are used for censoring; "unknown" is the unexplained-exit signal.
LEAVING_REASON_CODES: dict[str, str] = {
    "transfer": "Moved to another school in the authority",
    "phase_transfer": "Normal transfer between phases (e.g. Y6 to Y7)",
    "other_la": "Moved to a school in another local authority",
    "abroad": "Moved abroad",
    "ehe": "Elective home education",
    "permanent_exclusion": "Permanently excluded",
    "completed": "Completed compulsory education",
    "unknown": "Destination unknown",
    "other": "Other",
}

SCHOOL_PHASES: dict[str, str] = {
    "primary": "Primary",
    "secondary": "Secondary",
    "special": "Special",
    "ap": "Alternative provision / pupil referral unit",
}
