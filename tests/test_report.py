"""Report tables and figures on small hand-made products (the workflow's own report is
tested end to end, in headless Chromium, by tests/test_workflow.py)."""

from __future__ import annotations

import html.parser
import json

import numpy as np
import pytest
import xarray as xr

from chaosatlas.report import featured_systems, figures, tables


class _Cells(html.parser.HTMLParser):
    """Rows of <td> texts of one table, and the class of every row and cell."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.row_class: list[str] = []
        self.cell_class: list[list[str]] = []
        self._in = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
            self.cell_class.append([])
            self.row_class.append(a.get("class") or "")
        elif tag == "td":
            self.rows[-1].append("")
            self.cell_class[-1].append(a.get("class") or "")
            self._in = True

    def handle_endtag(self, tag):
        if tag == "td":
            self._in = False

    def handle_data(self, data):
        if self._in:
            self.rows[-1][-1] += data


def parse(fragment: str) -> _Cells:
    p = _Cells()
    p.feed(fragment)
    p.rows = [r for r in p.rows if r]  # the header row has <th>s only
    p.row_class = p.row_class[1:]
    p.cell_class = [c for c in p.cell_class if c]
    return p


def forecast_ds() -> xr.Dataset:
    models, systems = ["persistence", "good", "blowup"], ["Lorenz", "Henon"]
    vpt = np.array([[0.1, 0.2], [2.0, 3.0], [np.nan, np.nan]])
    shape = vpt.shape
    return xr.Dataset(
        {
            "vpt_lyapunov": (("model", "system"), vpt),
            "vpt_periods": (("model", "system"), vpt * 2),
            "smape": (("model", "system"), np.array([[150.0, 140], [20, 10], [np.nan, np.nan]])),
            "d_stsp": (("model", "system"), np.ones(shape)),
            "d_h": (("model", "system"), np.array([[0.5, 0.4], [0.1, 0.05], [np.nan, np.nan]])),
            "status": (("model", "system"), np.array([["ok"] * 2, ["ok"] * 2, ["failed"] * 2])),
        },
        coords={"model_name": ("model", models), "system_name": ("system", systems)},
    )


def test_leaderboard_ranks_by_median_vpt_and_marks_the_best():
    p = parse(tables.leaderboard_table(forecast_ds()))
    assert [r[1] for r in p.rows] == ["good", "persistence", "blowup"]
    # medians over both systems; the failed model's count as VPT 0, never a gap
    assert [r[2] for r in p.rows] == ["2.5 (n=2)", "0.15 (n=2)", "0 (n=2)"]
    assert [r[3] for r in p.rows] == ["0 / 2", "0 / 2", "2 / 2"]
    # columns: rank, model, median, not ok, then (VPT, sMAPE, D_stsp, D_H) per system, status
    assert len(p.rows[0]) == 4 + 2 * 4 + 1
    assert "best" in p.cell_class[0][4] and "best" in p.cell_class[0][5]  # VPT, sMAPE
    assert "best" not in p.cell_class[1][4]
    assert p.row_class[2] == "failed" and p.rows[2][-1] == "failed"
    assert p.rows[2][4] == "✗ failed" and "gap" in p.cell_class[2][4]
    compact = parse(tables.leaderboard_table(forecast_ds(), compact=True))
    # rank, model, median VPT, not ok, VPT per system, 3 score medians, status
    assert len(compact.rows[0]) == 4 + 2 + 3 + 1
    assert compact.rows[0][6] == "15 (n=2)"  # median sMAPE of "good"
    assert compact.rows[2][6] == "200 (n=2)"  # failures count at the worst value
    assert 'id="leaderboard"' in tables.leaderboard_table(forecast_ds(), compact=True)


def test_invariants_table_highlights_disagreements():
    ref = json.dumps({"max_lyapunov": {"value": 0.9056, "source": "x"}})
    ds = xr.Dataset(
        {
            "system_name": ("system", ["Lorenz", "Odd"]),
            "kind": ("system", ["flow", "flow"]),
            "verdict": ("system", ["chaotic", "periodic"]),
            "lyapunov_exponent": (("system", "exponent"), [[0.91, 0.0], [0.2, -1.0]]),
            "lyapunov_exponent_uncertainty": (("system", "exponent"), [[0.01, 0.01]] * 2),
            "kaplan_yorke_dimension": ("system", [2.06, np.nan]),
            "correlation_dimension": ("system", [2.05, 1.0]),
            "zero_one_k": ("system", [0.99, 0.01]),
            "reference": ("system", [ref, ref]),
            "reference_check": (
                "system",
                [
                    "lambda_1: computed 0.91, literature 0.9056 (agrees)",
                    "lambda_1: computed 0.2, literature 0.9056 (DISAGREES)",
                ],
            ),  # fmt: skip
            "reference_disagrees": ("system", np.array([0, 1], dtype=np.int8)),
        }
    )
    p = parse(tables.invariants_table(ds))
    assert [r[0] for r in p.rows] == ["Lorenz", "Odd"]
    assert p.row_class == ["", "disagree"]
    assert p.rows[1][5] == "0.9056"  # the literature value
    assert "disagree" in p.cell_class[1][4] and "disagree" not in p.cell_class[0][4]
    assert p.rows[1][7] == "–"  # no Kaplan-Yorke literature value


def test_catalogue_table_has_every_system_and_a_search_box():
    ds = xr.Dataset(
        {
            "kind": ("system", ["flow", "map"]),
            "family": ("system", ["lorenz_like", "maps"]),
            "dimension": ("system", [3, 2]),
            "parameters": ("system", ['{"sigma":10}', '{"a":1.4}']),
            "equations": ("system", ['{"x":"sigma*(y - x)"}', '{"x":"1 - a*x**2 + y"}']),
            "period": ("system", [0.75, np.nan]),
            "integrator": ("system", ["dop853", "map iteration"]),
            "status": ("system", ["ok", "diverged"]),
            "reason": ("system", ["", "left the box <1e6>"]),
            "citation": ("system", ["Lorenz (1963)", "Henon (1976)"]),
            "description": ("system", ["butterfly", "horseshoe"]),
        },
        coords={"system": ["Lorenz", "Henon"]},
    )
    text = tables.catalogue_table(ds)
    p = parse(text)
    assert [r[0] for r in p.rows] == ["Lorenzbutterfly", "Henonhorseshoe"]
    assert "sigma: 10" in p.rows[0][5] and "x: sigma*(y - x)" in p.rows[0][4]
    assert p.row_class == ["", "failed"]
    assert "&lt;1e6&gt;" in text  # escaped, not markup
    assert 'type="search"' in text and "chaosatlasFilter" in text


def test_projection_of_one_variable_uses_a_delay():
    x = np.arange(10.0)[:, None]
    a, b, la, lb = figures.projection(x, "dde", lag=3)
    np.testing.assert_array_equal(b - a, 3.0)
    assert (la, lb) == ("x(t)", "x(t+3)")
    a, b, _, lb = figures.projection(x, "map")
    np.testing.assert_array_equal(b, a + 1)
    assert lb == "x(n+1)"
    xy = np.random.default_rng(0).normal(size=(5, 3))
    a, b, _, _ = figures.projection(xy, "flow")
    np.testing.assert_array_equal(a, xy[:, 0])
    with pytest.raises(ValueError, match="time, variables"):
        figures.projection(np.zeros(5), "flow")


def test_figures_are_reproducible_pngs(tmp_path):
    rng = np.random.default_rng(1)
    traj = {"A": (rng.normal(size=(300, 3)).cumsum(0), "flow", 1),
            "B": (rng.random((300, 1)), "map", 1)}  # fmt: skip
    for k in range(2):
        figures.attractor_grid(traj, tmp_path / f"grid{k}.png")
        t = np.linspace(0, 1, 50)
        curves = {"tier": {"m": (t, t, t, 1 - t), "none": (np.zeros(0),) * 4}}
        figures.causal_curves_figure(curves, tmp_path / f"causal{k}.png")
    for name in ("grid", "causal"):
        first = (tmp_path / f"{name}0.png").read_bytes()
        assert first[:8] == b"\x89PNG\r\n\x1a\n"
        assert first == (tmp_path / f"{name}1.png").read_bytes()
        assert b"Software" not in first  # no matplotlib version in the bytes


def test_featured_system_without_trajectories_gets_a_message_not_a_failure(tmp_path):
    import zarr

    from chaosatlas.report import build

    store = tmp_path / "test.zarr"
    root = zarr.open_group(store, mode="w")
    root.attrs["systems"] = "[]"
    root.attrs["chaosatlas_complete"] = True  # readers refuse an incomplete store
    out = tmp_path / "attractor_Gone.png"
    build.report_attractor(store, "Gone", out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert featured_systems(("A", "B")) == ["A", "B"]
    assert featured_systems([f"S{k}" for k in range(20)], limit=3) == ["S0", "S1", "S2"]
