"""The catalogue: coverage, parsing, errors, compiled right-hand sides and Jacobians."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from chaosatlas import catalogue
from chaosatlas.catalogue import CatalogueError


def test_catalogue_size_and_kinds():
    names = catalogue.names()
    assert len(names) >= 150
    flows, maps, ddes = (catalogue.names(k) for k in ("flow", "map", "dde"))
    assert len(flows) + len(maps) + len(ddes) == len(names)
    assert len(maps) >= 20 and len(ddes) >= 6
    with pytest.raises(ValueError, match="kind"):
        catalogue.names("pde")


def test_every_entry_loads_and_covers_dysts():
    systems = list(catalogue.all_systems())
    assert len({s.name for s in systems}) == len(systems)
    dysts_names = {s.dysts for s in systems if s.dysts}
    # every flow, delay equation and map of dysts 0.96 has an entry
    assert len(dysts_names) >= 150
    for s in systems:
        assert s.citation and s.initial_state.shape == (s.dim,)
        assert np.all(np.isfinite(s.initial_state))


def test_lorenz_entry_is_the_standard_one():
    lorenz = catalogue.get("Lorenz")
    assert lorenz.variables == ("x", "y", "z")
    assert lorenz.parameters == pytest.approx({"sigma": 10.0, "rho": 28.0, "beta": 8 / 3})
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(lorenz.rhs(x), [10 * (2 - 1), 1 * (28 - 3) - 2, 1 * 2 - 8 / 3 * 3])


def test_parameter_and_size_overrides():
    lorenz = catalogue.get("Lorenz", rho=99.96)
    assert lorenz.parameters["rho"] == 99.96
    assert lorenz.compiled.module is catalogue.get("Lorenz").compiled.module  # no recompile
    with pytest.raises(CatalogueError, match="no parameter 'gamma'"):
        catalogue.get("Lorenz", gamma=1.0)
    with pytest.raises(KeyError, match="did you mean 'Lorenz'"):
        catalogue.get("lorenz")


def test_indexed_family_expands_with_periodic_indices(load_yaml):
    sys_ = load_yaml(
        """
        systems:
          - name: L96
            kind: flow
            size: {N: 5}
            variables: ["x[i]"]
            parameters: {F: 8}
            equations:
              "x[i]": (x[i+1] - x[i-2])*x[i-1] - x[i] + F
            initial_state:
              "x[i]": F + 0.01*KroneckerDelta(i, 0)
            citation: Lorenz (1996)
        """
    )["L96"]
    assert sys_.dim == 5 and sys_.variables[0] == "x_0"
    x = np.arange(5.0)
    expected = [(x[(i + 1) % 5] - x[(i - 2) % 5]) * x[(i - 1) % 5] - x[i] + 8 for i in range(5)]
    np.testing.assert_allclose(sys_.rhs(x), expected)
    np.testing.assert_allclose(sys_.initial_state, [8.01, 8, 8, 8, 8])


def test_sums_and_vector_parameters(load_yaml):
    s = load_yaml(
        """
        systems:
          - name: Kuramoto
            kind: flow
            size: {N: 4}
            variables: ["theta[i]"]
            parameters: {K: 1.5, w: [1.0, 1.1, 0.9, 1.2]}
            equations:
              "theta[i]": w[i] + K/N*Sum(sin(theta[j] - theta[i]), (j, 0, N-1))
            initial_state: [0.1, 0.2, 0.3, 0.4]
            unbounded: ["theta[i]"]
            citation: Kuramoto (1975)
        """
    )["Kuramoto"]
    th = np.array([0.1, 0.5, -0.3, 2.0])
    w = np.array([1.0, 1.1, 0.9, 1.2])
    expected = w + 1.5 / 4 * np.sin(th[None, :] - th[:, None]).sum(axis=1)
    np.testing.assert_allclose(s.rhs(th), expected, rtol=1e-13)
    assert s.parameter_names == ("K", "w_0", "w_1", "w_2", "w_3")
    assert not s.bounded_mask.any()


@pytest.mark.parametrize("name", catalogue.names())
def test_jacobian_matches_finite_differences(name):
    """The symbolic Jacobian, compiled, against central differences of the compiled rhs."""
    system = catalogue.get(name)
    rng = np.random.default_rng(0)
    x = system.initial_state + 0.01 * rng.standard_normal(system.dim) * (
        1 + np.abs(system.initial_state)
    )
    xd = system.initial_state[[d.variable for d in system.delays]] if system.delays else None
    t = 0.3
    J = system.jacobian(x, t, delayed=xd)
    h = 1e-6 * (1 + np.abs(x))
    fd = np.empty_like(J)
    for k in range(system.dim):
        e = np.zeros(system.dim)
        e[k] = h[k]
        fd[:, k] = (system.rhs(x + e, t, delayed=xd) - system.rhs(x - e, t, delayed=xd)) / (
            2 * h[k]
        )
    scale = 1 + np.abs(fd).max()
    ok = np.abs(J - fd) <= 1e-5 * scale
    # non-smooth entries (Abs, Mod, Heaviside) may sit on a kink: allow only where rhs has a kink
    assert ok.mean() > 0.95, f"{name}: Jacobian differs from finite differences:\n{J}\n{fd}"
    assert np.isfinite(J).all()


def test_delay_jacobian(load_yaml):
    mg = load_yaml(
        """
        systems:
          - name: MG
            kind: dde
            variables: [x]
            parameters: {beta: 0.2, gamma: 0.1, n: 10, tau: 17}
            equations:
              x: beta*delay(x, tau)/(1 + delay(x, tau)**n) - gamma*x
            initial_state: [1.2]
            citation: Mackey & Glass (1977)
        """
    )["MG"]
    assert mg.delay_values().tolist() == [17.0]
    xd = np.array([0.9])
    jd = mg.compiled.jacobian_delay(np.array([1.1]), 0.0, delayed=xd)
    f = lambda u: 0.2 * u / (1 + u**10)  # noqa: E731
    np.testing.assert_allclose(jd[0, 0], (f(0.9 + 1e-7) - f(0.9 - 1e-7)) / 2e-7, rtol=1e-6)


def test_second_process_loads_compiled_code_from_cache():
    """A new process must not recompile: numba loads the machine code from the disk cache."""
    code = textwrap.dedent(
        """
        import numpy as np
        from chaosatlas import catalogue
        from chaosatlas.integrate.solve import solve
        s = catalogue.get("Lorenz")
        solve(s, s.initial_state, np.linspace(0, 1, 10))
        m = s.compiled.module
        print(m.dop853_batch.stats.cache_hits.total(), m.dop853_batch.stats.cache_misses.total())
        """
    )
    for _ in range(2):  # the first run may compile; the second must hit the cache
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
        )
    hits, misses = map(int, out.stdout.split())
    assert hits >= 1 and misses == 0


# ----------------------------------------------------------------------------- bad input

GOOD = """
systems:
  - name: Good
    kind: flow
    variables: [x, y]
    parameters: {a: 1.0}
    equations: {x: a*y, y: -x}
    initial_state: [1.0, 0.0]
    citation: test
"""


def _mutate(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


@pytest.mark.parametrize(
    ("text", "key", "message"),
    [
        (GOOD + "  - [unbalanced\n", None, "malformed YAML"),
        (_mutate("x: a*y", "x: a*q"), "equations.x", "unknown symbol"),
        (_mutate("parameters: {a: 1.0}", "parameters: {}"), "equations.x", "unknown symbol(s): a"),
        (_mutate("[1.0, 0.0]", "[1.0, 0.0, 2.0]"), "initial_state", "has 3 values"),
        (_mutate("kind: flow", "kind: pde"), "kind", "kind must be"),
        (_mutate("y: -x}", "}"), "equations.y", "no equation"),
        (_mutate("x: a*y", "x: a*y + t"), None, None),  # t is fine in flows
        (_mutate("x: a*y", "x: frobnicate(y)"), "equations.x", "unknown function"),
        (_mutate("x: a*y", "x: a*y +"), "equations.x", "cannot parse"),
        (_mutate("x: a*y", "x: __import__('os')"), "equations.x", "may not start with"),
        (_mutate("x: a*y", "x: 9**9**9**9"), "equations.x", "exponent out of range"),
        (_mutate("citation: test", "citation: ''"), "citation", "non-empty"),
        (
            _mutate("    citation: test", "    citation: test\n    colour: red"),
            "colour",
            "unknown key",
        ),
        (
            _mutate(
                "    citation: test",
                "    citation: test\n    reference:\n      behaviour: {value: wobbly, source: me}",
            ),
            "reference.behaviour.value",
            "must be one of",
        ),
        (
            _mutate(
                "    citation: test",
                "    citation: test\n    reference:\n      behaviour: {value: periodic, source: me}",
            ),
            None,
            None,
        ),
    ],
)
def test_bad_input_names_file_system_and_key(text, key, message):
    if message is None:
        catalogue.load_text(text, file="user.yaml")
        return
    with pytest.raises(CatalogueError) as info:
        catalogue.load_text(text, file="user.yaml")
    err = info.value
    assert err.file == "user.yaml" and "user.yaml" in str(err)
    if key is not None:
        assert err.key == key and err.system == "Good"
        assert "'Good'" in str(err) and key in str(err)
    assert message in str(err)


def test_duplicate_name_in_one_file():
    text = GOOD + GOOD.split("systems:\n", 1)[1]
    with pytest.raises(CatalogueError, match="duplicate name") as info:
        catalogue.load_text(text, file="dup.yaml")
    assert info.value.system == "Good" and info.value.key == "name"


def test_duplicate_name_across_files(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(CatalogueError, match="duplicate name, also defined in") as info:
        catalogue.names(directory=tmp_path)
    assert info.value.file.endswith("b.yaml") and info.value.system == "Good"


def test_load_file_names_the_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(_mutate("[1.0, 0.0]", "[1.0]"))
    with pytest.raises(CatalogueError, match="mine.yaml.*'Good'.*initial_state"):
        catalogue.load_file(path)
