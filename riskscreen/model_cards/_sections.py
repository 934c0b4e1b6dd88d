"""The sections of a model card (Mitchell et al., 2019), written from a run's facts.

Each function takes the facts gathered once by :func:`~._facts.gather` and
returns a :class:`~._blocks.Section`; no number is computed here, only written.
"""

from __future__ import annotations

import pandas as pd

from riskscreen.evaluation import METRICS
from riskscreen.model_cards._blocks import (
    TO_COMPLETE,
    Bullets,
    Field,
    Fields,
    Paragraph,
    Section,
    Table,
    frame_table,
)
from riskscreen.model_cards._counts import SUPPRESSION_NOTE, WITHHELD, count_cell, count_words

METRIC_NAMES = {
    "precision_at_k": "precision@k",
    "recall_at_k": "recall@k",
    "average_precision": "average precision",
    "roc_auc": "ROC AUC",
    "ece": "expected calibration error (ECE)",
}
METRIC_MEANING = {
    "precision_at_k": "of the pupils on the list, the share who went on to the outcome",
    "recall_at_k": "of the pupils who went on to the outcome, the share on the list",
    "average_precision": "precision averaged over every list length (ranking quality)",
    "roc_auc": "chance that a pupil with the outcome ranks above one without",
    "ece": "average gap between predicted probability and observed rate (lower is better)",
}
#: Audit metrics shown in the card's table of rates by group.
AUDIT_COLUMNS = ("selection_rate", "recall", "fpr", "precision", "calibration")
#: The fields a card asks the authority for, with what to write (a TransparencyRecord
#: asks for more; see riskscreen.model_cards._atrs.AUTHORITY_FIELDS).
CARD_AUTHORITY_FIELDS = (
    "organisation",
    "owner",
    "contact_email",
    "dpia_reference",
    "equality_impact_assessment",
    "review_date",
)


def fmt(value, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def est_interval(v: dict, digits: int = 3) -> str:
    """'0.558 (0.419-0.680)'; a withheld estimate shows 'c' before its interval."""
    bounds = (
        ""
        if v["low"] is None or v["high"] is None
        else f" ({v['low']:.{digits}f}-{v['high']:.{digits}f})"
    )
    if v["value"] is None:
        return f"{WITHHELD}{bounds}" if bounds or v.get("withheld") else "n/a"
    return f"{v['value']:.{digits}f}{bounds}"


def authority_fields(authority: dict, keys, labels: dict) -> Fields:
    return Fields(
        tuple(Field(labels[k][0], authority.get(k), hint=labels[k][1], key=k) for k in keys)
    )


# -- sections -------------------------------------------------------------------------------------
def model_details(facts: dict, title: str, generated: str) -> Section:
    m = facts["model"]
    es = m["early_stopping"]
    rounds = (
        f"chosen by early stopping on {', '.join(es.get('validation_dates', []))}: "
        f"{es.get('best_iteration')} rounds"
    )
    fields = Fields(
        (
            Field("Tool", title),
            Field("Outcome screened", f"{facts['metrics']['outcome_words']} ({m['outcome']})"),
            Field("Horizon (label window)", m["horizon_words"]),
            Field("Capacity of the panel", m["capacity_words"]),
            Field("riskscreen version", m["riskscreen_version"]),
            Field("Fit date", m["fit_timestamp"]),
            Field("Model type", f"{m['name']} ({m['class']}): {m['description']}"),
            Field(
                "Calibration",
                f"{m['calibration']} on the calibration date(s) "
                f"{', '.join(m['calibration_dates'])}; the list ranks by the model's own score",
            ),
            Field("Boosting rounds", rounds)
            if es.get("used")
            else Field("Early stopping", es.get("reason", "not used")),
            Field("Parameters hash", m["params_hash"]),
            Field("Feature-spec hash", m["feature_spec_hash"]),
            Field("Data fingerprint", str(m["data_fingerprint"])),
            Field("Features", f"{m['n_features']} model columns"),
            Field("Card generated", generated),
        )
    )
    hyper = pd.DataFrame(
        {"parameter": list(m["hyperparameters"]), "value": list(m["hyperparameters"].values())}
    )
    screener = pd.DataFrame(
        {
            "parameter": list(m["screener_parameters"]),
            "value": list(m["screener_parameters"].values()),
        }
    )
    return Section(
        "model_details",
        "Model details",
        (
            fields,
            frame_table(hyper, title="Algorithm and hyperparameters", index=False),
            frame_table(screener, title="Screener parameters", index=False),
        ),
    )


def intended_use(facts: dict) -> Section:
    m, words = facts["model"], facts["metrics"]["outcome_words"]
    return Section(
        "intended_use",
        "Intended use",
        (
            Paragraph(
                "Primary use: assistive early help. At each screening date the tool ranks "
                f"the pupils {m['cohort']} by their estimated chance to {words} within "
                f"{m['horizon_words']}, and gives each team-around-the-school panel a list of "
                f"up to {m['capacity_words']} with the top reasons in words. The panel "
                "(people who know the children) decides who is offered help and records its "
                "decision and reasons. The list is a prompt for a conversation, not a decision."
            ),
            Paragraph(
                "Primary users: team-around-the-school panels (designated safeguarding leads, "
                "SENCOs, early help and attendance staff) and the authority's analysts who fit, "
                "evaluate and monitor the model."
            ),
            Bullets(
                (
                    "Exclusion, suspension or admission decisions: the score must never inform "
                    "whether a pupil is excluded, suspended, moved or admitted to a school or "
                    "provision.",
                    "Punitive or enforcement action of any kind (sanctions, attendance fines "
                    "or prosecution, referral to the police), or withdrawing a service.",
                    "Automated decisions without human review: nothing may follow from a score "
                    "or a flag alone; every decision is made and recorded by people.",
                    "Use on another authority's data, or on this authority's data after a "
                    "material change (recording practice, cohort, dates past the review date), "
                    "without re-validation: fit and evaluate it again on that data first.",
                    "Judging schools, staff or families, or assessing an individual child's "
                    "needs: the score estimates a recorded outcome, not need.",
                ),
                title="Out-of-scope uses",
            ),
        ),
    )


def factors(facts: dict) -> Section:
    a = facts["audit"]
    if a is None:
        return Section(
            "factors",
            "Factors",
            (
                Paragraph(
                    "No fairness audit was given: the list was not checked by group. Evaluate "
                    "with sensitive_features (Screener.evaluate does so by default when the "
                    "data hold protected characteristics) before any use."
                ),
            ),
        )
    rows = [
        (
            attr,
            str(a["n_groups"].get(attr, "")),
            a["references"].get(attr, ""),
            "intersection" if attr in a["intersections"] else "single attribute",
        )
        for attr in [*a["attributes"], *a["intersections"]]
    ]
    protected = facts["model"]["protected_inputs"]
    inputs = (
        "Protected characteristics used as model inputs by explicit choice: "
        + ", ".join(protected)
        + "."
        if protected
        else "No protected characteristic (sex, ethnicity) is a model input: they are audited, "
        "not used. SEN, FSM and social-care status may be inputs (they are needs and "
        "circumstances), and are audited too."
    )
    return Section(
        "factors",
        "Factors",
        (
            Paragraph(
                "The list at capacity was audited by each group below and by their "
                "intersections, against a reference group (the largest unless chosen): "
                f"rates with {100 * a['confidence']:.0f}% bootstrap intervals "
                f"({a['n_bootstrap']} resamples of pupils), disparities as ratios."
            ),
            Table(
                ("attribute", "groups", "reference group", "kind"),
                tuple(rows),
                title="Groups audited",
            ),
            Paragraph(inputs),
        ),
    )


def metrics(facts: dict, figures) -> Section:
    mt, m = facts["metrics"], facts["model"]
    ref = mt["reference"]
    header = Fields(
        (
            Field("Scorer", ref),
            Field(
                "Capacity k", f"{count_words(mt['k'])} pupils on the list ({m['capacity_words']})"
            ),
            Field("Pupils evaluated", count_words(mt["n"])),
            Field(f"Pupils who went on to {mt['outcome_words']}", count_words(mt["n_positive"])),
            Field("Pupils with an unknown outcome (censored)", count_words(mt["n_censored"])),
            Field(
                "Intervals",
                f"{100 * mt['confidence']:.0f}% bootstrap "
                f"({mt['n_bootstrap']} resamples of pupils)",
            ),
        )
    )
    table = Table(
        ("metric", "estimate (interval)", "what it says"),
        tuple(
            (METRIC_NAMES[k], est_interval(mt["estimates"][k]), METRIC_MEANING[k]) for k in METRICS
        ),
        title=f"{ref} at capacity",
    )
    blocks = [header, table, Paragraph(mt["sentence"])]
    if mt["too_few_cases"]:
        blocks.append(
            Paragraph(
                "Too few pupils had the outcome to tell scorers apart: read the intervals, "
                "not the estimates."
            )
        )
    if mt["by_date"]:
        rows = []
        for date, d in mt["by_date"].items():
            e = d["estimates"].get(ref)
            if e is not None:
                rows.append(
                    (
                        date,
                        count_cell(d["k"]),
                        est_interval(e["precision_at_k"]),
                        est_interval(e["recall_at_k"]),
                    )
                )
        blocks.append(
            Table(
                ("as-of date", "k", "precision@k", "recall@k"),
                tuple(rows),
                title="Per as-of date (each date its own list)",
            )
        )
    if mt["notes"]:
        blocks.append(Bullets(tuple(mt["notes"]), title="Notes"))
    blocks += figures
    return Section("metrics", "Metrics at capacity", tuple(blocks))


def baselines(facts: dict, figures) -> Section:
    mt, m = facts["metrics"], facts["model"]
    rows = [
        (name, *(est_interval(values[k]) for k in METRICS))
        for name, values in mt["scorers"].items()
    ]
    rows += [
        (name, f"not available: {why}", *[""] * (len(METRICS) - 1))
        for name, why in mt["not_available"].items()
    ]
    verdicts = [
        (
            d["scorer"],
            METRIC_NAMES[d["metric"]],
            est_interval({"value": d["difference"], "low": d["low"], "high": d["high"]}),
            d["verdict"],
        )
        for d in mt["differences"]
    ]
    described = [f"{name}: {why}" for name, why in m["baselines"].items()]
    described += [f"{name}: not available ({why})" for name, why in mt["not_available"].items()]
    blocks = [
        Paragraph(
            f"Every metric of {mt['reference']} is compared with simple rule baselines on the "
            "same pupils and the same bootstrap replicates. 'Better' or 'worse' is the verdict "
            "of the paired difference's interval, never of overlapping intervals."
        ),
        Bullets(tuple(described), title="Rule baselines"),
        Table(
            ("scorer", *(METRIC_NAMES[k] for k in METRICS)),
            tuple(rows),
            title="Every scorer at capacity (estimate and interval)",
        ),
        Table(
            ("baseline", "metric", "difference (interval)", "verdict"),
            tuple(verdicts),
            title=f"Paired differences: {mt['reference']} minus each baseline",
        ),
        Bullets(tuple([*mt["sentence_lines"], *mt["verdicts"]]), title="In words"),
    ]
    return Section("baselines", "Comparison with rule baselines", (*blocks, *figures))


def _label_row(r: dict) -> tuple[str, ...]:
    """A row of the cohort-and-labels table ('n/a' where no label report was given)."""

    def cell(col):
        return count_cell(r[col]) if r["labelled"] or col == "n_censored" else "n/a"

    counts = ("n_cohort", "n_positive", "n_negative", "n_censored", "n_unknown")
    if not r["labelled"]:
        rate = "n/a"
    else:
        rate = WITHHELD if r["positive_rate"] is None else fmt(r["positive_rate"])
    return (r["as_of_date"], r["role"], *(cell(c) for c in counts), rate)


def data(facts: dict) -> Section:
    d, m = facts["data"], facts["model"]
    sources = Table(
        ("table", "rows", "content hash (sha256, first 16)"),
        tuple((s["table"], count_cell(s["n_rows"]), s["sha256"]) for s in d["sources"]),
        title="Sources (row counts and content hashes only; never identifiers or rows)",
    )
    dates = Table(
        (
            "as-of date",
            "role",
            "cohort",
            "with the outcome",
            "without",
            "censored",
            "unknown",
            "outcome rate",
        ),
        tuple(_label_row(r) for r in d["as_of_dates"]),
        title="Cohort and labels by as-of date",
        note=SUPPRESSION_NOTE
        + ("" if all(r["labelled"] for r in d["as_of_dates"]) else " n/a: pass train_data="),
    )
    windows = d["label_windows_end"]
    fields = Fields(
        (
            Field("Who is screened (cohort)", d["cohort_definition"]),
            Field("Label definition", d["label_definition"]),
            Field("Censoring", d["censoring"]),
            Field(
                "Training as-of dates",
                f"{', '.join(d['train_dates'])} (label windows end by {windows['training']}); "
                f"{count_words(d['n_train_rows'])} rows with a known outcome",
            ),
            Field(
                "Calibration and validation",
                f"{', '.join(d['calibration_dates'])} "
                f"(label window ends {windows['calibration']}); "
                f"{count_words(d['n_calibration_rows'])} rows with a known outcome",
            ),
            Field(
                "Evaluation (test) as-of dates",
                f"{', '.join(d['test_dates'])} (label window ends {windows['test']})"
                if d["test_dates"]
                else "not given (pass test_data=)",
            ),
            Field("End of data", d["end_of_data"] or "not given (pass train_data= or test_data=)"),
            Field("Data fingerprint", str(d["data_fingerprint"])),
            Field(
                "Feature sources",
                ", ".join(d["feature_sources"]),
            ),
        )
    )
    skipped = m["skipped_dates"]
    blocks = [
        Paragraph(
            "Training, calibration and evaluation use separate as-of dates in time order: the "
            "model is trained on earlier dates, calibrated on a later one whose label window "
            "starts after the training windows close, and evaluated on a later one still."
        ),
        fields,
        dates,
        sources,
    ]
    if skipped:
        blocks.append(
            Paragraph(
                f"As-of dates skipped at fit (label windows past the end of data): "
                f"{', '.join(skipped)}."
            )
        )
    return Section("data", "Training and evaluation data", tuple(blocks))


def quantitative(facts: dict, figures, audit) -> Section:
    mt, bands, a = facts["metrics"], facts["bands"], facts["audit"]
    blocks = [
        Paragraph(
            f"Calibration: the expected calibration error of {mt['reference']} is "
            f"{est_interval(mt['estimates']['ece'])}."
        )
    ]
    if bands:
        blocks.append(
            Table(
                (
                    "grouping",
                    "level",
                    "pupils",
                    "with the outcome",
                    "observed rate",
                    "mean predicted",
                ),
                tuple(
                    (
                        r["grouping"],
                        r["level"],
                        count_cell(r["n_pupils"]),
                        count_cell(r["n_outcome"]),
                        fmt(r["observed_rate"]) if r["observed_rate"] is not None else WITHHELD,
                        fmt(r["mean_predicted"]),
                    )
                    for r in bands
                ),
                title="Observed outcome rate by risk band and decile",
                note=SUPPRESSION_NOTE,
            )
        )
    if a is None:
        blocks.append(Paragraph("No fairness audit was given (see Factors)."))
        return Section("quantitative_analyses", "Quantitative analyses", (*blocks, *figures))
    from riskscreen.evaluation._audit_render import group_display, label
    from riskscreen.evaluation._audit_stats import METRIC_WORDS

    groups = group_display(audit)
    keep = ["n", "n_outcome", "n_flagged", *(METRIC_WORDS[c] for c in AUDIT_COLUMNS), "reliable"]
    groups = groups[[c for c in keep if c in groups.columns]]
    outside = Table(
        ("group", "metric", "reference", "ratio (interval)", "adjusted p", "reliable"),
        tuple(
            (
                label(o["attribute"], o["group"]),
                METRIC_WORDS.get(o["metric"], o["metric"]),
                o["reference"],
                est_interval({"value": o["ratio"], "low": o["low"], "high": o["high"]}, 2),
                "n/a" if o["p_adjusted"] is None else f"{o['p_adjusted']:.3g}",
                "yes" if o["reliable"] else "no",
            )
            for o in a["outside_band"]
        ),
        title=(
            f"Disparities whose whole interval lies outside {a['band'][0]:.2f}-{a['band'][1]:.2f} "
            f"({len(a['outside_band'])} of {a['n_disparities_tested']} tested)"
        ),
    )
    blocks += [
        Paragraph(
            f"Fairness audit of the same list: {count_words(a['n'])} pupils, "
            f"{count_words(a['n_outcome'])} with the outcome, {count_words(a['k'])} flagged; "
            f"p-values adjusted by {a['p_adjust']}; groups under {a['min_group_size']} pupils "
            "or with fewer than 5 with the outcome are marked unreliable."
        ),
        Bullets(tuple(a["guidance"]), title="What the audit says"),
        frame_table(
            groups,
            title="Rates by group and intersection (estimate and interval)",
            note=SUPPRESSION_NOTE,
        ),
        outside,
    ]
    return Section("quantitative_analyses", "Quantitative analyses", (*blocks, *figures))


def features(facts: dict, figures) -> Section:
    f = facts["features"]
    blocks = []
    if f["importance"]:
        blocks.append(
            Paragraph(
                f"Global importance from SHAP values ({f['method']}) over "
                f"{count_words(f['n_importance_rows'])} pupils screened on {f['as_of_date']}: the "
                "mean absolute contribution of each reason group to the score (log-odds). "
                "It says what moves the score, not what causes the outcome."
            )
        )
        blocks.append(
            Table(
                ("rank", "reason group", "mean |SHAP|", "mean SHAP", "features in words"),
                tuple(
                    (
                        str(i),
                        r["group"],
                        fmt(r["mean_abs"], 4),
                        fmt(r["mean"], 4),
                        "; ".join(r["features"]),
                    )
                    for i, r in enumerate(f["importance"], start=1)
                ),
                title="What moves the score, by reason group",
            )
        )
    else:
        blocks.append(
            Paragraph(
                "No explanation was given: global importance is not shown (pass explanation=)."
            )
        )
    blocks.append(
        Table(
            ("feature", "description", "source", "window", "direction"),
            tuple(
                (
                    r["name"],
                    r["description"],
                    r["source"],
                    r["window"],
                    {1: "raises risk", -1: "lowers risk"}.get(r["monotone"], "either way"),
                )
                for r in f["features"]
            ),
            title="Every feature, in words (direction: the monotone constraint)",
        )
    )
    return Section("features", "Features and what moves the score", (*blocks, *figures))


def ethics(facts: dict, caveats=()) -> Section:
    a, mt = facts["audit"], facts["metrics"]
    items = [
        "Recorded suspensions reflect school decisions, not only behaviour: schools differ in "
        "how readily they suspend (a few exclude often, most rarely), so the label carries "
        "each school's practice, and groups suspended more often for the same behaviour are "
        "flagged more often. Read the fairness audit with that in mind.",
        "Children missing education are under-recorded: registers miss children never "
        "referred, so a model of recorded CME learns who gets recorded as well as who goes "
        "missing.",
        "Contact with services is visible risk: social care involvement, free school meals and "
        "SEN support record contact with services, so families more in contact are more "
        "visible to the model.",
        "Help changes outcomes: pupils who received help may have had their risk lowered, so "
        "the outcomes the model learned from already reflect earlier decisions.",
    ]
    if a is not None:
        items.append(
            f"Small groups: {len(a['unreliable_groups'])} groups are too small to read on their "
            f"own (under {a['min_group_size']} pupils or fewer than 5 with the outcome); their "
            "intervals are wide and their rates must not be ranked or acted on."
        )
        items.append(
            f"{len(a['outside_band'])} of {a['n_disparities_tested']} disparities lie wholly "
            f"outside the band {a['band'][0]:.2f}-{a['band'][1]:.2f} (see Quantitative analyses)."
        )
    else:
        items.append("Small groups: no fairness audit was given, so no group was checked.")
    if mt["too_few_cases"]:
        items.append("Too few pupils had the outcome to tell the model from the rule baselines.")
    items += list(caveats)
    return Section(
        "ethical_considerations", "Ethical considerations and caveats", (Bullets(tuple(items)),)
    )


def oversight(facts: dict, authority: dict, labels: dict) -> Section:
    return Section(
        "human_oversight",
        "Human oversight and override",
        (
            Bullets(
                (
                    "The list is advisory. The panel sees each flagged pupil's rank, risk band, "
                    "top reasons in words and what changed since its last meeting, and decides.",
                    "Override both ways: the panel may decline to act on a flagged pupil and may "
                    "add a pupil the list missed; neither needs the model's agreement.",
                    "Every decision and its reason is recorded in the panel pack's decision "
                    "columns and read back (riskscreen.panel.read_decisions), so overrides and "
                    "their outcomes can be counted and the model questioned.",
                    "Reasons describe what moved the score, not why a child is struggling; they "
                    "are a starting point for people who know the child.",
                    "The model is re-fitted and re-evaluated (with the fairness audit) on later "
                    "data before each review date; it is not used past that date unrevalidated.",
                ),
            ),
            authority_fields(authority, ("training", "appeals"), labels),
        ),
    )


def to_complete(authority: dict, labels: dict) -> Section:
    return Section(
        "authority",
        "To be completed by the authority",
        (
            Paragraph(
                "These fields cannot be known from the run. Fields not yet filled in are "
                f"marked '{TO_COMPLETE}'; the card is not ready to publish "
                "until none is left."
            ),
            authority_fields(authority, CARD_AUTHORITY_FIELDS, labels),
        ),
    )
