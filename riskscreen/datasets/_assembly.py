"""Assembly of the canonical tables from a finished simulation.

Each table of :data:`riskscreen.data.TABLE_NAMES` has a builder that turns the
simulation's rows (integer codes and day numbers) into the canonical columns:
pupil and school ids, ``datetime64[us]`` dates and ``str`` codes. Spells are
clipped to what an authority would hold: FSM and SEN from the first day in
school, social care from birth (or arrival, for in-movers), nothing after a
pupil left the authority or after the window.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from riskscreen.data import TABLE_NAMES, TABLES, LinkedHistories
from riskscreen.datasets._arrays import choice, str_column
from riskscreen.datasets._calendar import NAT, to_datetime
from riskscreen.datasets._constants import (
    ABUSE,
    ETHNICITIES,
    FACTOR_W,
    FACTORS,
    INTERVENTION_KINDS,
    LEAVING,
    ME_REASONS,
    NEED_CODES,
    NEEDS,
    PHASES,
    PLACEMENTS,
    REASON_LIST,
    SC_KINDS,
)
from riskscreen.datasets._simulation import Simulation
from riskscreen.datasets._truth import SyntheticTruth, make_truth


def assemble(sim: Simulation) -> tuple[LinkedHistories, SyntheticTruth | None]:
    """The linked histories of a finished simulation, and its truth if it kept one.

    Parameters
    ----------
    sim : Simulation
        A simulation after :meth:`Simulation.run`.

    Returns
    -------
    histories : LinkedHistories
    truth : SyntheticTruth or None
        ``None`` unless the simulation was asked for the truth.
    """
    pid_map = 1_000_001 + sim.rng["pop"].permutation(sim.n).astype(np.int64) * 3
    tables = {}
    for name in TABLE_NAMES:
        frame = _BUILDERS[name](sim, pid_map)
        frame = frame[[c for c in TABLES[name].columns if c in frame.columns]]
        sort = [c for c in (TABLES[name].key or ()) if c in frame.columns]
        if name != "attendance" and sort:
            frame = frame.sort_values(sort, kind="stable", ignore_index=True)
        tables[name] = frame
    truth = make_truth(sim, pid_map) if sim.keep_truth else None
    return LinkedHistories(**tables), truth


def _pupils(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    idaci = pd.array(np.where(sim.idaci < 0, None, sim.idaci), dtype="Int64")
    return _frame(
        pupil_id=pid_map,
        birth_month=to_datetime(sim.birth_month),
        sex=str_column(np.where(sim.male, 0, 1), ["M", "F"]),
        ethnicity=str_column(sim.eth, ETHNICITIES),
        first_language=pd.Series(sim.language, dtype="str"),
        idaci_decile=idaci,
    )


def _schools(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    names = np.array(
        [f"Synthetic Primary {i + 1}" for i in range(sim.n_prim)]
        + [f"Synthetic Secondary {i + 1}" for i in range(sim.n_sec)]
        + [f"Synthetic Alternative Provision {i + 1}" for i in range(sim.n_ap)]
        + [f"Synthetic Special School {i + 1}" for i in range(sim.n_sp)],
        dtype=object,
    )
    return _frame(
        school_id=sim.school_ids,
        phase=str_column(sim.sch_phase, PHASES),
        name=pd.Series(names, dtype="str"),
    )


def _enrolments(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    e = sim.r_enrol.collect()
    return _frame(
        **_ids(sim, pid_map, e),
        entry_date=to_datetime(e["entry"]),
        leaving_date=to_datetime(e["leave"]),
        leaving_reason=str_column(e["reason"], LEAVING),
        part_time=e["part_time"],
    )


def _attendance(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    monday = sim.cal.monday
    if sim.term_mode:
        a = sim.r_term.collect()
        first, last = monday[a["first"]], monday[a["last"]]
    else:
        a = sim.r_att.collect()
        first = last = monday[a["week"]]
    return _frame(
        **_ids(sim, pid_map, a),
        period_start=to_datetime(first),
        period_end=to_datetime(last + 4),
        sessions_possible=a["possible"].astype(np.int64),
        sessions_authorised_absent=a["auth"].astype(np.int64),
        sessions_unauthorised_absent=a["unauth"].astype(np.int64),
    )


def _exclusions(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    x = sim.r_excl.collect()
    return _frame(
        **_ids(sim, pid_map, x),
        start_date=to_datetime(x["day"]),
        kind=str_column(x["kind"], ["suspension", "permanent"]),
        sessions=x["sessions"],
        reason=str_column(x["r1"], REASON_LIST),
        reason_2=str_column(x["r2"], REASON_LIST),
        reason_3=str_column(x["r3"], REASON_LIST),
    )


def _sen(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    """SEN support and EHC plan spells from the identification dates."""
    hi = _last_day(sim)
    lo = sim.school_start
    big = sim._big
    k_day, e_day = sim.k_day, sim.e_day
    has_k = (k_day < big) & (k_day < e_day)
    k_end = np.where(e_day <= hi, e_day - 1, NAT)  # upgraded to an EHC plan by the end
    has_e = e_day < big
    pid_k = np.flatnonzero(has_k)
    pid_e = np.flatnonzero(has_e)
    s_pid = np.concatenate([pid_k, pid_e])
    s_start = np.concatenate(
        [np.maximum(k_day[pid_k], lo[pid_k]), np.maximum(e_day[pid_e], lo[pid_e])]
    )
    s_end = np.concatenate([k_end[pid_k], np.full(len(pid_e), NAT)])
    s_prov = np.concatenate([np.zeros(len(pid_k), np.int64), np.ones(len(pid_e), np.int64)])
    keep = (s_start <= hi[s_pid]) & ((s_end == NAT) | (s_end >= s_start))
    s_pid, s_start, s_end, s_prov = s_pid[keep], s_start[keep], s_end[keep], s_prov[keep]
    return _frame(
        pupil_id=pid_map[s_pid],
        start_date=to_datetime(s_start),
        end_date=to_datetime(s_end),
        provision=str_column(s_prov, ["K", "E"]),
        primary_need=str_column(sim.need_type[s_pid], NEEDS),
    )


def _fsm(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    """FSM spells, recorded from the first day in school."""
    f = sim.r_fsm.collect()
    keep, start = _clip_spells(f["pid"], f["start"], f["end"], sim.school_start, _last_day(sim))
    return _frame(
        pupil_id=pid_map[f["pid"][keep]],
        start_date=to_datetime(start[keep]),
        end_date=to_datetime(f["end"][keep]),
    )


def _social_care(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    """Social-care spells from birth, or from arrival in the authority for in-movers."""
    s = sim.r_sc.collect()
    first = np.maximum(sim.la_start, sim.birth_month)
    keep, start = _clip_spells(s["pid"], s["start"], s["end"], first, _last_day(sim))
    s = {k: v[keep] for k, v in s.items()}
    s["start"] = start[keep]
    # a clipped spell can collide with another on the same key: keep the first
    key = pd.DataFrame({"p": s["pid"], "k": s["kind"], "s": s["start"]})
    dup = key.duplicated().to_numpy()
    s = {k: v[~dup] for k, v in s.items()}
    factors = _assessment_factors(sim.rng["detail"], s["kind"] == 1)
    return _frame(
        pupil_id=pid_map[s["pid"]],
        kind=str_column(s["kind"], SC_KINDS),
        start_date=to_datetime(s["start"]),
        end_date=to_datetime(s["end"]),
        need_code=str_column(s["need"], NEED_CODES),
        abuse_category=str_column(s["abuse"], ABUSE),
        placement_type=str_column(s["placement"], PLACEMENTS),
        assessment_factors=pd.Series(factors, dtype="str"),
    )


def _missing_education(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    m = sim.r_me.collect()
    return _frame(
        pupil_id=pid_map[m["pid"]],
        kind=str_column(m["kind"], ["cme", "ehe"]),
        start_date=to_datetime(m["start"]),
        end_date=to_datetime(m["end"]),
        reason=str_column(m["reason"], ME_REASONS),
    )


def _interventions(sim: Simulation, pid_map: np.ndarray) -> pd.DataFrame:
    """The schools' interventions, and managed moves (a trial at another school)."""
    iv = sim.r_int.collect()
    mm = sim.r_mm.collect()
    kinds = np.concatenate([iv["kind"], np.full(len(mm["pid"]), len(INTERVENTION_KINDS))])
    start = np.concatenate([iv["start"], mm["start"]])
    end = np.concatenate([iv["end"], mm["end"]])
    end = np.where(end > sim.cal.window_end, NAT, end)
    keep = start <= sim.cal.window_end
    return _frame(
        pupil_id=pid_map[np.concatenate([iv["pid"], mm["pid"]])][keep],
        kind=str_column(kinds, [*INTERVENTION_KINDS, "managed_move"])[keep].reset_index(drop=True),
        start_date=to_datetime(start)[keep],
        end_date=to_datetime(end)[keep],
    )


_BUILDERS: dict[str, Callable[[Simulation, np.ndarray], pd.DataFrame]] = {
    "pupils": _pupils,
    "schools": _schools,
    "enrolments": _enrolments,
    "attendance": _attendance,
    "exclusions": _exclusions,
    "sen": _sen,
    "fsm": _fsm,
    "social_care": _social_care,
    "missing_education": _missing_education,
    "interventions": _interventions,
}


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns, copy=False)


def _ids(sim: Simulation, pid_map: np.ndarray, rows: dict[str, np.ndarray]) -> dict:
    """The ``pupil_id`` and ``school_id`` columns of rows holding simulation indices."""
    return {"pupil_id": pid_map[rows["pid"]], "school_id": sim.school_ids[rows["school"]]}


def _last_day(sim: Simulation) -> np.ndarray:
    """Per pupil, the last day the authority knows about: exit or end of the window."""
    return np.where(sim.exit_day == NAT, sim.cal.window_end, sim.exit_day)


def _clip_spells(pid, start, end, lo, hi):
    """Clip spells to [lo, hi] per pupil; return kept mask and new start."""
    start = np.maximum(start, lo[pid])
    has_end = end != NAT
    keep = ~has_end | (end >= start)
    keep &= start <= hi[pid]
    return keep, start


def _assessment_factors(rng: np.random.Generator, is_assessment: np.ndarray) -> np.ndarray:
    """Comma-separated assessment factor codes for the assessment rows (else ``None``)."""
    out = np.full(len(is_assessment), None, dtype=object)
    k = int(is_assessment.sum())
    if k == 0:
        return out
    codes = np.array(FACTORS, dtype=object)
    f = choice(rng, FACTOR_W, 3 * k).reshape(3, k)
    n_f = choice(rng, [45, 35, 20], k) + 1
    s = codes[f[0]]
    two = (n_f >= 2) & (f[1] != f[0])
    s = np.where(two, s + "," + codes[f[1]], s)
    three = (n_f >= 3) & (f[2] != f[0]) & (f[2] != f[1])
    s = np.where(three, s + "," + codes[f[2]], s)
    none = rng.random(k) < 0.1  # "21": no factors identified
    s = np.where(none, "21", s)
    out[is_assessment] = s
    return out
