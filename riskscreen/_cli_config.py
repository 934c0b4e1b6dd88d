"""The command line's TOML configuration: one section per public constructor or call.

A config file (read with :mod:`tomllib`) holds the settings of a monthly panel
run, so a scheduled job needs nothing else::

    [data]
    path = "synthetic_la"            # a folder written by LinkedHistories.save

    [screener]                       # riskscreen.Screener(**screener)
    outcome = "suspension"
    horizon = "12M"
    model = "scorecard"
    capacity = 0.05

    [screener.cohort]                # SchoolCohort(ncyears=(5, 11)); kind names the class
    kind = "SchoolCohort"
    ncyears = [5, 11]

    [fit]                            # Screener.fit(histories, as_of_dates=...)
    as_of_dates = ["2020-02-01", "2021-06-01", "2022-06-01"]

    [tracking]                       # riskscreen.tracking.track / load_screener
    store = "mlruns"

    [explain]                        # riskscreen.explain.explain(**explain)
    [panel]                          # riskscreen.panel.write_packs(**panel)
    [audit]                          # FairnessAudit.from_screening(**audit)
    [card]                           # ModelCard.from_run(**card)

    [output]
    folder = "monthly"

Every key is checked against the signature of the call it feeds, so a typo is
named with the keys that are known. Values are checked by the library itself,
whose errors name the parameter. Relative paths are read from the config
file's folder (a scheduled job may start anywhere). The signing key is never
read from a file: it comes from ``RISKSCREEN_SIGNING_KEY``.
"""

from __future__ import annotations

import inspect
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

#: The folder written to when neither the config nor --out names one.
DEFAULT_OUTPUT = "riskscreen_output"
#: Settings of the command line itself (not parameters of a library call).
_DATA_KEYS = ("path",)
_OUTPUT_KEYS = ("folder",)
_TRACK_KEYS = ("store", "tracking_uri", "experiment", "run_name", "register_as")
_LOAD_KEYS = ("model", "sha256")
#: Parameters filled in by the command, never by the config.
_SUPPLIED = {
    "explain": ("model", "screening", "histories", "spec"),
    "panel": ("screening", "explanation", "out_dir", "previous", "identities", "histories"),
    "audit": (
        "y_true",
        "y_score",
        "sensitive_features",
        "k",
        "y_prob",
        "flagged",
        "schools",
        "per_school",
        "as_of_dates",
        "groups",
        "outcome",
        "_notes",
    ),
    "card": ("screener", "comparison", "audit", "explanation", "train_data", "test_data"),
}
#: Screener parameters that are Python objects: set them in Python, not in a file.
_PYTHON_ONLY = {
    "spec": "a FeatureSpec",
    "baselines": "a dict of estimators",
}
_COHORTS = ("SchoolCohort", "SocialCareCohort", "SpellCohort")


def _params(func, drop=()) -> list[str]:
    names = [
        n
        for n, p in inspect.signature(func).parameters.items()
        if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return [n for n in names if n not in drop]


def _sections() -> dict[str, tuple[str, list[str]]]:
    """Section -> (what its keys are, the known keys)."""
    from riskscreen import Screener
    from riskscreen.evaluation import FairnessAudit
    from riskscreen.explain import explain
    from riskscreen.model_cards import ModelCard
    from riskscreen.panel import write_packs

    return {
        "data": ("a data setting", list(_DATA_KEYS)),
        "screener": ("a Screener parameter", _params(Screener.__init__)),
        "fit": ("a Screener.fit parameter", _params(Screener.fit, ("histories",))),
        "tracking": (
            "a tracking setting (riskscreen.tracking.track and load_screener)",
            [*_TRACK_KEYS, *_LOAD_KEYS],
        ),
        "explain": ("an explain parameter", _params(explain, _SUPPLIED["explain"])),
        "panel": ("a write_packs parameter", _params(write_packs, _SUPPLIED["panel"])),
        "audit": (
            "a FairnessAudit parameter",
            _params(FairnessAudit.from_predictions, _SUPPLIED["audit"]),
        ),
        "card": ("a ModelCard.from_run parameter", _params(ModelCard.from_run, _SUPPLIED["card"])),
        "output": ("an output setting", list(_OUTPUT_KEYS)),
    }


class ConfigError(ValueError):
    """A config file that cannot be used as written (the message names the key)."""


def _tuples(value):
    """TOML arrays as tuples (the library's frozen objects hold tuples), tables kept."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class CliConfig:
    """A checked config: each section a dict, paths read from ``base``.

    ``CliConfig()`` is the empty config (every default, paths from the current folder).
    """

    path: Path | None = None
    base: Path = field(default_factory=Path)
    sections: dict = field(default_factory=dict)

    def section(self, name: str) -> dict:
        return dict(self.sections.get(name, {}))

    def where(self) -> str:
        return str(self.path) if self.path is not None else "the command line"

    def _error(self, text: str) -> ConfigError:
        return ConfigError(f"{self.path}: {text}" if self.path is not None else text)

    def _path(self, value) -> Path:
        path = Path(value).expanduser()
        return path if path.is_absolute() else self.base / path

    # -- data and output ----------------------------------------------------------------------
    def histories(self, override: Path | None = None) -> Path:
        """The saved histories folder: ``--data``, else ``[data] path``."""
        if override is not None:
            return Path(override)
        value = self.section("data").get("path")
        if value is None:
            raise self._error(
                "no histories to read: give --data FOLDER or set [data] path in a --config file "
                "(a folder written by `riskscreen synth` or LinkedHistories.save)."
            )
        return self._path(value)

    def output(self, override: Path | None = None) -> Path:
        """The output folder: ``--out``, else ``[output] folder``, else riskscreen_output."""
        if override is not None:
            return Path(override)
        return self._path(self.section("output").get("folder", DEFAULT_OUTPUT))

    # -- the screener -------------------------------------------------------------------------
    def screener(self):
        """``Screener(**[screener])``, with its cohort and outcome tables built."""
        from riskscreen import Screener

        params = self.section("screener")
        if "cohort" in params:
            params["cohort"] = self._cohort(params["cohort"])
        if "outcome" in params:
            params["outcome"] = self._outcome(params["outcome"])
        return Screener(**params)

    def cohort(self):
        """The cohort of ``[screener.cohort]`` (None: the library's default)."""
        table = self.section("screener").get("cohort")
        return None if table is None else self._cohort(table)

    def _cohort(self, table):
        from riskscreen import features

        if not isinstance(table, dict):
            raise self._error(
                "config key 'screener.cohort' must be a table such as [screener.cohort] with "
                f"kind = one of {list(_COHORTS)}. Got {table!r}."
            )
        table = dict(table)
        kind = table.pop("kind", "SchoolCohort")
        if kind not in _COHORTS:
            raise self._error(
                f"config key 'screener.cohort.kind' must be one of {list(_COHORTS)} "
                f"(ListedCohort needs a DataFrame: build it in Python). Got {kind!r}."
            )
        cls = getattr(features, kind)
        known = [f.name for f in fields(cls) if f.init and not f.name.startswith("_")]
        self._check_keys("screener.cohort", table, f"a {kind} parameter", ["kind", *known])
        return cls(**table)

    def _outcome(self, value):
        from riskscreen.features import Outcome

        if isinstance(value, dict):
            known = [f.name for f in fields(Outcome)]
            self._check_keys("screener.outcome", value, "an Outcome parameter", known)
            return Outcome(**value)
        if isinstance(value, tuple):
            return tuple(self._outcome(v) for v in value)
        return value

    def fit_dates(self):
        dates = self.section("fit").get("as_of_dates")
        if dates is None:
            raise self._error(
                "config key 'fit.as_of_dates' is missing: the as-of dates to fit on, e.g. "
                'as_of_dates = ["2020-02-01", "2020-10-01", "2021-06-01", "2022-06-01"].'
            )
        return list(dates) if isinstance(dates, tuple) else dates

    # -- tracking -----------------------------------------------------------------------------
    def track_kwargs(self) -> dict:
        """Keyword arguments of :func:`riskscreen.tracking.track` (never the key)."""
        table = self.section("tracking")
        out = {k: table[k] for k in _TRACK_KEYS if k in table}
        out["store"] = self._path(table.get("store", "mlruns"))
        return out

    def load_kwargs(self) -> dict:
        """``store``/``tracking_uri``/``sha256`` of :func:`riskscreen.tracking.load_screener`."""
        table = self.section("tracking")
        out = {"store": self._path(table.get("store", "mlruns"))}
        for key in ("tracking_uri", "sha256"):
            if key in table:
                out[key] = table[key]
        return out

    def model_uri(self) -> str | None:
        return self.section("tracking").get("model")

    # -- the other calls ----------------------------------------------------------------------
    def explain_kwargs(self) -> dict:
        return self.section("explain")

    def panel_kwargs(self) -> dict:
        table = self.section("panel")
        capacity = table.get("capacity")
        if isinstance(capacity, dict):  # places per school: TOML keys are text
            try:
                table["capacity"] = {int(k): v for k, v in capacity.items()}
            except ValueError:
                raise self._error(
                    "config key 'panel.capacity' as a table must map school ids to places, "
                    'e.g. capacity = { "100001" = 6, "100002" = 4 }.'
                ) from None
        if isinstance(table.get("formats"), str):
            table["formats"] = (table["formats"],)
        return table

    def audit_kwargs(self) -> dict:
        return self.section("audit")

    def card_kwargs(self) -> dict:
        return self.section("card")

    # -- checking -----------------------------------------------------------------------------
    def _check_keys(self, section: str, table: dict, what: str, known) -> None:
        for key in table:
            if key not in known:
                raise self._error(
                    f"config key '{section}.{key}' is not {what}; known: {', '.join(known)}."
                )

    def check(self) -> CliConfig:
        """Check every section and key; return self."""
        known_sections = _sections()
        for name, table in self.sections.items():
            if name not in known_sections:
                raise self._error(
                    f"config section [{name}] is not known; known: "
                    f"{', '.join(sorted(known_sections))}."
                )
            if not isinstance(table, dict):
                raise self._error(
                    f"config key '{name}' must be a section ([{name}]). Got {table!r}."
                )
            if name == "tracking" and "key" in table:
                raise self._error(
                    "config key 'tracking.key': the signing key is never read from a file; set "
                    "the RISKSCREEN_SIGNING_KEY environment variable instead (from the "
                    "authority's secret store)."
                )
            what, known = known_sections[name]
            if name == "screener":
                for key, kind in _PYTHON_ONLY.items():
                    if key in table:
                        raise self._error(
                            f"config key 'screener.{key}' cannot be set in a config file: it is "
                            f"{kind}; build that Screener in Python and track it "
                            "(riskscreen.tracking.track), then give its URI to the command line."
                        )
            self._check_keys(name, table, what, known)
        for name, key in (("data", "path"), ("output", "folder"), ("tracking", "store")):
            value = self.sections.get(name, {}).get(key)
            if value is not None and not isinstance(value, str):
                raise self._error(
                    f"config key '{name}.{key}' must be a path written as text. Got {value!r}."
                )
        for key in _LOAD_KEYS:
            value = self.sections.get("tracking", {}).get(key)
            if value is not None and not isinstance(value, str):
                raise self._error(f"config key 'tracking.{key}' must be text. Got {value!r}.")
        if "screener" in self.sections:
            self.screener()  # builds the cohort and outcome tables: their keys are checked
        self.panel_kwargs()
        return self


def load_config(path) -> CliConfig:
    """Read and check a TOML config file (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {path} not found" + (" (it is a folder)" if path.is_dir() else "") + "."
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file (TOML is UTF-8 text).") from None
    sections = {k: _tuples(v) for k, v in raw.items()}
    return CliConfig(path=path, base=path.resolve().parent, sections=sections).check()


def config_or_default(path) -> CliConfig:
    """The config of ``--config``, or the empty one when none is given."""
    return CliConfig() if path is None else load_config(path)
