"""A ranked screening at one as-of date: :class:`Screening`, the result of ``Screener.score``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path
from riskscreen._render import markdown_table
from riskscreen.evaluation import deciles, rank_at_capacity, suppress_small_counts


@dataclass(frozen=True)
class Screening:
    """A ranked screening at one as-of date, computed once by :meth:`Screener.score`.

    Attributes
    ----------
    frame : DataFrame
        One row per pupil (index ``pupil_id``): school_id, ncyear, score (model
        log-odds; ranks by it), probability (calibrated), decile (10 = highest),
        band (low/medium/high), rank, rank_in_school, flagged (at capacity).
    features : DataFrame
        The feature rows that were scored (index pupil_id, as_of_date).
    model_info : dict
        riskscreen version, model class, params hash, fit timestamp and data fingerprint.
    as_of_date : Timestamp
    k : int
        Pupils flagged (overall, or the sum over schools when ``per_school``).
    """

    frame: pd.DataFrame
    features: pd.DataFrame
    model_info: dict
    as_of_date: pd.Timestamp
    k: int
    per_school: bool = False
    outcome: str = "suspension"
    notes: tuple[str, ...] = field(default_factory=tuple)
    #: the panel's capacity as given to the Screener (a fraction or a number of pupils)
    capacity: float | int | None = None

    @classmethod
    def from_scores(
        cls,
        X: pd.DataFrame,
        cohort: pd.DataFrame,
        score,
        probability,
        *,
        bands,
        capacity,
        per_school: bool,
        model_info: dict,
        outcome: str,
    ) -> Screening:
        """Rank the rows of ``X`` (one as-of date) by ``score`` and flag them at capacity.

        ``cohort`` gives each row's school and NC year; ties in the score are broken
        by ``pupil_id`` so the ranking never depends on row order.
        """
        info = cohort.reindex(X.index)
        pupils = X.index.get_level_values("pupil_id")
        ranks = rank_at_capacity(
            score,
            tiebreak=pd.factorize(pupils, sort=True)[0],  # keys may be numbers or text
            capacity=capacity,
            schools=info["school_id"],
            per_school=per_school,
        )
        frame = pd.DataFrame(
            {
                "school_id": info["school_id"].array,
                "ncyear": info["ncyear"].array,
                "score": score,
                "probability": probability,
                "decile": deciles(score),
                "band": bands,
            },
            index=pd.Index(pupils, name="pupil_id"),
        )
        frame[["rank", "rank_in_school", "flagged"]] = ranks.to_numpy()
        frame = frame.astype({"rank": int, "rank_in_school": int, "flagged": bool})
        return cls(
            frame=frame,
            features=X,
            model_info=model_info,
            as_of_date=pd.Timestamp(X.index.get_level_values("as_of_date")[0]),
            k=int(frame["flagged"].sum()),
            per_school=per_school,
            outcome=outcome,
            capacity=capacity,
        )

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    def flagged(self) -> pd.DataFrame:
        """The flagged pupils, highest risk first."""
        return self.frame[self.frame["flagged"]].sort_values("rank")

    def summary(self) -> pd.DataFrame:
        """Pupils and flags per band, with the mean calibrated probability.

        Counts under 5 are suppressed (blank, with secondary suppression within
        each column, since the totals are shown elsewhere) and the mean probability
        of a band whose pupil count is hidden is withheld; ``suppressed`` says so.
        """
        g = self.frame.groupby("band", observed=False)
        out = pd.DataFrame(
            {
                "n_pupils": g.size().astype("Int64"),
                "n_flagged": g["flagged"].sum().astype("Int64"),
                "mean_probability": g["probability"].mean(),
            }
        )
        hidden = {c: suppress_small_counts(out[c]) for c in ("n_pupils", "n_flagged")}
        for col, mask in hidden.items():
            out.loc[mask, col] = pd.NA
        out.loc[hidden["n_pupils"], "mean_probability"] = np.nan
        out["suppressed"] = hidden["n_pupils"] | hidden["n_flagged"]
        return out

    def _header(self) -> str:
        scope = "per school" if self.per_school else "overall"
        return (
            f"Screening for {self.outcome} at {self.as_of_date.date()}: "
            f"{len(self.frame)} pupils, {self.k} flagged ({scope}); model "
            f"{self.model_info.get('model_class')} (riskscreen "
            f"{self.model_info.get('riskscreen_version')}, params "
            f"{self.model_info.get('params_hash')})."
        )

    def to_markdown(self, max_rows: int = 20) -> str:
        top = self.frame.sort_values("rank").head(max_rows).round({"score": 3, "probability": 3})
        return "\n\n".join(
            [self._header(), markdown_table(self.summary().round(3)), markdown_table(top)]
        )

    def to_html(self, max_rows: int = 20) -> str:
        top = self.frame.sort_values("rank").head(max_rows)
        return (
            f"<div><p>{self._header()}</p>{self.summary().to_html(float_format='%.3f')}"
            f"<p>Top {min(max_rows, len(top))} pupils</p>{top.to_html(float_format='%.3f')}</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Screening {self._header()}>"

    def write_csv(self, path) -> Path:
        """Write the per-pupil table, highest risk first, atomically."""
        with atomic_path(path) as tmp:
            self.frame.sort_values("rank").to_csv(tmp)
        return Path(path)
