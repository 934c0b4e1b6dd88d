"""Command-line interface: a thin typer app over the public API.

Each command parses its arguments, calls the library and turns library errors
into one clear message and exit code 1 (``--debug`` shows the traceback too).
``synth``, ``validate`` and ``demo`` live here; the commands of the monthly
panel run (``features``, ``fit``, ``score``, ``audit``, ``explain``, ``panel``,
``card``) in :mod:`riskscreen._cli_commands`, ``run``, ``compare`` and ``decisions``
in :mod:`riskscreen._cli_monthly`, their steps in :mod:`riskscreen._cli_steps` and
their TOML config in :mod:`riskscreen._cli_config`.
"""

from __future__ import annotations

from pathlib import Path

import typer

from riskscreen import __version__, _cli_commands, _cli_monthly
from riskscreen._cli_common import library_errors as _library_errors
from riskscreen._cli_common import output_folder as _output_folder
from riskscreen._cli_common import state as _state

app = typer.Typer(
    name="riskscreen",
    help=(
        "riskscreen: early-intervention screening for English children's services.\n\n"
        "Example: riskscreen demo --out riskscreen_demo\n\n"
        "Monthly panel run: riskscreen run --config monthly_run.toml --as-of 2024-02-05"
    ),
    no_args_is_help=True,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"riskscreen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Show the version."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of an error."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log warnings only."),
) -> None:
    """riskscreen command line."""
    _state["debug"] = debug
    _state["quiet"] = quiet


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the Parquet tables to."),
    pupils: int = typer.Option(20_000, "--pupils", min=1, help="Number of pupils."),
    years: int = typer.Option(5, "--years", min=1, help="Number of academic years."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed (same seed, same data)."),
    start_year: int = typer.Option(2019, "--start-year", help="First academic year (Sept)."),
) -> None:
    """Generate a synthetic local authority and write it as a validated folder.

    Example: riskscreen synth --pupils 20000 --years 5 --seed 1 --out synthetic_la
    """
    from riskscreen.datasets import make_linked_histories

    with _library_errors():
        _output_folder(out)
        histories = make_linked_histories(
            n_pupils=pupils, n_years=years, start_year=start_year, seed=seed
        )
        histories.validate()
        histories.save(out)
    typer.echo(histories.summary().to_string())
    typer.echo(f"Wrote {out}")


@app.command()
def validate(
    path: Path = typer.Argument(..., help="A folder written by LinkedHistories.save."),
) -> None:
    """Check a saved folder of linked histories and list every problem found.

    Every file is checked against the checksum recorded when it was saved, then
    every rule of the data model. Exits with code 1 and one line per problem
    (table, column, rows, what was expected) when the data are not valid.

    Example: riskscreen validate synthetic_la
    """
    from riskscreen.data import LinkedHistories

    with _library_errors():
        histories = LinkedHistories.load(path)
        histories.validate()
    typer.echo(histories.summary().to_string())
    typer.echo(f"{path}: valid ({histories.n_pupils} pupils)")


@app.command()
def demo(
    out: Path = typer.Option(Path("riskscreen_demo"), "--out", help="Folder for all outputs."),
    pupils: int = typer.Option(20_000, "--pupils", min=500, help="Pupils in the synthetic LA."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed."),
) -> None:
    """Run the end-to-end demo on a built-in synthetic local authority.

    Builds the synthetic LA, fits the screener and the scorecard on earlier as-of
    dates, evaluates them on a later one against the rule baselines (with
    intervals), audits the fairness of the list, explains every flag, writes each
    school's panel pack, the model card and ATRS record, snapshots the list, logs
    the run to a local MLflow store, and writes OUT/index.html linking everything.

    Example: riskscreen demo --out riskscreen_demo --pupils 20000
    """
    from riskscreen.demo import run_demo

    with _library_errors():
        _output_folder(out)
        run_demo(out=out, n_pupils=pupils, seed=seed)


for _command in (
    _cli_commands.features,
    _cli_commands.fit,
    _cli_commands.score,
    _cli_commands.audit,
    _cli_commands.explain,
    _cli_commands.panel,
    _cli_commands.card,
    _cli_monthly.compare,
    _cli_monthly.decisions,
    _cli_monthly.run,
):
    app.command()(_command)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
