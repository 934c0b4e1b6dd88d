"""The TOML config: one section per public call, every key checked and named when wrong."""

from __future__ import annotations

import pytest
from _cli_cases import EXAMPLE, NO_KEY, invoke, one_error_line, with_line, write_config

from riskscreen import Screener
from riskscreen._cli_config import CliConfig, ConfigError, load_config
from riskscreen.features import Outcome, SchoolCohort, SocialCareCohort, SpellCohort


def test_the_example_config_maps_onto_the_public_constructors(tmp_path):
    config = load_config(EXAMPLE)
    screener = config.screener()
    assert isinstance(screener, Screener)
    assert screener.get_params()["capacity"] == 0.05
    assert screener.model == "scorecard" and screener.horizon == "12M"
    assert screener.cohort == SchoolCohort(ncyears=(5, 11))
    assert len(config.fit_dates()) == 6
    # relative paths are read from the config file's folder, not the current one
    assert config.histories() == EXAMPLE.parent / "synthetic_la"
    assert config.output() == EXAMPLE.parent / "riskscreen_output"
    assert config.track_kwargs()["store"] == EXAMPLE.parent / "mlruns"
    assert config.track_kwargs()["experiment"] == "monthly-panel"
    assert config.panel_kwargs()["formats"] == ("xlsx", "html", "csv")
    assert config.card_kwargs()["authority"] == {"owner": "Head of Early Help (example)"}
    # command-line options win over the file
    assert config.histories(tmp_path / "other") == tmp_path / "other"
    assert config.output(tmp_path / "out") == tmp_path / "out"


def test_nested_tables_build_cohorts_and_outcomes(tmp_path):
    path = write_config(
        tmp_path / "c.toml",
        """
[screener]
capacity = 40
outcome = [
  "suspension",
  { name = "withdrawal", source = "missing_education", where = { kind = "ehe" } },
]
[screener.cohort]
kind = "SocialCareCohort"
lookback = "180D"
kinds = ["cin_plan", "cp_plan"]
[panel]
capacity = { "100001" = 6, "100002" = 4 }
formats = "html"
""",
    )
    config = load_config(path)
    screener = config.screener()
    assert screener.capacity == 40
    assert screener.cohort == SocialCareCohort(lookback="180D", kinds=("cin_plan", "cp_plan"))
    first, second = screener.outcome
    assert first == "suspension" and isinstance(second, Outcome) and second.name == "withdrawal"
    assert config.panel_kwargs() == {"capacity": {100001: 6, 100002: 4}, "formats": ("html",)}
    spell = write_config(
        tmp_path / "s.toml",
        '[screener.cohort]\nkind = "SpellCohort"\nsource = "social_care"\n'
        'where = { kind = "looked_after" }\n',
    )
    assert isinstance(load_config(spell).cohort(), SpellCohort)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "[screener]\ncapacty = 0.05\n",
            "config key 'screener.capacty' is not a Screener parameter; known: outcome, "
            "horizon, spec, cohort, model, baselines, capacity,",
        ),
        (
            "[screenr]\nmodel = 'scorecard'\n",
            "config section [screenr] is not known; known: audit,",
        ),
        (
            "[fit]\ndates = ['2020-01-01']\n",
            "config key 'fit.dates' is not a Screener.fit parameter",
        ),
        ("[panel]\nformat = 'xlsx'\n", "config key 'panel.format' is not a write_packs parameter"),
        (
            "[audit]\nmin_group = 5\n",
            "config key 'audit.min_group' is not a FairnessAudit parameter",
        ),
        ("[card]\ntitel = 'x'\n", "config key 'card.titel' is not a ModelCard.from_run parameter"),
        ("[explain]\nreasons = 2\n", "config key 'explain.reasons' is not an explain parameter"),
        ("[output]\nfolders = 'x'\n", "config key 'output.folders' is not an output setting"),
        ("[data]\npath = 3\n", "config key 'data.path' must be a path written as text"),
        ("[tracking]\nkey = 'secret'\n", "the signing key is never read from a file"),
        ("[tracking]\nuri = 'x'\n", "config key 'tracking.uri' is not a tracking setting"),
        ("[screener]\nspec = 'default'\n", "config key 'screener.spec' cannot be set in a config"),
        (
            "[screener.cohort]\nkind = 'SchoolCohort'\nncyear = [5, 11]\n",
            "config key 'screener.cohort.ncyear' is not a SchoolCohort parameter; known: kind, "
            "ncyears,",
        ),
        ("[screener.cohort]\nkind = 'ListedCohort'\n", "ListedCohort needs a DataFrame"),
        (
            "[screener]\noutcome = { name = 'x', table = 'y' }\n",
            "config key 'screener.outcome.table' is not an Outcome parameter",
        ),
        ("[panel]\ncapacity = { north = 3 }\n", "must map school ids to places"),
        ("[screener\nmodel = 1\n", "not valid TOML"),
        ("data = 'synthetic_la'\n", "config key 'data' must be a section ([data])"),
    ],
)
def test_bad_config_keys_are_named(tmp_path, text, expected):
    path = write_config(tmp_path / "bad.toml", text)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert expected in str(error.value)
    assert str(error.value).startswith(f"{path}: ")


def test_a_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="config file .*nowhere.toml not found"):
        load_config(tmp_path / "nowhere.toml")
    with pytest.raises(ConfigError, match="no histories to read: give --data"):
        CliConfig().histories()


def test_fit_refuses_a_bad_config_key_before_any_work(fitted, tmp_path):
    bad = with_line(fitted.config, "capacity = 0.05", "capacty = 0.05", tmp_path / "bad.toml")
    result = invoke("fit", "--config", bad, "--data", fitted.data, "--out", tmp_path / "out")
    line = one_error_line(result)
    assert "config key 'screener.capacty' is not a Screener parameter; known: " in line
    assert "capacity" in line and str(bad) in line
    assert not (tmp_path / "out").exists()


def test_fit_names_an_unknown_outcome(fitted, tmp_path):
    bad = with_line(
        fitted.config, 'outcome = "suspension"', 'outcome = "suspensions"', tmp_path / "o.toml"
    )
    result = invoke("fit", "--config", bad, "--data", fitted.data, "--out", tmp_path / "out")
    line = one_error_line(result)
    assert "The 'outcome' parameter of Screener must be one of" in line
    assert "'suspensions'" in line
    assert not (tmp_path / "out" / "model.json").exists()


def test_fit_says_what_to_do_without_a_signing_key(fitted, tmp_path):
    result = invoke("fit", "--config", fitted.config, "--out", tmp_path / "out", key=NO_KEY)
    line = one_error_line(result)
    assert "RISKSCREEN_SIGNING_KEY is not set" in line and "export RISKSCREEN_SIGNING_KEY" in line
    assert not (tmp_path / "out").exists()


def test_fit_names_a_missing_config_file(tmp_path):
    result = invoke("fit", "--config", tmp_path / "nowhere.toml")
    assert "nowhere.toml not found" in one_error_line(result)


def test_the_readme_config_is_a_valid_config(tmp_path):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
    config = load_config(write_config(tmp_path / "readme.toml", block))
    assert config.screener().get_params()["outcome"] == "suspension"
    assert config.histories() == tmp_path / "synthetic_la"
