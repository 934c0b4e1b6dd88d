"""The authority's algorithmic transparency record: :class:`TransparencyRecord`.

UK public bodies publish a record of each algorithmic tool under the
Algorithmic Transparency Recording Standard (ATRS). Tier 1 tells the public in
plain English what the tool is and why it is used; tier 2 gives the detail in
six parts: owner and responsibility, description and rationale,
decision-making process and human oversight, technical specification, data,
and risks and mitigations. The record is written from a :class:`ModelCard`'s
data (the same run, the same numbers); what the run cannot know is marked "To
complete by the authority".
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from riskscreen._files import write_text
from riskscreen.evaluation import METRICS
from riskscreen.model_cards._authority import AUTHORITY_FIELDS
from riskscreen.model_cards._blocks import (
    Bullets,
    Field,
    Fields,
    Paragraph,
    Section,
    Table,
    section_dict,
)
from riskscreen.model_cards._counts import count_cell, count_words
from riskscreen.model_cards._facts import SOURCE_WORDS
from riskscreen.model_cards._sections import METRIC_NAMES, est_interval

STANDARD = "UK Algorithmic Transparency Recording Standard (ATRS)"
SCHEMA = "riskscreen.atrs_record/1"
TIERS = ("Tier 1: overview", "Tier 2: detail")


def _field(authority, key: str, *, label: str | None = None, value: str | None = None) -> Field:
    """An authority field (filled from ``authority``, else ``value``, else to complete)."""
    name, hint = AUTHORITY_FIELDS[key]
    given = authority.get(key)
    return Field(label or name, given if given is not None else value, hint=hint, key=key)


#: Audit attributes in words, for the plain-English summary.
ATTRIBUTE_WORDS = {
    "sex": "sex",
    "ethnicity": "ethnicity",
    "ethnicity_major": "ethnicity",
    "sen_status": "special educational needs",
    "fsm": "free school meals",
    "social_care_status": "social care status",
}
#: Feature sources that are also audit groups (needs and circumstances used as inputs).
AUDITED_INPUTS = {"sen": "sen_status", "fsm": "fsm", "social_care": "social_care_status"}


def _join(words) -> str:
    """'a', 'a and b', 'a, b and c'."""
    words = list(dict.fromkeys(words))
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def _sources(data: dict) -> str:
    return _join(SOURCE_WORDS.get(s, s.replace("_", " ")) for s in data["data"]["feature_sources"])


def _audited(data: dict) -> str:
    return _join(ATTRIBUTE_WORDS.get(a, a.replace("_", " ")) for a in data["audit"]["attributes"])


def _summary(data: dict, authority: dict) -> str:
    """Tier 1's plain-English description, from the run's own figures."""
    m, mt, a = data["model"], data["metrics"], data["audit"]
    who = authority.get("organisation") or "The local authority"
    verdicts = [d for d in mt["differences"] if d["metric"] == "precision_at_k"]
    better = [d["scorer"] for d in verdicts if d["verdict"] == "better"]
    same = [d["scorer"] for d in verdicts if d["verdict"] != "better"]
    compare = ""
    if verdicts and not mt["too_few_cases"]:
        compare = (
            f" Compared with simple rules on the same pupils, its list was more accurate than "
            f"{_join(better) or 'none of them'}"
            + (f" and not clearly better than {_join(same)}" if same else "")
            + "."
        )
    fairness = (
        f" Its list was checked for fairness by {_audited(data)}: {len(a['outside_band'])} of "
        f"{a['n_disparities_tested']} differences between groups were larger than the "
        "tolerance and are reported, with the groups too small to judge."
        if a is not None
        else " Its list has not yet been checked for fairness between groups."
    )
    sentence = mt["sentence"].split(": ", 1)[-1]
    return (
        f"{who} uses this tool to help school panels decide which children to offer early "
        f"help. Before each panel it looks at records the authority and schools already hold "
        f"({_sources(data)}) for pupils {m['cohort']}, and ranks them by how likely they are "
        f"to {mt['outcome_words']} within {m['horizon_words']}. Each school's panel sees the "
        f"top of the list (up to {m['capacity_words']}) with the main reasons in plain words. "
        "The panel, not the tool, decides who is offered help; the list is never used for "
        "exclusions, sanctions or any automatic decision. Tested on later records than it "
        f"learned from: {sentence}{compare}{fairness}"
    )


def _performance(data: dict) -> str:
    mt = data["metrics"]
    parts = [f"{METRIC_NAMES[k]} {est_interval(mt['estimates'][k])}" for k in METRICS]
    return (
        f"At capacity k = {count_words(mt['k'])} of {count_words(mt['n'])} pupils on the test "
        f"date(s), with {100 * mt['confidence']:.0f}% bootstrap intervals: "
        + "; ".join(parts)
        + f". {mt['sentence']}"
    )


def _risks(data: dict) -> Table:
    a = data["audit"]
    rows = [
        (
            "Recorded outcomes reflect decisions",
            "Suspensions are recorded by schools whose practice differs; the model learns that "
            "practice along with behaviour.",
            "Fairness audit of every list; panels told the score reflects recording; per-school "
            "lists available; outcomes reviewed against decisions.",
        ),
        (
            "Under-recording",
            "Children missing education and other outcomes are under-recorded, so some children "
            "at risk look safe.",
            "Panels may add children the list missed; the list supplements, never replaces, "
            "referrals.",
        ),
        (
            "Unequal errors between groups",
            f"{len(a['outside_band'])} of {a['n_disparities_tested']} disparities lie outside the "
            f"tolerance band {a['band'][0]:.2f}-{a['band'][1]:.2f}."
            if a is not None
            else "Not measured: no fairness audit was given.",
            "Audit by group and intersection at each evaluation; recall compared first; "
            "mitigation that keeps the panel's capacity (CapacityThresholds) available.",
        ),
        (
            "Small groups",
            "Rates for small groups are unreliable and counts could identify children.",
            "Groups under the minimum size are marked unreliable; counts under 5 are not shown.",
        ),
        (
            "Automation bias and misuse",
            "Staff may defer to the score, or use it beyond its purpose (exclusions, sanctions).",
            "Out-of-scope uses stated; decisions and reasons recorded by the panel; overrides "
            "both ways; training before use.",
        ),
        (
            "Drift",
            "Recording practice, policy and the population change over time.",
            "Temporal validation on later dates; re-fit, re-evaluation and re-audit before each "
            "review date.",
        ),
        (
            "Privacy",
            "The data describe children and families, including special category data.",
            "Pseudonymous keys inside the tool; no names, UPNs, dates of birth or postcodes in "
            "outputs, logs, cards or plots; small counts suppressed; DPIA.",
        ),
    ]
    return Table(("risk", "description", "mitigation"), tuple(rows), title="Risks")


def record_sections(data: dict) -> tuple[tuple[str, tuple[Section, ...]], ...]:
    """(tier, sections) of the record, from a card's data."""
    au, m, mt, d, f = (
        data["authority"],
        data["model"],
        data["metrics"],
        data["data"],
        data["features"],
    )
    a = data["audit"]
    tier1 = Section(
        "overview",
        "Overview",
        (
            Fields(
                (
                    Field("Name", data["title"], key="name"),
                    Field("Description", _summary(data, au), key="description"),
                    _field(au, "website"),
                    _field(au, "contact_email"),
                )
            ),
        ),
    )
    owner = Section(
        "owner_and_responsibility",
        "Owner and responsibility",
        (
            Fields(
                (
                    _field(au, "organisation"),
                    _field(au, "team"),
                    _field(au, "owner", label="Senior responsible owner"),
                    Field(
                        "Software",
                        f"riskscreen {m['riskscreen_version']}, an open-source Python library "
                        "(BSD-3-Clause) run by the authority on its own systems",
                        key="software",
                    ),
                    _field(au, "supplier"),
                    _field(au, "data_access_terms"),
                )
            ),
        ),
    )
    baselines = " ".join(mt["sentences"][n] for n in mt["scorers"] if n != mt["reference"])
    rationale = Section(
        "description_and_rationale",
        "Description and rationale",
        (
            Fields(
                (
                    Field(
                        "Detailed description",
                        f"A {m['name']} model ({m['description'].rstrip('.')}) scores every "
                        "pupil "
                        f"{m['cohort']} on each screening date from {m['n_features']} features "
                        f"built from {_sources(data)} as they stood the day before. The score is "
                        f"calibrated ({m['calibration']}) to a probability to "
                        f"{mt['outcome_words']} within {m['horizon_words']}; pupils are ranked "
                        "by it, put in risk bands, and the top of each list is given to the "
                        "panel with the main reasons in words (SHAP values).",
                        key="detailed_description",
                    ),
                    Field(
                        "Scope",
                        f"Pupils {m['cohort']}; outcome: {mt['outcome_words']} within "
                        f"{m['horizon_words']}. Out of scope: exclusion, suspension or "
                        "admission decisions; punitive or enforcement action; automated "
                        "decisions without human review; use on another authority's data "
                        "without re-validation.",
                        key="scope",
                    ),
                    Field(
                        "Benefit",
                        "Earlier, more consistent identification of children who may benefit "
                        f"from early help, across every school. {' '.join(mt['verdicts'])}",
                        key="benefit",
                    ),
                    _field(au, "previous_process"),
                    Field(
                        "Alternatives considered",
                        f"Simple rules an authority might use instead, evaluated on the same "
                        f"pupils: {baselines}"
                        + (
                            " Not available on these data: "
                            + "; ".join(f"{k} ({v})" for k, v in mt["not_available"].items())
                            + "."
                            if mt["not_available"]
                            else ""
                        ),
                        key="alternatives_considered",
                    ),
                )
            ),
        ),
    )
    decisions = Section(
        "decision_making_process",
        "Decision-making process and human oversight",
        (
            Fields(
                (
                    Field(
                        "Process integration",
                        "Before each team-around-the-school panel, the authority screens the "
                        "cohort and sends each school its ranked list (panel pack). The panel "
                        "discusses the children and decides who is offered early help.",
                        key="process_integration",
                    ),
                    Field(
                        "Information provided",
                        "For each flagged pupil: rank, risk band, the top reasons in words, "
                        "current involvement and what changed since the last panel; columns to "
                        "record the panel's decision and reason.",
                        key="provided_information",
                    ),
                    Field(
                        "Scale of use",
                        f"On the evaluation date(s) {count_words(mt['k'])} of "
                        f"{count_words(mt['n'])} pupils were on the list "
                        f"({m['capacity_words']}).",
                        key="scale",
                    ),
                    _field(au, "frequency"),
                    Field(
                        "Human decisions and review",
                        "The panel makes every decision; it may decline to act on a flagged "
                        "pupil and add pupils the list missed. Decisions are read back and "
                        "compared with the list and with outcomes at each review.",
                        key="human_decisions_and_review",
                    ),
                    _field(au, "training"),
                    _field(au, "appeals"),
                )
            ),
        ),
    )
    datasets = (
        f"Training: as-of dates {', '.join(d['train_dates'])} "
        f"({count_words(d['n_train_rows'])} rows with a known outcome); calibration and "
        f"validation: {', '.join(d['calibration_dates'])} "
        f"({count_words(d['n_calibration_rows'])} rows); evaluation: "
        f"{', '.join(d['test_dates']) or 'not given'} ({count_words(mt['n'])} pupils)."
    )
    technical = Section(
        "technical_specification",
        "Technical specification",
        (
            Fields(
                (
                    Field(
                        "System architecture",
                        "riskscreen links education and social-care histories under "
                        "pseudonymous keys, builds features as they stood on each as-of date "
                        "(set-based SQL on DuckDB, in process), trains and calibrates the model "
                        "on earlier dates, evaluates it with the rule baselines and a fairness "
                        "audit on later dates, explains each flag (SHAP) and writes panel packs; "
                        "runs are logged to MLflow. It runs offline on the authority's systems.",
                        key="system_architecture",
                    ),
                    _field(au, "phase"),
                    Field(
                        "Maintenance",
                        "Re-fit and re-evaluate (with the fairness audit) on the latest complete "
                        "data before each review date; this record is regenerated from each run.",
                        key="maintenance",
                    ),
                    _field(au, "review_date"),
                    Field("Model name", f"{m['name']} ({m['class']})", key="model_name"),
                    Field(
                        "Model version",
                        f"riskscreen {m['riskscreen_version']}; fitted {m['fit_timestamp']}; "
                        f"parameters hash {m['params_hash']}; feature-spec hash "
                        f"{m['feature_spec_hash']}; data fingerprint {m['data_fingerprint']}",
                        key="model_version",
                    ),
                    Field(
                        "Model task",
                        f"Rank pupils by the chance to {mt['outcome_words']} within "
                        f"{m['horizon_words']} (binary classification read as a ranking at the "
                        "panel's capacity).",
                        key="model_task",
                    ),
                    Field(
                        "Model input",
                        f"{m['n_features']} features from {_sources(data)}; "
                        + (
                            "protected characteristics used by explicit choice: "
                            + ", ".join(m["protected_inputs"])
                            if m["protected_inputs"]
                            else "sex and ethnicity are not inputs (audited only)"
                        )
                        + ".",
                        key="model_input",
                    ),
                    Field(
                        "Model output",
                        "A score (log-odds) that ranks the list, a calibrated probability, a "
                        "risk band (low, medium, high), a flag at capacity and the top reasons "
                        "in words.",
                        key="model_output",
                    ),
                    Field(
                        "Model architecture",
                        f"{m['description']} Hyperparameters: "
                        + ", ".join(f"{k}={v}" for k, v in m["hyperparameters"].items())
                        + ".",
                        key="model_architecture",
                    ),
                    Field("Model performance", _performance(data), key="model_performance"),
                    Field("Datasets", datasets, key="datasets"),
                    Field(
                        "Dataset purposes",
                        "Training: learn the model and the rule baselines. Calibration: map "
                        "scores to probabilities and validate. Evaluation: measure the list "
                        "on later dates against the baselines and audit it by group.",
                        key="dataset_purposes",
                    ),
                )
            ),
        ),
    )
    sensitive = (
        ", ".join([*a["attributes"], *a["intersections"]]) if a is not None else "not audited"
    )
    both = [
        SOURCE_WORDS[src]
        for src, attr in AUDITED_INPUTS.items()
        if src in d["feature_sources"] and a is not None and attr in a["attributes"]
    ]
    sizes = "; ".join(f"{s['table']} {count_words(s['n_rows'])} rows" for s in d["sources"])
    censored = "; ".join(
        f"{r['as_of_date']} ({r['role']}): {count_cell(r['n_censored'])} censored"
        for r in d["as_of_dates"]
        if r["n_censored"] != 0
    )
    data_section = Section(
        "data",
        "Data",
        (
            Fields(
                (
                    Field(
                        "Source data",
                        ", ".join(s["table"] for s in d["sources"]),
                        key="source_data_name",
                    ),
                    Field(
                        "Data modality",
                        "Tabular administrative records (events and spells with dates).",
                        key="data_modality",
                    ),
                    Field(
                        "Data description",
                        f"{d['label_definition']} {d['censoring']}",
                        key="data_description",
                    ),
                    Field(
                        "Data quantities",
                        f"{sizes}. Cohort and labels by as-of date are in the model card.",
                        key="data_quantities",
                    ),
                    Field(
                        "Sensitive attributes",
                        f"Audited (never inputs unless stated): {sensitive}."
                        + (
                            f" Also model inputs: {_join(both)} (needs and circumstances)."
                            if both
                            else ""
                        ),
                        key="sensitive_attributes",
                    ),
                    Field(
                        "Data completeness and representativeness",
                        "Pupils who leave for another authority or abroad have an unknown "
                        f"outcome ({censored or 'none'}). Suspensions reflect school practice "
                        "and children missing education are under-recorded.",
                        key="data_completeness",
                    ),
                    _field(au, "data_collection"),
                    Field(
                        "Data cleaning",
                        "Every table is validated against riskscreen's schemas; errors name the "
                        "table, column and rows; no row is dropped silently. Identifiers are "
                        "pseudonymised at ingest and never leave it.",
                        key="data_cleaning",
                    ),
                    _field(au, "data_sharing"),
                    _field(au, "data_access"),
                )
            ),
        ),
    )
    risks = Section(
        "risks_and_mitigations",
        "Risks, mitigations and impact assessments",
        (
            Fields(
                (
                    _field(au, "dpia_reference"),
                    _field(au, "equality_impact_assessment"),
                    _field(au, "lawful_basis"),
                ),
                title="Impact assessments",
            ),
            _risks(data),
            Bullets(tuple(data.get("caveats", [])), title="Caveats of this run")
            if data.get("caveats")
            else Paragraph(
                f"Features in words and their importance: see the model card "
                f"({len(f['features'])} features)."
            ),
        ),
    )
    return (
        (TIERS[0], (tier1,)),
        (TIERS[1], (owner, rationale, decisions, technical, data_section, risks)),
    )


@dataclass(frozen=True, repr=False)
class TransparencyRecord:
    """An ATRS record (tier 1 and tier 2) of one run, from its :class:`ModelCard`.

    Attributes
    ----------
    title : str
    tiers : tuple of (str, tuple of Section)
        Tier 1 (overview) and tier 2 (owner and responsibility, description and
        rationale, decision-making process and human oversight, technical
        specification, data, risks and mitigations).
    generated, version : str
    """

    title: str
    tiers: tuple
    generated: str
    version: str

    @classmethod
    def from_card(cls, card) -> TransparencyRecord:
        """The record of the run a :class:`ModelCard` describes (its authority fields too)."""
        data = {**card.data, "title": card.title}
        return cls(
            title=card.title,
            tiers=record_sections(data),
            generated=card.generated,
            version=card.version,
        )

    @property
    def sections(self) -> list[Section]:
        return [s for _, sections in self.tiers for s in sections]

    @property
    def to_complete(self) -> list[str]:
        """Labels of the fields the authority has still to complete."""
        return [f.label for s in self.sections for f in s.fields_to_complete]

    def fields(self) -> dict[str, str | None]:
        """Every keyed field's value by key (None: to complete)."""
        from riskscreen.model_cards._blocks import Fields as _Fields

        return {
            f.key: f.value
            for s in self.sections
            for b in s.blocks
            if isinstance(b, _Fields)
            for f in b.fields
            if f.key
        }

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "standard": STANDARD,
            "title": self.title,
            "generated": self.generated,
            "riskscreen_version": self.version,
            "tiers": [
                {"tier": tier, "sections": [section_dict(s) for s in sections]}
                for tier, sections in self.tiers
            ],
            "fields": self.fields(),
            "to_complete": self.to_complete,
        }

    def to_json(self, indent: int = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_markdown(self) -> str:
        from riskscreen.model_cards._render import render

        return render("atrs_record.md.j2", record=self)

    def __repr__(self) -> str:
        return (
            f"<TransparencyRecord {self.title!r}: {len(self.sections)} sections, "
            f"{len(self.to_complete)} fields to complete>"
        )

    def write_markdown(self, path) -> Path:
        return write_text(path, self.to_markdown())

    def write_json(self, path) -> Path:
        return write_text(path, self.to_json())
