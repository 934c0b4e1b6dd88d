"""From loaded returns to canonical tables: one ``pupil_id`` per linked child, duplicates merged.

Every function takes frames keyed by ``entity`` (a source's own key for a child)
and the map from entity to ``pupil_id``; they return canonical frames and count
what they merged or set aside in ``counts`` (table -> what -> rows).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from riskscreen.data._pseudonymise import birth_month
from riskscreen.data._returns_local import postcode_sector

Counts = defaultdict


def new_counts() -> defaultdict:
    return defaultdict(lambda: defaultdict(int))


def _ids(frame: pd.DataFrame, pid: pd.Series) -> pd.DataFrame:
    return frame.assign(pupil_id=pid.reindex(frame["entity"]).to_numpy())


def _dedupe(frame, key, table, what, counts, keep="last") -> pd.DataFrame:
    dup = frame.duplicated(key, keep=keep)
    counts[table][what] += int(dup.sum())
    return frame[~dup]


def pupils(entities: pd.DataFrame, pid: pd.Series, areas: pd.Series | None, counts):
    """One row per child: attributes from the best source (census, then social care, registers)."""
    order = {"census": 0, "social": 1, "register": 2}
    e = entities.assign(
        pupil_id=pid.reindex(entities["entity"]).to_numpy(), _o=entities["kind"].map(order)
    )
    e = e.sort_values(["pupil_id", "_o"], kind="stable")
    first = e.groupby("pupil_id", sort=True)[
        ["dob", "sex", "ethnicity", "language", "postcode"]
    ].first()
    dob = pd.to_datetime(first["dob"], errors="coerce")
    keep = dob.notna().to_numpy()
    counts["pupils"]["no date of birth in any source (child left out)"] += int((~keep).sum())
    first = first[keep]
    post = first["postcode"]
    idaci = (
        areas.reindex(post.fillna("").to_numpy()).to_numpy()
        if areas is not None
        else np.full(len(first), np.nan)
    )
    sex = first["sex"].fillna("U")
    eth = first["ethnicity"].fillna("NOBT")
    counts["pupils"]["sex not recorded (U)"] += int(first["sex"].isna().sum())
    counts["pupils"]["ethnicity not recorded (NOBT)"] += int(first["ethnicity"].isna().sum())
    return pd.DataFrame(
        {
            "pupil_id": first.index.to_numpy(dtype=np.int64),
            "birth_month": birth_month(pd.to_datetime(first["dob"])).to_numpy(),
            "sex": sex.to_numpy(),
            "ethnicity": eth.to_numpy(),
            "first_language": first["language"].to_numpy(),
            "idaci_decile": pd.array(idaci, dtype="Float64").astype("Int64"),
            "postcode_sector": postcode_sector(post).to_numpy(),
        }
    )


def enrolments(spells, ap_rows, deletions, pid, counts) -> pd.DataFrame:
    """Spells on roll: one per (child, school, entry date); leaving reason from deletions."""
    parts = []
    if len(spells):
        s = _ids(spells, pid).sort_values("day", kind="stable")
        last = (
            s.groupby(["pupil_id", "school_id", "entry_date"], sort=False)
            .agg(
                leaving_date=("leaving_date", "max"),
                part_time=("part_time", "last"),
                n=("day", "size"),
            )
            .reset_index()
        )
        counts["enrolments"]["census records of the same spell merged"] += int(
            (last["n"] - 1).sum()
        )
        parts.append(last.drop(columns="n").assign(_src=0))
    if len(ap_rows):
        a = _ids(ap_rows, pid)
        parts.append(
            pd.DataFrame(
                {
                    "pupil_id": a["pupil_id"],
                    "school_id": a["setting_urn"],
                    "entry_date": a["start_date"],
                    "leaving_date": a["end_date"],
                    "part_time": a["part_time"],
                    "_src": 1,
                }
            )
        )
    if not parts:
        return pd.DataFrame()
    e = pd.concat(parts, ignore_index=True).sort_values("_src", kind="stable")
    e = _dedupe(
        e,
        ["pupil_id", "school_id", "entry_date"],
        "enrolments",
        "AP placements also in the school census (merged)",
        counts,
        keep="first",
    )
    e = e.drop(columns="_src")
    if len(deletions):
        d = _ids(deletions, pid).rename(columns={"school_urn": "school_id"})
        d = d.drop_duplicates(["pupil_id", "school_id", "entry_date"])
        m = e.merge(
            d[["pupil_id", "school_id", "entry_date", "leaving_reason", "deletion_date"]],
            on=["pupil_id", "school_id", "entry_date"],
            how="left",
        )
        matched = d.merge(e[["pupil_id", "school_id", "entry_date"]], how="left", indicator=True)
        counts["enrolments"]["deletions from roll matching no spell"] += int(
            (matched["_merge"] == "left_only").sum()
        )
        m["leaving_date"] = m["leaving_date"].fillna(m["deletion_date"])
        e = m.drop(columns="deletion_date")
        e["leaving_reason"] = e["leaving_reason"].where(e["leaving_date"].notna())
    else:
        e["leaving_reason"] = None
    counts["enrolments"]["ended spells without a deletion record (reason missing)"] += int(
        (e["leaving_date"].notna() & e["leaving_reason"].isna()).sum()
    )
    return e


def attendance(att, pid, counts) -> pd.DataFrame:
    if not len(att):
        return pd.DataFrame()
    a = _ids(att, pid)
    out = pd.DataFrame(
        {
            "pupil_id": a["pupil_id"],
            "school_id": a["school_id"],
            "period_start": a["period_start"],
            "period_end": a["period_end"],
            "sessions_possible": a["possible"].fillna(0).astype(np.int64),
            "sessions_authorised_absent": a["auth"].fillna(0).astype(np.int64),
            "sessions_unauthorised_absent": a["unauth"].fillna(0).astype(np.int64),
        }
    )
    over = (
        out["sessions_authorised_absent"] + out["sessions_unauthorised_absent"]
        > out["sessions_possible"]
    )
    counts["attendance"]["absences above sessions possible (set aside)"] += int(over.sum())
    out = out[~over]
    return _dedupe(
        out,
        ["pupil_id", "school_id", "period_start"],
        "attendance",
        "the same term reported twice (last kept)",
        counts,
    )


def exclusions(exc, pid, counts) -> pd.DataFrame:
    if not len(exc):
        return pd.DataFrame()
    x = _ids(exc, pid).drop(columns="entity")
    return _dedupe(
        x,
        ["pupil_id", "school_id", "start_date", "kind"],
        "exclusions",
        "the same exclusion reported twice (last kept)",
        counts,
    )


def sen_spells(snap, pid, counts) -> pd.DataFrame:
    """SEN spells from census-day snapshots: a run of the same provision and need is a spell."""
    if not len(snap):
        return pd.DataFrame()
    s = _ids(snap, pid).sort_values(["pupil_id", "day", "provision"], kind="stable")
    s = s.drop_duplicates(["pupil_id", "day"], keep="first")  # E before K on one day
    s["provision"] = s["provision"].fillna("N")
    s["need"] = s["need"].where(s["provision"] != "N")
    state = s["provision"] + "|" + s["need"].fillna("")
    new = (state != state.groupby(s["pupil_id"]).shift()) | (s["pupil_id"] != s["pupil_id"].shift())
    s["run"] = new.cumsum()
    runs = s.groupby("run").agg(
        pupil_id=("pupil_id", "first"),
        provision=("provision", "first"),
        primary_need=("need", "first"),
        start_date=("day", "min"),
    )
    nxt = runs.groupby("pupil_id")["start_date"].shift(-1)
    runs["end_date"] = (nxt - pd.Timedelta(days=1)).astype("datetime64[us]")
    runs = runs[runs["provision"] != "N"].reset_index(drop=True)
    counts["sen"]["spells rebuilt from census-day provision"] += len(runs)
    return runs[["pupil_id", "start_date", "end_date", "provision", "primary_need"]]


def fsm(periods, pid, counts) -> pd.DataFrame:
    """FSM periods: one per (child, start); the end as the latest census knew it."""
    if not len(periods):
        return pd.DataFrame()
    f = _ids(periods, pid).sort_values("day", kind="stable")
    n = len(f)
    f = f.groupby(["pupil_id", "start_date"], sort=False).agg(end_date=("end_date", "last"))
    counts["fsm"]["census records of the same period merged"] += n - len(f)
    return f.reset_index()


def social_care(stages, episodes, early_help, pid, counts) -> pd.DataFrame:
    """CIN census stages (latest return wins), 903 episodes and early help."""
    parts = []
    if len(stages):
        s = _ids(stages, pid).sort_values("year", kind="stable")
        parts.append(
            _dedupe(
                s,
                ["pupil_id", "kind", "start_date"],
                "social_care",
                "the same CIN episode in several years' returns (latest kept)",
                counts,
            )
        )
    if len(episodes):
        e = _ids(episodes, pid).sort_values("year", kind="stable")
        e = _dedupe(
            e,
            ["pupil_id", "start_date"],
            "social_care",
            "the same 903 episode in several years' returns (latest kept)",
            counts,
        )
        if len(stages):
            e = _need_from_referrals(e, parts[0])
        parts.append(e)
    if len(early_help):
        eh = _ids(early_help, pid)
        parts.append(
            pd.DataFrame(
                {
                    "pupil_id": eh["pupil_id"],
                    "kind": "early_help",
                    "start_date": eh["start_date"],
                    "end_date": eh["end_date"],
                }
            )
        )
    if not parts:
        return pd.DataFrame()
    cols = [
        "pupil_id",
        "kind",
        "start_date",
        "end_date",
        "need_code",
        "abuse_category",
        "placement_type",
        "assessment_factors",
    ]
    out = pd.concat([p.reindex(columns=cols) for p in parts], ignore_index=True)
    return _dedupe(
        out,
        ["pupil_id", "kind", "start_date"],
        "social_care",
        "the same episode from two sources (first kept)",
        counts,
        keep="first",
    )


def _need_from_referrals(episodes: pd.DataFrame, stages: pd.DataFrame) -> pd.DataFrame:
    """A looked-after episode's need code: that of the CIN case open when it started."""
    ref = stages[stages["kind"] == "referral"][["pupil_id", "start_date", "end_date", "need_code"]]
    ref = ref.rename(columns={"start_date": "r_start", "end_date": "r_end", "need_code": "r_need"})
    e = episodes.reset_index(drop=True).assign(_i=lambda d: np.arange(len(d)))
    m = e[["_i", "pupil_id", "start_date"]].merge(ref, on="pupil_id")
    m = m[(m["r_start"] <= m["start_date"]) & (m["r_end"].isna() | (m["r_end"] >= m["start_date"]))]
    need = m.sort_values("r_start").drop_duplicates("_i", keep="last").set_index("_i")["r_need"]
    filled = need.reindex(e["_i"]).to_numpy()
    e["need_code"] = np.where(pd.notna(filled), filled, e["need_code"])
    return e.drop(columns="_i")


def from_register(rows, pid, columns: dict[str, str]) -> pd.DataFrame:
    """A register's rows as a canonical table (``columns``: canonical <- register column)."""
    if not len(rows):
        return pd.DataFrame()
    r = _ids(rows, pid)
    return pd.DataFrame({"pupil_id": r["pupil_id"], **{c: r[s] for c, s in columns.items()}})


def set_aside_impossible(frames: dict[str, pd.DataFrame], counts) -> dict[str, pd.DataFrame]:
    """Set aside (and count) rows the data model forbids after linkage.

    Dates outside 1990-2099, events before the child's birth month (a date of
    birth recorded wrongly, or records of two children linked together) and
    spells that end before they start.
    """
    from riskscreen.data._tables import TABLES

    birth = frames["pupils"].set_index("pupil_id")["birth_month"]
    lo, hi = pd.Timestamp("1990-01-01"), pd.Timestamp("2099-12-31")
    for name, frame in frames.items():
        spec = TABLES.get(name)
        if spec is None or name in ("pupils", "schools") or not len(frame):
            continue
        bad = np.zeros(len(frame), dtype=bool)
        for col in spec.date_columns:
            if col in frame:
                d = frame[col]
                bad |= (d.notna() & ((d < lo) | (d > hi))).to_numpy()
        counts[name]["dates outside 1990-2099 (set aside)"] += int(bad.sum())
        if spec.event_date and spec.event_date in frame:
            born = birth.reindex(frame["pupil_id"]).to_numpy()
            early = (frame[spec.event_date].to_numpy() < born) & ~bad
            counts[name]["events before the birth month (set aside)"] += int(early.sum())
            bad |= early
        for start, end in spec.date_order:
            if start in frame and end in frame:
                order = (frame[end].notna() & (frame[end] < frame[start])).to_numpy() & ~bad
                counts[name]["ends before it starts (set aside)"] += int(order.sum())
                bad |= order
        frames[name] = frame[~bad].reset_index(drop=True)
    return frames
