"""End-to-end demo on a built-in synthetic local authority.

``run_demo(out)`` builds the synthetic LA, builds the features and labels of the
fit dates once (one read of the histories), fits the LightGBM screener and the
logistic scorecard on earlier as-of dates (calibrated on a later one), evaluates
both against the rule baselines on a still later test date, prints the
comparison with bootstrap intervals and the step timings, writes the ranked
screening of that date as CSV under ``out/``, audits the fairness of the list
across ethnicity, sex, SEN, FSM and social-care status (``out/fairness_audit_<date>.html``),
explains every flag (SHAP values
put in words), writes each school's panel pack (Excel, HTML, CSV) under
``out/panel_packs/<date>/`` -- the test date's packs say what changed since the
previous panel's -- writes the model card and ATRS record under
``out/model_card/``, snapshots both lists under ``out/snapshots/``, logs the run
to a local MLflow store under ``out/mlruns`` and writes ``out/index.html``, a
page with the headline numbers, the plots, the audit summary, a sample pack and
links to everything. Only pseudonymous ids are written.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

#: Training as-of dates (one per term), the calibration date and the test date.
#: Training label windows (365 days) close before the calibration date, whose
#: window closes before the test date, whose window closes before the data end.
TRAIN_DATES = ("2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01")
CALIBRATION_DATE = "2022-06-01"
TEST_DATE = "2023-06-01"
#: The panel before the test date: its packs are what the test date's packs compare with.
PREVIOUS_PANEL_DATE = "2023-02-01"
MODELS = ("lightgbm", "scorecard")


@dataclass
class DemoResult:
    """What the demo produced (returned for tests and notebooks)."""

    comparison: object
    screening: object
    screeners: dict
    run: object
    screening_csv: Path
    comparison_csv: Path
    audit_html: Path | None = None
    explanation: object = None
    pack_paths: list = field(default_factory=list)
    card_paths: dict = field(default_factory=dict)
    index_html: Path | None = None
    timings: dict = field(default_factory=dict)


def run_demo(
    out="riskscreen_demo",
    n_pupils: int = 20_000,
    seed: int = 0,
    *,
    n_bootstrap: int = 200,
    console=None,
) -> DemoResult:
    """Run the demo; returns a :class:`DemoResult`. See the module docstring."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from riskscreen import Screener
    from riskscreen._demo_page import write_index
    from riskscreen._files import atomic_path
    from riskscreen.datasets import make_linked_histories
    from riskscreen.explain import explain
    from riskscreen.features import build_dataset
    from riskscreen.interventions import SnapshotStore
    from riskscreen.model_cards import ModelCard
    from riskscreen.panel import write_packs
    from riskscreen.tracking import track

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    console = console or Console(width=max(100, Console().width))
    timings: dict[str, float] = {}
    fit_dates = [*TRAIN_DATES, CALIBRATION_DATE]
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )

    class step:
        def __init__(self, description: str) -> None:
            self.description = description

        def __enter__(self):
            self.task = progress.add_task(self.description, total=1)
            self.t0 = time.perf_counter()
            return self

        def __exit__(self, *exc):
            timings[self.description] = time.perf_counter() - self.t0
            progress.update(self.task, completed=1, description=f"[green]✓[/] {self.description}")
            return False

    start = time.perf_counter()
    with progress:
        with step(f"Building a synthetic local authority ({n_pupils:,} pupils, seed {seed})"):
            histories = make_linked_histories(n_pupils=n_pupils, seed=seed)
        with step(f"Features and labels at {len(fit_dates)} fit as-of dates"):
            train = build_dataset(histories, fit_dates, outcome="suspension")
        with step(f"Features and labels at the test date {TEST_DATE}"):
            test = build_dataset(histories, [TEST_DATE], outcome="suspension", sensitive=True)
        screeners, comparisons = {}, {}
        for model in MODELS:
            with step(f"Fitting and calibrating the {model} screener"):
                screener = Screener(model=model, n_bootstrap=n_bootstrap, random_state=seed)
                screeners[model] = screener.fit(train)
            timings[f"{model} model fit"] = screener.timings_["model"]
            with step(f"Evaluating {model} vs rule baselines at {TEST_DATE}"):
                comparisons[model] = screener.evaluate(test)
        with step("Scoring and writing the screening"):
            screening = screeners["lightgbm"].score(test)
            screening_csv = screening.write_csv(out / f"screening_{TEST_DATE}.csv")
        with step("Reasons for every flag and each school's panel pack"):
            lgbm_screener = screeners["lightgbm"]
            packs = out / "panel_packs"
            before = lgbm_screener.score(histories, PREVIOUS_PANEL_DATE)
            write_packs(
                before,
                explain(lgbm_screener, before, pupils="flagged", histories=histories),
                packs / PREVIOUS_PANEL_DATE,
                histories=histories,
            )
            explanation = explain(lgbm_screener, screening, pupils="flagged", histories=histories)
            pack_paths = write_packs(
                screening,
                explanation,
                packs / TEST_DATE,
                previous=packs / PREVIOUS_PANEL_DATE,
                histories=histories,
            )
        lgbm, scorecard = comparisons["lightgbm"], comparisons["scorecard"]
        table = pd.concat(
            [
                lgbm.table.loc[["lightgbm"]],
                scorecard.table.loc[["scorecard"]],
                lgbm.table.drop(index="lightgbm"),
            ]
        )
        withheld = dict.fromkeys([*lgbm.withheld, *scorecard.withheld])
        comparison = replace(lgbm, table=table, withheld=tuple(withheld))
        audit_html = lgbm.audit.write_html(out / f"fairness_audit_{TEST_DATE}.html")
        comparison_csv = out / f"comparison_{TEST_DATE}.csv"
        with atomic_path(comparison_csv) as tmp:
            comparison.to_frame().to_csv(tmp)
        with step("Model card, transparency record and snapshots of the lists"):
            model_card = ModelCard.from_run(
                lgbm_screener,
                lgbm,
                explanation=explanation,
                train_data=train,
                test_data=test,
                title=f"riskscreen demo model (synthetic local authority, seed {seed})",
            )
            card_paths = model_card.write(out / "model_card")
            store = SnapshotStore(out / "snapshots")
            for listed in (before, screening):
                with contextlib.suppress(FileExistsError):  # the same list, from a rerun
                    store.save(listed)
        with step("Logging the run to the local MLflow store"):
            run = track(
                lgbm_screener,
                run_name=f"demo-lightgbm-{n_pupils}-seed{seed}",
                store=out / "mlruns",
                evaluation=comparison,
                screening=screening,
                card=model_card,
            )
    timings["total"] = time.perf_counter() - start
    index_html = write_index(
        out,
        title=f"a synthetic local authority of {n_pupils:,} pupils (seed {seed})",
        lead=(
            f"Screened for suspension over the next 12 months at {TEST_DATE}: a LightGBM "
            f"model trained on {', '.join(TRAIN_DATES)} and calibrated on {CALIBRATION_DATE}, "
            "compared with a logistic scorecard and the rule baselines councils already use, "
            f"on the same {comparison.n:,} pupils; a panel can review "
            f"{comparison.k:,} of them (5%)."
        ),
        comparison=comparison,
        model="lightgbm",
        card=model_card,
        paths={
            "packs": pack_paths,
            "card_html": card_paths["html"],
            "card_md": card_paths["markdown"],
            "atrs": card_paths["record_markdown"],
            "audit": audit_html,
            "screening": screening_csv,
            "comparison": comparison_csv,
        },
        run=run,
        timings=timings,
    )

    console.print(comparison.to_rich())
    for line in [*comparison.sentences(), *comparison.verdicts()]:
        console.print(f"  {line}")
    console.print("")
    console.print(lgbm.audit.headline())
    console.print(f"Fairness audit written to {audit_html}")
    console.print("")
    bands = lgbm.bands.loc["band"]
    console.print(
        "LightGBM risk bands at the test date (observed suspension rate): "
        + ", ".join(
            f"{b} {'c' if pd.isna(r) else f'{r:.1%}'}" for b, r in bands["observed_rate"].items()
        )
    )
    console.print(
        f"Calibration (ECE) at the test date: lightgbm {table.loc['lightgbm', 'ece']:.3f}, "
        f"scorecard {table.loc['scorecard', 'ece']:.3f}"
    )
    console.print(f"Screening ({screening.k} pupils flagged) written to {screening_csv}")
    example = [text for text in explanation.reasons_wide().iloc[0] if text]
    console.print("Reasons for one flagged pupil: " + "; ".join(example))
    n_schools = sum(1 for p in pack_paths if p.suffix == ".xlsx" and "_school_" in p.name)
    console.print(
        f"Panel packs for {n_schools} schools (Excel, HTML, CSV; what changed since "
        f"{PREVIOUS_PANEL_DATE}) written to {packs / TEST_DATE}"
    )
    console.print(f"Model card and ATRS record written to {card_paths['html'].parent}")
    console.print(f"MLflow: {run}")
    console.print(
        "Timings: " + ", ".join(f"{k.split(' (')[0]} {v:.1f}s" for k, v in timings.items())
    )
    console.print(f"[bold]Open {index_html.resolve()} to see everything.[/]")
    return DemoResult(
        comparison=comparison,
        screening=screening,
        screeners=screeners,
        run=run,
        screening_csv=screening_csv,
        comparison_csv=comparison_csv,
        audit_html=audit_html,
        explanation=explanation,
        pack_paths=pack_paths,
        card_paths=card_paths,
        index_html=index_html,
        timings=timings,
    )
