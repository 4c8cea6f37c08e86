"""A system of the catalogue: its equations as sympy expressions and its numbers."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy as sp

if TYPE_CHECKING:
    from .compile import CompiledSystem

KINDS = ("flow", "map", "dde")


@dataclass(frozen=True)
class Delay:
    """One delayed state ``x_k(t - tau)`` in a delay equation."""

    variable: int
    tau: sp.Expr


@dataclass(frozen=True, eq=False)
class System:
    """A dynamical system from the catalogue, ready to compile.

    Attributes
    ----------
    name, kind, family : str
        Identity. ``kind`` is ``"flow"``, ``"map"`` or ``"dde"``.
    variables : tuple of str
        State variables in state-vector order (indexed families expanded).
    parameter_names : tuple of str
        Scalar parameter slots in the order of :attr:`parameter_vector`
        (vector parameters flattened to ``K_0``, ``K_1``, ...).
    parameter_vector : numpy.ndarray
        Parameter values, ``float64``.
    parameters : dict
        The parameters as given (scalars as floats, vectors as lists).
    equations : tuple of sympy.Expr
        Right-hand side (flow, dde) or next state (map), one per variable, in
        the symbols of :attr:`state_symbols`, :attr:`parameter_symbols`,
        :attr:`time_symbol` and, for delay equations, :attr:`delay_symbols`.
    initial_state : numpy.ndarray
    delays : tuple of Delay
    """

    name: str
    kind: str
    family: str
    source: str
    variables: tuple[str, ...]
    parameter_names: tuple[str, ...]
    parameter_vector: np.ndarray
    parameters: dict[str, Any]
    equations: tuple[sp.Expr, ...]
    equation_text: dict[str, str]
    state_symbols: tuple[sp.Symbol, ...]
    parameter_symbols: tuple[sp.Symbol, ...]
    time_symbol: sp.Symbol
    delay_symbols: tuple[sp.Symbol, ...]
    delays: tuple[Delay, ...]
    initial_state: np.ndarray
    citation: str
    description: str = ""
    size: dict[str, int] = field(default_factory=dict)
    period_hint: float | None = None
    dt_hint: float | None = None
    bound: float = 1e8
    unbounded: tuple[str, ...] = ()
    reference: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    dysts: str | None = None

    @property
    def dim(self) -> int:
        """Number of state variables."""
        return len(self.variables)

    @property
    def n_parameters(self) -> int:
        return len(self.parameter_names)

    @property
    def is_autonomous(self) -> bool:
        return not any(e.has(self.time_symbol) for e in self.equations)

    @property
    def jumps_in_state(self) -> bool:
        """``True`` for a flow whose right-hand side jumps across a surface in state space.

        ``sign``, ``Heaviside``, ``floor``, ``ceiling``, ``Mod`` or a
        ``Piecewise`` with a state variable in its argument. Tangent dynamics
        of such a flow miss the saltation at each crossing, so its Lyapunov
        exponents are taken from separating orbits instead. Jumps in time only
        (a switched forcing) and kinks (``Abs``, ``Max``) are harmless.
        """
        if self.kind != "flow":
            return False
        jumps = (sp.sign, sp.Heaviside, sp.floor, sp.ceiling, sp.Mod, sp.Piecewise)
        state = set(self.state_symbols)
        return any(
            bool(f.free_symbols & state)
            for e in self.equations
            for f in e.atoms(sp.Function, sp.Piecewise)
            if isinstance(f, jumps)
        )

    @property
    def bounded_mask(self) -> np.ndarray:
        """``True`` for variables checked against :attr:`bound`."""
        return np.array([v not in self.unbounded for v in self.variables], dtype=np.bool_)

    def structure_key(self) -> str:
        """Hash of everything the compiled code depends on (not parameter values)."""
        payload = {
            "kind": self.kind,
            "equations": [sp.srepr(e) for e in self.equations],
            "state": [s.name for s in self.state_symbols],
            "params": [s.name for s in self.parameter_symbols],
            "delays": [(d.variable, sp.srepr(d.tau)) for d in self.delays],
        }
        text = json.dumps(payload, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def delay_values(self, parameter_vector: np.ndarray | None = None) -> np.ndarray:
        """The delays ``tau_k`` for the given parameters (default: the system's)."""
        p = self.parameter_vector if parameter_vector is None else parameter_vector
        subs = dict(zip(self.parameter_symbols, (float(v) for v in p), strict=True))
        return np.array([float(d.tau.subs(subs)) for d in self.delays], dtype=np.float64)

    @property
    def compiled(self) -> CompiledSystem:
        """The numba-compiled right-hand side, Jacobian and integrator kernels."""
        from .compile import compile_system

        return compile_system(self)

    def rhs(
        self,
        x: np.ndarray,
        t: float = 0.0,
        parameters: np.ndarray | None = None,
        delayed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Evaluate the compiled right-hand side (or map) at one state."""
        return self.compiled.rhs(x, t, parameters, delayed)

    def jacobian(
        self,
        x: np.ndarray,
        t: float = 0.0,
        parameters: np.ndarray | None = None,
        delayed: np.ndarray | None = None,
    ) -> np.ndarray:
        """Evaluate the compiled Jacobian d f / d x at one state."""
        return self.compiled.jacobian(x, t, parameters, delayed)

    def with_parameters(self, **overrides: Any) -> System:
        """A copy with parameters changed (same compiled code)."""
        from .loader import get

        return get(self.name, **{**self.size, **overrides})

    def describe(self) -> dict[str, Any]:
        """A plain-data summary for products and the CLI."""
        return {
            "name": self.name,
            "kind": self.kind,
            "family": self.family,
            "dimension": self.dim,
            "variables": list(self.variables),
            "parameters": self.parameters,
            "equations": self.equation_text,
            "citation": self.citation,
            "description": self.description,
        }

    def __repr__(self) -> str:
        return f"System({self.name!r}, kind={self.kind!r}, dim={self.dim})"
