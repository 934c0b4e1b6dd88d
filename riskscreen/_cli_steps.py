"""The steps of the command line, each a few calls of the public API and a log line.

``fit`` fits and tracks a screener; ``screen`` scores a date and keeps the list
in the :class:`~riskscreen.interventions.SnapshotStore` (the one on-disk form
of a list: scores, ranks, bands, flags and the features scored, each file
checked by its sha256 when read back); ``explain_list``, ``write_panel``,
``compare_with`` and ``evaluate_at`` do the rest. :func:`monthly_run` chains
them into the monthly panel cycle. Log lines carry counts (small ones
suppressed), dates, paths and model ids; never a pupil's key.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd

from riskscreen._cli_common import (
    MODEL_RECORD,
    as_screening,
    logger,
    packs_folder,
    previous_list,
    previous_packs,
    snapshot_store,
)
from riskscreen._files import atomic_path, write_text


def _bands(summary: pd.DataFrame) -> str:
    def n(value) -> str:  # suppressed: under 5, or what would give one away
        return "c (small number)" if pd.isna(value) else str(int(value))

    return ", ".join(f"{band} {n(row['n_pupils'])}" for band, row in summary.iloc[::-1].iterrows())


# -- features --------------------------------------------------------------------------------
def features(histories: Path, dates, out: Path, *, cohort, outcome, horizon) -> Path:
    """The feature rows (and with ``outcome`` the label) as one Parquet file."""
    if outcome is None:
        import pyarrow.parquet as pq

        from riskscreen.features import write_features

        write_features(histories, dates, out, cohort=cohort)  # out of core
        n = pq.read_metadata(out).num_rows
        logger.info("Wrote the features of %d rows at %s to %s.", n, ", ".join(dates), out)
        return out
    from riskscreen.features import build_dataset

    data = build_dataset(histories, dates, cohort=cohort, outcome=outcome, horizon=horizon)
    table = data.X.assign(label=data.y.reindex(data.X.index)).reset_index()
    with atomic_path(out) as tmp:
        table.to_parquet(tmp, index=False)
    known = table["label"].notna()
    rate = float(table.loc[known, "label"].astype(float).mean()) if known.any() else 0.0
    logger.info(
        "Wrote %d rows x %d features at %s with the label '%s' within %s (%.1f%% of the %d "
        "known) to %s.",
        len(table),
        data.X.shape[1],
        ", ".join(dates),
        data.outcome,
        horizon,
        100 * rate,
        int(known.sum()),
        out,
    )
    return out


# -- fit --------------------------------------------------------------------------------------
def fit(config, histories: Path, out: Path, *, key: str):
    """Fit ``Screener(**[screener])`` on ``[fit] as_of_dates``; track it; record its URI."""
    from riskscreen.tracking import track

    screener = config.screener()
    dates = config.fit_dates()
    described = " ".join(repr(screener).split())
    logger.info("Fitting %s on %s at %d as-of dates.", described, histories, len(dates))
    screener.fit(histories, dates)
    skipped = f"; skipped {', '.join(screener.skipped_dates_)}" if screener.skipped_dates_ else ""
    logger.info(
        "Fitted %s on %d rows (%s), calibrated on %d rows (%s)%s.",
        screener.model_info_["model_class"],
        screener.n_train_rows_,
        ", ".join(screener.train_dates_),
        screener.n_calibration_rows_,
        ", ".join(screener.calibration_dates_),
        skipped,
    )
    for line in screener.validation_.sentences():
        logger.info("Validation: %s", line)
    kwargs = config.track_kwargs()
    run = track(screener, key=key, **kwargs)
    logger.info(
        "Logged the screener to MLflow run %s in %s, signed with the authority's key.",
        run.run_id,
        run.tracking_uri,
    )
    record = {
        "model_uri": run.screener_uri,
        "logged_model_uri": run.model_uri,
        "run_id": run.run_id,
        "tracking_uri": run.tracking_uri,
        "sha256": run.sha256,
        "signed": run.signed,
        "registered_version": run.registered_version,
        "outcome": screener.model_info_["outcome"],
        "horizon": screener.model_info_["horizon"],
        "fit_timestamp": screener.model_info_["fit_timestamp"],
        "train_dates": screener.train_dates_,
        "calibration_dates": screener.calibration_dates_,
    }
    path = write_text(out / MODEL_RECORD, json.dumps(record, indent=1))
    logger.info(
        "Recorded the model %s in %s (score and run load it from there).", run.screener_uri, path
    )
    return screener, run


# -- screen -----------------------------------------------------------------------------------
def screen(screener, histories: Path, date, out: Path, *, uri: str):
    """Score ``date`` and keep the list in the snapshot store (never replaced)."""
    from riskscreen.interventions import Snapshot

    screening = screener.score(histories, str(date))
    snapshot = Snapshot.from_screening(screening)
    store = snapshot_store(out)
    stored = store.list()
    if (
        (stored["as_of_date"] == snapshot.as_of_date)
        & (stored["model_version"] == snapshot.model_version)
    ).any():
        raise FileExistsError(
            f"the list of {date} by model {snapshot.model_version} is already stored in "
            f"{store.path}: lists are never replaced. Its packs are in {packs_folder(out, date)}."
        )
    scope = "per school" if screening.per_school else "overall"
    logger.info(
        "Scored %d pupils at %s with %s: %d flagged (%s); bands: %s.",
        len(screening.frame),
        date,
        uri,
        screening.k,
        scope,
        _bands(screening.summary()),
    )
    return screening, snapshot


def keep(snapshot, out: Path):
    """Save the list in the snapshot store."""
    saved = snapshot_store(out).save(snapshot)
    logger.info("Saved the list as snapshot %s in %s.", saved.snapshot_id, snapshot_store(out).path)
    return saved


# -- explain ----------------------------------------------------------------------------------
def explain_list(screener, screening, histories: Path, config, out: Path, *, panel: bool):
    """Reasons in words for the pupils of a list; reasons and importance written as CSV."""
    from riskscreen.explain import explain

    kwargs = config.explain_kwargs()
    if "pupils" not in kwargs:  # the flags; everyone when the packs' own capacity may list more
        wide = panel and config.panel_kwargs().get("capacity") is not None
        kwargs["pupils"] = "all" if wide else "flagged"
    explanation = explain(screener, screening, histories=histories, **kwargs)
    folder = out / "explanations" / str(screening.as_of_date.date())
    reasons = explanation.write_csv(folder / "reasons.csv")
    importance = folder / "importance.csv"
    with atomic_path(importance) as tmp:
        explanation.importance.to_csv(tmp)
    top = ", ".join(str(g) for g in explanation.importance.index[:3])
    logger.info(
        "Explained %d pupils with %s; strongest reasons overall: %s. Wrote %s and %s.",
        len(explanation.values),
        explanation.method,
        top,
        reasons,
        importance,
    )
    return explanation


# -- panel packs ------------------------------------------------------------------------------
def write_panel(screening, explanation, histories: Path, config, out: Path, *, previous="auto"):
    """Each school's pack under ``<out>/packs/<date>/``, saying what changed since ``previous``."""
    from riskscreen.panel import build_packs

    date = screening.as_of_date.date()
    kwargs = config.panel_kwargs()
    formats = kwargs.pop("formats", ("xlsx", "html", "csv"))
    if previous == "auto":
        previous = previous_packs(out, date)
        if previous is None:
            logger.info("No earlier packs in %s: these packs are the first list.", out / "packs")
    packs = build_packs(screening, explanation, previous=previous, histories=histories, **kwargs)
    folder = packs_folder(out, date)
    paths = packs.write(folder, formats=formats)
    total = packs.summary.loc["All schools"]
    changed = ""
    if packs.previous_date is not None:
        changed = (
            f"; since {packs.previous_date.date()}: {total['New to the list']} new to the list, "
            f"{total['Left the list']} left it"
        )
    logger.info(
        "Wrote panel packs for %d schools (%s; %s on the list, capacity: %s%s): %d files in %s.",
        len(packs.schools),
        ", ".join(formats),
        total["On the list"],
        packs.capacity,
        changed,
        len(paths),
        folder,
    )
    return packs, paths


# -- compare ----------------------------------------------------------------------------------
def compare_with(before, after, out: Path, *, k=None):
    """Compare two lists; the summary (Markdown) and who moved (CSV) under comparisons/."""
    from riskscreen.panel import compare_lists

    comparison = compare_lists(before, after, k=k)
    stem = f"{before.as_of_date.date()}_to_{after.as_of_date.date()}"
    folder = out / "comparisons"
    summary = write_text(folder / f"{stem}.md", comparison.to_markdown() + "\n")
    moves = pd.concat(
        [
            comparison.entries.assign(list="entered"),
            comparison.exits.assign(list="left"),
        ],
        ignore_index=True,
    )
    moved = folder / f"{stem}_moves.csv"
    with atomic_path(moved) as tmp:
        moves.to_csv(tmp, index=False)
    for line in comparison.sentences():
        logger.info("Compared: %s", line)
    logger.info("Wrote the comparison to %s and who entered or left to %s.", summary, moved)
    return comparison


# -- evaluate ---------------------------------------------------------------------------------
def evaluate_at(screener, histories: Path, date, config):
    """(test data, comparison with the baselines, screening, fairness audit) at ``date``."""
    from riskscreen.evaluation import FairnessAudit
    from riskscreen.features import build_dataset

    options = config.audit_kwargs()
    data = build_dataset(
        histories,
        [str(date)],
        spec=screener.spec_,
        cohort=screener.cohort,
        outcome=screener.outcome,
        horizon=screener.horizon,
        sensitive=True,
    )
    comparison = screener.evaluate(
        data, n_bootstrap=options.get("n_bootstrap"), sensitive_features=None
    )
    screening = screener.score(data)
    groups = data.sensitive
    groups = groups.loc[:, groups.nunique(dropna=True) >= 2]
    audit = FairnessAudit.from_screening(screening, data.y, sensitive_features=groups, **options)
    comparison = replace(comparison, audit=audit)
    for line in [*comparison.sentences(), *comparison.verdicts()]:
        logger.info("Evaluation at %s: %s", date, line)
    return data, comparison, screening, audit


def write_audit(comparison, audit, folder: Path) -> Path:
    """The audit as a self-contained page; the comparison as Markdown and CSV."""
    page = audit.write_html(folder / "fairness_audit.html")
    with atomic_path(folder / "comparison.csv") as tmp:
        comparison.to_frame().to_csv(tmp)
    write_text(folder / "comparison.md", comparison.to_markdown() + "\n")
    logger.info("Wrote the fairness audit to %s and the comparison to %s.", page, folder)
    return page


# -- the monthly cycle ------------------------------------------------------------------------
def monthly_run(screener, uri: str, histories: Path, date, config, out: Path):
    """Score -> explain -> panel packs -> compare with the last list -> snapshot."""
    screening, snapshot = screen(screener, histories, date, out, uri=uri)
    explanation = explain_list(screener, screening, histories, config, out, panel=True)
    before = previous_list(out, date)
    packs, paths = write_panel(screening, explanation, histories, config, out)
    comparison = None
    if before is None:
        logger.info("No earlier list in %s: nothing to compare with.", snapshot_store(out).path)
    else:
        comparison = compare_with(as_screening(before), screening, out)
    saved = keep(snapshot, out)
    return {
        "screening": screening,
        "explanation": explanation,
        "packs": packs,
        "pack_paths": paths,
        "comparison": comparison,
        "snapshot": saved,
    }
