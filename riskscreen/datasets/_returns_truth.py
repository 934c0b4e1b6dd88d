"""What :func:`write_returns` knows and the files do not say: whose each record is."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from riskscreen.data import _codes

_FLAGS = (
    "forename_typo",
    "surname_typo",
    "surname_changed",
    "dob_swapped",
    "postcode_moved",
    "upn_missing",
    "upn_mistyped",
)


@dataclass(frozen=True)
class ReturnsTruth:
    """The known truth behind a folder written by :func:`write_returns`.

    Attributes
    ----------
    records : DataFrame
        One row per identity-bearing row of every file: ``source``, ``file``
        (relative path), ``row`` (0-based data row, or the ``Child`` element's
        position in a CIN file), ``pupil_id`` (the child's id in the original
        histories; missing for children known only to social care), ``upn_present``
        and one boolean column per kind of identity noise applied.
    groups : DataFrame
        Per original pupil: ``ethnicity`` (major group), ``sex`` and ``fsm``
        (``"FSM"`` if ever eligible, else ``"not FSM"``), for linkage by group.
    lost : mapping of str to int
        Rows the returns cannot carry as they were (what, how many).
    n_decoys : int
        Children written only to the social-care returns.
    """

    records: pd.DataFrame
    groups: pd.DataFrame
    lost: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))
    n_decoys: int = 0

    @classmethod
    def build(cls, h, ident, who, reg_noise, records, lost, *, n_decoys) -> ReturnsTruth:
        frame = pd.DataFrame(records, columns=["source", "file", "row", "pupil_id"])
        flags = pd.DataFrame(False, index=frame.index, columns=list(_FLAGS))
        social = frame["source"].isin(["cin_census", "ssda903", "social_care"]).to_numpy()
        sc_flags = who.reindex(frame.loc[social, "pupil_id"])[list(_FLAGS)]
        flags.loc[social] = sc_flags.to_numpy()
        for name, noise in reg_noise.items():
            sel = (frame["file"] == f"registers/{name}.csv").to_numpy()
            rows = frame.loc[sel, "row"].to_numpy()
            flags.loc[sel] = noise.iloc[rows][list(_FLAGS)].to_numpy()
        frame = pd.concat([frame, flags.astype(bool)], axis=1)
        frame["upn_present"] = ~frame["upn_missing"] & ~frame["upn_mistyped"]
        frame["pupil_id"] = frame["pupil_id"].where(frame["pupil_id"] > 0).astype("Int64")
        pupils = h.pupils
        groups = pd.DataFrame(
            {
                "pupil_id": pupils["pupil_id"].to_numpy(),
                "ethnicity": pupils["ethnicity"].map(_codes.ETHNICITY_MAJOR).to_numpy(),
                "sex": pupils["sex"].to_numpy(),
                "fsm": np.where(pupils["pupil_id"].isin(h.fsm["pupil_id"]), "FSM", "not FSM"),
            }
        )
        return cls(frame, groups, MappingProxyType(dict(lost)), n_decoys)

    def linkage_quality(self, links: pd.DataFrame) -> pd.DataFrame:
        """Precision and recall of the links to each child's school-census record.

        Parameters
        ----------
        links : DataFrame
            The ``links`` of a :class:`~riskscreen.data.ReturnsReport`: ``file``,
            ``row`` and the ``pupil_id`` each record was given.

        Returns
        -------
        DataFrame
            One row per subset (``"UPN present"``, ``"no UPN"``) and group
            (``"all"``, each source, ethnicity, sex, FSM): ``records``,
            ``true_links`` (records whose child has a school-census record),
            ``predicted_links`` (records given the id of a school-census record),
            ``correct``, ``precision`` and ``recall``.
        """
        m = self.records.merge(
            links[["file", "row", "pupil_id"]].rename(columns={"pupil_id": "loaded"}),
            on=["file", "row"],
            how="left",
        )
        census = m[m["source"] == "school_census"]
        anchor = census.groupby("pupil_id")["loaded"].agg(lambda s: s.mode().iloc[0])
        other = m[m["source"] != "school_census"].copy()
        other["anchor"] = anchor.reindex(other["pupil_id"]).to_numpy()
        other["true_link"] = other["anchor"].notna()
        other["predicted"] = other["loaded"].isin(set(census["loaded"].dropna()))
        other["correct"] = other["true_link"] & (other["loaded"] == other["anchor"])
        other = other.merge(self.groups, on="pupil_id", how="left")
        rows = []
        for subset, sel in (
            ("UPN present", other["upn_present"]),
            ("no UPN", ~other["upn_present"]),
        ):
            part = other[sel]
            splits = [("all", "all", part)]
            splits += [("source", k, g) for k, g in part.groupby("source")]
            for col in ("ethnicity", "sex", "fsm"):
                splits += [(col, k, g) for k, g in part.groupby(col)]
            for group, value, g in splits:
                pred, corr, true = (
                    int(g["predicted"].sum()),
                    int(g["correct"].sum()),
                    int(g["true_link"].sum()),
                )
                rows.append(
                    {
                        "subset": subset,
                        "group": group,
                        "value": value,
                        "records": len(g),
                        "true_links": true,
                        "predicted_links": pred,
                        "correct": corr,
                        "precision": corr / pred if pred else np.nan,
                        "recall": corr / true if true else np.nan,
                    }
                )
        return pd.DataFrame(rows)
