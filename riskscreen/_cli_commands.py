"""The commands of each step of the panel run (registered on the app in :mod:`riskscreen.cli`).

Each parses its options, reads the config (:mod:`riskscreen._cli_config`) and
calls the steps of :mod:`riskscreen._cli_steps`, which call the public API.
"""

from __future__ import annotations

from pathlib import Path

import typer

from riskscreen import _cli_steps as steps
from riskscreen._cli_common import (
    KEY_ENV,
    as_of,
    as_screening,
    command,
    logger,
    output_folder,
    packs_folder,
    signing_key,
    stored_list,
)
from riskscreen._cli_config import CliConfig, config_or_default, load_config

CONFIG = typer.Option(None, "--config", "-c", help="TOML config file (see examples/).")
NEEDED_CONFIG = typer.Option(..., "--config", "-c", help="TOML config file (see examples/).")
DATA = typer.Option(None, "--data", help="Saved histories folder (default: \\[data] path).")
OUT = typer.Option(None, "--out", help="Output folder (default: \\[output] folder).")
AS_OF = typer.Option(..., "--as-of", help="The as-of date, YYYY-MM-DD.")
MODEL = typer.Option(
    None,
    "--model",
    help="Model URI, e.g. runs:/<run id>/screener (default: \\[tracking] model, else the "
    "last fit).",
)
SHA256 = typer.Option(None, "--sha256", help=f"The model's sha256, to check it without {KEY_ENV}.")


def echo(text: str) -> None:
    typer.echo(text)


def features(
    as_of_dates: list[str] = typer.Option(
        ..., "--as-of", help="As-of date YYYY-MM-DD; repeat for several."
    ),
    out: Path = typer.Option(..., "--out", help="Parquet file to write."),
    config: Path | None = CONFIG,
    data: Path | None = DATA,
    outcome: str | None = typer.Option(
        None, "--outcome", help="Also write the label: suspension, permanent_exclusion, ..."
    ),
    horizon: str | None = typer.Option(
        None, "--horizon", help="Label window, e.g. 12M (default: \\[screener] horizon, else 365D)."
    ),
) -> None:
    """Build the features of the cohort as they stood on each as-of date, as Parquet.

    One row per pupil and as-of date (pupil_id, as_of_date, then the features of the
    default spec); the cohort is \\[screener.cohort] of the config, else pupils on a
    school roll in NC years 5-11. With --outcome, a 'label' column says whether the
    outcome followed within --horizon (empty: left the authority first).

    Example: riskscreen features --data synthetic_la --as-of 2023-01-09 --as-of 2023-06-05
    --outcome suspension --out features.parquet
    """
    with command():
        cfg = config_or_default(config)
        dates = [str(as_of(d)) for d in as_of_dates]
        histories = cfg.histories(data)
        if out.exists() and out.is_dir():
            raise IsADirectoryError(f"--out {out} is a folder; give a .parquet file.")
        horizon = horizon or cfg.section("screener").get("horizon", "365D")
        steps.features(histories, dates, out, cohort=cfg.cohort(), outcome=outcome, horizon=horizon)


def fit(config: Path = NEEDED_CONFIG, data: Path | None = DATA, out: Path | None = OUT) -> None:
    """Fit the screener of a config, log it to MLflow, and record it for later commands.

    Screener(**\\[screener]).fit(histories, \\[fit] as_of_dates): trained on the earlier
    dates, calibrated and validated on the latest. The fitted screener is signed with
    the authority's key (RISKSCREEN_SIGNING_KEY) and logged to the MLflow store of
    \\[tracking]; its URI is written to OUT/model.json, where score, explain, panel,
    audit, card and run find it.

    Example: RISKSCREEN_SIGNING_KEY=... riskscreen fit --config examples/monthly_run.toml
    """
    with command():
        cfg = load_config(config)
        key = signing_key(
            needed_for="fit signs the model it logs, so that score and run can check it "
            "before loading it."
        )
        folder = output_folder(cfg.output(out))
        screener, run = steps.fit(cfg, cfg.histories(data), folder, key=key)
    echo(f"Model: {run.screener_uri} (recorded in {folder / 'model.json'})")


def loaded(config, out, model, sha256):
    """(config, output folder, screener, its URI); ``config`` a path, None or a CliConfig."""
    from riskscreen._cli_common import load_model

    cfg = config if isinstance(config, CliConfig) else config_or_default(config)
    folder = output_folder(cfg.output(out))
    screener, uri = load_model(cfg, folder, model, sha256)
    return cfg, folder, screener, uri


def score(
    as_of_date: str = AS_OF,
    model: str | None = MODEL,
    config: Path | None = CONFIG,
    data: Path | None = DATA,
    out: Path | None = OUT,
    sha256: str | None = SHA256,
) -> None:
    """Score the cohort at an as-of date and keep the list in the snapshot store.

    The list (scores, ranks, bands, flags and the features scored) is saved under
    OUT/snapshots/<date>/<model version>/, where explain, panel, compare and next
    month's run read it. A list is never replaced.

    Example: riskscreen score --config monthly_run.toml --model runs:/<run id>/screener
    --as-of 2024-01-08
    """
    with command():
        date = as_of(as_of_date)
        cfg, folder, screener, uri = loaded(config, out, model, sha256)
        screening, snapshot = steps.screen(screener, cfg.histories(data), date, folder, uri=uri)
        steps.keep(snapshot, folder)
    echo(screening.summary().to_string())


def audit(
    as_of_date: str = AS_OF,
    model: str | None = MODEL,
    config: Path | None = CONFIG,
    data: Path | None = DATA,
    out: Path | None = OUT,
    sha256: str | None = SHA256,
) -> None:
    """Evaluate the model at a date whose outcomes are known: baselines and fairness.

    The model against the rule baselines (with intervals) and the fairness audit of
    its list (\\[audit] options of FairnessAudit) at an as-of date whose label window
    has closed. Writes OUT/audits/<date>/: fairness_audit.html, comparison.md and
    comparison.csv.

    Example: riskscreen audit --config monthly_run.toml --as-of 2023-06-01
    """
    with command():
        date = as_of(as_of_date)
        cfg, folder, screener, _ = loaded(config, out, model, sha256)
        _, comparison, _, result = steps.evaluate_at(screener, cfg.histories(data), date, cfg)
        steps.write_audit(comparison, result, folder / "audits" / str(date))
    echo(result.headline())


def explain(
    as_of_date: str = AS_OF,
    model: str | None = MODEL,
    config: Path | None = CONFIG,
    data: Path | None = DATA,
    out: Path | None = OUT,
    sha256: str | None = SHA256,
) -> None:
    """Explain a stored list: SHAP values of each pupil's score, top reasons in words.

    Reads the list of the as-of date from OUT/snapshots (score it first) and writes
    OUT/explanations/<date>/reasons.csv (one row per pupil and reason) and
    importance.csv (global importance by reason group). \\[explain] options: pupils
    ("flagged" or "all"), n_reasons, ...

    Example: riskscreen explain --config monthly_run.toml --as-of 2024-01-08
    """
    with command():
        date = as_of(as_of_date)
        cfg, folder, screener, _ = loaded(config, out, model, sha256)
        screening = as_screening(stored_list(folder, date, screener=screener))
        result = steps.explain_list(
            screener, screening, cfg.histories(data), cfg, folder, panel=False
        )
    echo(result.importance.head(10).round(4).to_string())


def panel(
    as_of_date: str = AS_OF,
    model: str | None = MODEL,
    config: Path | None = CONFIG,
    data: Path | None = DATA,
    out: Path | None = OUT,
    sha256: str | None = SHA256,
    previous: str = typer.Option(
        "auto",
        "--previous",
        help="Date of the packs to compare with (YYYY-MM-DD), 'auto' (the latest "
        "earlier ones) or 'none'.",
    ),
) -> None:
    """Write each school's panel pack for a stored list (Excel, HTML, CSV).

    Ranked pupils up to the panel's capacity (\\[panel] capacity, default the list's
    flags), risk band, top reasons in words, current involvement, what changed since
    the previous packs, and columns for the panel's decisions. Written to
    OUT/packs/<date>/; read the filled-in packs back with `riskscreen decisions`.

    Example: riskscreen panel --config monthly_run.toml --as-of 2024-02-05
    """
    with command():
        date = as_of(as_of_date)
        cfg, folder, screener, _ = loaded(config, out, model, sha256)
        if previous in ("auto", "none"):
            before = None if previous == "none" else "auto"
        else:
            before = packs_folder(folder, as_of(previous, "--previous"))
        histories = cfg.histories(data)
        screening = as_screening(stored_list(folder, date, screener=screener))
        explanation = steps.explain_list(screener, screening, histories, cfg, folder, panel=True)
        packs, _ = steps.write_panel(
            screening, explanation, histories, cfg, folder, previous=before
        )
    echo(packs.summary.iloc[:, :4].to_string())


def card(
    as_of_date: str = AS_OF,
    model: str | None = MODEL,
    config: Path | None = CONFIG,
    data: Path | None = DATA,
    out: Path | None = OUT,
    sha256: str | None = SHA256,
) -> None:
    """Write the model card and the ATRS transparency record of the model.

    Evaluates the model at an as-of date whose outcomes are known (as `audit`),
    explains that date's flags for the global importance, and writes
    ModelCard.from_run(..., **\\[card]) to OUT/model_card/<date>/ (Markdown, HTML,
    JSON and the ATRS record). \\[card] authority fills in what only the authority
    can (owner, dpia_reference, review_date, ...).

    Example: riskscreen card --config monthly_run.toml --as-of 2023-06-01
    """
    from riskscreen.explain import explain as explain_screening
    from riskscreen.model_cards import ModelCard

    with command():
        date = as_of(as_of_date)
        cfg, folder, screener, _ = loaded(config, out, model, sha256)
        data_, comparison, screening, result = steps.evaluate_at(
            screener, cfg.histories(data), date, cfg
        )
        explanation = explain_screening(screener, screening, pupils="flagged")
        made = ModelCard.from_run(
            screener,
            comparison,
            audit=result,
            explanation=explanation,
            test_data=data_,
            **cfg.card_kwargs(),
        )
        paths = made.write(folder / "model_card" / str(date))
        todo = made.to_complete
        logger.info(
            "Wrote the model card and ATRS record (%d files) to %s%s.",
            len(paths),
            folder / "model_card" / str(date),
            f"; {len(todo)} fields to complete by the authority ([card] authority)" if todo else "",
        )
    echo(str(paths["html"]))
