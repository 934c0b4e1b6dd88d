"""A hand-written Polars lazy query computing the full default spec, for benchmarks/features.py.

The reference the feature engine is timed against: the cohort of ``SchoolCohort()``
(on a roll, NC years 5-11, not leaving Year 11 within 3 months) and every feature of
``default_spec()`` with its imputation and ``__missing`` indicators, written the way a
careful analyst would write it by hand in Polars (one join of the cohort with each
source's events, conditional aggregates, joined back). It assumes the benchmark data:
canonical Parquet tables with no knowledge-date columns. Checked equal to
``build_features`` by checksum in the same run.
"""

from __future__ import annotations

from pathlib import Path

A = "as_of_date"
KEY = ["pupil_id", A]


def polars_features(folder: Path, dates):
    """The default-spec feature matrix at ``dates`` as a Polars DataFrame (sorted)."""
    import polars as pl

    folder = Path(folder)

    def scan(name):
        return pl.scan_parquet(folder / f"{name}.parquet")

    a = pl.col(A)

    def back(w: str):  # first day of a lookback window (calendar months clip)
        return a.dt.offset_by(f"-{w}")

    def days(expr):  # in an aggregation: days from ``expr`` to the group's as-of date
        return (a.first() - expr).dt.total_days().cast(pl.Float64)

    asof = pl.LazyFrame({A: pl.Series(list(dates)).str.to_datetime().cast(pl.Datetime("us"))})

    # -- cohort: on roll (latest spell), NC years 5-11, not leaving Year 11 within 3 months
    enr = scan("enrolments")
    on_roll = asof.join(enr, how="cross").filter(
        (pl.col("entry_date") < a)
        & (pl.col("leaving_date").is_null() | (pl.col("leaving_date") >= a))
    )
    roll = on_roll.group_by(KEY).agg(
        pl.col("school_id").sort_by(["entry_date", "school_id"], descending=[True, False]).first()
    )

    def ay(d):
        return d.dt.year().cast(pl.Int64) - (d.dt.month() < 9).cast(pl.Int64)

    born = pl.col("birth_month")
    y11_end = pl.date(ay(born) + 17, 8, 31).cast(pl.Datetime("us"))
    cohort = (
        roll.join(scan("pupils").select("pupil_id", "birth_month"), on="pupil_id")
        .with_columns(ncyear=ay(a) - ay(born) - 5)
        .filter(
            pl.col("ncyear").is_between(5, 11)
            & ((y11_end < a) | (y11_end >= a.dt.offset_by("3mo")))
        )
        .select("pupil_id", A, "school_id", "ncyear")
    )
    keys = cohort.select(KEY)

    first = asof.select(a.min().dt.offset_by("-1y")).collect().item()
    last = asof.select(a.max()).collect().item()

    def joined(name, cols, since=None):
        events = scan(name).select(["pupil_id", *cols])
        if since is not None:  # only the events some as-of date can see (read once)
            events = events.filter((pl.col(since) >= first) & (pl.col(since) < last))
        return keys.join(events, on="pupil_id")

    def n(cond):
        return cond.fill_null(False).cast(pl.Float64).sum()

    # -- attendance: rates over 28D, 13W, 1Y (period_end before the as-of date)
    pe = pl.col("period_end")
    poss = pl.col("sessions_possible")
    auth, unauth = pl.col("sessions_authorised_absent"), pl.col("sessions_unauthorised_absent")
    att = joined(
        "attendance",
        [
            "period_end",
            "sessions_possible",
            "sessions_authorised_absent",
            "sessions_unauthorised_absent",
        ],
        since="period_end",
    ).filter(pe < a)
    aggs = []
    for tag, w in (("4w", "28d"), ("13w", "91d"), ("1y", "1y")):
        inw = pe >= back(w)
        aggs += [
            pl.when(inw).then(poss - auth - unauth).sum().alias(f"att_{tag}"),
            pl.when(inw).then(unauth).sum().alias(f"un_{tag}"),
            pl.when(inw).then(poss).sum().alias(f"pos_{tag}"),
        ]
    aggs.append(pl.when(pe >= back("1y")).then(auth + unauth).sum().alias("abs_1y"))
    att = att.group_by(KEY).agg(aggs)

    def rate(num, den):
        d = pl.col(den).cast(pl.Float64)
        return pl.when(d != 0).then(pl.col(num).cast(pl.Float64) / d)

    att = att.select(
        *KEY,
        rate("att_4w", "pos_4w").alias("attendance_rate_4w"),
        rate("un_4w", "pos_4w").alias("unauthorised_absence_rate_4w"),
        rate("att_13w", "pos_13w").alias("attendance_rate_13w"),
        rate("un_13w", "pos_13w").alias("unauthorised_absence_rate_13w"),
        rate("att_1y", "pos_1y").alias("attendance_rate_1y"),
        rate("un_1y", "pos_1y").alias("unauthorised_absence_rate_1y"),
        rate("abs_1y", "pos_1y").alias("absence_rate_1y"),
    )

    # -- exclusions
    sd = pl.col("start_date")
    susp = pl.col("kind") == "suspension"
    reasons = [pl.col(c) for c in ("reason", "reason_2", "reason_3")]
    db = pl.any_horizontal([(r == "DB").fill_null(False) for r in reasons])
    assault = pl.any_horizontal([r.is_in(["PP", "PA"]).fill_null(False) for r in reasons])
    exc = joined("exclusions", ["start_date", "kind", "sessions", "reason", "reason_2", "reason_3"])
    exc = (
        exc.filter(sd < a)
        .group_by(KEY)
        .agg(
            n(susp & (sd >= back("1y"))).alias("suspension_count_1y"),
            n(susp).alias("suspension_count_all"),
            pl.when(susp & (sd >= back("1y")))
            .then(pl.col("sessions"))
            .sum()
            .alias("suspension_sessions_1y"),
            n(susp & (sd >= back("91d"))).alias("suspension_count_13w"),
            days(pl.when(susp).then(sd).max()).alias("days_since_last_suspension"),
            n(susp & db & (sd >= back("1y"))).alias("suspension_disruption_count_1y"),
            n(susp & assault & (sd >= back("1y"))).alias("suspension_assault_count_1y"),
            n(pl.col("kind") == "permanent").alias("permanent_exclusion_count_all"),
        )
    )

    # -- spells: active on the as-of date, started / ended in a window, days open
    def spells(name, cols):
        return joined(name, ["start_date", "end_date", *cols]).filter(sd < a)

    ed = pl.col("end_date")
    active = ed.is_null() | (ed >= a)

    def days_active(cond, w):
        lo = pl.max_horizontal(sd, back(w))
        hi = pl.min_horizontal(ed.dt.offset_by("1d").fill_null(a), a)
        d = (hi - lo).dt.total_days().clip(lower_bound=0).cast(pl.Float64)
        return pl.when(cond).then(d).sum()

    moves = ~pl.col("leaving_reason").is_in(["phase_transfer", "completed"]).fill_null(False)
    enr_f = (
        keys.join(
            enr.select("pupil_id", "entry_date", "leaving_date", "leaving_reason", "part_time"),
            on="pupil_id",
        )
        .rename({"entry_date": "start_date", "leaving_date": "end_date"})
        .filter(sd < a)
        .group_by(KEY)
        .agg(
            n(moves & (ed < a) & (ed >= back("2y"))).alias("school_moves_2y"),
            n((sd.dt.month() != 9) & (sd >= back("2y"))).alias("mid_year_moves_2y"),
            n(pl.col("part_time").fill_null(False) & active).alias("part_time_timetable_now"),
            days(sd.max()).alias("days_on_current_roll"),
        )
    )
    sen = (
        spells("sen", ["provision", "primary_need"])
        .group_by(KEY)
        .agg(
            n((pl.col("provision") == "K") & active).alias("sen_support_now"),
            n((pl.col("provision") == "E") & active).alias("ehcp_now"),
            n((pl.col("primary_need") == "SEMH") & active).alias("semh_now"),
            days(sd.min()).alias("days_since_sen_identified"),
        )
    )
    fsm = (
        spells("fsm", [])
        .group_by(KEY)
        .agg(n(active).alias("fsm_now"), days_active(pl.lit(True), "6y").alias("fsm_days_6y"))
    )
    kind = pl.col("kind")
    factors = "," + pl.col("assessment_factors").str.replace_all(" ", "") + ","
    sc_aggs = [
        n((kind == k) & active).alias(f"{k}_now")
        for k in ("cin_plan", "cp_plan", "looked_after", "early_help")
    ]
    sc_aggs += [
        n((kind == "referral") & (sd >= back("1y"))).alias("referrals_1y"),
        n(kind == "referral").alias("referrals_all"),
        n(kind == "cp_plan").alias("cp_plans_ever"),
        days_active(kind == "looked_after", "2y").alias("looked_after_days_2y"),
        n((kind == "looked_after") & (sd >= back("1y"))).alias("placement_moves_1y"),
        n((kind == "early_help") & (sd >= back("2y"))).alias("early_help_episodes_2y"),
    ]
    for code, name in (
        ("NEG", "neglect"),
        ("EMO", "emotional"),
        ("PHY", "physical"),
        ("SAB", "sexual"),
    ):
        cond = (kind == "cp_plan") & (pl.col("abuse_category") == code)
        sc_aggs.append(n(cond).clip(upper_bound=1).alias(f"cp_category_{name}_ever"))
    for code, name in (
        ("4A", "child_mental_health"),
        ("10A", "going_missing"),
        ("11A", "sexual_exploitation"),
        ("13A", "gangs"),
        ("24A", "criminal_exploitation"),
        ("3A", "domestic_violence"),
        ("2A", "child_drug_misuse"),
    ):
        cond = factors.str.contains(f",{code},", literal=True)
        sc_aggs.append(n(cond).clip(upper_bound=1).alias(f"factor_{name}_ever"))
    sc = spells("social_care", ["kind", "abuse_category", "assessment_factors"])
    sc = sc.group_by(KEY).agg(sc_aggs)
    me = (
        spells("missing_education", ["kind"])
        .group_by(KEY)
        .agg(
            n(kind == "cme").alias("cme_spells_all"),
            n(kind == "ehe").clip(upper_bound=1).alias("ehe_ever"),
        )
    )

    # -- suspensions at the pupil's school per pupil on its roll, in the last year
    n_roll = on_roll.group_by([A, "school_id"]).agg(pl.col("pupil_id").n_unique().alias("n_roll"))
    n_susp = (
        asof.join(scan("exclusions").select("school_id", "start_date", "kind"), how="cross")
        .filter((sd < a) & (sd >= back("1y")) & susp)
        .group_by([A, "school_id"])
        .agg(pl.len().alias("n_events"))
    )
    school = n_roll.join(n_susp, on=[A, "school_id"], how="left").select(
        A,
        "school_id",
        (pl.col("n_events").fill_null(0).cast(pl.Float64) / pl.col("n_roll")).alias("school_rate"),
    )

    x = cohort
    for part in (att, exc, enr_f, sen, fsm, sc, me):
        x = x.join(part, on=KEY, how="left")
    x = x.join(school, on=[A, "school_id"], how="left")

    def imputed(name, value, expr=None):
        raw = pl.col(name) if expr is None else expr
        return [
            raw.fill_null(value).alias(name),
            raw.is_null().cast(pl.Float64).alias(f"{name}__missing"),
        ]

    def zero(name, flag=False):
        v = pl.col(name).fill_null(0.0)
        return (v.clip(upper_bound=1.0) if flag else v).alias(name)

    change = pl.col("attendance_rate_4w") - pl.col("attendance_rate_1y")
    persistent = (
        pl.when(pl.col("absence_rate_1y").is_null())
        .then(None)
        .otherwise((pl.col("absence_rate_1y") >= 0.10).cast(pl.Float64))
    )
    cols = []
    for tag in ("4w", "13w", "1y"):
        cols += imputed(f"attendance_rate_{tag}", 0.93)
        cols += imputed(f"unauthorised_absence_rate_{tag}", 0.02)
    cols += imputed("absence_rate_1y", 1 - 0.93)
    cols += imputed("attendance_change_4w_vs_1y", 0.0, change)
    cols += imputed("persistent_absence_1y", 0.0, persistent)
    cols += [
        zero(c)
        for c in (
            "suspension_count_1y",
            "suspension_count_all",
            "suspension_sessions_1y",
            "suspension_count_13w",
        )
    ]
    cols += imputed("days_since_last_suspension", 3650.0)
    cols += [
        zero(c)
        for c in (
            "suspension_disruption_count_1y",
            "suspension_assault_count_1y",
            "permanent_exclusion_count_all",
            "school_moves_2y",
            "mid_year_moves_2y",
        )
    ]
    cols += [zero("part_time_timetable_now", flag=True)]
    cols += imputed("days_on_current_roll", 3650.0)
    cols += [zero(c, flag=True) for c in ("sen_support_now", "ehcp_now", "semh_now")]
    cols += imputed("days_since_sen_identified", 3650.0)
    cols += [
        zero("fsm_now", flag=True),
        (pl.col("fsm_days_6y").fill_null(0.0) >= 1.0).cast(pl.Float64).alias("fsm_ever_6y"),
    ]
    cols += [
        zero(f"{k}_now", flag=True) for k in ("cin_plan", "cp_plan", "looked_after", "early_help")
    ]
    cols += [
        zero(c)
        for c in (
            "referrals_1y",
            "referrals_all",
            "cp_plans_ever",
            "looked_after_days_2y",
            "placement_moves_1y",
            "early_help_episodes_2y",
        )
    ]
    cols += [zero(f"cp_category_{c}_ever") for c in ("neglect", "emotional", "physical", "sexual")]
    cols += [
        zero(f"factor_{c}_ever")
        for c in (
            "child_mental_health",
            "going_missing",
            "sexual_exploitation",
            "gangs",
            "criminal_exploitation",
            "domestic_violence",
            "child_drug_misuse",
        )
    ]
    cols += [zero("cme_spells_all"), zero("ehe_ever"), pl.col("ncyear").cast(pl.Float64)]
    cols += imputed("school_suspension_rate_1y", 0.0, pl.col("school_rate"))
    out = x.select(*KEY, *[c.cast(pl.Float64) for c in cols]).sort([A, "pupil_id"])
    return out.collect()
