"""Writing panel packs: one file per school and format, a summary and a list record.

Every file is written atomically (:func:`riskscreen._files.atomic_path`): it
appears whole or not at all. Names or UPNs appear only in the school packs, and
only when the caller passes an identity lookup; the summary and the list record
(``panel_<date>_list.csv``, read back as ``previous=``) carry pseudonymous
references only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from riskscreen._files import atomic_path
from riskscreen.panel._html import document
from riskscreen.panel._packs import LIST_COLUMNS, PanelPacks, build_packs, school_label

FORMATS = ("xlsx", "html", "csv")


def _check_formats(formats) -> tuple[str, ...]:
    formats = (formats,) if isinstance(formats, str) else tuple(formats)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValueError(
            f"The 'formats' parameter of write_packs must hold some of {list(FORMATS)}. "
            f"Got {list(formats)!r} instead."
        )
    return formats


def _check_identities(identities, pack_columns) -> pd.DataFrame | None:
    if identities is None:
        return None
    if not isinstance(identities, pd.DataFrame) or identities.shape[1] == 0:
        raise ValueError(
            "The 'identities' parameter of write_packs must be a DataFrame indexed by "
            "pupil_id with the columns to show (e.g. 'Name', 'UPN')."
        )
    if not identities.index.is_unique:
        raise ValueError("The 'identities' lookup of write_packs has repeated pupil ids.")
    clash = [c for c in identities.columns if c in pack_columns]
    if clash:
        raise ValueError(f"The 'identities' columns {clash} clash with the pack's own columns.")
    return identities


def _with_identities(pack: pd.DataFrame, identities: pd.DataFrame | None) -> pd.DataFrame:
    if identities is None:
        return pack
    found = identities.reindex(pack["Reference"].to_numpy())
    at = list(pack.columns).index("Reference") + 1
    out = pack.copy()
    for i, col in enumerate(identities.columns):
        values = found[col].astype(object).where(found[col].notna(), "")
        out.insert(at + i, str(col), values.to_numpy())
    return out


def _pack_id(packs: PanelPacks, school) -> str:
    info = packs.model_info
    text = "|".join(
        [
            str(packs.as_of_date.date()),
            school_label(school),
            str(info.get("params_hash")),
            str(info.get("fit_timestamp")),
        ]
    )
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def write_all(packs: PanelPacks, out_dir, *, formats, identities) -> list[Path]:
    formats = _check_formats(formats)
    if "xlsx" in formats:
        from riskscreen.panel._xlsx import openpyxl_module

        openpyxl_module()  # fail before writing anything
    out_dir = Path(out_dir)
    stem = f"panel_{packs.as_of_date:%Y-%m-%d}"
    paths: list[Path] = []
    columns = [*packs.pack(pd.NA).columns, *packs.left_pack(pd.NA).columns]
    ident = _check_identities(identities, columns)
    for school in packs.schools:
        pack = _with_identities(packs.pack(school), ident)
        left = _with_identities(packs.left_pack(school), ident)
        lines = packs.header_lines(school)
        name = f"{stem}_school_{school_label(school).replace(' ', '_')}"
        if "xlsx" in formats:
            from riskscreen.panel._xlsx import write_pack_xlsx

            meta = {
                "pack_id": _pack_id(packs, school),
                "school_id": school_label(school),
                "as_of_date": str(packs.as_of_date.date()),
                "outcome": packs.outcome,
            }
            paths.append(out_dir / f"{name}.xlsx")
            with atomic_path(paths[-1]) as tmp:
                cols = [] if ident is None else [str(c) for c in ident.columns]
                write_pack_xlsx(tmp, pack, left, lines, meta=meta, identity_columns=cols)
        if "html" in formats:
            paths.append(out_dir / f"{name}.html")
            text = document(lines[0], lines[1:], [("", pack), ("Left the list", left)])
            with atomic_path(paths[-1]) as tmp:
                tmp.write_text(text, encoding="utf-8")
        if "csv" in formats:
            paths.append(out_dir / f"{name}.csv")
            with atomic_path(paths[-1]) as tmp:
                pack.to_csv(tmp, index=False, encoding="utf-8-sig")
    schools = [p for p in paths if p.suffix == ".html"]  # linked from the summary page
    paths += _write_summary(packs, out_dir / f"{stem}_summary", formats, schools)
    paths.append(out_dir / f"{stem}_list.csv")
    record = packs.lists.assign(as_of_date=str(packs.as_of_date.date()))[LIST_COLUMNS]
    with atomic_path(paths[-1]) as tmp:
        record.to_csv(tmp, index=False, encoding="utf-8-sig")
    return paths


def _write_summary(packs: PanelPacks, base: Path, formats, schools=()) -> list[Path]:
    title = f"Panel lists: authority summary, screening of {packs.as_of_date:%d %B %Y}"
    lines = [packs._title(), *packs.notes]
    table = packs.summary.reset_index()
    paths = []
    if "xlsx" in formats:
        from riskscreen.panel._xlsx import _styles, _table, _title, openpyxl_module

        wb = openpyxl_module().Workbook()
        ws = wb.active
        ws.title = "Summary"
        top = _title(ws, [title, *lines], table.shape[1], _styles()[0])
        _table(ws, table, top, styles=_styles())
        paths.append(base.with_suffix(".xlsx"))
        with atomic_path(paths[-1]) as tmp:
            wb.save(tmp)
    if "html" in formats:
        paths.append(base.with_suffix(".html"))
        with atomic_path(paths[-1]) as tmp:
            links = [(p.stem.split("_school_")[-1], p.name) for p in schools]
            page = document(title, lines, [("", table)], links=("School packs", links))
            tmp.write_text(page, encoding="utf-8")
    if "csv" in formats:
        paths.append(base.with_suffix(".csv"))
        with atomic_path(paths[-1]) as tmp:
            table.to_csv(tmp, index=False, encoding="utf-8-sig")
    return paths


def write_packs(
    screening,
    explanation,
    out_dir,
    *,
    previous=None,
    formats=("xlsx", "html", "csv"),
    capacity=None,
    identities=None,
    histories=None,
    n_reasons: int = 3,
) -> list[Path]:
    """Write a panel pack per school, an authority summary and a list record.

    Each school's pack (``panel_<date>_school_<id>.xlsx|.html|.csv``) lists its
    pupils ranked up to its capacity with reference, NC year, risk band, the top
    reasons in words, current involvement, what changed since the previous pack,
    and empty decision columns (Decision, Action, Lead professional, Review date;
    drop-downs in Excel). ``panel_<date>_summary.*`` sums them up with small counts
    suppressed; ``panel_<date>_list.csv`` records the lists for the next
    ``previous=``. Read filled-in packs with :func:`read_decisions`.

    Parameters
    ----------
    screening, explanation
        A :class:`~riskscreen.Screening` and its :class:`~riskscreen.explain.Explanation`.
    out_dir : path
    previous : PanelPacks or path, optional
        The previous packs, their folder or their list record.
    formats : tuple of {"xlsx", "html", "csv"}
        "xlsx" is written with openpyxl.
    capacity : None, float, int or dict
        See :func:`build_packs` (default: the screening's flags).
    identities : DataFrame, optional
        Indexed by pupil_id, with the columns to print (e.g. name, UPN): shown in
        the school packs only. Without it, packs carry pseudonymous references only.
    histories : LinkedHistories or path, optional
        For involvement with start dates.
    n_reasons : int, default 3

    Returns
    -------
    list of Path
        The files written.
    """
    packs = build_packs(
        screening,
        explanation,
        previous=previous,
        capacity=capacity,
        histories=histories,
        n_reasons=n_reasons,
    )
    return packs.write(out_dir, formats=formats, identities=identities)
