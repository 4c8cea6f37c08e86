"""PCMCI and PCMCI+ through tigramite, an optional GPL-3 extra run in its own process.

tigramite (Runge et al. 2019, PCMCI; Runge 2020, PCMCI+) is licensed
GPL-3.0, so chaosatlas (MIT) never imports it: it is an optional extra
(``pip install chaosatlas[pcmci]``, or ``pip install tigramite``) and every
run goes through a separate Python process,
``python -m chaosatlas.causal._pcmci_worker`` (the only module that imports
tigramite), which exchanges plain ``.npy``/``.npz`` arrays with this one.
:func:`pcmci_available` looks for tigramite with
``importlib.util.find_spec`` and imports nothing.

Settings (``shared/specs/causal.md``)
    ``PCMCI(dataframe=pp.DataFrame(X), cond_ind_test=ParCorr(significance='analytic'))``
    on the z-scored ``X``, then

    - ``pcmci``: ``run_pcmci(tau_min=1, tau_max, pc_alpha=0.2, alpha_level=0.05)``.
      Lag 0 is not tested: PCMCI's contemporaneous test is symmetric and
      carries no direction.
    - ``pcmciplus``: ``run_pcmciplus(tau_min=0, tau_max, pc_alpha=0.01)``;
      PCMCI+ tests and orients contemporaneous links (its point).

Score
    tigramite returns ``val_matrix`` (the ParCorr partial correlation),
    ``p_matrix`` and ``graph``, each ``(N, N, tau_max + 1)`` indexed
    ``[source, target, lag]``. The edge score is the spec's
    ``max over lags of |val_matrix|``, over the lags that carry a direction:

    - lags ``1..tau_max`` always;
    - lag 0 (PCMCI+ only) for ``i -> j`` only where PCMCI+ oriented the
      contemporaneous link ``graph[i, j, 0] == "-->"``. A lag-0 value is
      symmetric (``val[i, j, 0] == val[j, i, 0]``): counted both ways for an
      unoriented (``o-o``) or conflicting (``x-x``) link, or for a link that
      was removed, it would score the true and the reversed edge alike, so it
      is left out, as lag 0 is left out of lagged correlation.

    ``pvalue`` is the minimum of ``p_matrix`` over the same lags (for the
    thresholded metrics: PCMCI's own graph is ``p < alpha_level``, PCMCI+'s
    ``p < pc_alpha``). The diagonal (self-loops, reported apart) uses lags
    ``1..tau_max``.

Failure
    Bad input raises ``ValueError`` before any process starts (as the other
    methods). A missing tigramite raises :class:`MethodUnavailable`, a worker
    that times out or crashes :class:`MethodFailed`;
    :func:`chaosatlas.causal.methods.run_method` (and :func:`run_pcmci`)
    turn those into ``status="unavailable"`` / ``"failed"`` with the reason
    and an all-NaN score, never zeros.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from chaosatlas.causal._pcmci_worker import EXIT_UNAVAILABLE
from chaosatlas.causal.methods import (
    MethodFailed,
    MethodOutcome,
    MethodUnavailable,
    _check_int,
    _check_length,
    _check_X,
    _zscore,
    run_method,
)

__all__ = [
    "DEFAULT_PC_ALPHA",
    "UNAVAILABLE_REASON",
    "VARIANTS",
    "PCMCIResult",
    "edge_scores",
    "pcmci",
    "pcmci_available",
    "pcmciplus",
    "run_pcmci",
]

UNAVAILABLE_REASON = (
    "tigramite is not installed: it is an optional GPL-3 extra, `pip install tigramite` "
    "(or `pip install chaosatlas[pcmci]`)"
)
VARIANTS = ("pcmci", "pcmciplus")
#: pc_alpha when none is given (spec): PCMCI's PC1 stage, PCMCI+'s only level
DEFAULT_PC_ALPHA = {"pcmci": 0.2, "pcmciplus": 0.01}
TAU_MIN = {"pcmci": 1, "pcmciplus": 0}
WORKER_MODULE = "chaosatlas.causal._pcmci_worker"
_STDERR_TAIL = 2000


def pcmci_available() -> tuple[bool, str]:
    """Whether tigramite can be found, without importing it.

    Returns
    -------
    (bool, str)
        ``(True, "")``, or ``(False, reason)`` with :data:`UNAVAILABLE_REASON`.
    """
    try:
        spec = importlib.util.find_spec("tigramite")
    except (ImportError, ValueError) as exc:
        return False, f"{UNAVAILABLE_REASON} ({type(exc).__name__}: {exc})"
    if spec is None:
        return False, UNAVAILABLE_REASON
    return True, ""


@dataclass(frozen=True)
class PCMCIResult:
    """Output of :func:`pcmci`.

    Attributes
    ----------
    score : ndarray, shape (N, N)
        ``score[source, target]``, see the module docstring.
    pvalue : ndarray, shape (N, N)
        Minimum p-value over the same lags as ``score``.
    val_matrix, p_matrix : ndarray, shape (N, N, tau_max + 1)
        tigramite's output, ``[source, target, lag]``.
    graph : ndarray of str, shape (N, N, tau_max + 1)
        tigramite's graph (``"-->"``, ``"<--"``, ``"o-o"``, ``"x-x"`` or ``""``).
    variant : str
        ``"pcmci"`` or ``"pcmciplus"``.
    tau_min, tau_max : int
    pc_alpha, alpha_level : float
        ``alpha_level`` is not used by PCMCI+ (its level is ``pc_alpha``).
    worker_runtime_s : float
        Seconds of the tigramite call inside the worker (without the process
        start-up and tigramite import, about 1 s, which ``run_method``'s
        ``runtime_s`` includes).
    tigramite_version : str
    """

    score: np.ndarray
    pvalue: np.ndarray
    val_matrix: np.ndarray
    p_matrix: np.ndarray
    graph: np.ndarray
    variant: str
    tau_min: int
    tau_max: int
    pc_alpha: float
    alpha_level: float
    worker_runtime_s: float
    tigramite_version: str


def edge_scores(
    val_matrix: np.ndarray, p_matrix: np.ndarray, graph: np.ndarray, variant: str
) -> tuple[np.ndarray, np.ndarray]:
    """Collapse tigramite's ``(N, N, tau_max + 1)`` output to ``(N, N)`` score and p-value.

    ``score = max |val_matrix|`` and ``pvalue = min p_matrix`` over lags
    ``1..tau_max``; for ``pcmciplus`` the lag-0 entry of ``i -> j`` joins
    where ``graph[i, j, 0] == "-->"`` (off-diagonal). See the module docstring.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    val = np.abs(np.asarray(val_matrix, dtype=np.float64))
    p = np.asarray(p_matrix, dtype=np.float64)
    if val.ndim != 3 or val.shape[2] < 2 or p.shape != val.shape:
        raise ValueError(
            f"val_matrix and p_matrix must both be (N, N, tau_max + 1) with tau_max >= 1, "
            f"got {val.shape} and {p.shape}"
        )
    score = val[:, :, 1:].max(axis=2)
    pvalue = p[:, :, 1:].min(axis=2)
    if variant == "pcmciplus":
        directed = np.asarray(graph)[:, :, 0] == "-->"
        np.fill_diagonal(directed, False)
        score = np.where(directed, np.maximum(score, val[:, :, 0]), score)
        pvalue = np.where(directed, np.minimum(pvalue, p[:, :, 0]), pvalue)
    return score, pvalue


def _check_level(value: Any, name: str, method: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise ValueError(f"{method}: {name} must be a number in (0, 1], got {value!r}")
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{method}: {name} must be in (0, 1], got {value!r}")
    return value


def _worker_command(
    in_path: Path,
    out_path: Path,
    variant: str,
    tau_max: int,
    pc_alpha: float,
    alpha_level: float,
) -> list[str]:
    """The worker's command line (a module-level function so that tests can replace it)."""
    return [
        sys.executable,
        "-m",
        WORKER_MODULE,
        str(in_path),
        str(out_path),
        variant,
        str(int(tau_max)),
        repr(float(pc_alpha)),
        repr(float(alpha_level)),
    ]


def _worker_env() -> dict[str, str]:
    """This environment, with the directory holding ``chaosatlas`` first on PYTHONPATH.

    So the worker imports the same chaosatlas even when it is used from a
    source tree that is not installed.
    """
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    old = env.get("PYTHONPATH")
    env["PYTHONPATH"] = root + (os.pathsep + old if old else "")
    return env


def _tail(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= _STDERR_TAIL else "..." + text[-_STDERR_TAIL:]


def pcmci(
    X: np.ndarray,
    tau_max: int = 3,
    pc_alpha: float | None = None,
    alpha_level: float = 0.05,
    timeout: float = 600.0,
    *,
    variant: str = "pcmci",
) -> PCMCIResult:
    """PCMCI or PCMCI+ with ParCorr, run by tigramite in a separate process.

    Parameters
    ----------
    X : ndarray, shape (T, N)
        One observed variable per node; z-scored here.
    tau_max : int
        Largest lag (>= 1).
    pc_alpha : float, optional
        Significance level of the condition-selection (PC) stage. ``None``
        means the spec's default, 0.2 for PCMCI and 0.01 for PCMCI+ (not
        tigramite's ``None``, which selects it by AIC).
    alpha_level : float
        PCMCI's level for its ``graph`` (unused by PCMCI+).
    timeout : float
        Seconds before the worker is killed.
    variant : {"pcmci", "pcmciplus"}

    Returns
    -------
    PCMCIResult

    Raises
    ------
    ValueError
        Bad ``X`` (as the other methods), bad parameters, or
        ``T < tau_max + 2 N (tau_max + 1) + 3`` (the partial-correlation
        tests would run out of degrees of freedom).
    MethodUnavailable
        tigramite is not installed (or the worker cannot import it).
    MethodFailed
        The worker timed out, crashed or wrote malformed output.
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    method = variant
    tau_max = _check_int(tau_max, "tau_max", 1)
    pc_alpha = DEFAULT_PC_ALPHA[variant] if pc_alpha is None else pc_alpha
    pc_alpha = _check_level(pc_alpha, "pc_alpha", method)
    alpha_level = _check_level(alpha_level, "alpha_level", method)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError(f"{method}: timeout must be a positive number of seconds, got {timeout!r}")
    Z = _check_X(X, method)
    n_time, n_nodes = Z.shape
    needed = tau_max + 2 * n_nodes * (tau_max + 1) + 3
    _check_length(
        n_time,
        needed,
        method,
        f"degrees of freedom for partial correlations with N={n_nodes}, tau_max={tau_max}",
    )
    Z = _zscore(Z, method)
    ok, reason = pcmci_available()
    if not ok:
        raise MethodUnavailable(reason)

    with tempfile.TemporaryDirectory(prefix="chaosatlas-pcmci-") as tmp:
        in_path = Path(tmp) / "in.npy"
        out_path = Path(tmp) / "out.npz"
        np.save(in_path, Z)
        cmd = _worker_command(in_path, out_path, variant, tau_max, pc_alpha, alpha_level)
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=_worker_env(),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise MethodFailed(
                f"{method}: the tigramite worker timed out after {timeout:g} s and was killed "
                f"(T={n_time}, N={n_nodes}, tau_max={tau_max})"
            ) from None
        if proc.returncode == EXIT_UNAVAILABLE:
            raise MethodUnavailable(
                f"tigramite is installed but the worker cannot import it: {_tail(proc.stderr)}"
            )
        if proc.returncode != 0:
            raise MethodFailed(
                f"{method}: the tigramite worker exited with status {proc.returncode}: "
                f"{_tail(proc.stderr) or '(no message)'}"
            )
        try:
            with np.load(out_path, allow_pickle=False) as out:
                val = np.array(out["val_matrix"], dtype=np.float64)
                p = np.array(out["p_matrix"], dtype=np.float64)
                graph = np.array(out["graph"]).astype(str)
                worker_runtime = float(out["runtime_s"])
                version = str(out["tigramite_version"])
        except (OSError, KeyError, ValueError) as exc:
            raise MethodFailed(
                f"{method}: cannot read the worker's output: {type(exc).__name__}: {exc}"
            ) from None
    shape = (n_nodes, n_nodes, tau_max + 1)
    if val.shape != shape or p.shape != shape or graph.shape != shape:
        raise MethodFailed(
            f"{method}: the worker returned shapes {val.shape}, {p.shape}, {graph.shape}; "
            f"expected {shape}"
        )
    score, pvalue = edge_scores(val, p, graph, variant)
    return PCMCIResult(
        score=score,
        pvalue=pvalue,
        val_matrix=val,
        p_matrix=p,
        graph=graph,
        variant=variant,
        tau_min=TAU_MIN[variant],
        tau_max=tau_max,
        pc_alpha=pc_alpha,
        alpha_level=alpha_level,
        worker_runtime_s=worker_runtime if math.isfinite(worker_runtime) else float("nan"),
        tigramite_version=version,
    )


def pcmciplus(X: np.ndarray, **kwargs: Any) -> PCMCIResult:
    """:func:`pcmci` with ``variant="pcmciplus"``."""
    return pcmci(X, variant="pcmciplus", **kwargs)


def run_pcmci(
    X: np.ndarray,
    *,
    variant: str = "pcmci",
    tau_max: int = 3,
    pc_alpha: float | None = None,
    alpha_level: float = 0.05,
    timeout: float = 600.0,
) -> MethodOutcome:
    """Run PCMCI or PCMCI+ as a benchmark does: timed, never raising on data or tigramite.

    ``run_method(variant, X, ...)``: ``status`` is ``"ok"``, ``"failed"``
    (bad data, timeout, crash, non-finite scores) or ``"unavailable"``
    (tigramite missing, reason :data:`UNAVAILABLE_REASON`), the last two with
    an all-NaN score. ``runtime_s`` includes the worker's start-up (about 1 s:
    Python, chaosatlas and tigramite imports).

    Raises
    ------
    ValueError
        Unknown ``variant`` or ``X`` not 2-D (no ``(N, N)`` score can be shaped).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    return run_method(
        variant,
        X,
        tau_max=tau_max,
        pc_alpha=pc_alpha,
        alpha_level=alpha_level,
        timeout=timeout,
    )
