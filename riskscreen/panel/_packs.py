"""Panel packs: a ranked list per school, computed once, written as Excel, HTML and CSV."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table
from riskscreen.evaluation import resolve_k, suppress_small_counts
from riskscreen.panel._changes import list_changes
from riskscreen.panel._involvement import INVOLVEMENT, current_involvement

#: Columns the panel fills in; everything else in a pack is checked when read back.
DECISION_COLUMNS = ("Decision", "Action", "Lead professional", "Review date")
#: The decisions a panel can record (a drop-down in the Excel pack).
DECISIONS = (
    "Offer support",
    "Already supported",
    "Monitor",
    "No further action",
    "Refer to children's social care",
)
#: Suggested actions (a drop-down that also accepts other words); "Offer support"
#: with an action becomes an intervention when decisions are read back.
ACTIONS = (
    "Mentoring",
    "Attendance support",
    "Family support (early help)",
    "SEMH or counselling support",
    "Behaviour support",
    "SEN assessment",
    "Alternative provision",
    "Other",
)
SUPPRESSED = "c"
LIST_COLUMNS = ["as_of_date", "school_id", "list_rank", "pupil_id", "probability", "score", "band"]


def school_label(school_id) -> str:
    return "no school" if pd.isna(school_id) else str(int(school_id))


def _outcome_words(outcome: str) -> str:
    return " or ".join(o.replace("_", " ") for o in str(outcome).split("|"))


def suppressed_text(counts) -> list[str]:
    """Counts as text, with small ones (and their secondary) shown as "c"."""
    counts = np.asarray(counts, dtype=int)
    hidden = suppress_small_counts(counts)
    return [SUPPRESSED if h else str(c) for c, h in zip(counts, hidden, strict=True)]


@dataclass(frozen=True)
class PanelPacks:
    """The panel lists of one screening, per school, with an authority summary.

    Attributes
    ----------
    lists : DataFrame
        One row per listed pupil: school_id, list_rank (1 = highest risk in the
        school), pupil_id, ncyear, band, probability, score, rank (overall),
        reason_1 ... reason_n, involvement, change, previous_rank.
    left : DataFrame
        Pupils on the previous list who are not on this one: school_id, pupil_id,
        previous_rank, why ("left the school", "risk fell", "below capacity").
    summary : DataFrame
        Per school (and in total): pupils screened, on the list, new to it, who
        left it, and current involvement of those listed, as text with counts
        under 5 (and their secondary) shown as "c".
    """

    lists: pd.DataFrame
    left: pd.DataFrame
    summary: pd.DataFrame
    as_of_date: pd.Timestamp
    previous_date: pd.Timestamp | None
    outcome: str
    horizon: str | None
    capacity: str
    model_info: dict
    n_reasons: int
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def schools(self) -> list:
        """Schools with a pack: someone on the list, or someone who left it."""
        ids = pd.concat([self.lists["school_id"], self.left["school_id"]]).drop_duplicates()
        return sorted(ids.tolist(), key=lambda s: (pd.isna(s), 0 if pd.isna(s) else int(s)))

    def _in(self, frame: pd.DataFrame, school_id) -> pd.DataFrame:
        school = frame["school_id"]
        return frame[school.isna()] if pd.isna(school_id) else frame[school == school_id]

    def pack(self, school_id) -> pd.DataFrame:
        """The school's list as the panel reads it (decision columns empty)."""
        rows = self._in(self.lists, school_id).sort_values("list_rank")
        out = pd.DataFrame(
            {
                "Rank": rows["list_rank"].to_numpy(dtype=int),
                "Reference": rows["pupil_id"].to_numpy(),
                "NC year": rows["ncyear"].to_numpy(),
                "Risk band": rows["band"].astype(str).to_numpy(),
            }
        )
        for i in range(1, self.n_reasons + 1):
            words = rows[f"reason_{i}"].astype(str)
            out[f"Reason {i}"] = (words.str[:1].str.upper() + words.str[1:]).to_numpy()
        out["Current involvement"] = rows["involvement"].to_numpy()
        out["Since last panel"] = rows["change"].to_numpy()
        for col in DECISION_COLUMNS:
            out[col] = ""
        return out

    def left_pack(self, school_id) -> pd.DataFrame:
        """Pupils who left the school's list since the previous one, and why."""
        rows = self._in(self.left, school_id)
        return pd.DataFrame(
            {
                "Reference": rows["pupil_id"].to_numpy(),
                "Was ranked": rows["previous_rank"].to_numpy(dtype=int),
                "Why": rows["why"].astype(str).to_numpy(),
            }
        )

    def header_lines(self, school_id) -> list[str]:
        """The words above a school's list."""
        horizon = ""
        if self.horizon:
            from riskscreen import parse_duration

            horizon = f" in the {parse_duration(self.horizon).words()} after it"
        lines = [
            f"Team around the school panel list: school {school_label(school_id)}",
            f"Screening of {self.as_of_date:%d %B %Y}. Pupils are ranked by the model's "
            f"estimated risk of {_outcome_words(self.outcome)}{horizon}, up to the "
            f"school's capacity ({self.capacity}).",
            "Reasons say what raised or lowered each pupil's score most, in the model's "
            "terms: prompts for the panel's judgement, not findings. Current involvement "
            "is the support recorded on the screening date.",
        ]
        if self.previous_date is not None:
            rows = self._in(self.lists, school_id)["change"].astype(str)
            kinds = [
                rows.eq("new to the list").sum(),
                rows.str.startswith("up from").sum(),
                rows.str.startswith("down from").sum(),
                rows.eq("same place").sum(),
            ]
            new, up, down, same = suppressed_text(kinds)
            (left,) = suppressed_text([len(self._in(self.left, school_id))])
            lines.append(
                f"Since the list of {self.previous_date:%d %B %Y}: {new} new to the list, "
                f"{up} moved up, {down} moved down, {same} in the same place; {left} left "
                "the list (see 'Left the list')."
            )
        lines.append(
            f"Counts under 5 are shown as '{SUPPRESSED}'. Fill in only "
            f"{', '.join(DECISION_COLUMNS[:-1])} and {DECISION_COLUMNS[-1]}; the rest "
            "is checked when the pack is read back."
        )
        return lines

    # -- rendering -----------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        return self.lists.copy()

    def _title(self) -> str:
        prev = "" if self.previous_date is None else f", compared with {self.previous_date.date()}"
        return (
            f"Panel packs for the {_outcome_words(self.outcome)} screening at "
            f"{self.as_of_date.date()}{prev}: {len(self.schools)} school packs; the lists "
            f"hold {self.capacity}."
        )

    def to_markdown(self) -> str:
        return "\n\n".join([self._title(), *self.notes, markdown_table(self.summary)])

    def to_html(self) -> str:
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return f"<div><p>{html.escape(self._title())}</p>{notes}{self.summary.to_html()}</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<PanelPacks {self._title()}>"

    def write(self, out_dir, *, formats=("xlsx", "html", "csv"), identities=None) -> list[Path]:
        """Write every school's pack, the summary and the list record; return the paths.

        See :func:`write_packs`.
        """
        from riskscreen.panel._write import write_all

        return write_all(self, out_dir, formats=formats, identities=identities)


def _limits(frame: pd.DataFrame, capacity, per_school: bool) -> tuple[np.ndarray, str]:
    """Whether each pupil is listed, and the capacity in words."""
    school = frame["school_id"]
    if capacity is None:
        scope = "in each school" if per_school else "across the authority"
        return frame["flagged"].to_numpy(dtype=bool), f"the pupils flagged {scope}"
    key = pd.array(school, dtype="Int64").fillna(-1).to_numpy(dtype=np.int64)
    sizes = pd.Series(key).map(pd.Series(key).value_counts()).to_numpy()
    if isinstance(capacity, Mapping):
        places = pd.Series(key).map({int(k): int(v) for k, v in capacity.items()})
        limit = places.fillna(0).to_numpy(dtype=int)
        words = "places set per school"
    else:
        try:
            limit = np.array([resolve_k(capacity, int(m)) for m in np.unique(sizes)])
        except ValueError:
            raise ValueError(
                "The 'capacity' parameter of build_packs must be None, a fraction in (0, 1], "
                f"a number of places per school or a dict of them. Got {capacity!r} instead."
            ) from None
        limit = pd.Series(sizes).map(dict(zip(np.unique(sizes), limit, strict=True))).to_numpy()
        is_share = isinstance(capacity, float) and capacity <= 1
        words = (
            f"{capacity:.0%} of the pupils screened in each school"
            if is_share
            else f"up to {int(capacity)} per school"
        )
    return frame["rank_in_school"].to_numpy() <= limit, words


def _previous_list(previous) -> tuple[pd.DataFrame, pd.Timestamp]:
    if isinstance(previous, PanelPacks):
        return previous.lists, previous.as_of_date
    path = Path(previous)
    if path.is_dir():
        found = sorted(path.glob("panel_*_list.csv"))
        if len(found) != 1:
            raise ValueError(
                f"The 'previous' parameter of build_packs: the folder {path} holds "
                f"{len(found)} list records (panel_<date>_list.csv); pass one of them."
            )
        path = found[0]
    if not path.is_file():
        raise ValueError(f"The 'previous' parameter of build_packs: no file {path}.")
    table = pd.read_csv(path, encoding="utf-8-sig")
    missing = sorted(set(LIST_COLUMNS) - set(table.columns))
    if missing:
        raise ValueError(f"The list record {path} lacks the columns {missing}.")
    return table, pd.Timestamp(table["as_of_date"].iloc[0]) if len(table) else pd.NaT


def build_packs(
    screening, explanation, *, previous=None, capacity=None, histories=None, n_reasons: int = 3
) -> PanelPacks:
    """The panel lists of a screening, per school, with reasons, involvement and changes.

    Parameters
    ----------
    screening : Screening
    explanation : Explanation
        Of the same screening, covering at least the pupils listed.
    previous : PanelPacks or path, optional
        The previous packs (or their folder, or their ``panel_<date>_list.csv``):
        each row then says what changed, and those who left are listed with why.
    capacity : None, float, int or dict, default None
        None: the pupils the screening flagged. A fraction: that share of each
        school's screened pupils ("proportional to roll"). An int: places per
        school. A dict: places by school_id (schools not named get none).
    histories : LinkedHistories or path, optional
        To read current involvement with start dates ("CP plan since Mar 2025");
        without it, involvement comes from the screening's features.
    n_reasons : int, default 3
    """
    frame = screening.frame
    if explanation.as_of_date != screening.as_of_date or any(
        explanation.model_info.get(k) != screening.model_info.get(k)
        for k in ("params_hash", "fit_timestamp")
    ):
        raise ValueError(
            "build_packs: the explanation is not of this screening (its as-of date or model "
            "differs); explain the screening first."
        )
    listed, capacity_words = _limits(frame, capacity, screening.per_school)
    rows = frame[listed].sort_values(["rank"])
    missing = int((~rows.index.isin(explanation.values.index)).sum())
    if missing:
        raise ValueError(
            f"build_packs: the explanation has no reasons for {missing} listed pupil(s); "
            "explain them (explain(..., pupils='all'), or with a larger list)."
        )
    reasons = explanation.reasons_wide(n_reasons).reindex(rows.index)
    involvement = current_involvement(screening, rows.index, histories=histories)
    lists = pd.DataFrame(
        {
            "school_id": pd.array(rows["school_id"], dtype="Int64"),
            "list_rank": rows["rank_in_school"].to_numpy(dtype=int),
            "pupil_id": rows.index.to_numpy(),
            "ncyear": rows["ncyear"].to_numpy(),
            "band": rows["band"].astype(str).to_numpy(),
            "probability": rows["probability"].to_numpy(dtype=float),
            "score": rows["score"].to_numpy(dtype=float),
            "rank": rows["rank"].to_numpy(dtype=int),
        }
    )
    for col in reasons.columns:
        lists[col] = reasons[col].to_numpy(dtype=object)
    lists["involvement"] = involvement["text"].to_numpy()
    for i in INVOLVEMENT:
        lists[f"has_{i.key}"] = involvement[i.key].to_numpy()
    previous_date, left = (
        None,
        pd.DataFrame(
            {
                "school_id": pd.array([], dtype="Int64"),
                "pupil_id": [],
                "previous_rank": [],
                "why": [],
            }
        ),
    )
    lists["change"] = "first list"
    lists["previous_rank"] = np.nan
    if previous is not None:
        before, previous_date = _previous_list(previous)
        if not previous_date < screening.as_of_date:
            raise ValueError(
                f"The 'previous' list ({previous_date.date()}) must be from before this "
                f"screening ({screening.as_of_date.date()})."
            )
        screened = frame.reset_index()[["pupil_id", "school_id", "probability"]]
        change, before_rank, left = list_changes(lists, before, screened)
        lists["change"], lists["previous_rank"] = change, before_rank
    lists = lists.sort_values(["school_id", "list_rank"], kind="stable", ignore_index=True)
    return PanelPacks(
        lists=lists,
        left=left,
        summary=_summary(frame, lists, left, previous_date is not None),
        as_of_date=pd.Timestamp(screening.as_of_date),
        previous_date=previous_date,
        outcome=screening.outcome,
        horizon=screening.model_info.get("horizon"),
        capacity=capacity_words,
        model_info=dict(screening.model_info),
        n_reasons=int(n_reasons),
        notes=(
            f"Counts under 5 pupils are shown as '{SUPPRESSED}', and so is the next smallest "
            "where a total would reveal them (DfE practice).",
            "Reasons explain the model's score (log-odds); involvement is as recorded on the "
            "screening date.",
        ),
    )


def _summary(frame, lists, left, has_previous: bool) -> pd.DataFrame:
    key = pd.array(frame["school_id"], dtype="Int64")
    every = pd.concat([pd.Series(key), pd.Series(pd.array(left["school_id"], dtype="Int64"))])
    schools = sorted(every.dropna().unique().tolist()) + ([pd.NA] if every.isna().any() else [])
    counts = {
        "Pupils screened": pd.Series(1, index=range(len(frame))).groupby(key.fillna(-1)).sum(),
        "On the list": lists.groupby(lists["school_id"].fillna(-1)).size(),
    }
    if has_previous:
        new = lists[lists["change"] == "new to the list"]
        counts["New to the list"] = new.groupby(new["school_id"].fillna(-1)).size()
        counts["Left the list"] = left.groupby(left["school_id"].fillna(-1)).size()
    for i in INVOLVEMENT:
        col = lists[f"has_{i.key}"].fillna(False).astype(bool)
        counts[f"Listed with {i.label}"] = col.groupby(lists["school_id"].fillna(-1)).sum()
    order = [-1 if pd.isna(s) else int(s) for s in schools]
    table = pd.DataFrame({k: v.reindex(order).fillna(0).astype(int) for k, v in counts.items()})
    total = table.sum()
    out = pd.DataFrame({c: suppressed_text(table[c]) for c in table.columns})
    out.index = pd.Index([school_label(s) for s in schools], name="School")
    out.loc["All schools"] = [SUPPRESSED if 0 < t < 5 else str(t) for t in total]
    return out
