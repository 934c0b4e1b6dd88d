"""Command-line interface: a thin typer app over the public API.

Each command parses its arguments, calls the library and turns library errors
into one clear message and exit code 1 (``--debug`` shows the traceback too).
"""

from __future__ import annotations

import contextlib
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
_state = {"debug": False}


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
) -> None:
    """riskscreen command line."""
    _state["debug"] = debug


def _fail(message: str) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


@contextlib.contextmanager
def _library_errors():
    """Turn what the library raises about its input into a clean message and exit code 1."""
    try:
        yield
    except (OSError, ValueError, TypeError, KeyError) as exc:
        if _state["debug"]:
            raise
        text = str(exc) if not isinstance(exc, KeyError) else str(exc.args[0] if exc.args else exc)
        _fail(text or type(exc).__name__)


def _output_folder(out: Path) -> None:
    """Refuse an output path that is an existing file, before any work is done."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file; give a folder (new or existing).")


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

    Builds the synthetic LA, fits the screener on earlier as-of dates, scores a
    later one, prints the model-vs-baselines table, writes the screening as CSV
    and logs the run to a local MLflow store under OUT.

    Example: riskscreen demo --out riskscreen_demo --pupils 20000
    """
    from riskscreen.demo import run_demo

    with _library_errors():
        _output_folder(out)
        run_demo(out=out, n_pupils=pupils, seed=seed)


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
