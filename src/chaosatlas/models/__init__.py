"""Forecast models behind one interface.

:class:`Forecaster` wraps every model, neural or closed-form: contexts
``(batch, context, variables)`` in, forecasts ``(batch, horizon, variables)``
out, with ``fit``, ``predict``, ``rollout``, ``save`` and ``load`` (the file
keeps the hyperparameters and training settings that made the model).

Models: ``persistence``, ``climatology``, ``linear``, ``nvar``, ``esn``
(:mod:`.baselines`) and the neural ``koopa``, ``deepedm``, ``stu``
(:mod:`.koopa`, :mod:`.deepedm`, :mod:`.stu`, trained by :mod:`.training`).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .baselines import BASELINES

#: neural models: name -> (module, class)
NEURAL: dict[str, tuple[str, str]] = {
    "koopa": ("koopa", "Koopa"),
    "deepedm": ("deepedm", "DeepEDM"),
    "stu": ("stu", "STU"),
}
MODEL_NAMES: tuple[str, ...] = (*BASELINES, *NEURAL)
CHECKPOINT_FORMAT = 1


def neural_class(name: str) -> type:
    module, cls = NEURAL[name]
    return getattr(importlib.import_module(f".{module}", __name__), cls)


def neural_hyperparameters(name: str) -> tuple[str, ...]:
    """The keywords a neural model's constructor takes besides context, horizon, n_vars.

    Read from the module's source (``ast``), not by importing it: config
    checks run when Snakemake parses the workflow, in every job of a cluster
    run, and importing torch there costs seconds each time.
    """
    import ast

    module, cls = NEURAL[name]
    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == cls:
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = [*item.args.posonlyargs, *item.args.args, *item.args.kwonlyargs]
                    skip = {"self", "context", "horizon", "n_vars"}
                    return tuple(a.arg for a in args if a.arg not in skip)
    raise LookupError(f"{module}.py has no {cls}.__init__")


class Forecaster:
    """A forecast model of any kind behind one interface.

    Parameters
    ----------
    name : str
        One of :data:`MODEL_NAMES`.
    context, horizon, n_vars : int
    hyper : dict, optional
        Hyperparameters of the model (its constructor's keywords).
    training : dict, optional
        :class:`~chaosatlas.models.training.TrainSettings` fields (neural models).
    """

    def __init__(
        self,
        name: str,
        context: int,
        horizon: int,
        n_vars: int,
        hyper: dict[str, Any] | None = None,
        training: dict[str, Any] | None = None,
    ) -> None:
        if name not in MODEL_NAMES:
            raise ValueError(f"unknown model {name!r}; known: {', '.join(MODEL_NAMES)}")
        self.name, self.context, self.horizon, self.n_vars = name, context, horizon, n_vars
        self.hyper = dict(hyper or {})
        self.training = dict(training or {})
        self.report: dict[str, Any] = {}
        if name in NEURAL:
            import torch

            # the initial weights come from the configured seed, like everything else
            torch.manual_seed(int(self.training.get("seed", 0)))
            self.model: Any = neural_class(name)(context, horizon, n_vars, **self.hyper)
        else:
            self.model = BASELINES[name](context, horizon, n_vars, **self.hyper)

    @property
    def is_neural(self) -> bool:
        return self.name in NEURAL

    @property
    def n_parameters(self) -> int:
        return int(self.model.n_parameters)

    def fit(self, train: np.ndarray, val: np.ndarray, *, label: str = "") -> dict[str, Any]:
        """Fit on trajectories ``(n_traj, time, vars)``; returns the training report."""
        import time

        started = time.perf_counter()
        if self.is_neural:
            from .training import TrainSettings, train_neural

            settings = TrainSettings.from_mapping(self.training)
            self.report = train_neural(
                self.model, train, val, settings, label=label or self.name
            ).as_dict()
        else:
            self.report = {"fit": self.model.fit(train, val)}
        self.report["seconds"] = time.perf_counter() - started
        return self.report

    def predict(self, context: np.ndarray) -> np.ndarray:
        """Forecast ``(batch, horizon, vars)`` from contexts ``(batch, context, vars)``."""
        context = np.asarray(context, dtype=np.float64)
        if context.ndim != 3 or context.shape[1:] != (self.context, self.n_vars):
            raise ValueError(
                f"{self.name}: context must be (batch, {self.context}, {self.n_vars}), "
                f"got {context.shape}"
            )
        if self.is_neural:
            from .training import predict_neural

            return predict_neural(self.model, context)
        return self.model.predict(context)

    def rollout(self, context: np.ndarray, steps: int) -> np.ndarray:
        """Free-running forecast of ``steps`` steps: each forecast becomes the next context."""
        window = np.asarray(context, dtype=np.float64).copy()
        out = []
        done = 0
        while done < steps:
            y = self.predict(window)
            if not np.all(np.isfinite(y)):
                y = np.where(np.isfinite(y), y, np.nan)
            out.append(y)
            done += y.shape[1]
            window = np.concatenate([window, y], axis=1)[:, -self.context :]
            if np.isnan(y).all():
                out.append(np.full((y.shape[0], max(0, steps - done), y.shape[2]), np.nan))
                break
        return np.concatenate(out, axis=1)[:, :steps]

    def save(self, path: str | Path) -> None:
        """Write the model, its hyperparameters, training settings and report."""
        import torch

        state = (
            self.model.state_dict()
            if self.is_neural
            else {k: torch.as_tensor(v) for k, v in self.model.state.items()}
        )
        torch.save(
            {
                "format": CHECKPOINT_FORMAT,
                "name": self.name,
                "context": self.context,
                "horizon": self.horizon,
                "n_vars": self.n_vars,
                "hyper": json.dumps(self.hyper, sort_keys=True),
                "training": json.dumps(self.training, sort_keys=True),
                "report": json.dumps(self.report, sort_keys=True),
                "state": state,
            },
            path,
        )

    @classmethod
    def load(cls, path: str | Path, device: str = "cpu") -> Forecaster:
        """Read a model written by :meth:`save`."""
        import torch

        data = torch.load(path, map_location=device, weights_only=True)
        if data.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path}: not a chaosatlas checkpoint (format {data.get('format')})")
        f = cls(
            data["name"],
            int(data["context"]),
            int(data["horizon"]),
            int(data["n_vars"]),
            json.loads(data["hyper"]),
            json.loads(data["training"]),
        )
        f.report = json.loads(data["report"])
        if f.is_neural:
            f.model.load_state_dict(data["state"])
            f.model.eval()
        else:
            f.model.state = {k: v.numpy() for k, v in data["state"].items()}
        return f
