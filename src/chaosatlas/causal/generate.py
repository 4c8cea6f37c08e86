"""Coupled chaotic systems with a known causal graph: the data of the causal benchmark.

The coupling is part of the equations. :func:`couple` composes the node systems
of the catalogue into one catalogue entry (YAML text, loaded by
:func:`chaosatlas.catalogue.load_text`), so a coupled network is compiled like
any other system, Jacobian included, and integrated by
:func:`chaosatlas.integrate.solve.solve`.

Convention
    ``A[source, target] = 1`` means *source causes target* (as tigramite's
    ``graph[i, j, tau]`` and the coupled tier of CausalDynamics). A Jacobian
    ``J[i, j] = d f_i / d x_j`` is read as ``(J != 0).T``
    (:func:`truth_from_jacobian`).

Coupling
    Diffusive, on one coordinate (default 0) of each node::

        dx_j/dt = a_j f_j(x_j) + c * sum_i W[i, j] / k_j * (r_ji (x_i - m_i) - (x_j - m_j))

    with ``k_j`` the in-degree of ``j`` (``normalise="indegree"``, the default;
    ``normalise=None`` uses ``k_j = 1``, as for drive-response pairs that are
    given their coupling directly), ``r_ji = s_j / s_i`` the ratio of the
    attractor standard deviations of the coupled coordinate and ``m`` its mean
    (``scales``/``centres``; 1 and 0 unless given), and ``a_j`` an optional time
    scale (``time_scales``). The builders of this module (tiers 1-3) set
    ``a_j`` to the node's measured dominant period, so every node oscillates with
    period ~1 and ``c`` is in units of 1/period, and ``s``/``m`` from the node's
    attractor, so that nodes of very different amplitude can be coupled. With
    ``delay`` the source enters as ``x_i(t - tau)`` (a ``dde`` entry whose
    parameter ``coupling_delay`` is ``tau``). ``c`` is the parameter
    ``coupling``, so a coupling sweep reuses one compiled module.

Self-loops
    The truth has a zero diagonal: a node's own dynamics is not an edge
    (:data:`SELF_LOOP_POLICY`).

Tiers
    1. :func:`pair_instances`: drive-response pairs and three-node motifs
       (chain, fork, collider) over a coupling sweep.
    2. :func:`random_dag` + :func:`dag_instances`: random DAGs whose nodes are
       drawn from :data:`CURATED_FLOWS`, with variants ``default``,
       ``dynamical_noise``, ``measurement_noise``, ``delayed`` and
       ``confounder``.
    3. :func:`lorenz96_instance`: the Lorenz-96 ring, parents of ``i`` are
       ``{i-2, i-1, i+1}``.

:func:`simulate` integrates one instance; :func:`tier_dataset` builds an
``xarray.Dataset`` for a whole tier.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import sympy as sp
import xarray as xr
import yaml

from ..catalogue import System, get, load_text
from ..integrate.attractor import dominant_period, probe_attractor
from ..integrate.solve import STATUS_NAMES, solve

__all__ = [
    "CONVENTION",
    "CURATED_FLOWS",
    "MOTIFS",
    "SELF_LOOP_POLICY",
    "SYNC_THRESHOLD",
    "VARIANTS",
    "Instance",
    "NodeProfile",
    "Simulation",
    "couple",
    "coupled_logistic_instance",
    "coupled_logistic_map",
    "dag_instance",
    "dag_instances",
    "integrate_sde",
    "lorenz96_instance",
    "lorenz96_truth",
    "node_profile",
    "pair_instances",
    "random_dag",
    "simulate",
    "sync_errors",
    "tier_dataset",
    "truth_from_jacobian",
]

CONVENTION = "A[source, target] = 1 means source causes target"
SELF_LOOP_POLICY = (
    "excluded: adj_summary[i, i] = 0 for every node (a node's own dynamics is not an edge)"
)
CONFOUNDER_POLICY = (
    "the hidden confounder is dropped from the observations; adj_summary keeps only the "
    "direct edges between observed nodes; adj_confounded marks (both orders of) each pair "
    "of observed nodes driven by the hidden node"
)
#: an edge whose normalised sync error is below this marks the instance "synchronised"
SYNC_THRESHOLD = 0.1
VARIANTS = ("default", "dynamical_noise", "measurement_noise", "delayed", "confounder")
#: three-node motifs as (source, target) edges
MOTIFS: dict[str, tuple[tuple[int, int], ...]] = {
    "chain": ((0, 1), (1, 2)),
    "fork": ((0, 1), (0, 2)),
    "collider": ((0, 2), (1, 2)),
}
_FAIL_STATUS = {1: "diverges", 2: "diverges", 3: "max_steps", 4: "step_underflow", 5: "invalid"}


# ----------------------------------------------------------------------------
# Node systems


@dataclass(frozen=True)
class NodeProfile:
    """What the generators need to know about a node system.

    Attributes
    ----------
    name : str
        Catalogue name.
    period : float
        Dominant period at the catalogue parameters (spectral estimate of
        :func:`~chaosatlas.integrate.attractor.probe_attractor`).
    std, mean : tuple of float
        Attractor standard deviation and mean of each variable.
    parameter : str or None
        The parameter perturbed to mismatch nodes (None: no mismatch possible).
    factors : tuple of float
        Relative offsets ``u`` of that parameter (value * (1 + mismatch * u)),
        each checked to stay chaotic at ``mismatch = 0.05``.
    """

    name: str
    period: float
    std: tuple[float, ...]
    mean: tuple[float, ...]
    parameter: str | None = None
    factors: tuple[float, ...] = (0.0,)


def _profile(name, period, std, mean, parameter, factors=(-1.0, -0.5, 0.0, 0.5, 1.0)):
    return NodeProfile(name, period, tuple(std), tuple(mean), parameter, tuple(factors))


#: Well-behaved chaotic 3-D flows of the catalogue, measured once at the catalogue
#: parameters with ``probe_attractor`` (period, mean and std of each variable). For
#: each, the perturbed parameter and the offsets u (value * (1 + 0.05 u)) at which the
#: largest Lyapunov exponent (``lyapunov_spectrum``, 3 trajectories x 500 periods) was
#: positive; offsets that fell into a periodic window were removed (ChenLee c at
#: u = -0.5, Halvorsen b at u = +1). Systems without a robust parameter at +-5%
#: (Thomas, Aizawa, PanXuZhou, GenesioTesi, ...) and the parameter-free Sprott flows
#: are left out; Sakarya is left out because it is slow to integrate.
CURATED_FLOWS: dict[str, NodeProfile] = {
    p.name: p
    for p in (
        _profile("Lorenz", 0.7507, (7.915, 9.0166, 8.6278), (-0.1902, -0.1973, 23.5208), "rho"),
        _profile("Rossler", 5.8664, (5.2272, 4.8989, 2.7103), (0.1712, -0.9076, 0.8894), "b"),
        _profile("Chen", 0.5949, (8.4566, 9.1454, 6.7281), (-0.0739, -0.0714, 23.8529), "b"),
        _profile("Arneodo", 3.1021, (1.8469, 1.6429, 3.4897), (0.4403, 0.0074, 0.0084), "b"),
        _profile("Dadras", 3.6467, (3.2713, 2.5935, 1.6474), (1.0387, -0.0945, 0.2987), "a"),
        _profile("Rucklidge", 3.4236, (2.7081, 2.5366, 2.996), (0.0018, 0.0622, 6.4438), "lam"),
        _profile(
            "RayleighBenard", 1.3243, (9.365, 9.8634, 6.4917), (-0.0876, -0.0818, 17.5611), "r"
        ),
        _profile("Coullet", 5.8137, (0.7221, 0.4382, 0.4594), (-0.0295, 0.001, 0.0003), "c"),
        _profile("BurkeShaw", 1.5203, (1.1384, 1.5066, 1.4694), (-0.0491, 0.0492, 0.1747), "V"),
        _profile("Finance", 4.488, (0.9208, 0.7696, 0.6927), (-0.0027, -4.2397, 0.0019), "a"),
        _profile("Hadley", 1.4325, (0.4452, 0.889, 0.8522), (1.0312, -0.0116, 0.2857), "G"),
        _profile("LuChenCheng", 0.9283, (7.853, 5.0499, 4.8228), (4.3289, 2.2819, 7.3237), "c"),
        _profile(
            "ChenLee",
            4.1407,
            (4.1538, 2.9286, 3.0405),
            (-0.0006, 0.0046, 8.1308),
            "c",
            (-1.0, 0.0, 0.5, 1.0),
        ),
        _profile(
            "Halvorsen",
            1.4771,
            (4.4296, 4.4525, 4.3797),
            (-3.0513, -3.0582, -3.1759),
            "b",
            (-1.0, -0.5, 0.0, 0.5),
        ),
    )
}

_PROFILE_CACHE: dict[str, NodeProfile] = {}


def node_profile(name: str) -> NodeProfile:
    """The :class:`NodeProfile` of a catalogue system (curated, else measured once)."""
    if name in CURATED_FLOWS:
        return CURATED_FLOWS[name]
    if name not in _PROFILE_CACHE:
        system = get(name)
        probe = probe_attractor(system)
        if probe.status != "ok":
            raise ValueError(f"{name} cannot be a node: {probe.status} ({probe.reason})")
        period = float(probe.period) if system.kind != "map" else 1.0
        _PROFILE_CACHE[name] = NodeProfile(
            name,
            period,
            tuple(float(v) for v in probe.pool.std(axis=0)),
            tuple(float(v) for v in probe.pool.mean(axis=0)),
        )
    return _PROFILE_CACHE[name]


def _mismatched(
    names: Sequence[str], rng: np.random.Generator, mismatch: float
) -> tuple[list[System], list[float]]:
    """Node systems with one parameter perturbed; distinct offsets for repeated systems.

    Returns the systems and the relative perturbation applied to each.
    """
    systems: list[System] = []
    offsets: list[float] = []
    pools: dict[str, list[float]] = {}
    for name in names:
        profile = node_profile(name)
        if mismatch == 0 or profile.parameter is None:
            systems.append(get(name))
            offsets.append(0.0)
            continue
        pool = pools.get(name)
        if not pool:  # draw without replacement; refill when exhausted
            pool = list(rng.permutation(np.asarray(profile.factors, dtype=np.float64)))
            pools[name] = pool
        u = float(pool.pop())
        base = get(name)
        value = float(base.parameters[profile.parameter]) * (1.0 + mismatch * u)
        systems.append(get(name, **{profile.parameter: value}))
        offsets.append(mismatch * u)
    return systems, offsets


# ----------------------------------------------------------------------------
# Composition


def _text(expr: sp.Expr) -> str:
    return sp.sstr(expr, full_prec=True)


def _num(value: float) -> str:
    return repr(float(value))


def _centred(var: str, centre: float) -> str:
    if centre == 0:
        return var
    sign = "-" if centre > 0 else "+"
    return f"({var} {sign} {_num(abs(centre))})"


def couple(
    nodes: Sequence[System],
    adjacency: np.ndarray,
    coupling: float,
    *,
    coordinate: int = 0,
    delay: float | None = None,
    name: str = "Coupled",
    form: str = "diffusive",
    normalise: str | None = "indegree",
    scales: Sequence[float] | None = None,
    centres: Sequence[float] | None = None,
    time_scales: Sequence[float] | None = None,
    period_hint: float | None = None,
    citation: str | None = None,
) -> System:
    """Compose node systems into one catalogue system coupled along ``adjacency``.

    Parameters
    ----------
    nodes : sequence of System
        Flows (or maps), all of the same kind; their current parameter values
        are copied. Variables become ``n{k}_{var}``, parameters ``n{k}_{name}``.
    adjacency : (n, n) array
        ``adjacency[source, target]``: the weight of the edge (0: no edge). The
        diagonal must be zero.
    coupling : float
        The strength ``c``, the composite's parameter ``coupling``.
    coordinate : int
        The coupled coordinate of every node.
    delay : float, optional
        Delayed coupling: the source enters as ``x_i(t - delay)``; the result
        is a ``dde`` entry with the parameter ``coupling_delay``.
    name : str
        Name of the composite entry.
    form : {"diffusive", "multiplicative"}
        ``diffusive``: ``+ c W[i,j]/k_j (r_ji (x_i - m_i) - (x_j - m_j))``;
        ``multiplicative``: ``- c W[i,j]/k_j x_j x_i`` (Lotka-Volterra-type
        competition, as in the coupled logistic map).
    normalise : {"indegree", None}
        Divide the coupling of each target by its in-degree ``k_j`` (count of
        nonzero sources) or not.
    scales, centres : sequence of float, optional
        Attractor std ``s`` and mean ``m`` of each node's coupled coordinate
        (diffusive form; default 1 and 0).
    time_scales : sequence of float, optional
        ``a_j``: node ``j``'s right-hand side is multiplied by it (flows only;
        ``t`` in a forced node becomes ``a_j t``).
    period_hint : float, optional
        The composite's ``period_hint`` (default: the median of the nodes'
        hints, divided by their time scales).

    Returns
    -------
    System
        Loaded through :func:`chaosatlas.catalogue.load_text`.
    """
    nodes = list(nodes)
    n = len(nodes)
    W = np.asarray(adjacency, dtype=np.float64)
    if n == 0:
        raise ValueError("couple needs at least one node")
    if W.shape != (n, n):
        raise ValueError(f"adjacency must have shape ({n}, {n}), got {W.shape}")
    if np.any(np.diag(W) != 0):
        raise ValueError("adjacency must have a zero diagonal (no self-coupling)")
    if not np.all(np.isfinite(W)):
        raise ValueError("adjacency must be finite")
    kinds = {s.kind for s in nodes}
    if len(kinds) != 1 or not kinds <= {"flow", "map"}:
        raise ValueError(f"nodes must all be flows or all maps, got {sorted(kinds)}")
    kind = kinds.pop()
    if delay is not None and kind != "flow":
        raise ValueError("delayed coupling needs flows")
    if delay is not None and not (math.isfinite(delay) and delay > 0):
        raise ValueError(f"delay must be positive, got {delay}")
    if time_scales is not None and kind != "flow":
        raise ValueError("time_scales only apply to flows")
    if form not in ("diffusive", "multiplicative"):
        raise ValueError(f"form must be 'diffusive' or 'multiplicative', got {form!r}")
    if normalise not in ("indegree", None):
        raise ValueError(f"normalise must be 'indegree' or None, got {normalise!r}")
    for k, s in enumerate(nodes):
        if not 0 <= coordinate < s.dim:
            raise ValueError(f"node {k} ({s.name}) has no coordinate {coordinate}")
    s_ = np.ones(n) if scales is None else np.asarray(scales, dtype=np.float64)
    m_ = np.zeros(n) if centres is None else np.asarray(centres, dtype=np.float64)
    a_ = np.ones(n) if time_scales is None else np.asarray(time_scales, dtype=np.float64)
    for label, arr in (("scales", s_), ("centres", m_), ("time_scales", a_)):
        if arr.shape != (n,) or not np.all(np.isfinite(arr)):
            raise ValueError(f"{label} must be {n} finite numbers")
    if np.any(s_ <= 0) or np.any(a_ <= 0):
        raise ValueError("scales and time_scales must be positive")

    variables: list[str] = []
    parameters: dict[str, float] = {"coupling": float(coupling)}
    if delay is not None:
        parameters["coupling_delay"] = float(delay)
    equations: dict[str, str] = {}
    initial: list[float] = []
    unbounded: list[str] = []
    hints: list[float] = []
    dt_hints: list[float] = []
    coupled_var = []
    for j, node in enumerate(nodes):
        prefix = f"n{j}_"
        mapping: dict[sp.Symbol, sp.Expr] = {
            s: sp.Symbol(prefix + s.name, real=True) for s in node.state_symbols
        }
        mapping.update({p: sp.Symbol(prefix + p.name, real=True) for p in node.parameter_symbols})
        if a_[j] != 1.0:
            mapping[node.time_symbol] = sp.Float(a_[j]) * node.time_symbol
        for pname, value in zip(node.parameter_names, node.parameter_vector, strict=True):
            parameters[prefix + pname] = float(value)
        for var, eq in zip(node.variables, node.equations, strict=True):
            text = _text(eq.xreplace(mapping))
            if a_[j] != 1.0:
                text = f"{_num(a_[j])}*({text})"
            variables.append(prefix + var)
            equations[prefix + var] = text
        initial += [float(v) for v in node.initial_state]
        unbounded += [prefix + v for v in node.unbounded]
        if node.period_hint:
            hints.append(node.period_hint / a_[j])
        if node.dt_hint:
            dt_hints.append(node.dt_hint / a_[j])
        coupled_var.append(prefix + node.variables[coordinate])

    for j in range(n):
        sources = np.flatnonzero(W[:, j])
        if sources.size == 0:
            continue
        k_j = float(sources.size) if normalise == "indegree" else 1.0
        target = coupled_var[j]
        terms = []
        for i in sources:
            w = W[i, j] / k_j
            src = coupled_var[i] if delay is None else f"delay({coupled_var[i]}, coupling_delay)"
            if form == "diffusive":
                ratio = s_[j] / s_[i]
                drive = _centred(src, m_[i])
                if ratio != 1.0:
                    drive = f"{_num(ratio)}*{drive}"
                terms.append(f"{_num(w)}*({drive} - {_centred(target, m_[j])})")
            else:
                terms.append(f"-{_num(w)}*{target}*{src}")
        equations[target] = f"{equations[target]} + coupling*({' + '.join(terms)})"

    if period_hint is None and hints:
        period_hint = float(np.median(hints))
    entry: dict[str, Any] = {
        "name": name,
        "kind": "dde" if delay is not None else kind,
        "description": f"{n} coupled nodes ({form} coupling on coordinate {coordinate})",
        "variables": variables,
        "parameters": parameters,
        "equations": equations,
        "initial_state": initial,
        "citation": citation
        or "chaosatlas.causal.generate.couple of the catalogue entries "
        + ", ".join(s.name for s in nodes),
        "bound": float(max(s.bound for s in nodes)),
        "notes": json.dumps(
            {
                "nodes": [s.name for s in nodes],
                "convention": CONVENTION,
                "adjacency": W.tolist(),
                "form": form,
                "normalise": normalise,
                "coordinate": coordinate,
            }
        ),
    }
    if period_hint:
        entry["period_hint"] = float(period_hint)
    if dt_hints:
        entry["dt_hint"] = float(min(dt_hints))
    if unbounded:
        entry["unbounded"] = unbounded
    text = yaml.safe_dump(
        {"family": "causal_coupled", "systems": [entry]}, sort_keys=False, width=1_000_000
    )
    (system,) = load_text(text, file=f"<couple:{name}>")
    return system


def coupled_logistic_map(coupling: float = 1.0) -> tuple[System, np.ndarray, np.ndarray]:
    """The two-species coupled logistic map of the causal spec.

    ``x' = x (3.8 - 3.8 x - 0.02 y)``, ``y' = y (3.5 - 3.5 y - 0.1 x)``.

    Returns
    -------
    system : System
        Variables ``n0_x`` (x) and ``n1_x`` (y); ``coupling`` scales both
        coefficients (1: the spec's map).
    adjacency : (2, 2) int8
        ``[[0, 1], [1, 0]]``.
    weights : (2, 2) float
        ``weights[source, target]``: ``[[0, 0.1], [0.02, 0]]`` (x -> y with 0.1).
    """
    weights = np.array([[0.0, 0.1], [0.02, 0.0]])
    nodes = [get("Logistic", r=3.8), get("Logistic", r=3.5)]
    system = couple(
        nodes,
        weights,
        coupling,
        form="multiplicative",
        normalise=None,
        name="CoupledLogisticPair",
        citation="Sugihara, G. et al. (2012). Detecting causality in complex ecosystems. "
        "Science 338(6106), 496-500 (the two-species coupled logistic map).",
    )
    return system, (weights != 0).astype(np.int8), weights


# ----------------------------------------------------------------------------
# Instances


@dataclass(frozen=True, eq=False)
class Instance:
    """One coupled system with its causal truth.

    Attributes
    ----------
    system : System
        The composite (or, in tier 3, the Lorenz-96 ring).
    adjacency : numpy.ndarray
        ``int8 (n_observed, n_observed)`` truth over the observed nodes,
        ``A[source, target]``, zero diagonal.
    weights : numpy.ndarray
        ``(n_all, n_all)`` coupling weights over all nodes (hidden included).
    node_systems : tuple of str
        Catalogue name of every node (hidden included).
    node_slices : tuple of (int, int)
        State-vector range of every node.
    observed : tuple of int
        Indices of the observed nodes.
    coupled_edges : tuple of (int, int)
        (source, target) pairs of diffusive coupling, over all nodes; their sync
        error is measured (empty in tier 3).
    scales : numpy.ndarray
        Std of the coupled coordinate per node (sync error normalisation).
    noise_amplitude : numpy.ndarray
        Per state variable: the additive noise ``sigma_k`` of ``dx = f dt + sigma dW``
        (zeros: an ODE).
    measurement_noise : float
        Gaussian noise added after sampling, as a fraction of each series' std.
    confounded_pairs : tuple of (int, int)
        Pairs of observed nodes (observed indexing) driven by a hidden node.
    """

    system: System
    adjacency: np.ndarray
    weights: np.ndarray
    node_systems: tuple[str, ...]
    node_slices: tuple[tuple[int, int], ...]
    observed: tuple[int, ...]
    coupled_edges: tuple[tuple[int, int], ...]
    coupling: float
    coordinate: int = 0
    variant: str = "default"
    delay: float | None = None
    scales: np.ndarray | None = None
    noise_amplitude: np.ndarray | None = None
    dynamical_noise: float = 0.0
    measurement_noise: float = 0.0
    confounded_pairs: tuple[tuple[int, int], ...] = ()
    parameter_offsets: tuple[float, ...] = ()
    tier: int = 0
    label: str = ""

    @property
    def n_nodes(self) -> int:
        """Number of observed nodes."""
        return len(self.observed)

    @property
    def node_dim(self) -> int:
        """Largest node dimension."""
        return max(b - a for a, b in self.node_slices)


def _build(
    names: Sequence[str],
    weights: np.ndarray,
    coupling: float,
    rng: np.random.Generator,
    *,
    mismatch: float,
    normalise_nodes: bool,
    normalise: str | None = "indegree",
    coordinate: int = 0,
    delay: float | None = None,
    hidden: Sequence[int] = (),
    variant: str = "default",
    dynamical_noise: float = 0.0,
    measurement_noise: float = 0.0,
    tier: int = 0,
    label: str = "",
) -> Instance:
    names = list(names)
    n = len(names)
    profiles = [node_profile(nm) for nm in names]
    systems, offsets = _mismatched(names, rng, mismatch)
    if normalise_nodes:
        scales = np.array([p.std[coordinate] for p in profiles])
        centres = np.array([p.mean[coordinate] for p in profiles])
        time_scales = np.array([p.period for p in profiles])
        period_hint = 1.0
    else:
        scales = np.ones(n)
        centres = np.zeros(n)
        time_scales = None
        period_hint = None
    system = couple(
        systems,
        weights,
        coupling,
        coordinate=coordinate,
        delay=delay,
        normalise=normalise,
        scales=scales,
        centres=centres,
        time_scales=time_scales,
        period_hint=period_hint,
        name="Coupled_" + "_".join(names)[:80],
    )
    slices, start = [], 0
    for s in systems:
        slices.append((start, start + s.dim))
        start += s.dim
    amp = np.zeros(system.dim)
    if dynamical_noise:
        for k, p in enumerate(profiles):
            a, b = slices[k]
            amp[a:b] = dynamical_noise * np.asarray(p.std[: b - a])
    observed = tuple(k for k in range(n) if k not in set(hidden))
    adj = (np.asarray(weights)[np.ix_(observed, observed)] != 0).astype(np.int8)
    confounded = []
    for h in hidden:
        children = [observed.index(c) for c in np.flatnonzero(weights[h]) if c in observed]
        confounded += [
            (a, b) for ia, a in enumerate(children) for b in children[ia + 1 :] if a != b
        ]
    edges = tuple((int(i), int(j)) for i, j in zip(*np.nonzero(weights), strict=True))
    return Instance(
        system=system,
        adjacency=adj,
        weights=np.asarray(weights, dtype=np.float64),
        node_systems=tuple(names),
        node_slices=tuple(slices),
        observed=observed,
        coupled_edges=edges,
        coupling=float(coupling),
        coordinate=coordinate,
        variant=variant,
        delay=delay,
        scales=scales,
        noise_amplitude=amp,
        dynamical_noise=float(dynamical_noise),
        measurement_noise=float(measurement_noise),
        confounded_pairs=tuple(confounded),
        parameter_offsets=tuple(offsets),
        tier=tier,
        label=label,
    )


def _rng(rng: np.random.Generator | int | None) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(np.random.SeedSequence(0 if rng is None else int(rng)))


def pair_instances(
    pairs: Sequence[tuple[str, str]] = (("Lorenz", "Lorenz"), ("Rossler", "Lorenz")),
    couplings: Sequence[float] = (1.0, 3.0),
    motifs: Sequence[str] = (),
    *,
    motif_system: str = "Lorenz",
    mismatch: float = 0.05,
    normalise_nodes: bool = True,
    rng: np.random.Generator | int | None = 0,
) -> list[Instance]:
    """Tier 1: drive-response pairs and three-node motifs over a coupling sweep.

    Every (pair or motif) x coupling is one instance; the nodes of a pair or
    motif (and their mismatched parameters) are drawn once and reused across
    the sweep, so one compiled module serves the whole sweep. Pairs are
    coupled without in-degree scaling (``k_j = 1``); motifs (where a collider
    has in-degree 2) divide by the in-degree.

    Parameters
    ----------
    pairs : sequence of (driver, response)
        Catalogue names; the driver drives the response through coordinate 0.
    couplings : sequence of float
        ``c`` (per period when ``normalise_nodes``).
    motifs : sequence of {"chain", "fork", "collider"}
    motif_system : str
        The node system of the motifs.
    mismatch : float
        Relative parameter perturbation (see :data:`CURATED_FLOWS`); 0 for
        identical nodes.
    normalise_nodes : bool
        Rescale time (period ~1) and amplitude (see the module docstring).
    """
    rng = _rng(rng)
    out: list[Instance] = []
    for driver, response in pairs:
        draw = int(rng.integers(2**63))
        W = np.array([[0.0, 1.0], [0.0, 0.0]])
        for c in couplings:
            out.append(
                _build(
                    [driver, response],
                    W,
                    c,
                    np.random.default_rng(draw),  # the same nodes for every c
                    mismatch=mismatch,
                    normalise_nodes=normalise_nodes,
                    normalise=None,
                    tier=1,
                    label=f"pair {driver}->{response} c={c:g}",
                )
            )
    for motif in motifs:
        if motif not in MOTIFS:
            raise ValueError(f"unknown motif {motif!r} (known: {', '.join(MOTIFS)})")
        draw = int(rng.integers(2**63))
        W = np.zeros((3, 3))
        for i, j in MOTIFS[motif]:
            W[i, j] = 1.0
        for c in couplings:
            out.append(
                _build(
                    [motif_system] * 3,
                    W,
                    c,
                    np.random.default_rng(draw),
                    mismatch=mismatch,
                    normalise_nodes=normalise_nodes,
                    tier=1,
                    label=f"{motif} {motif_system} c={c:g}",
                )
            )
    return out


def random_dag(
    n: int, rng: np.random.Generator | int | None, mean_indegree: float = 2.0, method: str = "er"
) -> np.ndarray:
    """A random DAG, ``int8 (n, n)`` with ``A[source, target]``.

    ``method="er"``: a random node order, then each forward pair is an edge
    with probability ``p = min(1, 2 mean_indegree / (n - 1))`` (so the mean
    in-degree is ``mean_indegree`` when ``p < 1``). ``method="gnr"``: growing
    network without redirection (Krapivsky & Redner 2001 with redirect 0, as
    in CausalDynamics): node ``k`` gets one parent drawn uniformly among the
    earlier nodes (a tree); labels are then shuffled.
    """
    rng = _rng(rng)
    A = np.zeros((n, n), dtype=np.int8)
    if n < 2:
        return A
    order = rng.permutation(n)
    if method == "er":
        p = min(1.0, 2.0 * mean_indegree / (n - 1))
        draws = rng.random((n, n))
        for a in range(n):
            for b in range(a + 1, n):
                if draws[a, b] < p:
                    A[order[a], order[b]] = 1
    elif method == "gnr":
        for k in range(1, n):
            parent = int(rng.integers(k))
            A[order[parent], order[k]] = 1
    else:
        raise ValueError(f"method must be 'er' or 'gnr', got {method!r}")
    return A


def dag_instance(
    adjacency: np.ndarray,
    node_names: Sequence[str],
    rng: np.random.Generator | int | None,
    *,
    variant: str = "default",
    coupling: float = 1.0,
    mismatch: float = 0.05,
    dynamical_noise: float = 0.05,
    measurement_noise: float = 0.1,
    delay: float = 0.5,
    confounder_system: str | None = None,
    normalise_nodes: bool = True,
    label: str = "",
) -> Instance:
    """Tier 2: one instance of a DAG with given node systems, in one variant.

    Variants (:data:`VARIANTS`): ``default`` (ODE); ``dynamical_noise`` (SDE,
    additive noise ``dynamical_noise * std_k`` per sqrt(period) on every
    variable, :func:`integrate_sde`; at 0.1, 1 in 36 runs of 10-node graphs
    diverged, a Rossler node kicked off its basin, none at 0.05);
    ``measurement_noise`` (Gaussian noise of
    ``measurement_noise`` x the series' std added after sampling);
    ``delayed`` (every edge delayed by ``delay`` periods); ``confounder`` (a
    hidden root node, drawn like the others unless ``confounder_system``,
    drives two observed nodes, preferably two that are not adjacent; it is
    dropped from the observations and the truth keeps only the direct edges
    between observed nodes, see :data:`CONFOUNDER_POLICY`).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    rng = _rng(rng)
    A = np.asarray(adjacency)
    n = A.shape[0]
    names = list(node_names)
    W = (A != 0).astype(np.float64)
    hidden: list[int] = []
    if variant == "confounder":
        # a child stream, so that the observed nodes get the same parameters as in
        # the other variants of this graph
        (extra,) = rng.spawn(1)
        if n < 2:
            raise ValueError("the confounder variant needs at least two observed nodes")
        pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
        free = [(a, b) for a, b in pairs if A[a, b] == 0 and A[b, a] == 0]
        choice = free or pairs
        a, b = choice[int(extra.integers(len(choice)))]
        names.append(confounder_system or str(extra.choice(sorted(CURATED_FLOWS))))
        W2 = np.zeros((n + 1, n + 1))
        W2[:n, :n] = W
        W2[n, a] = W2[n, b] = 1.0
        W = W2
        hidden = [n]
    return _build(
        names,
        W,
        coupling,
        rng,
        mismatch=mismatch,
        normalise_nodes=normalise_nodes,
        delay=delay if variant == "delayed" else None,
        hidden=hidden,
        variant=variant,
        dynamical_noise=dynamical_noise if variant == "dynamical_noise" else 0.0,
        measurement_noise=measurement_noise if variant == "measurement_noise" else 0.0,
        tier=2,
        label=label,
    )


def dag_instances(
    n_graphs: int = 3,
    n_nodes: int | Sequence[int] = 5,
    rng: np.random.Generator | int | None = 0,
    *,
    variants: Sequence[str] = ("default",),
    mean_indegree: float = 2.0,
    graph: str = "er",
    systems: Sequence[str] | None = None,
    **kwargs: Any,
) -> list[Instance]:
    """Tier 2: ``n_graphs`` random DAGs per size, each in every variant.

    Node systems are drawn uniformly (with replacement) from ``systems``
    (default :data:`CURATED_FLOWS`). Extra keyword arguments go to
    :func:`dag_instance`.
    """
    rng = _rng(rng)
    pool = sorted(systems or CURATED_FLOWS)
    sizes = [n_nodes] if isinstance(n_nodes, int | np.integer) else list(n_nodes)
    out = []
    for size in sizes:
        for g in range(n_graphs):
            A = random_dag(int(size), rng, mean_indegree, graph)
            names = [str(s) for s in rng.choice(pool, size=int(size))]
            graph_seed = rng.integers(2**63)
            for variant in variants:
                out.append(
                    dag_instance(
                        A,
                        names,
                        np.random.default_rng(graph_seed),  # same nodes in every variant
                        variant=variant,
                        label=f"dag n={size} g={g} {variant}",
                        **kwargs,
                    )
                )
    return out


def coupled_logistic_instance(coupling: float = 1.0) -> Instance:
    """:func:`coupled_logistic_map` as an :class:`Instance` (two 1-D nodes, x <-> y)."""
    system, adjacency, weights = coupled_logistic_map(coupling)
    return Instance(
        system=system,
        adjacency=adjacency,
        weights=weights,
        node_systems=("Logistic", "Logistic"),
        node_slices=((0, 1), (1, 2)),
        observed=(0, 1),
        coupled_edges=((0, 1), (1, 0)),
        coupling=float(coupling),
        scales=np.ones(2),
        noise_amplitude=np.zeros(2),
        tier=1,
        label=f"coupled logistic map c={coupling:g}",
    )


def lorenz96_truth(N: int) -> np.ndarray:
    """Analytic Lorenz-96 truth: parents of ``i`` are ``{i-2, i-1, i+1}`` (mod N)."""
    A = np.zeros((N, N), dtype=np.int8)
    for i in range(N):
        for d in (-2, -1, 1):
            A[(i + d) % N, i] = 1
    np.fill_diagonal(A, 0)
    return A


def lorenz96_instance(N: int = 10, F: float = 8.0, *, label: str = "") -> Instance:
    """Tier 3: the catalogue's ``Lorenz96Ring`` with ``N`` sites; each site is a node."""
    system = get("Lorenz96Ring", N=int(N), F=float(F))
    return Instance(
        system=system,
        adjacency=lorenz96_truth(N),
        weights=lorenz96_truth(N).astype(np.float64),
        node_systems=("Lorenz96Ring",) * N,
        node_slices=tuple((i, i + 1) for i in range(N)),
        observed=tuple(range(N)),
        coupled_edges=(),
        coupling=float("nan"),
        variant="lorenz96",
        scales=np.ones(N),
        noise_amplitude=np.zeros(N),
        tier=3,
        label=label or f"lorenz96 N={N} F={F:g}",
    )


def truth_from_jacobian(
    system: System,
    points: np.ndarray,
    *,
    node_slices: Sequence[tuple[int, int]] | None = None,
    atol: float = 0.0,
) -> np.ndarray:
    """Causal graph read off the compiled Jacobian, ``A[source, target]``.

    ``A = OR over points of (|J| > atol).T``, with ``J[i, j] = d f_i / d x_j``
    (for a delay equation, the Jacobian with respect to each delayed state is
    added to its variable's column, the delayed state taken equal to the
    point). With ``node_slices`` the variables are grouped into nodes (an
    edge between nodes when any of their variables interact). The diagonal is
    removed.
    """
    pts = np.atleast_2d(np.asarray(points, dtype=np.float64))
    dim = system.dim
    M = np.zeros((dim, dim), dtype=bool)
    compiled = system.compiled
    for x in pts:
        delayed = x[[d.variable for d in system.delays]] if system.delays else None
        J = compiled.jacobian(x, delayed=delayed)
        M |= (np.abs(J) > atol).T
        if system.delays:
            Jd = compiled.jacobian_delay(x, delayed=delayed)
            for k, d in enumerate(system.delays):
                M[d.variable, :] |= np.abs(Jd[:, k]) > atol
    if node_slices is None:
        A = M
    else:
        nn = len(node_slices)
        A = np.zeros((nn, nn), dtype=bool)
        for i, (a, b) in enumerate(node_slices):
            for j, (c, d) in enumerate(node_slices):
                A[i, j] = M[a:b, c:d].any()
    A = A.astype(np.int8)
    np.fill_diagonal(A, 0)
    return A


# ----------------------------------------------------------------------------
# Simulation


class Simulation(NamedTuple):
    """Result of :func:`simulate`.

    Attributes
    ----------
    x : numpy.ndarray
        ``float32 (time, node, dim)``, observed nodes only; NaN after a failure
        (and in the padding of nodes with fewer variables).
    dt : float
        Sampling interval (NaN when the run failed before it was known).
    status : str
        ``ok``, ``synchronised``, ``fixed_point``, ``diverges``, ``max_steps``,
        ``step_underflow`` or ``invalid``.
    reason : str
        Why, when ``status`` is not ``ok``.
    sync_error : numpy.ndarray
        ``(n_all, n_all)`` normalised sync error per coupled edge
        ``[source, target]`` (NaN where there is no coupled edge).
    """

    x: np.ndarray
    dt: float
    status: str
    reason: str
    sync_error: np.ndarray

    @property
    def min_sync_error(self) -> float:
        finite = self.sync_error[np.isfinite(self.sync_error)]
        return float(finite.min()) if finite.size else float("nan")


def sync_errors(
    traj: np.ndarray,
    node_slices: Sequence[tuple[int, int]],
    edges: Sequence[tuple[int, int]],
    *,
    coordinate: int = 0,
    scales: np.ndarray | None = None,
) -> np.ndarray:
    """Normalised sync error of each coupled edge.

    ``e_ij = mean |u_i - u_j| / sqrt((var u_i + var u_j) / 2)`` with ``u = x / s``
    the coupled coordinate over its node's scale. 0 for identical
    (complete) synchronisation, about 1.13 for independent signals of equal
    variance. It does not detect generalised synchronisation between
    different systems.
    """
    n = len(node_slices)
    out = np.full((n, n), np.nan)
    s = np.ones(n) if scales is None else np.asarray(scales, dtype=np.float64)
    for i, j in edges:
        u = traj[:, node_slices[i][0] + coordinate] / s[i]
        v = traj[:, node_slices[j][0] + coordinate] / s[j]
        denom = math.sqrt(0.5 * (float(np.var(u)) + float(np.var(v))))
        if denom > 0 and np.all(np.isfinite(u)) and np.all(np.isfinite(v)):
            out[i, j] = float(np.mean(np.abs(u - v))) / denom
    return out


def _is_fixed_point(x: np.ndarray) -> bool:
    tail = x[x.shape[0] // 2 :]
    spread = tail.max(axis=0) - tail.min(axis=0)
    scale = 1.0 + np.abs(tail).max(axis=0)
    return bool(np.all(spread <= 1e-6 * scale))


SDE_SCHEMES = ("rk4", "euler_maruyama")


def integrate_sde(
    system: System,
    x0: np.ndarray,
    n_out: int,
    dt: float,
    n_sub: int,
    amplitude: np.ndarray,
    rng: np.random.Generator,
    scheme: str = "rk4",
) -> tuple[np.ndarray, str, str]:
    """``dx = f(x, t) dt + diag(amplitude) dW`` on the compiled right-hand side.

    Each of the ``n_sub`` steps ``h = dt / n_sub`` between samples is a
    deterministic step followed by the kick ``amplitude * sqrt(h) * xi``,
    ``xi ~ N(0, 1)``. ``scheme="euler_maruyama"`` makes the deterministic
    step an Euler step (plain Euler-Maruyama); ``"rk4"`` (default) a
    classical Runge-Kutta step. For additive noise both converge with strong
    order 1, but Euler is unstable for oscillatory modes (growth
    ``sqrt(1 + (h omega)^2)`` per step): with 10 steps per sample, 10-node
    networks holding a ChenLee or RayleighBenard node (Jacobian eigenvalues
    ~70 per period) blew up even without noise.

    Returns ``(n_out, dim)`` samples spaced ``dt`` (the first is ``x0``), a
    status and a reason. The steps call the system's compiled ``rhs`` from
    Python: numba cannot cache a kernel that takes ``rhs`` as an argument, and
    compiling one in every process costs more than these steps (about 20 us
    each). The noise is drawn per sample interval from ``rng``, so a rerun is
    identical.
    """
    if scheme not in SDE_SCHEMES:
        raise ValueError(f"scheme must be one of {SDE_SCHEMES}, got {scheme!r}")
    rhs = system.compiled.module.rhs
    dim = system.dim
    p = np.zeros(max(system.n_parameters, 1))
    p[: system.n_parameters] = system.parameter_vector
    xd = np.zeros(0)
    h = dt / n_sub
    kick = np.asarray(amplitude, dtype=np.float64) * math.sqrt(h)
    bounded = system.bounded_mask
    x = np.array(x0, dtype=np.float64)
    k1, k2, k3, k4 = (np.empty(dim) for _ in range(4))
    out = np.full((n_out, dim), np.nan)
    out[0] = x
    t = 0.0
    rk4 = scheme == "rk4"
    with np.errstate(all="ignore"):  # overflow shows up as a non-finite state below
        for k in range(1, n_out):
            noise = rng.standard_normal((n_sub, dim))
            for s in range(n_sub):
                rhs(t, x, xd, p, k1)
                if rk4:
                    rhs(t + 0.5 * h, x + (0.5 * h) * k1, xd, p, k2)
                    rhs(t + 0.5 * h, x + (0.5 * h) * k2, xd, p, k3)
                    rhs(t + h, x + h * k3, xd, p, k4)
                    x += (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
                else:
                    x += h * k1
                x += kick * noise[s]
                t = (k - 1) * dt + (s + 1) * h
            if not np.all(np.isfinite(x)):
                return out, "diverges", f"state became non-finite at t={t:.6g}"
            if np.any(np.abs(x[bounded]) > system.bound):
                return out, "diverges", f"|x| exceeded the bound {system.bound:.3g} at t={t:.6g}"
            out[k] = x
    return out, "ok", ""


def _solve_failure(sol) -> tuple[str, str]:
    code = int(sol.status[0])
    return _FAIL_STATUS.get(code, STATUS_NAMES.get(code, "failed")), sol.reasons[0]


def simulate(
    instance: Instance,
    *,
    n_points: int = 1000,
    points_per_period: int = 32,
    seed: int = 0,
    transient_periods: float = 20.0,
    probe_periods: float = 30.0,
    sync_threshold: float = SYNC_THRESHOLD,
    sde_substeps: int = 10,
    sde_scheme: str = "rk4",
    period_window: float = 3.0,
    rtol: float = 1e-9,
    atol: float = 1e-9,
    max_steps: int = 5_000_000,
) -> Simulation:
    """Integrate one instance and sample it at fixed points per dominant period.

    1. Start at the entry's initial state plus a small seeded perturbation,
       integrate ``transient_periods + probe_periods`` (of the entry's
       ``period_hint``) with the project's integrator, and estimate the
       dominant period of the probe part: the median over nodes of each node's
       power-spectrum peak (:func:`~chaosatlas.integrate.attractor.dominant_period`,
       searched within a factor ``period_window`` of the hint; the catalogue
       stage uses 8, but the slow lobe switching of a Lorenz node then often wins
       over its oscillation, and the normalised nodes of this module have
       period ~1 by construction).
    2. ``dt = period / points_per_period``; sample ``n_points`` from the end
       of the probe (delay equations are rerun from the start, so that their
       history stays continuous; maps: 1000 iterations of transient, ``dt = 1``).
       The ``dynamical_noise`` variant is integrated by :func:`integrate_sde`
       (``sde_scheme``, ``sde_substeps`` steps per sample).
    3. Sync error per coupled edge (:func:`sync_errors`) on the clean sample;
       below ``sync_threshold`` on any edge the status is ``synchronised``.
    4. Measurement noise, if any, is added to the observations.

    Never raises for a failing trajectory: divergence, an exhausted step
    budget or a fixed point come back as the status with a reason (and NaN
    data). All randomness comes from ``numpy.random.SeedSequence(seed)``, so a
    rerun gives identical bytes.
    """
    system = instance.system
    n_all = len(instance.node_slices)
    n_obs = len(instance.observed)
    dmax = instance.node_dim
    nan_sync = np.full((n_all, n_all), np.nan)

    def failed(status: str, reason: str, dt: float = float("nan")) -> Simulation:
        x = np.full((n_points, n_obs, dmax), np.nan, dtype=np.float32)
        return Simulation(x, float(dt), status, reason, nan_sync)

    ss_x0, ss_dyn, ss_meas = np.random.SeedSequence(int(seed)).spawn(3)
    rng_x0 = np.random.default_rng(ss_x0)
    x0 = system.initial_state + 1e-3 * (1.0 + np.abs(system.initial_state)) * (
        rng_x0.standard_normal(system.dim)
    )
    bounded = system.bounded_mask
    if system.kind == "map":
        n_tr = 1000
        sol = solve(system, x0, np.arange(n_tr + n_points), max_steps=max_steps)
        if not sol.ok[0]:
            return failed(*_solve_failure(sol), dt=1.0)
        traj = sol.x[0, n_tr:]
        dt = 1.0
        if _is_fixed_point(traj[:, bounded] if bounded.any() else traj):
            return failed("fixed_point", "the orbit settles on a fixed point", dt)
    else:
        guess = float(system.period_hint or 1.0)
        window = float(period_window)
        probe_ppp = 32
        dt_probe = guess / probe_ppp
        n_tr = int(round(transient_periods * probe_ppp))
        n_pr = int(round(probe_periods * probe_ppp))
        t = np.arange(n_tr + n_pr + 1) * dt_probe

        def dde_step(sample_dt: float) -> float | None:
            if system.kind != "dde":
                return None
            step = float(np.min(system.delay_values())) / 50.0
            if system.dt_hint is not None:
                step = min(step, system.dt_hint)
            return min(step, sample_dt)

        sol = solve(system, x0, t, rtol=rtol, atol=atol, dt=dde_step(dt_probe), max_steps=max_steps)
        if not sol.ok[0]:
            return failed(*_solve_failure(sol))
        probe = sol.x[0, n_tr:]
        view = probe[:, bounded] if bounded.any() else np.diff(probe, axis=0)
        if _is_fixed_point(view):
            return failed(
                "fixed_point",
                f"the trajectory settles on a fixed point after {transient_periods:g} periods",
            )
        # the median over nodes of each node's spectral peak: the peak of the summed
        # spectrum of a whole network is easily a slow envelope of one node
        periods = []
        for a, b in instance.node_slices:
            mask = bounded[a:b]
            seg = probe[:, a:b][:, mask] if mask.any() else np.diff(probe[:, a:b], axis=0)
            p = dominant_period(seg, dt_probe, period_range=(guess / window, guess * window))
            if math.isfinite(p) and p > 0:
                periods.append(p)
        period = float(np.median(periods)) if periods else guess
        dt = period / points_per_period
        if instance.noise_amplitude is not None and np.any(instance.noise_amplitude):
            if system.kind == "dde":
                raise ValueError("dynamical noise is not supported with delayed coupling")
            traj, status, reason = integrate_sde(
                system,
                probe[-1],
                n_points,
                dt,
                sde_substeps,
                instance.noise_amplitude,
                np.random.default_rng(ss_dyn),
                sde_scheme,
            )
            if status != "ok":
                return failed(status, reason, dt)
        elif system.kind == "dde":
            n_skip = int(math.ceil((transient_periods + probe_periods) * period / dt))
            t = np.arange(n_skip + n_points) * dt
            sol = solve(system, x0, t, dt=dde_step(dt), max_steps=max_steps)
            if not sol.ok[0]:
                return failed(*_solve_failure(sol), dt=dt)
            traj = sol.x[0, n_skip:]
        else:
            t = np.arange(n_points) * dt
            sol = solve(system, probe[-1], t, rtol=rtol, atol=atol, max_steps=max_steps)
            if not sol.ok[0]:
                return failed(*_solve_failure(sol), dt=dt)
            traj = sol.x[0]

    sync = sync_errors(
        traj,
        instance.node_slices,
        instance.coupled_edges,
        coordinate=instance.coordinate,
        scales=instance.scales,
    )
    status, reason = "ok", ""
    low = [(i, j) for i, j in instance.coupled_edges if sync[i, j] < sync_threshold]
    if low:
        status = "synchronised"
        reason = "; ".join(
            f"sync error {sync[i, j]:.3g} < {sync_threshold:g} on edge {i}->{j} "
            f"({instance.node_systems[i]}->{instance.node_systems[j]})"
            for i, j in low
        )

    x = np.full((traj.shape[0], n_obs, dmax), np.nan)
    for k, node in enumerate(instance.observed):
        a, b = instance.node_slices[node]
        x[:, k, : b - a] = traj[:, a:b]
    if instance.measurement_noise:
        rng_meas = np.random.default_rng(ss_meas)
        std = np.std(x, axis=0, keepdims=True)  # NaN in the padding, which stays NaN
        x = x + instance.measurement_noise * std * rng_meas.standard_normal(x.shape)
    return Simulation(x.astype(np.float32), float(dt), status, reason, sync)


# ----------------------------------------------------------------------------
# Datasets

_DEFAULTS: dict[int, dict[str, Any]] = {
    1: {
        "pairs": [["Lorenz", "Lorenz"], ["Rossler", "Lorenz"]],
        "couplings": [1.0, 3.0],
        "motifs": [],
        "motif_system": "Lorenz",
        "mismatch": 0.05,
        "normalise_nodes": True,
        "logistic_map": False,
    },
    2: {
        "n_graphs": 3,
        "n_nodes": 5,
        "mean_indegree": 2.0,
        "graph": "er",
        "variants": ["default"],
        "coupling": 1.0,
        "mismatch": 0.05,
        "dynamical_noise": 0.05,
        "measurement_noise": 0.1,
        "delay": 0.5,
        "systems": None,
        "normalise_nodes": True,
    },
    3: {"sizes": [10], "F": 8.0, "n_instances": 1},
}
_COMMON = {
    "n_points": 1000,
    "points_per_period": 32,
    "transient_periods": 20.0,
    "probe_periods": 30.0,
    "sync_threshold": SYNC_THRESHOLD,
}


def _instances(tier: int, cfg: Mapping[str, Any], rng: np.random.Generator) -> list[Instance]:
    if tier == 1:
        extra = [coupled_logistic_instance()] if cfg["logistic_map"] else []
        return extra + pair_instances(
            pairs=[tuple(p) for p in cfg["pairs"]],
            couplings=cfg["couplings"],
            motifs=cfg["motifs"],
            motif_system=cfg["motif_system"],
            mismatch=cfg["mismatch"],
            normalise_nodes=cfg["normalise_nodes"],
            rng=rng,
        )
    if tier == 2:
        return dag_instances(
            cfg["n_graphs"],
            cfg["n_nodes"],
            rng,
            variants=cfg["variants"],
            mean_indegree=cfg["mean_indegree"],
            graph=cfg["graph"],
            systems=cfg["systems"],
            coupling=cfg["coupling"],
            mismatch=cfg["mismatch"],
            dynamical_noise=cfg["dynamical_noise"],
            measurement_noise=cfg["measurement_noise"],
            delay=cfg["delay"],
            normalise_nodes=cfg["normalise_nodes"],
        )
    if tier == 3:
        return [
            lorenz96_instance(int(N), cfg["F"], label=f"lorenz96 N={N} #{k}")
            for N in cfg["sizes"]
            for k in range(int(cfg["n_instances"]))
        ]
    raise ValueError(f"tier must be 1, 2 or 3, got {tier!r}")


def tier_dataset(tier: int, config: Mapping[str, Any] | None = None, seed: int = 0) -> xr.Dataset:
    """Build and simulate every instance of a tier into one dataset.

    Parameters
    ----------
    tier : {1, 2, 3}
    config : mapping, optional
        Overrides of the defaults. Common keys: ``n_points`` (1000),
        ``points_per_period`` (32), ``transient_periods`` (20),
        ``probe_periods`` (30), ``sync_threshold`` (0.1).

        - tier 1 (:func:`pair_instances`): ``pairs`` ([[Lorenz, Lorenz],
          [Rossler, Lorenz]]), ``couplings`` ([1, 3]), ``motifs`` ([]; chain,
          fork, collider), ``motif_system`` (Lorenz), ``mismatch`` (0.05),
          ``normalise_nodes`` (true), ``logistic_map`` (false: also the
          coupled logistic map of :func:`coupled_logistic_map`, first).
          Default: 4 instances.
        - tier 2 (:func:`dag_instances`): ``n_graphs`` (3), ``n_nodes`` (5, or
          a list of sizes), ``mean_indegree`` (2), ``graph`` (er | gnr),
          ``variants`` ([default]; see :data:`VARIANTS`), ``coupling`` (1),
          ``mismatch`` (0.05), ``dynamical_noise`` (0.05), ``measurement_noise``
          (0.1), ``delay`` (0.5 periods), ``systems`` (null: all of
          :data:`CURATED_FLOWS`), ``normalise_nodes`` (true). Default: 3 graphs.
        - tier 3 (:func:`lorenz96_instance`): ``sizes`` ([10]), ``F`` (8),
          ``n_instances`` (1 per size; they differ by their initial state).
    seed : int
        Everything (graphs, node draws, parameter mismatch, initial states,
        noise) derives from ``numpy.random.SeedSequence(seed)``.

    Returns
    -------
    xarray.Dataset
        ``x`` float32 (instance, time, node): coordinate 0 of each observed
        node; ``x_full`` float32 (instance, time, node, dim); ``adj_summary``
        int8 (instance, source, target), ``A[source, target]``, -1 in the
        padding of smaller graphs; ``adj_confounded`` int8 (same dims);
        ``status``, ``reason``, ``variant``, ``label`` str (instance);
        ``sync_error`` (smallest over coupled edges) and ``sync_error_edges``
        (instance, source, target); ``coupling``, ``dt``, ``period``,
        ``n_nodes``, ``seed`` (instance); ``node_system`` str (instance, node).
    """
    defaults = {**_COMMON, **_DEFAULTS.get(tier, {})}
    if tier not in _DEFAULTS:
        raise ValueError(f"tier must be 1, 2 or 3, got {tier!r}")
    config = dict(config or {})
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise ValueError(f"unknown tier-{tier} config key(s): {', '.join(unknown)}")
    cfg = {**defaults, **config}
    root = np.random.SeedSequence(int(seed))
    ss_build, ss_sim = root.spawn(2)
    instances = _instances(tier, cfg, np.random.default_rng(ss_build))
    sim_seeds = [int(s.generate_state(1, np.uint64)[0]) for s in ss_sim.spawn(len(instances))]
    sims = [
        simulate(
            inst,
            n_points=int(cfg["n_points"]),
            points_per_period=int(cfg["points_per_period"]),
            seed=s,
            transient_periods=float(cfg["transient_periods"]),
            probe_periods=float(cfg["probe_periods"]),
            sync_threshold=float(cfg["sync_threshold"]),
        )
        for inst, s in zip(instances, sim_seeds, strict=True)
    ]
    n_inst = len(instances)
    n_node = max(i.n_nodes for i in instances)
    n_dim = max(i.node_dim for i in instances)
    n_time = int(cfg["n_points"])
    x_full = np.full((n_inst, n_time, n_node, n_dim), np.nan, dtype=np.float32)
    adj = np.full((n_inst, n_node, n_node), -1, dtype=np.int8)
    conf = np.full((n_inst, n_node, n_node), -1, dtype=np.int8)
    sync_edges = np.full((n_inst, n_node, n_node), np.nan)
    node_system = np.full((n_inst, n_node), "", dtype=object)
    for k, (inst, sim) in enumerate(zip(instances, sims, strict=True)):
        m = inst.n_nodes
        x_full[k, :, :m, : sim.x.shape[2]] = sim.x
        adj[k, :m, :m] = inst.adjacency
        conf[k, :m, :m] = 0
        for a, b in inst.confounded_pairs:
            conf[k, a, b] = conf[k, b, a] = 1
        obs = list(inst.observed)
        sync_edges[k, :m, :m] = sim.sync_error[np.ix_(obs, obs)]
        node_system[k, :m] = [inst.node_systems[o] for o in obs]
    dts = np.array([s.dt for s in sims])
    ds = xr.Dataset(
        {
            "x": (("instance", "time", "node"), x_full[..., 0]),
            "x_full": (("instance", "time", "node", "dim"), x_full),
            "adj_summary": (("instance", "source", "target"), adj),
            "adj_confounded": (("instance", "source", "target"), conf),
            "sync_error": ("instance", np.array([s.min_sync_error for s in sims])),
            "sync_error_edges": (("instance", "source", "target"), sync_edges),
            "status": ("instance", np.array([s.status for s in sims], dtype=object)),
            "reason": ("instance", np.array([s.reason for s in sims], dtype=object)),
            "coupling": ("instance", np.array([i.coupling for i in instances])),
            "variant": ("instance", np.array([i.variant for i in instances], dtype=object)),
            "label": ("instance", np.array([i.label for i in instances], dtype=object)),
            "n_nodes": ("instance", np.array([i.n_nodes for i in instances], dtype=np.int64)),
            "dt": ("instance", dts),
            "period": ("instance", dts * float(cfg["points_per_period"])),
            "seed": ("instance", np.array(sim_seeds, dtype=np.uint64)),
            "node_system": (("instance", "node"), node_system),
        },
        coords={
            "instance": np.arange(n_inst),
            "time": np.arange(n_time),
            "node": np.arange(n_node),
            "source": np.arange(n_node),
            "target": np.arange(n_node),
            "dim": np.arange(n_dim),
        },
    )
    ok_dt = dts[np.isfinite(dts)]
    ds.attrs.update(
        {
            "convention": CONVENTION,
            "tier": int(tier),
            "seed": int(seed),
            "dt": float(np.median(ok_dt)) if ok_dt.size else float("nan"),
            "dt_note": "per-instance sampling interval in variable dt; attribute dt is the median",
            "self_loop_policy": SELF_LOOP_POLICY,
            "confounder_policy": CONFOUNDER_POLICY,
            "observed_dim": 0,
            "sync_threshold": float(cfg["sync_threshold"]),
            "time_unit": "dominant periods of the nodes (~1 when normalise_nodes)"
            if tier in (1, 2) and cfg.get("normalise_nodes", False)
            else "model time units",
            "config": json.dumps(cfg, sort_keys=True),
            "generator": "chaosatlas.causal.generate.tier_dataset",
        }
    )
    return ds
