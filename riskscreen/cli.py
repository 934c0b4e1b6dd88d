"""Command-line interface: a thin typer app over the public API.

Each command parses its arguments, calls the library and turns library errors
into a clean message and a non-zero exit code.
"""

from __future__ import annotations

from pathlib import Path

import typer

from riskscreen import __version__

app = typer.Typer(
    name="riskscreen",
    help=(
        "riskscreen: early-intervention screening for English children's services.\n\n"
        "Example: riskscreen demo --out riskscreen_demo"
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
) -> None:
    """riskscreen command line."""


def _fail(message: str) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


@app.command()
def synth(
    out: Path = typer.Option(..., "--out", help="Folder to write the Parquet tables to."),
    pupils: int = typer.Option(20_000, "--pupils", min=1, help="Number of pupils."),
    years: int = typer.Option(5, "--years", min=1, help="Number of academic years."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same data)."),
    start_year: int = typer.Option(2019, "--start-year", help="First academic year (Sept)."),
) -> None:
    """Generate a synthetic local authority and write it as a validated folder.

    Example: riskscreen synth --pupils 20000 --years 5 --seed 1 --out synthetic_la
    """
    from riskscreen.data import DataValidationError
    from riskscreen.datasets import make_linked_histories

    try:
        histories = make_linked_histories(
            n_pupils=pupils, n_years=years, start_year=start_year, seed=seed
        )
        histories.validate()
    except (ValueError, DataValidationError) as exc:
        _fail(str(exc))
    histories.save(out)
    summary = histories.summary()
    typer.echo(summary.to_string())
    typer.echo(f"Wrote {out}")


@app.command()
def validate(
    path: Path = typer.Argument(..., help="A folder written by LinkedHistories.save."),
) -> None:
    """Check a saved folder of linked histories and list every problem found.

    Exits with code 1 and one line per problem (table, column, rows, what was
    expected) when the data are not valid.

    Example: riskscreen validate synthetic_la
    """
    from riskscreen.data import DataValidationError, LinkedHistories

    try:
        histories = LinkedHistories.load(path)
        histories.validate()
    except (OSError, ValueError, DataValidationError) as exc:
        _fail(str(exc))
    typer.echo(histories.summary().to_string())
    typer.echo(f"{path}: valid ({histories.n_pupils} pupils)")


@app.command()
def demo(
    out: Path = typer.Option(Path("riskscreen_demo"), "--out", help="Folder for all outputs."),
    pupils: int = typer.Option(20_000, "--pupils", min=500, help="Pupils in the synthetic LA."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
) -> None:
    """Run the end-to-end demo on a built-in synthetic local authority.

    Builds the synthetic LA, fits the screener on earlier as-of dates, scores a
    later one, prints the model-vs-baselines table, writes the screening as CSV
    and logs the run to a local MLflow store under OUT.

    Example: riskscreen demo --out riskscreen_demo --pupils 20000
    """
    from riskscreen.demo import run_demo

    run_demo(out=out, n_pupils=pupils, seed=seed)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
