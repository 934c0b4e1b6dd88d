"""What a run knows, gathered once: the numbers and words a card and a record are made of.

:func:`gather` reads the fitted :class:`~riskscreen.Screener`, its
:class:`~riskscreen.evaluation.Comparison`, the
:class:`~riskscreen.evaluation.FairnessAudit`, the
:class:`~riskscreen.explain.Explanation` and the Datasets, and returns plain,
JSON-ready data: every count through the small-number rule (``None`` when
hidden), every metric with its interval, never a pupil's key or row. The card's
sections, its figures and the transparency record are all written from it.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd

from riskscreen._outcome_words import outcome_label, outcome_words
from riskscreen._time import parse_horizon
from riskscreen.evaluation import METRICS
from riskscreen.model_cards._counts import number, shown_count, suppress_counts

#: The label's counts per as-of date; positives, negatives, censored and unknown add up
#: to the cohort.
LABEL_PARTS = ("n_positive", "n_negative", "n_censored", "n_unknown")
LABEL_COUNTS = ("n_cohort", *LABEL_PARTS)
#: What each built-in outcome counts (riskscreen.features' label rules, in words).
LABEL_WORDS = {
    "suspension": "a suspension starting in the window",
    "permanent_exclusion": "a permanent exclusion starting in the window",
    "missing_education": (
        "becoming a child missing education in the window: a CME spell starting, or (by "
        "default) leaving a school roll for an unknown destination without appearing on "
        "another roll in the authority within 28 days"
    ),
    "persistent_absence": (
        "missing at least 10% of possible sessions in attendance periods starting in the "
        "window (with fewer than 20 possible sessions the label is unknown)"
    ),
}
#: Canonical tables in words, for the plain-English summaries.
SOURCE_WORDS = {
    "pupils": "year group",
    "attendance": "attendance",
    "exclusions": "suspensions and exclusions",
    "enrolments": "moves between schools",
    "sen": "special educational needs",
    "fsm": "free school meals",
    "social_care": "social care involvement",
    "missing_education": "children missing education and elective home education",
    "interventions": "help received",
    "cohort": "year group and school",
}
#: Audit metrics a card shows by group.
GROUP_COLUMNS = ("selection_rate", "recall", "fpr", "precision", "calibration")


def first_line(obj) -> str:
    """The first sentence of an object's class docstring (how riskscreen describes it)."""
    doc = (type(obj).__doc__ or "").strip()
    text = " ".join(doc.split("\n\n")[0].split()).replace("``", "")
    return text or type(obj).__name__


def spec_hash(spec) -> str:
    """A short sha256 of the feature specification as described, and its output columns."""
    records = spec.describe().to_dict(orient="records")
    text = json.dumps([records, spec.output_names()], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def param_text(name: str, value) -> str:
    """A parameter in words (long containers summarised, objects by type)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return str(value)
    if hasattr(value, "text"):  # a Duration
        return str(value.text)
    if isinstance(value, dict):
        if name == "monotone_constraints":
            v = np.array(list(value.values()), dtype=float)
            return (
                f"{int((v > 0).sum())} features constrained to raise risk, "
                f"{int((v < 0).sum())} to lower it, {int((v == 0).sum())} free"
            )
        text = ", ".join(f"{k}: {v}" for k, v in value.items())
        return text if len(text) <= 200 else f"{len(value)} entries"
    if isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
        return text if len(text) <= 200 else f"{len(value)} entries"
    return type(value).__name__


def horizon_of(screener):
    """The screener's horizon: a Duration, or DatedHorizons (one per as-of date)."""
    return parse_horizon(screener.horizon, owner="ModelCard")


def horizon_words(screener) -> str:
    h = horizon_of(screener)
    return h.words() if hasattr(h, "words") else f"the horizon of each date ({h.text})"


def window_end(screener, date) -> str:
    """The last day of the label window of an as-of date."""
    return str((horizon_of(screener).after(date) - pd.Timedelta(days=1)).date())


def capacity_words(capacity, per_school: bool) -> str:
    if isinstance(capacity, float) and capacity < 1:
        text = f"{100 * capacity:g}% of the cohort"
    else:
        text = f"{int(capacity)} pupils"
    return text + (" in each school" if per_school else "")


def interval(row, metric: str) -> dict:
    """An estimate and its bounds; ``withheld`` when it is missing in a row whose counts
    were suppressed (shown 'c', not 'n/a', even when its interval is withheld too)."""
    value = number(row[metric])
    return {
        "value": value,
        "low": number(row[f"{metric}_low"]),
        "high": number(row[f"{metric}_high"]),
        "withheld": value is None and bool(row.get("suppressed", False)),
    }


# -- model ---------------------------------------------------------------------------------
def model_facts(screener) -> dict:
    info = screener.model_info_
    params = screener.get_params(deep=False)
    screener_params = {
        k: param_text(k, v) for k, v in params.items() if k not in ("spec", "cohort", "baselines")
    }
    screener_params["model"] = info["model_name"]
    extra = [c for c in screener.feature_names_ if c not in set(screener.spec_.output_names())]
    return {
        "name": info["model_name"],
        "class": info["model_class"],
        "description": first_line(screener.model_),
        "riskscreen_version": info["riskscreen_version"],
        "fit_timestamp": info["fit_timestamp"],
        "params_hash": info["params_hash"],
        "feature_spec_hash": spec_hash(screener.spec_),
        "data_fingerprint": info.get("data_fingerprint"),
        "outcome": info["outcome"],
        "horizon": info["horizon"],
        "horizon_words": horizon_words(screener),
        "calibration": info["calibration"],
        "capacity": params["capacity"],
        "capacity_words": capacity_words(params["capacity"], bool(params["per_school"])),
        "per_school": bool(params["per_school"]),
        "cohort": cohort_words(screener),
        "hyperparameters": {
            k: param_text(k, v) for k, v in screener.model_.get_params(deep=False).items()
        },
        "screener_parameters": screener_params,
        "early_stopping": {
            k: (shown_count(v) if k.startswith("n_") else v)
            for k, v in getattr(screener, "early_stopping_", {}).items()
        },
        "n_features": len(screener.feature_names_),
        "protected_inputs": extra,
        "train_dates": list(screener.train_dates_),
        "calibration_dates": list(screener.calibration_dates_),
        "skipped_dates": list(getattr(screener, "skipped_dates_", [])),
        "baselines": {name: first_line(b) for name, b in screener.baselines_.items()},
        "baselines_not_available": dict(getattr(screener, "baselines_skipped_", {})),
    }


# -- metrics and baselines ------------------------------------------------------------------
def metric_facts(comparison) -> dict:
    table = comparison.table
    sentences = comparison.sentences()
    by_scorer = dict(zip(table.index, sentences[: len(table)], strict=True))
    scorers = {str(name): {m: interval(row, m) for m in METRICS} for name, row in table.iterrows()}
    differences = []
    if comparison.differences is not None:
        for (scorer, metric), row in comparison.differences.iterrows():
            differences.append(
                {
                    "scorer": str(scorer),
                    "metric": str(metric),
                    "difference": number(row["difference"]),
                    "low": number(row["difference_low"]),
                    "high": number(row["difference_high"]),
                    "verdict": str(row["verdict"]),
                }
            )
    by_date = {}
    for date, c in comparison.by_date.items():
        by_date[str(date)] = {
            "k": shown_count(c.k),
            "n": shown_count(c.n),
            "n_positive": shown_count(c.n_positive),
            "estimates": {
                str(n): {m: interval(r, m) for m in METRICS} for n, r in c.table.iterrows()
            },
        }
    reference = str(comparison.reference or table.index[0])
    return {
        "reference": reference,
        "outcome": outcome_label(comparison.outcome),
        "outcome_words": outcome_words(comparison.outcome),
        "k": shown_count(comparison.k),
        "n": shown_count(comparison.n),
        "n_positive": shown_count(comparison.n_positive),
        "n_censored": shown_count(comparison.n_censored),
        "per_school": bool(comparison.per_school),
        "confidence": float(comparison.confidence),
        "n_bootstrap": int(comparison.n_bootstrap),
        "too_few_cases": bool(comparison.too_few_cases),
        "estimates": scorers[reference],
        "sentence": by_scorer.get(reference, ""),
        "scorers": scorers,
        "sentences": {str(k): v for k, v in by_scorer.items()},
        "sentence_lines": list(sentences),
        "not_available": {str(k): str(v) for k, v in comparison.unavailable.items()},
        "withheld": [str(s) for s in getattr(comparison, "withheld", ())],
        "differences": differences,
        "verdicts": list(comparison.verdicts()),
        "notes": list(comparison.notes),
        "by_date": by_date,
    }


def band_facts(comparison) -> list[dict]:
    """Observed outcome rate by band and decile, as the comparison protected it."""
    if comparison.bands is None:
        return []
    rows = []
    for (grouping, level), row in comparison.bands.iterrows():
        rows.append(
            {
                "grouping": str(grouping),
                "level": str(level),
                "n_pupils": shown_count(row.get("n_pupils")),
                "n_outcome": shown_count(row.get("n_outcome")),
                "n_censored": shown_count(row.get("n_censored")),
                "observed_rate": number(row.get("observed_rate")),
                "mean_predicted": number(row.get("mean_predicted")),
            }
        )
    return rows


# -- data --------------------------------------------------------------------------------------
def _report_rows(report: pd.DataFrame, role_of) -> pd.DataFrame:
    frame = report.copy()
    frame.index = [str(pd.Timestamp(d).date()) for d in frame.index]
    frame.index.name = "as_of_date"
    frame.insert(0, "role", [role_of(d) for d in frame.index])
    frame["labelled"] = True
    return frame


def data_facts(screener, comparison, train_data, test_data) -> dict:
    train_dates, cal_dates = set(screener.train_dates_), set(screener.calibration_dates_)

    def role(date: str) -> str:
        if date in train_dates:
            return "training"
        if date in cal_dates:
            return "calibration"
        return "not used (labels incomplete or too many censored)"

    parts = []
    if train_data is not None and train_data.label_report_unsuppressed is not None:
        parts.append(_report_rows(train_data.label_report_unsuppressed, role))
    else:  # what the screener itself recorded at fit
        dates = [*screener.train_dates_, *screener.calibration_dates_]
        parts.append(
            pd.DataFrame(
                {
                    "role": [role(d) for d in dates],
                    "n_censored": [screener.n_censored_.get(d, np.nan) for d in dates],
                    "labelled": False,
                },
                index=pd.Index(dates, name="as_of_date"),
            )
        )
    if test_data is not None and test_data.label_report_unsuppressed is not None:
        parts.append(_report_rows(test_data.label_report_unsuppressed, lambda d: "test"))
    report = pd.concat(parts)
    for col in (*LABEL_COUNTS, "positive_rate"):
        if col not in report:
            report[col] = np.nan
    protected = suppress_counts(
        report,
        LABEL_COUNTS,
        parts=LABEL_PARTS,
        rates={"positive_rate": ["n_positive", "n_negative"]},
    )
    as_of = [
        {
            "as_of_date": date,
            "role": row["role"],
            "labelled": bool(row["labelled"]),
            **{c: shown_count(row[c]) for c in LABEL_COUNTS},
            "positive_rate": number(row["positive_rate"]),
        }
        for date, row in protected.iterrows()
    ]
    fingerprint = (
        train_data.fingerprint
        if train_data is not None and train_data.fingerprint
        else screener.data_fingerprint_
    )
    sources = [
        {"table": str(name), "n_rows": shown_count(t["rows"]), "sha256": str(t["sha256"])[:16]}
        for name, t in fingerprint.get("tables", {}).items()
    ]
    end = None
    for d in (test_data, train_data):
        if d is not None and d.end_of_data is not None:
            end = str(pd.Timestamp(d.end_of_data).date())
            break
    test_dates = (
        [str(d.date()) for d in test_data.as_of_dates]
        if test_data is not None
        else [str(d) for d in comparison.by_date]
    )
    return {
        "sources": sources,
        "data_fingerprint": fingerprint.get("combined"),
        "end_of_data": end,
        "feature_sources": sorted(set(screener.spec_.describe()["source"].astype(str))),
        "cohort_definition": cohort_words(screener),
        "label_definition": label_definition(screener, comparison),
        "censoring": (
            "A pupil who leaves a school roll in the window for another authority or abroad "
            "without the outcome is censored: their label is unknown, counted, and never "
            "treated as a negative."
        ),
        "train_dates": list(screener.train_dates_),
        "label_windows_end": {
            "training": window_end(screener, max(screener.train_dates_)),
            "calibration": window_end(screener, max(screener.calibration_dates_)),
            "test": window_end(screener, max(test_dates)) if test_dates else None,
        },
        "calibration_dates": list(screener.calibration_dates_),
        "test_dates": test_dates,
        "n_train_rows": shown_count(screener.n_train_rows_),
        "n_calibration_rows": shown_count(screener.n_calibration_rows_),
        "as_of_dates": as_of,
        "n_censored_at_fit": {d: shown_count(n) for d, n in screener.n_censored_.items()},
    }


def cohort_words(screener) -> str:
    cohort = screener.cohort
    if cohort is None:
        from riskscreen.features import SchoolCohort

        cohort = SchoolCohort()
    return cohort.words()


def label_definition(screener, comparison) -> str:
    """What the label counts, in words, over the screener's horizon."""
    from riskscreen.features._outcome import Outcome, parse_outcome

    parts = parse_outcome(screener.outcome, "ModelCard")
    words = []
    for p in parts:
        if isinstance(p, Outcome):
            where = f" where {p.where.words()}" if p.where is not None else ""
            at = "dated" if p.at == "start" else "ending"
            words.append(f"a row of '{p.source}'{where} {at} in the window")
        else:
            words.append(LABEL_WORDS[p])
    horizon = horizon_words(screener)
    joined = "; or ".join(words)
    return (
        f"The label '{outcome_label(comparison.outcome)}' is true when the pupil has {joined}. "
        f"The window runs from the as-of date (the features stop the day before) for "
        f"{horizon}."
    )


# -- fairness audit ----------------------------------------------------------------------------
def audit_facts(audit) -> dict | None:
    if audit is None:
        return None
    from riskscreen.evaluation._confusion import JOIN

    groups = audit.by_group
    rows = []
    for (attribute, group), row in groups.iterrows():
        rows.append(
            {
                "attribute": str(attribute),
                "group": str(group),
                **{
                    c: shown_count(row[c])
                    for c in ("n", "n_outcome", "n_flagged", "n_flagged_outcome")
                },
                "reliable": bool(row["reliable"]),
                **{m: interval(row, m) for m in GROUP_COLUMNS if m in row},
            }
        )
    d = audit.disparities
    outside = []
    for (attribute, group, metric), row in d[d["outside_band"]].iterrows():
        outside.append(
            {
                "attribute": str(attribute),
                "group": str(group),
                "metric": str(metric),
                "reference": str(row["reference"]),
                "ratio": number(row["ratio"]),
                "low": number(row["ratio_low"]),
                "high": number(row["ratio_high"]),
                "p_adjusted": number(row["p_adjusted"]),
                "significant": bool(row["significant"]),
                "reliable": bool(row["reliable"]),
            }
        )
    attributes = [a for a in dict.fromkeys(groups.index.get_level_values(0)) if a != "all"]
    references = d["reference"].groupby(level="attribute").first()
    return {
        "n": shown_count(audit.n),
        "n_outcome": shown_count(audit.n_outcome),
        "n_unknown": shown_count(audit.n_unknown),
        "k": shown_count(audit.k),
        "per_school": bool(audit.per_school),
        "band": [float(b) for b in audit.band],
        "confidence": float(audit.confidence),
        "n_bootstrap": int(audit.n_bootstrap),
        "p_adjust": str(audit.p_adjust),
        "min_group_size": int(audit.min_group_size),
        "attributes": [a for a in attributes if JOIN not in a],
        "intersections": [a for a in attributes if JOIN in a],
        "references": {str(k): str(v) for k, v in references.items()},
        "n_groups": {a: int((groups.index.get_level_values(0) == a).sum()) for a in attributes},
        "by_group": rows,
        "n_disparities_tested": int(d["p_value"].notna().sum()),
        "outside_band": outside,
        "unreliable_groups": list(audit.unreliable_groups()),
        "headline": audit.headline(),
        "guidance": list(audit.guidance()),
        "notes": list(audit.notes),
    }


# -- features ------------------------------------------------------------------------------------
def feature_facts(screener, explanation) -> dict:
    spec = screener.spec_.describe()
    used = set(screener.feature_names_)
    spec = spec[spec["name"].isin({c.removesuffix("__missing") for c in used})]
    words = dict(zip(spec["name"], spec["description"], strict=True))
    features = [
        {
            "name": str(r["name"]),
            "description": str(r["description"]),
            "source": str(r["source"]),
            "window": str(r["window"]),
            "monotone": int(r["monotone"]),
        }
        for _, r in spec.iterrows()
    ]
    out = {"features": features, "importance": [], "n_importance_rows": None, "method": None}
    if explanation is None:
        return out
    groups = explanation.groups
    members = groups.groupby("group", sort=False)["feature"].unique()
    out["importance"] = [
        {
            "group": str(g),
            "mean_abs": number(row["mean_abs"]),
            "mean": number(row["mean"]),
            "features": [words.get(f, str(f)) for f in members.get(g, [])],
        }
        for g, row in explanation.importance.iterrows()
    ]
    out["n_importance_rows"] = shown_count(explanation.n_importance_rows)
    out["method"] = str(explanation.method)
    out["scale"] = str(explanation.scale)
    out["as_of_date"] = str(explanation.as_of_date.date())
    out["notes"] = list(explanation.notes)
    protected = groups.loc[groups["protected"].astype(bool), "group"]
    out["protected_groups"] = sorted(set(map(str, protected)))
    return out


def gather(screener, comparison, audit, explanation, train_data, test_data) -> dict:
    """Everything the card and the record say, as JSON-ready data (see the module)."""
    return {
        "model": model_facts(screener),
        "metrics": metric_facts(comparison),
        "bands": band_facts(comparison),
        "data": data_facts(screener, comparison, train_data, test_data),
        "audit": audit_facts(audit),
        "features": feature_facts(screener, explanation),
    }
