"""The catalogue's verdict: is a system chaotic, and if not, what is it?

A system counts as chaotic only if three independent signs agree: a largest
Lyapunov exponent significantly above zero, a 0-1 test K near one, and
bounded trajectories. Anything else gets a verdict from the exponents
(periodic, quasi-periodic, fixed point) or ``inconclusive``, always with a
reason that quotes the numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

VERDICTS = (
    "chaotic",
    "transient_chaos",
    "periodic",
    "quasi_periodic",
    "fixed_point",
    "inconclusive",
    "diverges",
    "not_computed",
)
#: 0-1 test: K above this reads as chaotic, below as regular.
K_THRESHOLD = 0.5


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str


def zero_tolerance(
    kind: str, period: float, uncertainty: float, averaging_time: float | None = None
) -> float:
    """How far from zero an exponent must be to count as non-zero.

    Three standard errors, and at least ``5 / T`` for an average over time
    ``T`` (a regular orbit's finite-time exponent is biased by O(1/T): five
    e-foldings over the whole average is the least that counts as growth).
    Without ``T``: 1% growth per dominant period (flows) or 0.01 per
    iteration (maps), which is ``5 / T`` for 500 periods.
    """
    if averaging_time is not None and math.isfinite(averaging_time) and averaging_time > 0:
        floor = 5.0 / averaging_time
    elif kind == "map":
        floor = 0.01
    else:
        floor = 0.01 / (period if period and math.isfinite(period) else 1.0)
    sigma = uncertainty if math.isfinite(uncertainty) else 0.0
    return max(3.0 * sigma, floor)


def _orbit_floor(kind: str, period: float, averaging_time: float | None) -> float:
    """Growth one initial condition must exceed to count as chaotic.

    A regular orbit in a sheared (e.g. Hamiltonian) flow has a tangent vector
    that grows linearly, so its finite-time exponent is about ``ln(T/P) / T``;
    five times that, and at least ``5 / T``.
    """
    base = zero_tolerance(kind, period, 0.0, averaging_time)
    if averaging_time is None or not math.isfinite(averaging_time) or averaging_time <= 0:
        return base
    scale = period if kind != "map" and math.isfinite(period) and period > 0 else 1.0
    return max(base, 5.0 * math.log(max(averaging_time / scale, math.e)) / averaging_time)


def classify(
    kind: str,
    exponents: np.ndarray,
    uncertainty: np.ndarray,
    zero_one_k: float,
    period: float,
    *,
    is_autonomous: bool = True,
    failed: str = "",
    averaging_time: float | None = None,
    long_run: str = "",
    per_trajectory: np.ndarray | None = None,
) -> Verdict:
    """Classify one system from its exponents and its 0-1 test.

    Parameters
    ----------
    kind : {"flow", "map", "dde"}
    exponents, uncertainty : numpy.ndarray
        Lyapunov exponents (descending) and their standard errors; a delay
        equation has only the largest.
    zero_one_k : float
        Median K of the 0-1 test.
    period : float
        Dominant period (flows, delay equations).
    is_autonomous : bool
        Forced flows have no zero exponent along the flow direction.
    failed : str
        Non-empty when the trajectories diverged or the exponents could not be
        computed; becomes the reason.
    averaging_time : float, optional
        Time the exponents were averaged over; sets the tolerance, see
        :func:`zero_tolerance`.
    long_run : str
        What a long run (thousands of periods) showed beyond the averaging
        window: ``"diverged: ..."`` (it left the bound) or ``"settled: ..."``
        (it came to rest on a fixed point); empty if neither.
    per_trajectory : numpy.ndarray, optional
        The largest exponent of each initial condition. In a mixed phase
        space (conservative systems with islands) some initial conditions
        are regular and the mean is not significant although most orbits are
        chaotic: then the system counts as chaotic when the 0-1 test agrees
        and more than half of the initial conditions grow by more than the
        ``5 / T`` floor.
    """
    if failed:
        return Verdict(
            "diverges" if "diverg" in failed or "bound" in failed else "not_computed", failed
        )
    if long_run.startswith("diverged"):
        return Verdict("diverges", f"bounded over the averaging window, but a long run {long_run}")
    lam = np.asarray(exponents, dtype=float)
    sig = np.asarray(uncertainty, dtype=float)
    if lam.size == 0 or not np.isfinite(lam[0]):
        return Verdict("not_computed", "no finite Lyapunov exponent")
    tol = zero_tolerance(kind, period, float(sig[0]) if sig.size else float("nan"), averaging_time)
    l1 = float(lam[0])
    k_text = (
        f"0-1 test K={zero_one_k:.3f}" if math.isfinite(zero_one_k) else "0-1 test not available"
    )
    lam_text = f"lambda_1={l1:.4g} (tolerance {tol:.2g})"
    positive = int(np.sum(lam > tol))
    zeros = int(np.sum(np.abs(lam) <= tol))
    k_chaotic = math.isfinite(zero_one_k) and zero_one_k > K_THRESHOLD
    k_regular = math.isfinite(zero_one_k) and zero_one_k <= K_THRESHOLD
    if long_run.startswith("settled") and l1 > -tol:
        return Verdict(
            "transient_chaos",
            f"irregular at first ({lam_text}, {k_text}), but a long run {long_run}",
        )
    if l1 > tol:
        if k_chaotic:
            extra = f"; hyperchaotic ({positive} positive exponents)" if positive > 1 else ""
            return Verdict("chaotic", f"{lam_text} > 0 and {k_text}{extra}")
        return Verdict("inconclusive", f"{lam_text} > 0 but {k_text} reads regular")
    if k_chaotic and per_trajectory is not None and np.size(per_trajectory) > 1:
        floor = _orbit_floor(kind, period, averaging_time)
        growing = int(np.sum(np.asarray(per_trajectory) > floor))
        n = int(np.size(per_trajectory))
        if 2 * growing > n:
            why = (
                "the others are regular: a mixed phase space"
                if growing < n
                else "the spread across initial conditions is large"
            )
            return Verdict(
                "chaotic",
                f"lambda_1 > {floor:.2g} on {growing} of {n} initial conditions "
                f"(mean {lam_text}: {why}) and {k_text}",
            )
    if k_chaotic:
        return Verdict("inconclusive", f"{k_text} reads chaotic but {lam_text} is not positive")
    if l1 < -tol:
        if kind == "map" and math.isfinite(period) and period >= 1.5:
            return Verdict(
                "periodic",
                f"all exponents negative ({lam_text}) and period {period:.3g}: a stable cycle",
            )
        if kind == "flow" and not is_autonomous:
            return Verdict(
                "periodic",
                f"all exponents negative ({lam_text}) under explicit forcing: a stable response locked to the forcing",
            )
        return Verdict(
            "fixed_point",
            f"all exponents negative ({lam_text}): the orbit settles on a stable fixed point",
        )
    # largest exponent indistinguishable from zero
    if kind == "map":
        return Verdict(
            "quasi_periodic" if zeros >= 1 and k_regular else "periodic",
            f"{lam_text} ~ 0 and {k_text}",
        )
    expected_zeros = 1 if is_autonomous else 0
    if kind == "flow" and zeros >= expected_zeros + 1:
        return Verdict(
            "quasi_periodic", f"{zeros} exponents ~ 0 ({lam_text}) and {k_text}: motion on a torus"
        )
    return Verdict("periodic", f"{lam_text} ~ 0 and {k_text}: a limit cycle")
