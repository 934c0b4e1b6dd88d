"""Decisions back in: a filled-in pack read into a checked decisions table."""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path
from riskscreen._render import markdown_table
from riskscreen.panel._packs import DECISIONS, suppressed_text
from riskscreen.panel._xlsx import read_pack_xlsx

#: The decision that records an intervention (its kind is the Action).
SUPPORT = "Offer support"
_CANON = {d.casefold(): d for d in DECISIONS}


@dataclass(frozen=True)
class Decisions:
    """The decisions of one or more filled-in packs, read and checked once.

    Attributes
    ----------
    table : DataFrame
        One row per listed pupil of every pack, decided or not (nothing is
        dropped): school_id, as_of_date, pupil_id, list_rank, decision (<NA> if
        none), action, lead_professional, review_date.
    interventions : DataFrame
        Rows for the ``interventions`` table of
        :class:`~riskscreen.data.LinkedHistories` (pupil_id, kind, start_date,
        end_date) for every "Offer support" decision; kind is the action in
        snake_case ("support_offered" without one), start_date the meeting date.
    """

    table: pd.DataFrame
    interventions: pd.DataFrame
    files: tuple[str, ...] = field(default_factory=tuple)

    def summary(self) -> pd.DataFrame:
        """Pupils by decision (counts under 5 shown as "c")."""
        decision = self.table["decision"].astype(object).where(self.table["decision"].notna())
        counts = (
            decision.fillna("(no decision)")
            .value_counts()
            .reindex([*DECISIONS, "(no decision)"], fill_value=0)
        )
        return pd.DataFrame(
            {"pupils": suppressed_text(counts.to_numpy())},
            index=pd.Index(counts.index, name="decision"),
        )

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _title(self) -> str:
        return (
            f"Decisions read from {len(self.files)} pack(s); {len(self.interventions)} "
            "intervention row(s) for 'Offer support'."
        )

    def to_markdown(self) -> str:
        return "\n\n".join([self._title(), markdown_table(self.summary())])

    def to_html(self) -> str:
        return f"<div><p>{html.escape(self._title())}</p>{self.summary().to_html()}</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Decisions {self._title()}>"

    def write_csv(self, path) -> Path:
        """Write the decisions table atomically."""
        with atomic_path(path) as tmp:
            self.table.to_csv(tmp, index=False)
        return Path(path)


def _date(value) -> pd.Timestamp | None:
    """A review date as written in a cell; raises ValueError if it is not a date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, (dt.datetime, dt.date)):
        return pd.Timestamp(value).normalize()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        from openpyxl.utils.datetime import from_excel

        return pd.Timestamp(from_excel(value)).normalize()
    return pd.Timestamp(pd.to_datetime(str(value).strip(), dayfirst=True)).normalize()


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _kind(action: str | None) -> str:
    if not action:
        return "support_offered"
    return re.sub(r"[^a-z0-9]+", "_", action.casefold()).strip("_") or "support_offered"


def _decisions_of(meta: dict, rows: pd.DataFrame, where: str) -> tuple[pd.DataFrame, list[str]]:
    problems, decided, reviews = [], [], []
    for row, decision, review in zip(
        rows["excel_row"], rows["Decision"], rows["Review date"], strict=True
    ):
        text = _text(decision)
        if text is not None and text.casefold() not in _CANON:
            problems.append(
                f"{where}: row {row}, column 'Decision' is not one of the listed decisions "
                f"({', '.join(DECISIONS)})."
            )
        decided.append(None if text is None else _CANON.get(text.casefold()))
        try:
            reviews.append(_date(review))
        except (ValueError, TypeError, OverflowError):
            problems.append(f"{where}: row {row}, column 'Review date' is not a date.")
            reviews.append(None)
    school = meta["school_id"]
    table = pd.DataFrame(
        {
            "school_id": pd.array(
                [pd.NA if school == "no school" else int(school)] * len(rows), dtype="Int64"
            ),
            "as_of_date": pd.Timestamp(meta["as_of_date"]),
            "pupil_id": pd.Series(rows["Reference"].tolist()).infer_objects().to_numpy(),
            "list_rank": rows["Rank"].to_numpy(dtype=int),
            "decision": pd.Categorical(decided, categories=list(DECISIONS)),
            "action": pd.array([_text(v) for v in rows["Action"]], dtype="string"),
            "lead_professional": pd.array(
                [_text(v) for v in rows["Lead professional"]], dtype="string"
            ),
            "review_date": pd.to_datetime(pd.Series(reviews, dtype=object)).astype(
                "datetime64[us]"
            ),
        }
    )
    return table, problems


def _files(path_or_folder) -> list[Path]:
    path = Path(path_or_folder)
    if path.is_dir():
        files = sorted(p for p in path.glob("panel_*_school_*.xlsx") if not p.name.startswith("."))
        if not files:
            raise ValueError(f"read_decisions: no panel packs (panel_*_school_*.xlsx) in {path}.")
        return files
    if not path.is_file():
        raise ValueError(f"read_decisions: no file or folder {path}.")
    return [path]


def read_decisions(path_or_folder, *, meeting_date=None) -> Decisions:
    """Read filled-in Excel packs into a checked decisions table.

    Every cell other than Decision, Action, Lead professional and Review date must
    be as written: an edited, reordered, added or deleted row is refused, and the
    error names the school, the row and the column of every problem found (never
    the content of a cell). Decisions must be one of the listed ones; review dates
    must be dates. Rows without a decision are kept.

    Parameters
    ----------
    path_or_folder : path
        One pack (``.xlsx``) or a folder of packs from one screening.
    meeting_date : date, optional
        When the panel met: the start date of the interventions recorded (default:
        the screening date of the pack).

    Returns
    -------
    Decisions
    """
    tables, problems, dates, files = [], [], set(), _files(path_or_folder)
    for path in files:
        meta, rows, found = read_pack_xlsx(path)
        problems += found
        if found or not meta:
            continue
        dates.add(meta["as_of_date"])
        table, found = _decisions_of(meta, rows, f"School {meta['school_id']} ({path.name})")
        problems += found
        tables.append(table)
    if len(dates) > 1:
        problems.append(
            f"The packs are from different screenings ({', '.join(sorted(dates))}); read the "
            "packs of one screening at a time."
        )
    if problems:
        shown = "\n  ".join(problems[:20])
        more = f"\n  ... and {len(problems) - 20} more." if len(problems) > 20 else ""
        raise ValueError(f"The filled-in pack(s) cannot be read as written:\n  {shown}{more}")
    table = pd.concat(tables, ignore_index=True)
    support = table[table["decision"] == SUPPORT]
    start = pd.Timestamp(meeting_date) if meeting_date is not None else support["as_of_date"]
    interventions = pd.DataFrame(
        {
            "pupil_id": support["pupil_id"].to_numpy(dtype=np.int64),
            "kind": pd.array(
                [_kind(a if isinstance(a, str) else None) for a in support["action"]],
                dtype="str",
            ),
            "start_date": pd.Series(start, index=support.index).astype("datetime64[us]").to_numpy(),
            "end_date": pd.Series(pd.NaT, index=support.index, dtype="datetime64[us]").to_numpy(),
        }
    )
    return Decisions(table=table, interventions=interventions, files=tuple(p.name for p in files))
