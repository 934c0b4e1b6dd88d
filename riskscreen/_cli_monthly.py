"""The commands of the monthly cycle: ``run``, and ``compare`` and ``decisions`` of its lists.

Registered on the app in :mod:`riskscreen.cli`; the options and the model loading
are shared with :mod:`riskscreen._cli_commands`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from riskscreen import _cli_steps as steps
from riskscreen._cli_commands import (
    AS_OF,
    CONFIG,
    DATA,
    MODEL,
    NEEDED_CONFIG,
    OUT,
    SHA256,
    echo,
    loaded,
)
from riskscreen._cli_common import (
    as_of,
    as_screening,
    command,
    log_to_file,
    logger,
    output_folder,
    packs_folder,
    stored_list,
)
from riskscreen._cli_config import config_or_default, load_config
from riskscreen._files import atomic_path


def _list_ref(text: str, option: str) -> tuple:
    date, _, version = text.partition("/")
    return as_of(date, option), version or None


def compare(
    before: str = typer.Argument(..., help="Earlier list: DATE or DATE/MODEL-VERSION."),
    after: str = typer.Argument(..., help="Later list: DATE or DATE/MODEL-VERSION."),
    config: Path | None = CONFIG,
    out: Path | None = OUT,
) -> None:
    """Compare two stored lists: overlap, Jaccard, rank correlation, who entered and left.

    Reads both lists from OUT/snapshots and writes OUT/comparisons/<before>_to_<after>.md
    (counts under 5 shown as c) and <before>_to_<after>_moves.csv (who entered or left,
    and why).

    Example: riskscreen compare --config monthly_run.toml 2024-01-08 2024-02-05
    """
    with command():
        cfg = config_or_default(config)
        folder = output_folder(cfg.output(out))
        (d1, v1), (d2, v2) = _list_ref(before, "BEFORE"), _list_ref(after, "AFTER")
        if not d1 < d2:
            raise ValueError(f"BEFORE ({d1}) must be earlier than AFTER ({d2}).")
        lists = [as_screening(stored_list(folder, d, version=v)) for d, v in ((d1, v1), (d2, v2))]
        result = steps.compare_with(*lists, folder)
    echo("\n".join(result.sentences()))


def decisions(
    path: Path = typer.Argument(..., help="A filled-in pack (.xlsx) or a folder of them."),
    out: Path | None = typer.Option(
        None, "--out", help="CSV of decisions (default: decisions.csv beside the packs)."
    ),
    meeting_date: str | None = typer.Option(
        None, "--meeting-date", help="When the panel met (YYYY-MM-DD; default the list date)."
    ),
) -> None:
    """Read the panel's decisions back from filled-in Excel packs.

    Checks every pack (an edited, reordered, added or deleted row is refused, with the
    school, row and column named) and writes the decisions table and the rows for the
    interventions table ("Offer support" with its action) as CSV.

    Example: riskscreen decisions riskscreen_output/packs/2024-02-05
    """
    from riskscreen.panel import read_decisions

    with command():
        met = None if meeting_date is None else str(as_of(meeting_date, "--meeting-date"))
        result = read_decisions(path, meeting_date=met)
        base = path if path.is_dir() else path.parent
        target = out or base / "decisions.csv"
        written = result.write_csv(target)
        extra = target.with_name(f"{target.stem}_interventions.csv")
        with atomic_path(extra) as tmp:
            result.interventions.to_csv(tmp, index=False)
        logger.info(
            "Read the decisions of %d pack(s) (counts below, small ones shown as c). Wrote the "
            "decisions to %s and the rows for the interventions table to %s.",
            len(result.files),
            written,
            extra,
        )
    echo(result.summary().to_string())


def run(
    config: Path = NEEDED_CONFIG,
    as_of_date: str = AS_OF,
    model: str | None = MODEL,
    data: Path | None = DATA,
    out: Path | None = OUT,
    sha256: str | None = SHA256,
) -> None:
    """The monthly panel cycle: score, explain, packs, compare with last month, snapshot.

    Loads the model (checked with RISKSCREEN_SIGNING_KEY), scores the as-of date,
    explains the list, writes each school's pack saying what changed since the
    previous packs, compares the list with the previous one and keeps it in
    OUT/snapshots for next month. The log also goes to OUT/logs/run_<date>.log.

    Example: RISKSCREEN_SIGNING_KEY=... riskscreen run --config monthly_run.toml
    --as-of 2024-02-05
    """
    with command():
        cfg = load_config(config)
        date = as_of(as_of_date)
        folder = output_folder(cfg.output(out))
        with log_to_file(folder / "logs" / f"run_{date}.log"):
            logger.info("Monthly run for %s (config %s); output in %s.", date, config, folder)
            _, _, screener, uri = loaded(cfg, folder, model, sha256)
            result = steps.monthly_run(screener, uri, cfg.histories(data), date, cfg, folder)
            logger.info("Monthly run for %s done.", date)
    lines = [f"Panel packs: {packs_folder(folder, date)}"]
    if result["comparison"] is not None:
        lines += result["comparison"].sentences()
    echo("\n".join(lines))
