"""HTML tables for the Snakemake report: self-contained, no network, no templates.

Each function takes an opened product (an ``xarray.Dataset``) and returns an
HTML fragment (a ``<style>`` block and a ``<table>``); :func:`page` wraps a
fragment into a complete document. The same fragment is embedded in the
report's front page (the leaderboard) and shown as a report item.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "catalogue_table",
    "disagreeing",
    "invariants_table",
    "failed_mask",
    "leaderboard_order",
    "leaderboard_table",
    "literature_values",
    "ranked_scores",
    "page",
]

STYLE = """<style>
table.chaosatlas {border-collapse: collapse; font: 13px/1.35 sans-serif; margin: 0.5em 0;}
table.chaosatlas th, table.chaosatlas td {border: 1px solid #ccc; padding: 3px 6px;
  vertical-align: top; text-align: left;}
table.chaosatlas th {background: #eef1f5; position: sticky; top: 0;}
table.chaosatlas td.num {text-align: right; font-variant-numeric: tabular-nums;}
table.chaosatlas tr.disagree td {background: #fde2e1;}
table.chaosatlas td.disagree {background: #f8b4b0; font-weight: bold;}
table.chaosatlas tr.failed td {color: #999;}
table.chaosatlas td.best {font-weight: bold; background: #e3f4e1;}
table.chaosatlas td.gap {color: #b00020; background: repeating-linear-gradient(45deg, #fff,
  #fff 4px, #f6e6e8 4px, #f6e6e8 8px);}
table.chaosatlas tr.floor td {color: #555; font-style: italic; background: #fafafa;}
input.chaosatlas-search {font: 14px sans-serif; padding: 4px; width: 24em; margin: 0.3em 0;}
</style>"""

# Inline search: hides the rows of the table that do not contain every word typed.
SEARCH_SCRIPT = """<script>
function chaosatlasFilter(input, tableId) {
  const words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
  for (const row of document.getElementById(tableId).tBodies[0].rows) {
    const text = row.textContent.toLowerCase();
    row.style.display = words.every(w => text.includes(w)) ? "" : "none";
  }
}
</script>"""


def page(title: str, fragment: str) -> str:
    """A complete, self-contained HTML document around a fragment."""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{fragment}\n</body></html>\n"
    )


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return "–"
        return f"{float(value):.{digits}g}"
    return str(value)


def _table(
    table_id: str,
    header: Sequence[str],
    rows: Iterable[tuple[str, Sequence[tuple[str, str]]]],
    caption: str = "",
) -> str:
    """rows: (row class, [(cell class, cell html), ...])."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join(
        f'<tr class="{cls}">' + "".join(f'<td class="{c}">{v}</td>' for c, v in cells) + "</tr>"
        for cls, cells in rows
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (
        f'<table class="chaosatlas" id="{table_id}">{cap}<thead><tr>{head}</tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table>"
    )


def _json_text(text: str) -> str:
    """A JSON attribute (parameters, equations) as readable ``key: value`` lines."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return html.escape(str(text))
    if isinstance(value, dict):
        return "<br>".join(html.escape(f"{k}: {v}") for k, v in value.items())
    if isinstance(value, list):
        return html.escape(", ".join(str(v) for v in value))
    return html.escape(str(value))


def catalogue_table(ds: xr.Dataset) -> str:
    """The catalogue (``catalogue.nc``) as a table with a search box.

    One row per system: kind, family, dimension, equations, parameters,
    period, integrator, status (with its reason) and citation.
    """
    names = [str(s) for s in ds["system"].values]
    rows = []
    for i, name in enumerate(names):
        row = ds.isel(system=i)
        status = str(row["status"].values)
        reason = str(row["reason"].values)
        cells = [
            (
                "",
                f"<b>{html.escape(name)}</b><br><small>{html.escape(str(row['description'].values))}</small>",
            ),  # fmt: skip
            ("", html.escape(str(row["kind"].values))),
            ("", html.escape(str(row["family"].values))),
            ("num", str(int(row["dimension"].values))),
            ("", _json_text(str(row["equations"].values))),
            ("", _json_text(str(row["parameters"].values))),
            ("num", _fmt(float(row["period"].values))),
            ("", html.escape(str(row["integrator"].values))),
            ("", html.escape(status + (f": {reason}" if reason else ""))),
            ("", html.escape(str(row["citation"].values))),
        ]
        rows.append(("" if status == "ok" else "failed", cells))
    header = ["system", "kind", "family", "dim", "equations", "parameters", "period",
              "integrator", "status", "citation"]  # fmt: skip
    search = (
        '<input class="chaosatlas-search" type="search" placeholder="search systems, '
        'families, equations, citations" oninput="chaosatlasFilter(this, \'catalogue\')">'
    )
    caption = f"{len(names)} systems; type to filter the rows"
    return STYLE + SEARCH_SCRIPT + search + _table("catalogue", header, rows, caption)


def _parse_reference(reference_json: str) -> dict[str, Any]:
    try:
        reference = json.loads(reference_json or "{}")
    except ValueError:
        return {}
    return reference if isinstance(reference, dict) else {}


def literature_values(reference_json: str) -> dict[str, float]:
    """An ``invariants.nc`` ``reference`` entry (JSON) as the values the check used.

    Keys as in :func:`chaosatlas.diagnostics.stage.reference_values`; NaN
    where there is no value (or the entry is not JSON).
    """
    from ..diagnostics.stage import reference_values

    return reference_values(_parse_reference(reference_json))


def disagreeing(check: str) -> set[str]:
    """Names of the quantities that ``reference_check`` marks DISAGREES."""
    out = set()
    for note in check.split(";"):
        name, _, rest = note.strip().partition(":")
        if "DISAGREES" in rest:
            out.add(name.strip())
    return out


def invariants_table(ds: xr.Dataset) -> str:
    """Computed invariants (``invariants.nc``) next to the literature values.

    A row whose ``reference_disagrees`` flag is set is shaded, and the
    disagreeing computed value is marked; the full comparison text
    (``reference_check``) is in the last column.
    """
    rows = []
    for i in range(ds.sizes["system"]):
        row = ds.isel(system=i)
        name = str(row["system_name"].values)
        reference = _parse_reference(str(row["reference"].values))
        lit = literature_values(str(row["reference"].values))
        check = str(row["reference_check"].values)
        bad = disagreeing(check)
        l1 = float(row["lyapunov_exponent"].values[0])
        l1_sd = float(row["lyapunov_exponent_uncertainty"].values[0])
        behaviour = reference.get("behaviour", {}).get("value", "")

        def mark(quantity: str, bad: set[str] = bad) -> str:
            return "num disagree" if quantity in bad else "num"

        cells = [
            ("", f"<b>{html.escape(name)}</b>"),
            ("", html.escape(str(row["kind"].values))),
            ("disagree" if "behaviour" in bad else "",
             html.escape(str(row["verdict"].values))),
            ("", html.escape(str(behaviour))),
            (mark("lambda_1"), _fmt(l1, 4) + (f" ± {_fmt(l1_sd, 2)}" if math.isfinite(l1_sd) else "")),
            ("num", _fmt(lit["lambda_1"], 4)),
            (mark("Kaplan-Yorke dimension"), _fmt(float(row["kaplan_yorke_dimension"].values), 4)),
            ("num", _fmt(lit["Kaplan-Yorke dimension"], 4)),
            (mark("correlation dimension"), _fmt(float(row["correlation_dimension"].values), 3)),
            ("num", _fmt(lit["correlation dimension"], 3)),
            ("num", _fmt(float(row["zero_one_k"].values), 3)),
            ("", html.escape(check)),
        ]  # fmt: skip
        rows.append(("disagree" if int(row["reference_disagrees"].values) else "", cells))
    header = ["system", "kind", "verdict", "literature behaviour", "λ1 computed",
              "λ1 literature", "D_KY computed", "D_KY literature", "D2 computed",
              "D2 literature", "0-1 test K", "comparison"]  # fmt: skip
    n_bad = int(np.sum(ds["reference_disagrees"].values))
    caption = (
        f"{ds.sizes['system']} systems; {n_bad} disagree with the literature (shaded, the "
        "disagreeing value in bold); – means not computed or no literature value"
    )
    return STYLE + _table("invariants", header, rows, caption)


#: leaderboard columns per system: (variable, heading, larger is better)
LEADERBOARD_SCORES = (
    ("vpt_lyapunov", "VPT (Lyapunov times)", True),
    ("smape", "sMAPE", False),
    ("d_stsp", "D_stsp", False),
    ("d_h", "D_H", False),
)

#: the value a failed or missing score ranks as: never a gap, never better than a success
WORST = {"vpt_lyapunov": 0.0, "vpt_periods": 0.0, "smape": 200.0, "d_stsp": math.inf, "d_h": 1.0}


def failed_mask(ds: xr.Dataset, var: str) -> np.ndarray:
    """``(model, system)``: True where the status says ``var`` has no score.

    A short-horizon score fails where the status is failed or missing, a
    long-term score (D_stsp, D_H) also where the rollout failed
    (:data:`chaosatlas.forecast.NO_SHORT_SCORE`, ``NO_LONG_SCORE``).
    """
    from ..forecast import NO_LONG_SCORE, NO_SHORT_SCORE

    statuses = NO_LONG_SCORE if var in ("d_stsp", "d_h") else NO_SHORT_SCORE
    return np.isin(ds["status"].values.astype(str), statuses)


def ranked_scores(ds: xr.Dataset, var: str) -> np.ndarray:
    """``ds[var]`` ``(model, system)`` with every failure replaced by its worst value.

    A failure is what :func:`failed_mask` says, or any non-finite value left.
    Nothing is dropped: a median over systems then counts a failure against
    the model.
    """
    values = ds[var].values.astype(float).copy()
    values[failed_mask(ds, var) | ~np.isfinite(values)] = WORST[var]
    return values


def chaotic_systems(ds: xr.Dataset) -> np.ndarray:
    """Per system: True where its largest exponent (``system_lambda1``) is positive."""
    if "system_lambda1" in ds:
        lam = ds["system_lambda1"].values.astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lam = np.nanmax(np.where(np.isfinite(lam), lam, -np.inf), axis=0)
        return lam > 0
    return np.isfinite(ds["vpt_lyapunov"].values.astype(float)).any(axis=0)


def leaderboard_order(ds: xr.Dataset) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Model order of the leaderboard and the per-model summaries it ranks by.

    Keys, in order: the median over chaotic systems of VPT in Lyapunov times
    (larger first), the median over the other systems of VPT in dominant
    periods (units are never mixed), the number of failed scores (fewer
    first), the median sMAPE. Every median counts failures at their worst
    value (:func:`ranked_scores`), so a model that fails somewhere never
    ranks above the same scores without the failure.
    """
    chaotic = chaotic_systems(ds)
    vpt_lt = ranked_scores(ds, "vpt_lyapunov")[:, chaotic]
    vpt_p = ranked_scores(ds, "vpt_periods")[:, ~chaotic]
    status = ds["status"].values.astype(str)
    n_models = status.shape[0]

    def median(x: np.ndarray) -> np.ndarray:
        return np.median(x, axis=1) if x.shape[1] else np.full(n_models, math.nan)

    summary = {
        "vpt_lyapunov": median(vpt_lt),
        "vpt_periods": median(vpt_p),
        "n_failed": np.sum(status != "ok", axis=1),
        **{var: median(ranked_scores(ds, var)) for var in ("smape", "d_stsp", "d_h")},
    }
    keys = (
        -np.nan_to_num(summary["vpt_lyapunov"], nan=0.0),
        -np.nan_to_num(summary["vpt_periods"], nan=0.0),
        summary["n_failed"],
        summary["smape"],
    )
    return np.lexsort(keys[::-1]), summary


def _score_cell(
    ds: xr.Dataset, var: str, i: int, j: int, best: float, failed: np.ndarray
) -> tuple[str, str]:
    """One per-system cell: the value, ``≥`` where censored, a marked gap where failed."""
    v = float(ds[var].values[i, j])
    status = str(ds["status"].values[i, j])
    if failed[i, j] or not math.isfinite(v):
        title = html.escape(str(ds["reason"].values[i, j]) if "reason" in ds else status)
        return "num gap", f'<span title="{title}">✗ {html.escape(status)}</span>'
    text = _fmt(v)
    if var == "vpt_lyapunov" and "vpt_censored" in ds and int(ds["vpt_censored"].values[i, j]):
        text = "≥ " + text  # never crossed the threshold: a lower bound
    return ("num best" if v == best else "num"), text


def _median_text(value: float, n: int) -> str:
    if math.isinf(value):
        return f"∞ (n={n})"
    return f"{_fmt(value)} (n={n})" if math.isfinite(value) else "–"


def leaderboard_table(ds: xr.Dataset, compact: bool = False) -> str:
    """The forecast leaderboard (``forecast.nc``), ranked by :func:`leaderboard_order`.

    Rows are models; the summary columns are medians over systems with
    failures counted at their worst value and ``n`` the number of systems;
    per system the VPT (``≥`` where censored), sMAPE, D_stsp and D_H, the best
    value per column in bold, a failure shown as a marked gap (✗ and its
    status) and never as a number. A last row gives each system's noise
    floor of D_stsp and D_H (one true trajectory against another).
    ``compact``: per-system VPT only, the other scores as medians (the
    report's front page).
    """
    models = [str(m) for m in ds["model_name"].values]
    systems = [str(s) for s in ds["system_name"].values]
    chaotic = chaotic_systems(ds)
    n_chaotic, n_other = int(chaotic.sum()), int((~chaotic).sum())
    order, summary = leaderboard_order(ds)
    per_system = LEADERBOARD_SCORES[:1] if compact else LEADERBOARD_SCORES
    summarised = LEADERBOARD_SCORES[1:] if compact else ()
    failed = {var: failed_mask(ds, var) for var, _, _ in LEADERBOARD_SCORES}
    best: dict[tuple[str, int], float] = {}
    for var, _, larger in LEADERBOARD_SCORES:
        values = ds[var].values.astype(float)
        for j in range(len(systems)):
            col = values[:, j][np.isfinite(values[:, j]) & ~failed[var][:, j]]
            if col.size:
                best[(var, j)] = col.max() if larger else col.min()
    n_sys = len(systems)
    rows = []
    for rank, i in enumerate(order, start=1):
        cells = [("num", str(rank)), ("", f"<b>{html.escape(models[i])}</b>"),
                 ("num", _median_text(summary["vpt_lyapunov"][i], n_chaotic))]  # fmt: skip
        if n_other:
            cells.append(("num", _median_text(summary["vpt_periods"][i], n_other)))
        cells.append(("num", f"{int(summary['n_failed'][i])} / {n_sys}"))
        for j in range(n_sys):
            for var, _, _ in per_system:
                cells.append(_score_cell(ds, var, i, j, best.get((var, j), math.nan), failed[var]))
        for var, _, _ in summarised:
            cells.append(("num", _median_text(summary[var][i], n_sys)))
        status = sorted({str(s) for s in ds["status"].values[i]})
        cells.append(("", html.escape(", ".join(status))))
        rows.append(("" if status == ["ok"] else "failed", cells))
    if not compact and "d_stsp_floor" in ds:
        floor = [("", ""), ("", "<i>noise floor</i>"), ("", "")]
        floor += [("", "")] * (1 + bool(n_other))
        for j in range(n_sys):
            floor += [("", ""), ("", "")]
            floor += [("num", _fmt(float(ds[f"{v}_floor"].values[j]))) for v in ("d_stsp", "d_h")]
        floor.append(("", "truth against an independent true trajectory"))
        rows.append(("floor", floor))
    header = ["rank", "model", "median VPT (Lyapunov times)"]
    if n_other:
        header.append("median VPT (periods), non-chaotic")
    header.append("not ok")
    header += [
        f"{s}: {h}" if not compact else f"{s} VPT" for s in systems for _, h, _ in per_system
    ]
    header += [f"{h}, median" for _, h, _ in summarised]
    header.append("status")
    caption = (
        "Forecast leaderboard: models ranked by the median over chaotic systems of the valid "
        "prediction time in Lyapunov times; every median counts a failure at its worst value "
        "(VPT 0, sMAPE 200, D_H 1, D_stsp ∞), n systems; ≥: censored at the VPT horizon (a lower "
        "bound); ✗: failed, hover for the reason; best per column in bold"
    )
    table = _table("leaderboard", header, rows, caption)
    return STYLE + f'<div style="overflow-x: auto; max-width: 100%">{table}</div>'
