"""Coupled systems with a known causal graph (chaosatlas.causal.generate)."""

from __future__ import annotations

import numpy as np
import pytest

from chaosatlas import catalogue
from chaosatlas.causal import generate as g
from chaosatlas.integrate.solve import solve


def _central_differences(system, x, eps=1e-6):
    J = np.empty((system.dim, system.dim))
    for k in range(system.dim):
        e = np.zeros(system.dim)
        e[k] = eps * max(1.0, abs(x[k]))
        J[:, k] = (system.rhs(x + e) - system.rhs(x - e)) / (2 * e[k])
    return J


@pytest.fixture(scope="module")
def lorenz_pair_sweep():
    """Identical Lorenz -> Lorenz over a coupling sweep (one compiled module)."""
    return {
        inst.coupling: inst
        for inst in g.pair_instances(
            pairs=[("Lorenz", "Lorenz")], couplings=[-50.0, 1.0, 3.0, 20.0], mismatch=0.0
        )
    }


def test_curated_flows_exist_and_are_3d_flows():
    names = set(catalogue.names("flow"))
    for name, profile in g.CURATED_FLOWS.items():
        assert name in names
        system = catalogue.get(name)
        assert system.dim == 3 and system.kind == "flow"
        assert profile.parameter in system.parameters
        assert len(profile.std) == 3 and min(profile.std) > 0


def test_coupled_jacobian_equals_central_differences():
    (inst,) = g.pair_instances(pairs=[("Rossler", "Lorenz")], couplings=[3.0], rng=1)
    system = inst.system
    assert system.kind == "flow" and system.dim == 6
    x = system.initial_state + np.linspace(0.1, 0.6, system.dim)
    J = system.jacobian(x)
    np.testing.assert_allclose(J, _central_differences(system, x), rtol=1e-6, atol=1e-6)
    # the coupling term is in the response's first equation: d f_3 / d x_0 = c * s_1 / s_0
    ratio = g.CURATED_FLOWS["Lorenz"].std[0] / g.CURATED_FLOWS["Rossler"].std[0]
    assert J[3, 0] == pytest.approx(3.0 * ratio, rel=1e-12)


def test_orientation_driver_to_response(lorenz_pair_sweep):
    inst = lorenz_pair_sweep[3.0]
    np.testing.assert_array_equal(inst.adjacency, [[0, 1], [0, 0]])
    system = inst.system
    rng = np.random.default_rng(0)
    points = system.initial_state + rng.normal(size=(5, system.dim))
    for x in points:
        J = system.jacobian(x)  # J[i, j] = d f_i / d x_j
        assert np.all(J[0:3, 3:6] == 0), "the driver must not depend on the response"
        block = J[3:6, 0:3]
        assert block[0, 0] != 0 and np.count_nonzero(block) == 1
    A = g.truth_from_jacobian(system, points, node_slices=inst.node_slices)
    np.testing.assert_array_equal(A, inst.adjacency)


@pytest.mark.parametrize("N", [10, 20, 40])
def test_lorenz96_truth_analytic_equals_jacobian(N):
    inst = g.lorenz96_instance(N)
    A = g.lorenz96_truth(N)
    for i in range(N):
        assert set(np.flatnonzero(A[:, i])) == {(i - 2) % N, (i - 1) % N, (i + 1) % N}
    rng = np.random.default_rng(N)
    points = 8.0 + 3.0 * rng.standard_normal((4, N))  # generic states: structural zeros only
    np.testing.assert_array_equal(g.truth_from_jacobian(inst.system, points), A)
    np.testing.assert_array_equal(inst.adjacency, A)


def test_lorenz96_truth_on_attractor_points():
    inst = g.lorenz96_instance(10)
    sim = g.simulate(inst, n_points=200, seed=0)
    assert sim.status == "ok", sim.reason
    points = sim.x[::25, :, 0].astype(np.float64)
    np.testing.assert_array_equal(g.truth_from_jacobian(inst.system, points), inst.adjacency)


def test_coupled_logistic_map_matches_closed_form():
    system, A, W = g.coupled_logistic_map()
    assert system.kind == "map"
    np.testing.assert_array_equal(A, [[0, 1], [1, 0]])
    np.testing.assert_array_equal(W, [[0, 0.1], [0.02, 0]])
    x0 = np.array([0.4, 0.2])
    sol = solve(system, x0, np.arange(11))
    assert sol.ok[0]
    x, y = 0.4, 0.2
    expected = [(x, y)]
    for _ in range(10):
        x, y = x * (3.8 - 3.8 * x - 0.02 * y), y * (3.5 - 3.5 * y - 0.1 * x)
        expected.append((x, y))
    np.testing.assert_allclose(sol.x[0], np.array(expected), rtol=1e-12, atol=1e-14)
    points = sol.x[0, 1:]
    np.testing.assert_array_equal(g.truth_from_jacobian(system, points), A)


def test_strong_coupling_is_flagged_synchronised(lorenz_pair_sweep):
    strong = g.simulate(lorenz_pair_sweep[20.0], n_points=1000, seed=1)
    assert strong.status == "synchronised"
    assert "sync error" in strong.reason and "0->1" in strong.reason
    assert strong.min_sync_error < g.SYNC_THRESHOLD
    assert f"{strong.sync_error[0, 1]:.3g}" in strong.reason
    weak = g.simulate(lorenz_pair_sweep[1.0], n_points=1000, seed=1)
    assert weak.status == "ok" and weak.reason == ""
    assert weak.sync_error[0, 1] > 0.5
    assert np.isnan(weak.sync_error[1, 0])  # no coupled edge response -> driver
    assert weak.x.dtype == np.float32 and weak.x.shape == (1000, 2, 3)
    assert 0.02 < weak.dt < 0.05  # ~32 points per period of a normalised node


def test_same_seed_same_bytes(lorenz_pair_sweep):
    inst = lorenz_pair_sweep[3.0]
    a = g.simulate(inst, n_points=300, seed=7)
    b = g.simulate(inst, n_points=300, seed=7)
    c = g.simulate(inst, n_points=300, seed=8)
    assert a.x.tobytes() == b.x.tobytes() and a.dt == b.dt
    assert a.x.tobytes() != c.x.tobytes()


def test_divergence_is_a_status_not_an_exception(lorenz_pair_sweep):
    sim = g.simulate(lorenz_pair_sweep[-50.0], n_points=100, seed=0)  # anti-diffusive
    assert sim.status == "diverges"
    assert "bound" in sim.reason or "non-finite" in sim.reason
    assert sim.x.shape == (100, 2, 3) and np.isnan(sim.x).all()


def test_random_dag_is_acyclic():
    rng = np.random.default_rng(3)
    degrees = []
    for _ in range(20):
        A = g.random_dag(10, rng, mean_indegree=2)
        assert A.dtype == np.int8 and np.all(np.diag(A) == 0)
        assert not np.any(np.linalg.matrix_power(A.astype(np.int64), 10))  # nilpotent: no cycle
        degrees.append(A.sum() / 10)
    assert 1.5 < np.mean(degrees) < 2.5
    T = g.random_dag(10, rng, method="gnr")
    assert T.sum() == 9 and T.sum(axis=0).max() == 1
    assert not np.any(np.linalg.matrix_power(T.astype(np.int64), 10))


def test_tier2_variants():
    A = np.array([[0, 1, 0], [0, 0, 0], [0, 0, 0]], dtype=np.int8)
    names = ["Lorenz", "Rossler", "Chen"]
    make = {
        v: g.dag_instance(A, names, 11, variant=v, confounder_system="Lorenz") for v in g.VARIANTS
    }
    # the same node parameters in every variant of one graph
    for inst in make.values():
        assert inst.parameter_offsets[:3] == make["default"].parameter_offsets[:3]
        np.testing.assert_array_equal(inst.adjacency, A)
    # confounder: a hidden 4th node drives the non-adjacent pair (0, 2) or (1, 2)
    conf = make["confounder"]
    assert conf.observed == (0, 1, 2) and len(conf.node_systems) == 4
    ((a, b),) = conf.confounded_pairs
    assert A[a, b] == 0 and A[b, a] == 0
    full = g.truth_from_jacobian(
        conf.system, conf.system.initial_state[None, :] + 0.1, node_slices=conf.node_slices
    )
    assert full[3, a] == 1 and full[3, b] == 1 and full[:, 3].sum() == 0
    # delayed: a delay equation whose delayed Jacobian carries the edge
    delayed = make["delayed"]
    assert delayed.system.kind == "dde"
    x = delayed.system.initial_state + 0.1
    np.testing.assert_array_equal(
        g.truth_from_jacobian(delayed.system, x[None, :], node_slices=delayed.node_slices), A
    )

    sims = {v: g.simulate(inst, n_points=400, seed=5) for v, inst in make.items()}
    for v, sim in sims.items():
        assert sim.status == "ok", (v, sim.reason)
        assert sim.x.shape == (400, 3, 3) and np.isfinite(sim.x).all()
    clean = sims["default"].x
    assert not np.array_equal(clean, sims["measurement_noise"].x)
    assert sims["default"].dt == sims["measurement_noise"].dt
    assert not np.array_equal(clean, sims["dynamical_noise"].x)
    again = g.simulate(make["dynamical_noise"], n_points=400, seed=5)
    assert again.x.tobytes() == sims["dynamical_noise"].x.tobytes()


def test_tier_datasets():
    ds1 = g.tier_dataset(1, {"n_points": 200}, seed=2)
    assert ds1.sizes["instance"] == 4
    assert ds1.x.dtype == np.float32 and ds1.x.dims == ("instance", "time", "node")
    assert ds1.x_full.dims == ("instance", "time", "node", "dim")
    assert ds1.adj_summary.dtype == np.int8
    np.testing.assert_array_equal(ds1.adj_summary.values[0], [[0, 1], [0, 0]])
    assert (
        ds1.attrs["convention"]
        == g.CONVENTION
        == "A[source, target] = 1 means source causes target"
    )
    for key in ("tier", "dt", "seed", "self_loop_policy"):
        assert key in ds1.attrs
    assert set(ds1.status.values) <= {"ok", "synchronised"}
    again = g.tier_dataset(1, {"n_points": 200}, seed=2)
    assert again.x.values.tobytes() == ds1.x.values.tobytes()
    assert again.identical(ds1)

    ds2 = g.tier_dataset(2, {"n_graphs": 2, "n_nodes": [3, 4], "n_points": 200}, seed=1)
    assert ds2.sizes["instance"] == 4 and ds2.sizes["node"] == 4
    n = ds2.n_nodes.values
    assert list(n) == [3, 3, 4, 4]
    for k in range(4):
        adj = ds2.adj_summary.values[k]
        assert np.all(adj[: n[k], : n[k]] >= 0) and np.all(np.diag(adj)[: n[k]] == 0)
        assert np.all(adj[n[k] :, :] == -1) and np.all(adj[:, n[k] :] == -1)
        assert np.isnan(ds2.x.values[k, :, n[k] :]).all()

    ds3 = g.tier_dataset(3, {"n_points": 200}, seed=0)
    np.testing.assert_array_equal(ds3.adj_summary.values[0], g.lorenz96_truth(10))
    assert ds3.status.values[0] == "ok" and ds3.x.shape == (1, 200, 10)

    with pytest.raises(ValueError, match="unknown"):
        g.tier_dataset(1, {"n_graphs": 3})


def test_coupled_logistic_instance_simulates():
    inst = g.coupled_logistic_instance()
    sim = g.simulate(inst, n_points=300, seed=0)
    assert sim.status == "ok" and sim.dt == 1.0 and sim.x.shape == (300, 2, 1)
    x, y = sim.x[:-1, 0, 0].astype(np.float64), sim.x[:-1, 1, 0].astype(np.float64)
    np.testing.assert_allclose(sim.x[1:, 0, 0], x * (3.8 - 3.8 * x - 0.02 * y), rtol=1e-5)
    np.testing.assert_allclose(sim.x[1:, 1, 0], y * (3.5 - 3.5 * y - 0.1 * x), rtol=1e-5)
