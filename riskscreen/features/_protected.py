"""Protected characteristics and audit groups, kept apart from the feature matrix."""

from __future__ import annotations

import logging

import pandas as pd

from riskscreen.data._codes import ETHNICITY_CODES, ETHNICITY_MAJOR
from riskscreen.features._session import COHORT_CTES, Session, index_frame

logger = logging.getLogger("riskscreen.features")

PROTECTED_INPUTS = ("sex", "ethnicity", "ethnicity_major")


def _active(info, alias: str) -> str:
    """Spell open on the as-of date, as known then (knowledge dates honoured)."""
    end = info.end_sql(alias, "c.as_of_date")
    return (
        f"{alias}.start_date < c.as_of_date AND ({end} IS NULL "
        f"OR {end} >= c.as_of_date) AND {info.known_sql(alias, 'c.as_of_date')}"
    )


def protected_characteristics(histories, index) -> pd.DataFrame:
    """Sensitive features and audit groups aligned to a feature matrix.

    Parameters
    ----------
    histories : LinkedHistories or path-like
    index : MultiIndex (pupil_id, as_of_date) or a DataFrame with that index
        Usually ``X.index`` from :func:`build_features`.

    Returns
    -------
    DataFrame indexed like ``index`` with columns
        ``sex``, ``ethnicity`` (minor code), ``ethnicity_major``,
        ``sen_status`` ("none", "K" SEN support, "E" EHC plan on the as-of date),
        ``fsm`` (bool, eligible on the as-of date) and ``social_care_status``
        ("cla" looked after, else "cp" child-protection plan, else "cin" an open
        child-in-need plan, referral or assessment, else "none").
        Spells are "on the as-of date" by the same rule as the features
        (``start < as_of <= end`` or open).
    """
    if isinstance(index, pd.DataFrame):
        index = index.index
    if not isinstance(index, pd.MultiIndex) or list(index.names) != ["pupil_id", "as_of_date"]:
        raise ValueError(
            "The 'index' parameter of protected_characteristics must be a MultiIndex "
            "(pupil_id, as_of_date), e.g. X.index. "
            f"Got {type(index).__name__} with names {getattr(index, 'names', None)} instead."
        )
    frame = pd.DataFrame(index=index)
    with Session(histories, owner="protected_characteristics") as session:
        session.prepare(None, frame, check=False)
        return compute_protected(session).reindex(index)


def compute_protected(session: Session) -> pd.DataFrame:
    """The protected characteristics and audit groups of a prepared session's cohort."""
    session.check_sources(["pupils", "sen", "fsm", "social_care"])
    info = session.info
    sql = (
        "WITH "
        + ", ".join(f"{n} AS ({b})" for n, b in COHORT_CTES)
        + ", sen_now AS (SELECT c.pupil_id, c.as_of_date, "
        "MAX(CASE WHEN s.provision = 'E' THEN 2 ELSE 1 END) AS lvl FROM cohort AS c "
        f"JOIN sen AS s ON s.pupil_id = c.pupil_id AND {_active(info['sen'], 's')} "
        "GROUP BY c.pupil_id, c.as_of_date), "
        "fsm_now AS (SELECT DISTINCT c.pupil_id, c.as_of_date FROM cohort AS c "
        f"JOIN fsm AS s ON s.pupil_id = c.pupil_id AND {_active(info['fsm'], 's')}), "
        "sc_now AS (SELECT c.pupil_id, c.as_of_date, MAX(CASE s.kind WHEN 'looked_after' "
        "THEN 3 WHEN 'cp_plan' THEN 2 WHEN 'cin_plan' THEN 1 WHEN 'referral' THEN 1 "
        "WHEN 'assessment' THEN 1 ELSE 0 END) AS lvl FROM cohort AS c JOIN social_care AS s "
        f"ON s.pupil_id = c.pupil_id AND {_active(info['social_care'], 's')} "
        "GROUP BY c.pupil_id, c.as_of_date) "
        "SELECT c.pupil_id, c.as_of_date, p.sex, p.ethnicity, "
        "CASE sen_now.lvl WHEN 2 THEN 'E' WHEN 1 THEN 'K' ELSE 'none' END AS sen_status, "
        "fsm_now.pupil_id IS NOT NULL AS fsm, "
        "CASE sc_now.lvl WHEN 3 THEN 'cla' WHEN 2 THEN 'cp' WHEN 1 THEN 'cin' "
        "ELSE 'none' END AS social_care_status "
        "FROM cohort AS c LEFT JOIN pupils AS p ON p.pupil_id = c.pupil_id "
        "LEFT JOIN sen_now ON sen_now.pupil_id = c.pupil_id "
        "AND sen_now.as_of_date = c.as_of_date "
        "LEFT JOIN fsm_now ON fsm_now.pupil_id = c.pupil_id "
        "AND fsm_now.as_of_date = c.as_of_date "
        "LEFT JOIN sc_now ON sc_now.pupil_id = c.pupil_id "
        "AND sc_now.as_of_date = c.as_of_date "
        "ORDER BY c.as_of_date, c.pupil_id"
    )
    raw = index_frame(session.con.execute(sql).df())
    out = pd.DataFrame(index=raw.index)
    out["sex"] = raw["sex"].astype("str")
    out["ethnicity"] = raw["ethnicity"].astype("str")
    out["ethnicity_major"] = raw["ethnicity"].map(ETHNICITY_MAJOR).astype("str")
    out["sen_status"] = raw["sen_status"].astype("str")
    out["fsm"] = raw["fsm"].astype("bool")
    out["social_care_status"] = raw["social_care_status"].astype("str")
    return out


def protected_inputs(sensitive: pd.DataFrame, use: tuple[str, ...]) -> pd.DataFrame:
    """One-hot model inputs for the protected characteristics the caller chose to use."""
    bad = [u for u in use if u not in PROTECTED_INPUTS]
    if bad:
        raise ValueError(
            f"The 'use_protected' parameter of build_features must hold names from "
            f"{list(PROTECTED_INPUTS)}. Got {bad!r} instead."
        )
    logger.warning(
        "Protected characteristic(s) %s are being used as model inputs. This is an explicit "
        "choice that must be justified and recorded in the model card.",
        list(use),
    )
    cols = {}
    if "sex" in use:
        cols["sex_m"] = (sensitive["sex"] == "M").astype("float64")
    if "ethnicity" in use:
        for code in ETHNICITY_CODES:
            cols[f"ethnicity_{code.lower()}"] = (sensitive["ethnicity"] == code).astype("float64")
    if "ethnicity_major" in use:
        for group in dict.fromkeys(ETHNICITY_MAJOR.values()):
            cols[f"ethnicity_major_{group.lower()}"] = (
                sensitive["ethnicity_major"] == group
            ).astype("float64")
    return pd.DataFrame(cols, index=sensitive.index)
