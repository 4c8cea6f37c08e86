"""Baselines the leaderboard needs: the floor and the domain-knowledge family.

All are fitted in closed form (least squares or ridge regression) with numpy,
in float64, so they are exactly reproducible and need no training loop.

- :class:`Persistence`: repeat the last context value.
- :class:`Climatology`: the training mean.
- :class:`LinearContext`: a DLinear-style least-squares map from the
  (instance-normalised) context to the horizon, shared by all variables.
- :class:`NVAR`: next-generation reservoir computer (Gauthier et al. 2021):
  delayed states and their quadratic monomials, ridge regression onto the
  one-step increment, rolled out autoregressively.
- :class:`EchoStateNetwork`: a leaky tanh reservoir driven by the state, ridge
  read-out of the next state, warmed up on the context and then run closed-loop.

Every baseline takes training data as trajectories ``(n_traj, time, vars)``
(standardised units) and predicts from contexts ``(batch, context, vars)``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: variance floor of the per-window instance normalisation (the neural models too);
#: here, not in .base, so that importing the baselines does not import torch
NORM_EPS = 1e-5


def _ridge(features: np.ndarray, targets: np.ndarray, ridge: float) -> np.ndarray:
    """Solve ``min |F W - Y|^2 + ridge |W|^2`` (normal equations, float64)."""
    gram = features.T @ features
    gram[np.diag_indices_from(gram)] += ridge
    return np.linalg.solve(gram, features.T @ targets)


def windows(series: np.ndarray, length: int, stride: int = 1) -> np.ndarray:
    """All windows of ``length`` steps from trajectories ``(n_traj, time, vars)``.

    Returns ``(n_windows, length, vars)`` (a copy). Trajectories with NaN
    (failed integrations) contribute no windows.
    """
    series = np.asarray(series)
    if series.ndim != 3:
        raise ValueError(f"trajectories must be (n_traj, time, vars), got shape {series.shape}")
    out = []
    for x in series:
        if not np.all(np.isfinite(x)) or x.shape[0] < length:
            continue
        idx = np.arange(0, x.shape[0] - length + 1, stride)
        out.append(np.stack([x[i : i + length] for i in idx]))
    if not out:
        raise ValueError(f"no finite window of {length} steps in the trajectories")
    return np.concatenate(out)


class Baseline:
    """Common interface of the closed-form baselines."""

    name = "baseline"
    #: The keywords the model reads; any other is refused (a misspelt one would be ignored).
    HYPER: tuple[str, ...] = ()

    def __init__(self, context: int, horizon: int, n_vars: int, **hyper: Any) -> None:
        unknown = sorted(set(hyper) - set(self.HYPER))
        if unknown:
            raise ValueError(
                f"{self.name}: unknown hyperparameter(s) {', '.join(unknown)} "
                f"(it takes: {', '.join(self.HYPER) or 'none'})"
            )
        self.context, self.horizon, self.n_vars = int(context), int(horizon), int(n_vars)
        self.hyper = dict(hyper)
        self.state: dict[str, np.ndarray] = {}

    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> dict[str, Any]:
        """Fit on training trajectories ``(n_traj, time, vars)``; returns a report."""
        return {}

    def predict(self, context: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def n_parameters(self) -> int:
        return int(sum(v.size for v in self.state.values()))

    def _check(self, context: np.ndarray) -> np.ndarray:
        c = np.asarray(context, dtype=np.float64)
        if c.ndim != 3 or c.shape[2] != self.n_vars:
            raise ValueError(
                f"{self.name}: context must be (batch, context, {self.n_vars}), got {c.shape}"
            )
        return c


class Persistence(Baseline):
    """Repeat the last context value over the horizon."""

    name = "persistence"

    def predict(self, context: np.ndarray) -> np.ndarray:
        c = self._check(context)
        return np.repeat(c[:, -1:, :], self.horizon, axis=1)


class Climatology(Baseline):
    """The training mean of every variable, at every step."""

    name = "climatology"

    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> dict[str, Any]:
        x = np.asarray(train, dtype=np.float64)
        self.state["mean"] = np.nanmean(x.reshape(-1, x.shape[-1]), axis=0)
        return {}

    def predict(self, context: np.ndarray) -> np.ndarray:
        c = self._check(context)
        return np.broadcast_to(self.state["mean"], (c.shape[0], self.horizon, self.n_vars)).copy()


class LinearContext(Baseline):
    """Least-squares linear map from the context to the horizon (DLinear-style).

    Each window is normalised by its own context mean and
    ``sqrt(var + 1e-5)``; one ``(context + 1) x horizon`` weight matrix
    (with a bias) is shared by all variables, fitted by ridge regression
    (``ridge``, default 1e-6) over every training window and variable.
    """

    name = "linear"
    HYPER = ("ridge", "stride")

    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> dict[str, Any]:
        w = windows(train, self.context + self.horizon, int(self.hyper.get("stride", 1)))
        x, y = w[:, : self.context], w[:, self.context :]
        mean = x.mean(axis=1, keepdims=True)
        std = np.sqrt(x.var(axis=1, keepdims=True) + NORM_EPS)
        xn = ((x - mean) / std).transpose(0, 2, 1).reshape(-1, self.context)
        yn = ((y - mean) / std).transpose(0, 2, 1).reshape(-1, self.horizon)
        features = np.hstack([xn, np.ones((xn.shape[0], 1))])
        self.state["weights"] = _ridge(features, yn, float(self.hyper.get("ridge", 1e-6)))
        return {"windows": int(w.shape[0])}

    def predict(self, context: np.ndarray) -> np.ndarray:
        c = self._check(context)
        mean = c.mean(axis=1, keepdims=True)
        std = np.sqrt(c.var(axis=1, keepdims=True) + NORM_EPS)
        xn = ((c - mean) / std).transpose(0, 2, 1)
        features = np.concatenate([xn, np.ones((*xn.shape[:2], 1))], axis=2)
        yn = (features @ self.state["weights"]).transpose(0, 2, 1)
        return yn * std + mean


#: ridge values NVAR chooses from on the validation split (``ridge: auto``)
NVAR_RIDGES: tuple[float, ...] = (1e-8, 1e-6, 1e-4, 1e-2, 1.0)


def _quadratic_monomials(lin: np.ndarray) -> np.ndarray:
    """Unique products ``lin_i * lin_j`` (i <= j) of the last axis."""
    i, j = np.triu_indices(lin.shape[-1])
    return lin[..., i] * lin[..., j]


class NVAR(Baseline):
    """Next-generation reservoir computer (nonlinear vector autoregression).

    Features at time ``t``: a constant, the ``k`` states
    ``x_t, x_{t-s}, ..., x_{t-(k-1)s}`` and all their unique quadratic
    monomials. A ridge regression maps them to the increment
    ``x_{t+1} - x_t``; forecasts iterate that one-step model from the end of
    the context. Defaults ``k = 2``, ``s = 1`` (Gauthier et al. 2021);
    ``ridge: auto`` (default) picks the ridge from :data:`NVAR_RIDGES` by the
    error of the iterated forecast on the validation split (1e-6 without one).
    """

    name = "nvar"
    HYPER = ("k", "s", "ridge")

    @property
    def _k(self) -> int:
        return int(self.hyper.get("k", 2))

    @property
    def _s(self) -> int:
        return int(self.hyper.get("s", 1))

    def _features(self, lagged: np.ndarray) -> np.ndarray:
        lin = lagged.reshape(*lagged.shape[:-2], -1)
        ones = np.ones((*lin.shape[:-1], 1))
        return np.concatenate([ones, lin, _quadratic_monomials(lin)], axis=-1)

    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> dict[str, Any]:
        span = (self._k - 1) * self._s
        if span + 1 > self.context:
            raise ValueError(f"nvar: k={self._k}, s={self._s} need more than {self.context} steps")
        feats, targets = [], []
        for x in np.asarray(train, dtype=np.float64):
            if not np.all(np.isfinite(x)):
                continue
            t = np.arange(span, x.shape[0] - 1)
            lagged = np.stack([x[t - m * self._s] for m in range(self._k)], axis=1)
            feats.append(self._features(lagged))
            targets.append(x[t + 1] - x[t])
        if not feats:
            raise ValueError("nvar: no finite training trajectory")
        f, y = np.concatenate(feats), np.concatenate(targets)
        ridge = self.hyper.get("ridge", "auto")
        report: dict[str, Any] = {"samples": int(f.shape[0]), "features": int(f.shape[1])}
        if ridge == "auto" and val is not None:
            ridge, report["validation_mse"] = self._choose_ridge(f, y, val)
        elif ridge == "auto":
            ridge = 1e-6
        self.state["weights"] = _ridge(f, y, float(ridge))
        report["ridge"] = float(ridge)
        return report

    def _choose_ridge(
        self, f: np.ndarray, y: np.ndarray, val: np.ndarray
    ) -> tuple[float, dict[str, float]]:
        """The :data:`NVAR_RIDGES` value whose forecasts of the validation windows err least.

        A one-step model that is accurate in-sample can still blow up when
        iterated (Rossler at 32 points per period with ridge 1e-6): scoring
        the iterated forecast is what picks a ridge that stays on the attractor.
        """
        w = windows(val, self.context + self.horizon, max(1, self.horizon // 2))
        scores: dict[str, float] = {}
        best, best_mse = 1e-6, np.inf  # kept when no ridge gives a finite forecast
        for ridge in NVAR_RIDGES:
            self.state["weights"] = _ridge(f, y, ridge)
            with np.errstate(over="ignore", invalid="ignore"):
                err = self.predict(w[:, : self.context]) - w[:, self.context :]
                mse = float(np.mean(err**2)) if w.shape[0] else np.nan
            scores[f"{ridge:g}"] = mse
            if np.isfinite(mse) and mse < best_mse:
                best, best_mse = ridge, mse
        return best, scores

    def step(self, history: np.ndarray) -> np.ndarray:
        """One step from ``(batch, >= span + 1, vars)`` histories (last row = now)."""
        lagged = np.stack([history[:, -1 - m * self._s] for m in range(self._k)], axis=1)
        return history[:, -1] + self._features(lagged) @ self.state["weights"]

    def predict(self, context: np.ndarray) -> np.ndarray:
        c = self._check(context)
        span = (self._k - 1) * self._s
        history = c[:, -(span + 1) :].copy()
        out = np.empty((c.shape[0], self.horizon, self.n_vars))
        with np.errstate(over="ignore", invalid="ignore"):
            for h in range(self.horizon):
                nxt = self.step(history)
                out[:, h] = nxt
                history = np.concatenate([history[:, 1:], nxt[:, None]], axis=1)
        return out


class LaggedLinearRegression(Baseline):
    """Multivariate linear regression on lags, one step ahead, iterated (Gilpin 2023's
    "linear regression", darts' ``LinearRegressionModel`` with ``output_chunk_length=1``).

    Every variable at ``t + 1`` is a linear function, with a bias, of every
    variable at the ``lags`` steps ``t, t - 1, ...`` (``lags`` defaults to
    the whole context), fitted by ridge regression (``ridge``, default 1e-6)
    on raw values over every training step; the horizon is forecast by
    feeding each step back. Unlike :class:`LinearContext` the variables are
    coupled and nothing is normalised per window.
    """

    name = "var"
    HYPER = ("lags", "ridge")

    @property
    def _lags(self) -> int:
        lags = int(self.hyper.get("lags", self.context))
        if not 1 <= lags <= self.context:
            raise ValueError(f"var: lags must be in 1..{self.context} (the context), got {lags}")
        return lags

    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> dict[str, Any]:
        p = self._lags
        w = windows(train, p + 1, 1)
        feats = np.concatenate([np.ones((w.shape[0], 1)), w[:, :p].reshape(w.shape[0], -1)], axis=1)
        self.state["weights"] = _ridge(feats, w[:, p], float(self.hyper.get("ridge", 1e-6)))
        return {"samples": int(w.shape[0]), "features": int(feats.shape[1])}

    def predict(self, context: np.ndarray) -> np.ndarray:
        c = self._check(context)
        p = self._lags
        history = c[:, -p:].copy()
        out = np.empty((c.shape[0], self.horizon, self.n_vars))
        weights = self.state["weights"]
        with np.errstate(over="ignore", invalid="ignore"):
            for h in range(self.horizon):
                feats = np.concatenate(
                    [np.ones((c.shape[0], 1)), history.reshape(c.shape[0], -1)], axis=1
                )
                out[:, h] = feats @ weights
                history = np.concatenate([history[:, 1:], out[:, h : h + 1]], axis=1)
        return out


class EchoStateNetwork(Baseline):
    """Echo state network: a fixed random leaky tanh reservoir, ridge read-out.

    ``r_{t+1} = (1 - a) r_t + a tanh(W r_t + W_in x_t + b)`` with ``W`` a
    sparse random matrix scaled to spectral radius ``rho`` (0.9), ``W_in``
    uniform in ``[-sigma, sigma]`` (0.5), ``a`` = ``leak`` (1.0), ``size``
    (300) units. The read-out maps ``[1, r_{t+1}, r_{t+1}^2]`` to ``x_{t+1}``
    (ridge 1e-6; the squares break the tanh symmetry). The reservoir is
    driven by the context (teacher forcing) and then runs on its own output.
    ``seed`` fixes the reservoir.
    """

    name = "esn"
    HYPER = ("size", "rho", "sigma", "leak", "ridge", "washout", "seed")

    def _reservoir(self) -> None:
        size = int(self.hyper.get("size", 300))
        rng = np.random.default_rng(int(self.hyper.get("seed", 0)))
        density = min(1.0, 6.0 / size)
        w = rng.uniform(-1, 1, (size, size)) * (rng.random((size, size)) < density)
        radius = float(np.max(np.abs(np.linalg.eigvals(w)))) or 1.0
        self.state["w"] = w * (float(self.hyper.get("rho", 0.9)) / radius)
        sigma = float(self.hyper.get("sigma", 0.5))
        self.state["w_in"] = rng.uniform(-sigma, sigma, (size, self.n_vars))
        self.state["bias"] = rng.uniform(-0.1, 0.1, size)

    def _update(self, r: np.ndarray, x: np.ndarray) -> np.ndarray:
        a = float(self.hyper.get("leak", 1.0))
        pre = r @ self.state["w"].T + x @ self.state["w_in"].T + self.state["bias"]
        return (1 - a) * r + a * np.tanh(pre)

    @staticmethod
    def _readout_features(r: np.ndarray) -> np.ndarray:
        return np.concatenate([np.ones((*r.shape[:-1], 1)), r, r**2], axis=-1)

    def _drive(self, x: np.ndarray) -> np.ndarray:
        """States after each input of ``x`` ``(batch, time, vars)``: ``(batch, time, size)``."""
        r = np.zeros((x.shape[0], self.state["w"].shape[0]))
        states = np.empty((x.shape[0], x.shape[1], r.shape[1]))
        for t in range(x.shape[1]):
            r = self._update(r, x[:, t])
            states[:, t] = r
        return states

    def fit(self, train: np.ndarray, val: np.ndarray | None = None) -> dict[str, Any]:
        self._reservoir()
        washout = int(self.hyper.get("washout", 100))
        x = np.asarray(train, dtype=np.float64)
        x = x[np.all(np.isfinite(x), axis=(1, 2))]
        if x.shape[0] == 0 or x.shape[1] <= washout + 1:
            raise ValueError(f"esn: needs finite trajectories longer than {washout + 1} steps")
        states = self._drive(x[:, :-1])[:, washout:]
        targets = x[:, washout + 1 :]
        f = self._readout_features(states).reshape(-1, 2 * states.shape[-1] + 1)
        self.state["w_out"] = _ridge(
            f, targets.reshape(-1, self.n_vars), float(self.hyper.get("ridge", 1e-6))
        )
        return {"samples": int(f.shape[0]), "reservoir": int(states.shape[-1])}

    def predict(self, context: np.ndarray) -> np.ndarray:
        c = self._check(context)
        r = self._drive(c)[:, -1]
        out = np.empty((c.shape[0], self.horizon, self.n_vars))
        with np.errstate(over="ignore", invalid="ignore"):
            for h in range(self.horizon):
                x = self._readout_features(r) @ self.state["w_out"]
                out[:, h] = x
                r = self._update(r, x)
        return out

    @property
    def n_parameters(self) -> int:
        # only the read-out is trained; the reservoir is fixed by the seed
        return int(self.state["w_out"].size) if "w_out" in self.state else 0


BASELINES: dict[str, type[Baseline]] = {
    cls.name: cls
    for cls in (
        Persistence, Climatology, LinearContext, LaggedLinearRegression, NVAR, EchoStateNetwork
    )
}  # fmt: skip


def finite_or_nan(x: np.ndarray) -> np.ndarray:
    """Replace infinities (a blown-up rollout) by NaN."""
    x = np.asarray(x, dtype=np.float64)
    return np.where(np.isfinite(x), x, math.nan)
