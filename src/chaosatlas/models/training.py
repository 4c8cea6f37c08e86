"""One training loop for every neural forecaster.

Windows of ``context + horizon`` steps are cut from the training and
validation trajectories; each epoch visits the training windows in an order
drawn from the seed (at most ``max_batches`` batches per epoch); the model's
own recipe (:meth:`NeuralModel.optimisation`) sets the optimiser, learning
rate and gradient clipping; the learning-rate schedule is reduce-on-plateau
(default), cosine annealing, or the paper's per-epoch decay; early stopping
keeps the state with the best validation loss, and the report says which
epoch that was and why training stopped. With the same seed, data and thread count a CPU run repeats
bit for bit (deterministic algorithms are switched on).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch

from .base import NeuralModel
from .baselines import windows

log = logging.getLogger("chaosatlas")


@dataclass(frozen=True)
class TrainSettings:
    """How long and on what a neural model trains.

    Attributes
    ----------
    epochs : int
        Upper bound on epochs.
    batch_size : int
    max_batches : int
        Batches per epoch at most (0: all windows).
    patience : int
        Epochs without a better validation loss before stopping.
    schedule : str
        ``"plateau"``: halve the learning rate after ``plateau_patience``
        epochs without a better validation loss; ``"cosine"``: anneal from the
        recipe's rate to its floor over ``epochs``; ``"paper"``: the recipe's
        own per-epoch factor (Koopa halves it every epoch, which stalls
        training on chaotic data after a few epochs).
    plateau_patience : int
        Epochs without improvement before a plateau step (below ``patience``,
        so the rate drops before training stops).
    stride : int
        Step between consecutive training windows.
    seed : int
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    threads : int
        CPU threads for torch (fixed, so reductions repeat exactly).
    """

    epochs: int = 20
    batch_size: int = 32
    max_batches: int = 50
    patience: int = 3
    schedule: str = "plateau"
    plateau_patience: int = 2
    stride: int = 1
    seed: int = 0
    device: str = "auto"
    threads: int = 1

    @classmethod
    def from_mapping(cls, values: dict[str, Any] | None) -> TrainSettings:
        values = dict(values or {})
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown training settings: {sorted(unknown)}")
        if values.get("schedule", cls.schedule) not in SCHEDULES:
            raise ValueError(
                f"training schedule must be one of {SCHEDULES}, got {values['schedule']!r}"
            )
        return cls(**values)


#: learning-rate schedules of :class:`TrainSettings`
SCHEDULES = ("plateau", "cosine", "paper")


@dataclass
class TrainingReport:
    """What happened during training (saved beside the checkpoint)."""

    epochs_run: int = 0
    best_epoch: int = -1
    best_validation: float = math.inf
    stopped_early: bool = False
    stop_reason: str = ""
    seconds: float = 0.0
    device: str = "cpu"
    history: list[dict[str, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def seed_everything(seed: int, threads: int) -> None:
    """Seed torch and make its CPU kernels deterministic."""
    torch.manual_seed(seed)
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True, warn_only=True)


def _optimiser(model: NeuralModel) -> tuple[torch.optim.Optimizer, Any]:
    recipe = model.optimisation()
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[recipe.optimiser]
    opt = cls(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    return opt, recipe


def train_neural(
    model: NeuralModel,
    train: np.ndarray,
    val: np.ndarray,
    settings: TrainSettings,
    *,
    label: str = "",
) -> TrainingReport:
    """Train ``model`` in place on trajectories ``(n_traj, time, vars)``.

    Returns
    -------
    TrainingReport
        The model is left holding the weights of its best validation epoch.
    """
    seed_everything(settings.seed, settings.threads)
    device = torch.device(
        "cuda"
        if settings.device == "cuda" or (settings.device == "auto" and torch.cuda.is_available())
        else "cpu"
    )
    length = model.context + model.horizon
    w_train = torch.as_tensor(windows(train, length, settings.stride), dtype=torch.float32)
    w_val = torch.as_tensor(windows(val, length, max(1, model.horizon // 2)), dtype=torch.float32)
    model.to(device)
    model.prepare(w_train[:, : model.context].to(device))
    opt, recipe = _optimiser(model)
    generator = torch.Generator().manual_seed(settings.seed)
    report = TrainingReport(device=str(device))
    best_state: dict[str, torch.Tensor] | None = None
    stale = 0
    started = time.perf_counter()
    for epoch in range(settings.epochs):
        model.train()
        order = torch.randperm(w_train.shape[0], generator=generator)
        n_batches = math.ceil(w_train.shape[0] / settings.batch_size)
        if settings.max_batches:
            n_batches = min(n_batches, settings.max_batches)
        total = 0.0
        for b in range(n_batches):
            batch = w_train[order[b * settings.batch_size : (b + 1) * settings.batch_size]].to(
                device
            )
            context, target = batch[:, : model.context], batch[:, model.context :]
            opt.zero_grad(set_to_none=True)
            loss = model.loss(model(context), target, context)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"{label}: training loss became {loss.item()} in epoch {epoch}"
                )
            loss.backward()
            if recipe.clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
            opt.step()
            total += float(loss.detach())
        val_loss = evaluate_loss(model, w_val, settings.batch_size, device)
        report.history.append(
            {"epoch": epoch, "train_loss": total / max(n_batches, 1), "validation_loss": val_loss,
             "lr": float(opt.param_groups[0]["lr"])}
        )  # fmt: skip
        log.info(
            "%s: epoch %d/%d train %.4g validation %.4g",
            label, epoch + 1, settings.epochs, total / max(n_batches, 1), val_loss,
        )  # fmt: skip
        report.epochs_run = epoch + 1
        if val_loss < report.best_validation:
            report.best_validation, report.best_epoch, stale = val_loss, epoch, 0
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= settings.patience:
                report.stopped_early = True
                report.stop_reason = (
                    f"early stopping: no better validation loss for {stale} epochs "
                    f"(best epoch {report.best_epoch + 1})"
                )
                break
        _schedule_step(opt, recipe, settings, epoch, stale)
    if not report.stop_reason:
        report.stop_reason = (
            f"epoch cap reached ({settings.epochs}); best epoch {report.best_epoch + 1}"
            + (
                ", the last: a higher cap may help"
                if report.best_epoch == settings.epochs - 1
                else ""
            )
        )
    if best_state is not None:
        model.load_state_dict(best_state)
    report.seconds = time.perf_counter() - started
    model.eval()
    return report


def _schedule_step(
    opt: torch.optim.Optimizer, recipe: Any, settings: TrainSettings, epoch: int, stale: int
) -> None:
    """Set the learning rate for the next epoch."""
    for group in opt.param_groups:
        if settings.schedule == "paper":
            lr = group["lr"] * recipe.lr_decay
        elif settings.schedule == "cosine":
            floor = recipe.min_lr
            lr = floor + 0.5 * (recipe.lr - floor) * (
                1 + math.cos(math.pi * (epoch + 1) / settings.epochs)
            )
        else:  # plateau: halve after plateau_patience epochs without improvement
            plateau = stale > 0 and stale % max(1, settings.plateau_patience) == 0
            lr = group["lr"] * (0.5 if plateau else 1.0)
        group["lr"] = max(recipe.min_lr, lr)


@torch.no_grad()
def evaluate_loss(
    model: NeuralModel, w: torch.Tensor, batch_size: int, device: torch.device
) -> float:
    """Mean validation loss of ``model`` over windows ``w`` (eval mode)."""
    model.eval()
    total, count = 0.0, 0
    for b in range(0, w.shape[0], batch_size):
        batch = w[b : b + batch_size].to(device)
        context, target = batch[:, : model.context], batch[:, model.context :]
        loss = model.validation_loss(model(context), target, context)
        total += float(loss) * batch.shape[0]
        count += batch.shape[0]
    return total / max(count, 1)


@torch.no_grad()
def predict_neural(model: NeuralModel, context: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Forecasts ``(batch, horizon, vars)`` of a trained model, float64 numpy."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for b in range(0, context.shape[0], batch_size):
        x = torch.as_tensor(context[b : b + batch_size], dtype=torch.float32, device=device)
        out.append(model(x).double().cpu().numpy())
    return np.concatenate(out)
