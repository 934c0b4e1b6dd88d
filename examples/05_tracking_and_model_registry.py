# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 5. Tracking runs and the model registry: which model made this list?
#
# **For** the analyst who hands a model over to the monthly run, and for whoever has
# to answer, a year later, "which model produced this list, trained on what, and how
# good was it?". **At the end you will have** logged a fitted screener as an MLflow run
# in a local store (parameters, metrics with intervals, the feature spec, a fingerprint
# of the data, and its model card and transparency record), registered two versions
# of it under one name, marked the one in use, and loaded it back -- after riskscreen
# checked that nobody changed the file.
#
# Everything runs on this machine: MLflow's local store is a SQLite file and a folder,
# with no server. Only aggregate information goes to it: never pupil keys or rows.
#
# Run: `python examples/05_tracking_and_model_registry.py` (set
# `RISKSCREEN_EXAMPLE_PUPILS` to change the size). The store is written to a temporary
# folder; to browse it, `pip install 'riskscreen[ui]'` and run the `mlflow ui` command
# printed at the end.

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from mlflow import MlflowClient

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.evaluation import compare_scores
from riskscreen.features import build_dataset
from riskscreen.model_cards import ModelCard
from riskscreen.tracking import ArtifactIntegrityError, load_screener, track

N_PUPILS = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
MODEL_NAME = "suspension-screener"
pd.set_option("display.width", 120)

# %% [markdown]
# ## A screener worth recording
#
# As in notebook 01: features and labels on earlier dates, a screener fitted on them
# and evaluated against the rule baselines on a later date. We keep the two Datasets:
# the model card reports the cohorts, outcomes and censoring they hold.

# %%
histories = make_linked_histories(n_pupils=N_PUPILS, seed=1)
fit_dates = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
test_date = "2023-06-01"
train = build_dataset(histories, fit_dates, outcome="suspension", horizon="12M")
test = build_dataset(histories, [test_date], outcome="suspension", horizon="12M", sensitive=True)

screener = Screener(model="scorecard", horizon="12M", capacity=0.05, n_bootstrap=100).fit(train)
comparison = screener.evaluate(test)
screening = screener.score(test)
explanation = screener.explain(screening, pupils="flagged")
for sentence in comparison.sentences()[:2]:
    print(sentence)

# %% [markdown]
# ## The model card
#
# `ModelCard.from_run` writes the card from the run's own objects: model details,
# intended and out-of-scope uses, metrics at capacity with intervals, the comparison
# with the baselines, the data, the fairness audit, the features in words, ethical
# considerations and human oversight. Every count goes through the small-number
# rule. What only the authority can say -- who owns the tool, the DPIA, the review
# date -- is passed as `authority=`; until it is, the card says "To complete by the
# authority".

# %%
card = ModelCard.from_run(
    screener,
    comparison,
    explanation=explanation,
    train_data=train,
    test_data=test,
    authority={"organisation": "Synthetic Borough Council", "owner": "Head of Early Help"},
    caveats=["Fitted on synthetic data: an example, not a tool for real children."],
)
print(repr(card))
print("Still to complete:", ", ".join(card.to_complete[:4]), "...")
print("\n".join(card.transparency_record().to_markdown().splitlines()[:10]))

# %% [markdown]
# The transparency record above is the Algorithmic Transparency Recording Standard
# (ATRS) record that UK public bodies publish, written from the same numbers. In a
# notebook, `card` on its own renders the whole card as HTML.
#
# ## Log the run, register the model
#
# `track` logs everything as one MLflow run and saves the screener in riskscreen's
# code-free format (JSON and arrays: loading it never runs code from the store). With
# `key=`, the file is **signed** with the authority's key, so a changed file is refused
# on loading. `register_as=` adds it to the model registry as a new version of that
# name; `card=` logs the card's files with the run.
#
# The key here is made up. A real one lives in the authority's secret store and
# reaches the run through the `RISKSCREEN_SIGNING_KEY` environment variable -- never
# written in a notebook or a config file.

# %%
store = Path(tempfile.mkdtemp(prefix="riskscreen_tracking_")) / "mlruns"
KEY = "example-signing-key-not-for-real-use"
run = track(
    screener,
    store=store,
    run_name="scorecard-suspension-12m",
    evaluation=comparison,
    screening=screening,
    register_as=MODEL_NAME,
    key=KEY,
    card=card,
)
print(run)
print(f"Registered as {MODEL_NAME} version {run.registered_version}; sha256 {run.sha256[:16]}...")

# %% [markdown]
# What the run holds, read back with MLflow's own client: the test metrics (each with
# its interval bounds), the tags that pin the data and the code, and the files.

# %%
client = MlflowClient(run.tracking_uri)
logged = client.get_run(run.run_id)
metrics = pd.Series(logged.data.metrics)
print(metrics.filter(like="test.scorecard.precision_at_k").round(3))
pins = ["version", "model_class", "params_hash", "data_fingerprint", "fit_timestamp"]
print({name: logged.data.tags[f"riskscreen.{name}"] for name in pins})
print([f.path for f in client.list_artifacts(run.run_id, "model_card")])

# %% [markdown]
# ## A second version, and the one in use
#
# Next year the analyst tries LightGBM on the same data. It is logged and registered
# under the same name, as version 2.

# %%
challenger = Screener(model="lightgbm", horizon="12M", capacity=0.05, n_bootstrap=100).fit(train)
challenger_comparison = challenger.evaluate(test)
challenger_screening = challenger.score(test)
run_2 = track(
    challenger,
    store=store,
    run_name="lightgbm-suspension-12m",
    evaluation=challenger_comparison,
    screening=challenger_screening,
    register_as=MODEL_NAME,
    key=KEY,
)
print(f"Registered as {MODEL_NAME} version {run_2.registered_version}")

# %% [markdown]
# Is version 2 better? Each run compared its model with the rule baselines; to compare
# the two models with each other, score the same pupils with both and let
# `compare_scores` judge the paired difference on the same resamples of pupils
# (pupils whose outcome is unknown keep their places on the list but count neither
# way).

# %%
y = test.y.droplevel("as_of_date").reindex(screening.frame.index)
head_to_head = compare_scores(
    y,
    {
        "lightgbm": challenger_screening.frame["score"].reindex(y.index),
        "scorecard": screening.frame["score"],
    },
    k=0.05,
    groups=y.index,
    n_bootstrap=100,
    censored="keep",
)
print(head_to_head.formatted()[["precision@k", "recall@k", "AP", "ROC AUC"]].to_string())
for verdict in head_to_head.verdicts():
    print(verdict)

# %% [markdown]
# Which version the monthly run uses is a decision, recorded as an **alias** on the
# registered model ("champion" here); moving the alias is how a new model goes live,
# and how it is rolled back. If the challenger is not *clearly* better, the simpler,
# more explainable scorecard stays in use; here we keep version 1 and say why on the
# version itself.

# %%
client.set_registered_model_alias(MODEL_NAME, "champion", run.registered_version)
client.update_model_version(
    MODEL_NAME,
    run.registered_version,
    description="In use for the monthly panels (see the head-to-head on the test date).",
)
print(f"Aliases of {MODEL_NAME}: {client.get_registered_model(MODEL_NAME).aliases}")

# %% [markdown]
# ## Load it back -- checked first
#
# `load_screener` takes a run URI, a registry URI (`models:/<name>/<version>`, or an
# alias in place of the version) or a run id. It checks the file against the signing
# key (or against the sha256 you kept when you tracked it) **before** reading it, and
# the loaded screener scores exactly as the original.

# %%
champion = load_screener(f"models:/{MODEL_NAME}/champion", store=store, key=KEY)
again = champion.score(histories, test_date)
assert np.array_equal(again.frame["probability"], screening.frame["probability"])
print(f"Loaded the champion: {type(champion.model_).__name__}, same scores as when tracked")

by_hash = load_screener(run_2.screener_uri, store=store, sha256=run_2.sha256)
print(f"Loaded version 2 by its sha256: {type(by_hash.model_).__name__}")

# %% [markdown]
# The check is not a formality. A wrong key is refused, and so is a file changed
# after it was logged -- by anyone who can write to the store, who could also change
# a hash kept there, which is why the hash or key must come from *outside* the store.

# %%
try:
    load_screener(f"models:/{MODEL_NAME}/1", store=store, key="someone-elses-key")
except ArtifactIntegrityError as error:
    print(f"Wrong key: {error}")

saved = next(p for p in store.rglob("screener.rss") if run.run_id in str(p))
changed = bytearray(saved.read_bytes())
changed[-10] ^= 1  # one bit flipped in the run's saved screener
saved.write_bytes(bytes(changed))
try:
    load_screener(run.screener_uri, store=store, key=KEY)
except ArtifactIntegrityError as error:
    print(f"Changed file: {error}")

# %% [markdown]
# To browse the runs, their metrics and the model card in MLflow's web UI:

# %%
print(f"mlflow ui --backend-store-uri {run.tracking_uri}")

# %% [markdown]
# ## What not to conclude
#
# - A registered model is not an approved model: the registry records what was
#   decided and by whom; the decision itself belongs to the authority's governance.
# - Metrics logged with a run describe the test date they were measured on. Re-run
#   the evaluation on new data before each review date in the model card.
# - A signature proves the file is the one that was logged, not that the model is
#   good or fair: that is what the comparison and the audit are for.
