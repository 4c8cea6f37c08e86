"""Shared fixtures."""

from __future__ import annotations

import os
import textwrap

import pytest

from chaosatlas import catalogue

# The end-to-end modules take a minute or more each: collected first, so that under
# `make test` (-n auto --dist loadfile --no-loadscope-reorder) each starts on its
# own worker at once and the short tests fill in around them.
SLOW_FIRST = ("test_slurm.py", "test_workflow.py", "test_faults_cluster.py")
# Files of many independent per-system tests (each compiles its own kernels from a
# cold cache): spread test by test over the workers instead of kept on one, which
# otherwise makes test_lyapunov.py alone the longest path through the suite.
SPREAD = ("test_lyapunov.py", "test_catalogue.py")


def pytest_xdist_make_scheduler(config, log):
    """Under ``--dist loadfile``: one work unit per file, but one per test for SPREAD.

    (xdist's own ``loadgroup`` would say the same with marks, but it renames
    node ids through an attribute pytest 9.2 no longer reads.)
    """
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class SpreadFileScheduling(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            file = nodeid.split("::", 1)[0]
            return nodeid if file.rsplit("/", 1)[-1] in SPREAD else file

    return SpreadFileScheduling(config, log)


def pytest_collection_modifyitems(config, items):
    items.sort(key=lambda item: item.path.name not in SLOW_FIRST)  # stable: order kept


@pytest.fixture(scope="module")
def cold_cache(tmp_path_factory):
    """An empty compile cache for the whole module, as on a new user's machine.

    The end-to-end modules use it (``pytestmark = pytest.mark.usefixtures("cold_cache")``)
    so that a warm cache where CI runs cannot hide a cold-cache failure: every
    generated module and every numba kernel (the package's own included) is
    compiled again, in the workflow's subprocesses too, which inherit the
    environment.
    """
    cache = tmp_path_factory.mktemp("cold-cache")
    saved = {k: os.environ.get(k) for k in ("CHAOSATLAS_CACHE_DIR", "NUMBA_CACHE_DIR")}
    os.environ["CHAOSATLAS_CACHE_DIR"] = str(cache / "chaosatlas")
    os.environ["NUMBA_CACHE_DIR"] = str(cache / "numba")
    try:
        yield cache
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def load_yaml():
    """Load catalogue YAML text (dedented) into a dict name -> System."""

    def _load(text: str) -> dict[str, catalogue.System]:
        return {s.name: s for s in catalogue.load_text(textwrap.dedent(text))}

    return _load


TEST_SYSTEMS = """
family: test
systems:
  - name: Harmonic
    kind: flow
    variables: [x, v]
    parameters: {w: 2.0}
    equations: {x: v, v: -w**2*x}
    initial_state: [1.0, 0.0]
    citation: textbook
  - name: Decay
    kind: flow
    variables: [x]
    parameters: {k: 0.7}
    equations: {x: -k*x}
    initial_state: [3.0]
    citation: textbook
  - name: Forced
    kind: flow
    variables: [x]
    parameters: {a: 1.5}
    equations: {x: a*cos(t)}
    initial_state: [0.0]
    citation: textbook
  - name: Blowup
    kind: flow
    variables: [x]
    equations: {x: x**2}
    initial_state: [1.0]
    citation: x' = x^2 blows up at t = 1/x0
  - name: Affine
    kind: map
    variables: [x]
    parameters: {a: 0.5, b: 1.0}
    equations: {x: a*x + b}
    initial_state: [0.0]
    citation: textbook
  - name: LinearDelay
    kind: dde
    variables: [x]
    parameters: {tau: 1.0}
    equations:
      x: -delay(x, tau)
    initial_state: [1.0]
    citation: Bellen & Zennaro (2003), Numerical Methods for Delay Differential Equations
"""


@pytest.fixture(scope="session")
def test_systems() -> dict[str, catalogue.System]:
    return {s.name: s for s in catalogue.load_text(TEST_SYSTEMS, file="tests/conftest.py")}
