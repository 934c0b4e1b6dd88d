"""A model card generated from a run: :class:`ModelCard`."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from riskscreen._files import write_text
from riskscreen.model_cards import _sections as sections
from riskscreen.model_cards._authority import AUTHORITY_FIELDS, check_authority
from riskscreen.model_cards._blocks import Section, section_dict
from riskscreen.model_cards._facts import gather
from riskscreen.model_cards._figures import draw
from riskscreen.model_cards._render import render

#: File names written by :meth:`ModelCard.write`.
CARD_FILES = {
    "markdown": "model_card.md",
    "html": "model_card.html",
    "json": "model_card.json",
    "record_markdown": "atrs_record.md",
    "record_json": "atrs_record.json",
}
FIGURES = "figures"
SCHEMA = "riskscreen.model_card/1"


def _check_run(screener, comparison, audit, explanation, train_data, test_data) -> None:
    from sklearn.utils.validation import check_is_fitted

    from riskscreen.evaluation import Comparison, FairnessAudit
    from riskscreen.explain import Explanation
    from riskscreen.features import Dataset

    owner = "ModelCard.from_run"
    check_is_fitted(screener, "model_")
    if not isinstance(comparison, Comparison):
        raise ValueError(
            f"The 'comparison' parameter of {owner} must be the Comparison returned by "
            f"Screener.evaluate. Got {type(comparison).__name__} instead."
        )
    name = screener.model_info_["model_name"]
    if comparison.reference != name or name not in comparison.table.index:
        raise ValueError(
            f"{owner}: the comparison's reference scorer is {comparison.reference!r}, not this "
            f"screener's model {name!r}; pass the Comparison its evaluate() returned."
        )
    if audit is not None and not isinstance(audit, FairnessAudit):
        raise ValueError(
            f"The 'audit' parameter of {owner} must be a FairnessAudit or None. "
            f"Got {type(audit).__name__} instead."
        )
    if explanation is not None:
        if not isinstance(explanation, Explanation):
            raise ValueError(
                f"The 'explanation' parameter of {owner} must be an Explanation or None. "
                f"Got {type(explanation).__name__} instead."
            )
        keys = ("params_hash", "fit_timestamp")
        if any(explanation.model_info.get(k) != screener.model_info_.get(k) for k in keys):
            raise ValueError(
                f"{owner}: the explanation was made with another screener (its model parameters "
                "or fit time differ); explain a screening of this screener."
            )
    for pname, data in (("train_data", train_data), ("test_data", test_data)):
        if data is None:
            continue
        if not isinstance(data, Dataset) or data.y is None:
            raise ValueError(
                f"The {pname!r} parameter of {owner} must be a labelled Dataset "
                f"(build_dataset(..., outcome=...)) or None. Got {type(data).__name__} instead."
            )
        if data.outcome != screener.model_info_["outcome"]:
            raise ValueError(
                f"The {pname!r} parameter of {owner} is labelled {data.outcome!r}; the screener "
                f"screens {screener.model_info_['outcome']!r}."
            )
    if train_data is not None:
        given = train_data.fingerprint.get("combined") if train_data.fingerprint else None
        fitted = screener.model_info_.get("data_fingerprint")
        if given and fitted and given != fitted:
            raise ValueError(
                f"{owner}: 'train_data' was built from other histories than the screener was "
                f"fitted on (data fingerprint {given} vs {fitted})."
            )


@dataclass(frozen=True, repr=False)
class ModelCard:
    """A model card (Mitchell et al., 2019) of one run, computed once, rendered many ways.

    Built by :meth:`from_run`. Its :attr:`sections` are model details, intended
    use and out-of-scope uses, factors, metrics at capacity, the comparison
    with rule baselines, training and evaluation data, quantitative analyses
    (calibration and the fairness audit), features and what moves the score,
    ethical considerations and caveats, human oversight and the fields the
    authority must complete. It renders as Markdown (:meth:`to_markdown`),
    self-contained HTML that opens and prints with no network
    (:meth:`to_html`, ``_repr_html_``) and JSON (:meth:`to_dict`), and gives the
    authority's transparency record (:meth:`transparency_record`).

    Attributes
    ----------
    title : str
    sections : tuple of Section
        Each a key, a title and blocks (paragraphs, bullets, fields, tables, figures).
    data : dict
        The numbers and words the sections are written from, JSON-ready: every
        metric with its interval, every count through the small-number rule
        (``None`` when hidden), never an identifier.
    authority : dict
        The authority's fields (None where still to complete).
    generated : str
        When the card was generated (UTC, ISO 8601).
    version : str
        riskscreen's version.
    """

    title: str
    sections: tuple[Section, ...]
    data: dict
    authority: dict
    generated: str
    version: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_run(
        cls,
        screener,
        comparison,
        audit=None,
        explanation=None,
        *,
        train_data=None,
        test_data=None,
        title: str | None = None,
        authority=None,
        caveats=(),
        figures: bool = True,
    ) -> ModelCard:
        """Generate the card of a fitted screener from the objects its run produced.

        Parameters
        ----------
        screener : Screener
            Fitted (model details, dates, parameters, feature spec, baselines).
        comparison : Comparison
            From :meth:`Screener.evaluate` on later as-of dates: metrics at
            capacity with intervals, the rule baselines, paired verdicts, bands.
        audit : FairnessAudit, optional
            The fairness audit of the same list; default ``comparison.audit``
            (``Screener.evaluate`` audits by default).
        explanation : Explanation, optional
            From :func:`riskscreen.explain.explain` on a screening of this
            screener: the global importance of each reason group.
        train_data, test_data : Dataset, optional
            The labelled Datasets the screener was fitted and evaluated on: cohort
            sizes, outcomes, censoring per as-of date and the end of data.
            Without them the card gives what the screener and comparison record.
        title : str, optional
            The tool's name (default: "riskscreen <model> screener for <outcome>").
        authority : mapping, optional
            The fields only the authority can fill in (owner, dpia_reference,
            review_date, organisation, contact_email, ...; see
            :data:`riskscreen.model_cards.AUTHORITY_FIELDS`). Missing ones are
            marked "To complete by the authority".
        caveats : sequence of str
            More caveats for the ethical considerations (e.g. "trained on
            synthetic data").
        figures : bool, default True
            Draw the plots (needs matplotlib; without it the card has none).

        Returns
        -------
        ModelCard

        Examples
        --------
        >>> comparison = screener.evaluate(test)  # doctest: +SKIP
        >>> card = ModelCard.from_run(screener, comparison, explanation=explanation,
        ...                           authority={"owner": "Head of Early Help"})  # doctest: +SKIP
        >>> card.write("model_card")  # doctest: +SKIP
        """
        from riskscreen import __version__

        _check_run(screener, comparison, audit, explanation, train_data, test_data)
        audit = comparison.audit if audit is None else audit
        fields = check_authority(authority, "ModelCard.from_run")
        facts = gather(screener, comparison, audit, explanation, train_data, test_data)
        facts["authority"] = fields
        facts["caveats"] = [str(c) for c in caveats]
        drawn = draw(facts, audit, explanation) if figures else {}
        title = title or (
            f"riskscreen {facts['model']['name']} screener for {facts['metrics']['outcome']}"
        )
        generated = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        labels = AUTHORITY_FIELDS
        parts = (
            sections.model_details(facts, title, generated),
            sections.intended_use(facts),
            sections.factors(facts),
            sections.metrics(facts, drawn.get("metrics", [])),
            sections.baselines(facts, drawn.get("baselines", [])),
            sections.data(facts),
            sections.quantitative(facts, drawn.get("quantitative_analyses", []), audit),
            sections.features(facts, drawn.get("features", [])),
            sections.ethics(facts, facts["caveats"]),
            sections.oversight(facts, fields, labels),
            sections.to_complete(fields, labels),
        )
        notes = () if drawn or not figures else ("No figures: matplotlib is not installed.",)
        return cls(
            title=title,
            sections=parts,
            data=facts,
            authority=fields,
            generated=generated,
            version=__version__,
            notes=notes,
        )

    # -- reading -------------------------------------------------------------------------------
    def section(self, key: str) -> Section:
        """The section with this key (e.g. ``"metrics"``)."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(f"No section {key!r}; sections: {[s.key for s in self.sections]}.")

    @property
    def figures(self) -> list:
        """Every figure of the card, in order."""
        return [f for s in self.sections for f in s.figures]

    @property
    def to_complete(self) -> list[str]:
        """Labels of the fields the authority has still to complete."""
        labels = []
        for s in self.sections:
            labels += [f.label for f in s.fields_to_complete if f.label not in labels]
        return labels

    def describes(self, screener) -> bool:
        """Whether this is the card of ``screener`` (same parameters and fit time)."""
        info = getattr(screener, "model_info_", {})
        m = self.data["model"]
        return info.get("params_hash") == m["params_hash"] and (
            info.get("fit_timestamp") == m["fit_timestamp"]
        )

    def transparency_record(self):
        """The authority's ATRS record written from this card (a :class:`TransparencyRecord`)."""
        from riskscreen.model_cards._atrs import TransparencyRecord

        return TransparencyRecord.from_card(self)

    # -- rendering -----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The card as JSON-ready data: its sections (what is read) and ``data`` (numbers)."""
        return {
            "schema": SCHEMA,
            "title": self.title,
            "generated": self.generated,
            "riskscreen_version": self.version,
            "sections": [section_dict(s) for s in self.sections],
            "figures": {f.name: f"{FIGURES}/{f.name}.svg" for f in self.figures},
            "to_complete": self.to_complete,
            "data": self.data,
        }

    def to_json(self, indent: int = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)

    def to_markdown(self, figure_dir: str | None = None) -> str:
        """The card as Markdown; with ``figure_dir``, figures are linked as ``<dir>/<name>.svg``
        (:meth:`write_markdown` writes them), otherwise named and left to the HTML card."""
        return render("model_card.md.j2", card=self, figure_dir=figure_dir)

    def to_html(self) -> str:
        """A self-contained HTML page: plots inline as SVG, no script, no external resource."""
        return render("model_card.html.j2", card=self, fragment=False)

    def _repr_html_(self) -> str:
        return render("model_card.html.j2", card=self, fragment=True)

    def __repr__(self) -> str:
        m = self.data["metrics"]
        return (
            f"<ModelCard {self.title!r}: {len(self.sections)} sections, {len(self.figures)} "
            f"figures, {len(self.to_complete)} fields to complete; reference {m['reference']}>"
        )

    # -- writing -------------------------------------------------------------------------------
    def write_figures(self, folder) -> list[Path]:
        """Write each figure as ``<folder>/<name>.svg`` (atomically)."""
        folder = Path(folder)
        return [write_text(folder / f"{f.name}.svg", f.svg) for f in self.figures]

    def write_markdown(self, path) -> Path:
        """Write the Markdown card, with its figures in ``figures/`` beside it."""
        path = Path(path)
        self.write_figures(path.parent / FIGURES)
        return write_text(path, self.to_markdown(figure_dir=FIGURES))

    def write_html(self, path) -> Path:
        return write_text(path, self.to_html())

    def write_json(self, path) -> Path:
        return write_text(path, self.to_json())

    def write(self, folder) -> dict[str, Path]:
        """Write the card (Markdown with its figures, HTML, JSON) and its ATRS record.

        Every file is written atomically; returns the paths by kind (see
        :data:`CARD_FILES`).
        """
        folder = Path(folder)
        record = self.transparency_record()
        return {
            "markdown": self.write_markdown(folder / CARD_FILES["markdown"]),
            "html": self.write_html(folder / CARD_FILES["html"]),
            "json": self.write_json(folder / CARD_FILES["json"]),
            "record_markdown": record.write_markdown(folder / CARD_FILES["record_markdown"]),
            "record_json": record.write_json(folder / CARD_FILES["record_json"]),
        }

    def log(self, run, *, artifact_path: str = "model_card") -> str:
        """Log the card's files (see :meth:`write`) as artefacts of an MLflow run.

        Parameters
        ----------
        run : TrackedRun
            From :func:`riskscreen.tracking.track` (or anything with ``run_id``
            and ``tracking_uri``). ``track(..., card=card)`` does the same while
            the run is being logged.
        artifact_path : str, default "model_card"

        Returns
        -------
        str
            The artefacts' URI, ``runs:/<run_id>/<artifact_path>``.
        """
        from riskscreen.tracking._store import client, quiet

        with quiet(), tempfile.TemporaryDirectory() as tmp:
            self.write(tmp)
            client(run.tracking_uri).log_artifacts(run.run_id, tmp, artifact_path)
        return f"runs:/{run.run_id}/{artifact_path}"
