"""One entry point for every integrator: :func:`solve`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..catalogue.system import System

#: Status codes written by the kernels, and their names in products.
STATUS_NAMES: dict[int, str] = {
    0: "ok",
    1: "nonfinite",
    2: "diverged",
    3: "max_steps",
    4: "step_underflow",
    5: "bad_time_grid",
}
METHODS = ("dop853", "rk4", "map", "dde")
DEFAULT_METHOD = {"flow": "dop853", "map": "map", "dde": "dde"}


@dataclass(frozen=True)
class Solution:
    """Result of :func:`solve`.

    Attributes
    ----------
    t : numpy.ndarray
        Output times, shape ``(n_times,)``.
    x : numpy.ndarray
        States, shape ``(batch, n_times, dim)``; NaN after a failure.
    status : numpy.ndarray
        ``int8`` code per trajectory (see :data:`STATUS_NAMES`).
    t_fail : numpy.ndarray
        Time of failure per trajectory (NaN where ok).
    n_steps : numpy.ndarray
        Steps taken (attempted, for adaptive methods) per trajectory.
    method : str
    rtol, atol : float
    bound : float
    """

    t: np.ndarray
    x: np.ndarray
    status: np.ndarray
    t_fail: np.ndarray
    n_steps: np.ndarray
    method: str
    rtol: float
    atol: float
    bound: float
    max_steps: int

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of trajectories that reached the last time."""
        return self.status == 0

    @property
    def status_names(self) -> list[str]:
        return [STATUS_NAMES[int(s)] for s in self.status]

    @property
    def reasons(self) -> list[str]:
        """A human-readable reason per trajectory (empty where ok)."""
        out = []
        for code, tf in zip(self.status, self.t_fail, strict=True):
            code = int(code)
            if code == 0:
                out.append("")
            elif code == 1:
                out.append(f"state became non-finite at t={tf:.6g}")
            elif code == 2:
                out.append(f"|x| exceeded the bound {self.bound:.3g} at t={tf:.6g}")
            elif code == 3:
                out.append(f"step budget of {self.max_steps} steps exhausted at t={tf:.6g}")
            elif code == 4:
                out.append(f"step size underflow at t={tf:.6g} (stiff or singular)")
            else:
                out.append("time grid is empty or not ascending")
        return out


def _batch_parameters(system: System, parameters: np.ndarray | None, batch: int) -> np.ndarray:
    if parameters is None:
        p = system.parameter_vector
    else:
        p = np.asarray(parameters, dtype=np.float64)
    if p.ndim == 1:
        if p.shape[0] != system.n_parameters:
            raise ValueError(
                f"{system.name}: expected {system.n_parameters} parameters "
                f"({', '.join(system.parameter_names)}), got {p.shape[0]}"
            )
        p = np.broadcast_to(p, (batch, p.shape[0]))
    if p.shape != (batch, system.n_parameters):
        raise ValueError(
            f"{system.name}: parameters must have shape ({batch}, {system.n_parameters})"
        )
    # numba needs a real 2-D array (with at least one column)
    out = np.zeros((batch, max(system.n_parameters, 1)))
    out[:, : system.n_parameters] = p
    return out


def solve(
    system: System,
    x0: np.ndarray,
    t: np.ndarray,
    rtol: float = 1e-9,
    atol: float = 1e-12,
    method: str | None = None,
    *,
    parameters: np.ndarray | None = None,
    dt: float | None = None,
    h_max: float | None = None,
    max_steps: int = 10_000_000,
    bound: float | None = None,
) -> Solution:
    """Integrate a batch of initial conditions and sample the states at ``t``.

    Parameters
    ----------
    system : System
        From :func:`chaosatlas.catalogue.get`.
    x0 : array_like
        Initial states, ``(batch, dim)`` (or ``(dim,)`` for one), at time ``t[0]``.
    t : array_like
        Ascending output times; for maps, integer iteration counts.
    rtol, atol : float
        Tolerances of the adaptive method (``dop853``).
    method : {"dop853", "rk4", "map", "dde"}, optional
        Default by kind: flows ``dop853``, maps ``map``, delay equations ``dde``.
    parameters : array_like, optional
        ``(n_parameters,)`` or ``(batch, n_parameters)`` values in the order
        of ``system.parameter_names``; default the system's.
    dt : float, optional
        Step of the fixed-step methods (``rk4``, ``dde``): the largest step;
        each output interval is divided evenly. Default: the system's
        ``dt_hint``, else the output spacing (rk4) or a hundredth of the
        smallest delay (dde).
    h_max : float, optional
        Largest step of ``dop853`` (default unlimited).
    max_steps : int
        Step budget per trajectory; exceeding it is a status, not an error.
    bound : float, optional
        Absolute value beyond which a state counts as diverged (default the
        system's ``bound``); variables in ``system.unbounded`` are exempt.

    Returns
    -------
    Solution
        States ``(batch, n_times, dim)`` and a status per trajectory. The call
        does not raise for a failing trajectory; the others are kept.
    """
    method = method or DEFAULT_METHOD[system.kind]
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "map" and system.kind != "map":
        raise ValueError(f"{system.name} is a {system.kind}; method 'map' is for maps")
    if system.kind == "map" and method != "map":
        raise ValueError(f"{system.name} is a map; use method 'map'")
    if system.kind == "dde" and method != "dde":
        raise ValueError(f"{system.name} is a delay equation; use method 'dde'")
    x0 = np.asarray(x0, dtype=np.float64)
    if x0.ndim == 1:
        x0 = x0[None, :]
    if x0.ndim != 2 or x0.shape[1] != system.dim:
        raise ValueError(f"{system.name}: x0 must have shape (batch, {system.dim}), got {x0.shape}")
    x0 = np.ascontiguousarray(x0)
    batch = x0.shape[0]
    p = _batch_parameters(system, parameters, batch)
    bound = float(system.bound if bound is None else bound)
    bounded = system.bounded_mask
    max_steps = int(max_steps)
    module = system.compiled.module

    if method == "map":
        n_eval = np.asarray(t)
        if not np.all(np.equal(np.mod(n_eval, 1), 0)):
            raise ValueError("maps are sampled at integer iteration counts")
        t_arr = np.ascontiguousarray(n_eval, dtype=np.int64)
    else:
        t_arr = np.ascontiguousarray(t, dtype=np.float64)
    if t_arr.ndim != 1 or t_arr.shape[0] == 0:
        raise ValueError("t must be a non-empty 1-D array")

    out = np.empty((batch, t_arr.shape[0], system.dim))
    status = np.zeros(batch, dtype=np.int8)
    t_fail = np.full(batch, np.nan)
    n_steps = np.zeros(batch, dtype=np.int64)

    if method == "dop853":
        hm = np.inf if h_max is None else float(h_max)
        module.dop853_batch(
            x0, t_arr, p, float(rtol), float(atol), hm, bound, bounded, max_steps,
            out, status, t_fail, n_steps,
        )  # fmt: skip
    elif method == "rk4":
        step = dt or system.dt_hint
        if step is None:
            step = float(np.min(np.diff(t_arr))) if t_arr.shape[0] > 1 else 1.0
        module.rk4_batch(
            x0, t_arr, p, float(step), bound, bounded, max_steps, out, status, t_fail, n_steps
        )
    elif method == "map":
        module.map_batch(x0, t_arr, p, bound, bounded, max_steps, out, status, t_fail, n_steps)
    else:
        delay_var = np.array([d.variable for d in system.delays], dtype=np.int64)
        step = dt or system.dt_hint
        if step is None:
            step = float(np.min(system.delay_values(p[0, : system.n_parameters]))) / 100.0
        module.dde_batch(
            x0, t_arr, p, delay_var, float(step), bound, bounded, max_steps,
            out, status, t_fail, n_steps,
        )  # fmt: skip
    return Solution(
        t=t_arr.astype(np.float64),
        x=out,
        status=status,
        t_fail=t_fail,
        n_steps=n_steps,
        method=method,
        rtol=float(rtol),
        atol=float(atol),
        bound=bound,
        max_steps=max_steps,
    )
