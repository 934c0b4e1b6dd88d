"""What every command shares: clean errors, the log, dates, the model and the stored lists.

Errors the library raises about its input become one line on stderr and exit
code 1 (``--debug`` re-raises them with the traceback). Log lines go to stderr
(the ``riskscreen`` logger, so the library's own warnings show too), each
saying what a step did and where it wrote; they carry counts, dates, paths and
model ids, never a pupil's key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import sys
from pathlib import Path

import typer

from riskscreen.tracking._track import KEY_ENV

logger = logging.getLogger("riskscreen.cli")
state = {"debug": False, "quiet": False}
#: Written by `riskscreen fit` in the output folder: the model later commands load.
MODEL_RECORD = "model.json"
_FORMAT = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")


def fail(message: str) -> None:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code=1)


def _message(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return str(exc.args[0] if exc.args else exc)
    return str(exc) or type(exc).__name__


def _is_input_error(exc: BaseException) -> bool:
    if isinstance(exc, (OSError, ValueError, TypeError, KeyError)):
        return True
    mlflow = sys.modules.get("mlflow.exceptions")  # a store that cannot be reached, ...
    return mlflow is not None and isinstance(exc, mlflow.MlflowException)


@contextlib.contextmanager
def library_errors():
    """Turn what the library raises into a clean message and exit code 1.

    An error about the input is its message; anything else (a bug) is named as one, with
    the way to see its traceback. ``--debug`` re-raises both.
    """
    import click

    try:
        yield
    except click.exceptions.Exit:
        raise
    except Exception as exc:
        if state["debug"] or isinstance(exc, click.ClickException):
            raise
        if _is_input_error(exc):
            fail(_message(exc))
        first = (_message(exc).strip().splitlines() or [""])[0]
        fail(
            f"unexpected {type(exc).__name__}: {first} (a bug in riskscreen or a library it "
            "uses; run again with --debug for the traceback and report it)."
        )


@contextlib.contextmanager
def command():
    """Log to stderr while a command runs (warnings only with --quiet); errors as one line.

    Python warnings raised meanwhile (the library's and numpy's) go to the log too.
    """
    lib, warned = logging.getLogger("riskscreen"), logging.getLogger("py.warnings")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_FORMAT)
    handler.setLevel(logging.WARNING if state["quiet"] else logging.INFO)
    level = lib.level
    lib.setLevel(logging.INFO)
    lib.addHandler(handler)
    warned.addHandler(handler)
    logging.captureWarnings(True)
    try:
        with library_errors():
            yield
    finally:
        logging.captureWarnings(False)
        warned.removeHandler(handler)
        lib.removeHandler(handler)
        lib.setLevel(level)


@contextlib.contextmanager
def log_to_file(path: Path):
    """Also append the log, and the error that stopped a command, to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(_FORMAT)
    loggers = (logging.getLogger("riskscreen"), logging.getLogger("py.warnings"))
    for lg in loggers:
        lg.addHandler(handler)
    try:
        yield
    except Exception as exc:
        record = logger.makeRecord(logger.name, logging.ERROR, "", 0, _message(exc), (), None)
        handler.handle(record)  # the file only: the terminal gets the one "Error:" line
        raise
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
        handler.close()


def as_of(value: str, option: str = "--as-of") -> dt.date:
    """A calendar date written YYYY-MM-DD, or a clear error naming the option."""
    text = str(value).strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{option} must be a date written YYYY-MM-DD, such as 2024-01-08. Got {value!r}."
        ) from None


def output_folder(out: Path) -> Path:
    """Refuse an output path that is an existing file, before any work is done."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"--out {out} is a file; give a folder (new or existing).")
    return out


def signing_key(*, needed_for: str) -> str:
    """The authority's signing key from the environment, or an error saying what to do."""
    key = os.environ.get(KEY_ENV)
    if not key:
        raise ValueError(
            f"{KEY_ENV} is not set: {needed_for} Set it to the authority's signing key "
            f"(e.g. `export {KEY_ENV}=...` from your secret store) and run again; the key "
            "is never read from a file or written anywhere."
        )
    return key


# -- the model --------------------------------------------------------------------------------
def model_record(out: Path) -> dict | None:
    path = out / MODEL_RECORD
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        record["model_uri"]
    except (ValueError, KeyError, TypeError):
        raise ValueError(
            f"{path} is not a model record written by `riskscreen fit` (no model_uri): fit "
            "again, or pass --model URI."
        ) from None
    return record


def load_model(config, out: Path, uri: str | None, sha256: str | None):
    """(screener, uri): ``--model``, else ``[tracking] model``, else the last fit's record.

    The last fit's record is ``model.json`` in the output folder, else (with ``--out``
    elsewhere) in the config's ``[output] folder``.

    The screener is checked before it is loaded: against ``RISKSCREEN_SIGNING_KEY``,
    or the sha256 given with ``--sha256`` or ``[tracking] sha256``.
    """
    from riskscreen.tracking import load_screener

    kwargs = config.load_kwargs()
    if sha256 is not None:
        kwargs["sha256"] = sha256
    key = os.environ.get(KEY_ENV) or None
    if key is None and "sha256" not in kwargs:
        raise ValueError(
            f"cannot check the model before loading it: {KEY_ENV} is not set. Set it to the "
            "authority's signing key (the key `riskscreen fit` signed the model with), or "
            "pass --sha256 (or set [tracking] sha256) to the model's sha256 recorded when it "
            "was fitted."
        )
    where = "--model"
    if uri is None and config.model_uri() is not None:
        uri, where = config.model_uri(), f"[tracking] model in {config.where()}"
    if uri is None:
        # the last fit: recorded in the output folder, or in the config's when --out differs
        folders = [out] if config.path is None else list(dict.fromkeys([out, config.output()]))
        found = [(f, model_record(f)) for f in folders if model_record(f) is not None]
        if not found:
            looked = " or ".join(str(f / MODEL_RECORD) for f in folders)
            raise ValueError(
                f"no model to load: pass --model URI (e.g. runs:/<run id>/screener), set "
                f"[tracking] model in the config, or run `riskscreen fit --config FILE` first "
                f"(it records the model in {MODEL_RECORD} of the output folder; looked in "
                f"{looked})."
            )
        folder, record = found[0]
        uri, where = record["model_uri"], f"the last fit ({folder / MODEL_RECORD})"
    from mlflow.exceptions import MlflowException

    try:
        screener = load_screener(uri, key=key, **kwargs)
    except MlflowException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        store = kwargs.get("tracking_uri") or kwargs["store"]
        raise ValueError(
            f"cannot load model {uri} from the MLflow store {store}: {first}"
        ) from None
    logger.info(
        "Loaded model %s (%s, %s, fitted %s) from %s; checked against %s.",
        uri,
        screener.model_info_["model_class"],
        screener.model_info_["outcome"],
        screener.model_info_["fit_timestamp"],
        where,
        "the sha256 given" if "sha256" in kwargs else KEY_ENV,
    )
    return screener, uri


# -- stored lists -----------------------------------------------------------------------------
def snapshot_store(out: Path):
    from riskscreen.interventions import SnapshotStore

    return SnapshotStore(out / "snapshots")


def as_screening(snapshot):
    """The :class:`~riskscreen.Screening` a stored :class:`Snapshot` was made from."""
    from riskscreen import Screening

    return Screening(
        frame=snapshot.frame.droplevel("as_of_date"),
        features=snapshot.features,
        model_info=dict(snapshot.model_info),
        as_of_date=snapshot.as_of_date,
        k=snapshot.k,
        per_school=snapshot.per_school,
        outcome=snapshot.outcome,
    )


def stored_list(out: Path, date, *, screener=None, version: str | None = None):
    """The stored list of ``date``: the one of ``version``, else the one ``screener`` made,
    else the only one."""
    import pandas as pd

    store = snapshot_store(out)
    day = pd.Timestamp(date)
    rows = store.list()
    rows = rows[rows["as_of_date"] == day]
    if version is not None:
        rows = rows[rows["model_version"] == version]
    if rows.empty:
        which = "" if version is None else f" by model {version}"
        raise KeyError(
            f"no list of {day.date()}{which} is stored in {store.path}: score that date first "
            f"(`riskscreen score` or `riskscreen run`)."
        )
    versions = list(rows["model_version"])
    if len(versions) == 1:
        return store.load(day, versions[0])
    if screener is not None:
        info = screener.model_info_
        for v in versions:
            snap = store.load(day, v)
            if all(snap.model_info.get(k) == info.get(k) for k in ("params_hash", "fit_timestamp")):
                return snap
        raise KeyError(
            f"none of the lists of {day.date()} in {store.path} ({', '.join(versions)}) was "
            "made by this model: score that date with it first."
        )
    raise ValueError(
        f"{len(versions)} models' lists of {day.date()} are stored in {store.path} "
        f"({', '.join(versions)}): name one as {day.date()}/<model version>."
    )


def previous_list(out: Path, date):
    """The latest snapshot stored before ``date`` (None if there is none)."""
    import pandas as pd

    rows = snapshot_store(out).list()
    rows = rows[rows["as_of_date"] < pd.Timestamp(date)]
    if rows.empty:
        return None
    last = rows.sort_values(["as_of_date", "saved_at"]).iloc[-1]
    return snapshot_store(out).load(last["as_of_date"], last["model_version"])


def packs_folder(out: Path, date) -> Path:
    return out / "packs" / str(date)


def previous_packs(out: Path, date) -> Path | None:
    """The latest packs folder before ``date`` that holds a list record."""
    root = out / "packs"
    if not root.is_dir():
        return None
    found = [
        p
        for p in root.iterdir()
        if p.is_dir()
        and re.fullmatch(r"\d{4}-\d{2}-\d{2}", p.name)
        and p.name < str(date)
        and any(p.glob("panel_*_list.csv"))
    ]
    return max(found, key=lambda p: p.name) if found else None
