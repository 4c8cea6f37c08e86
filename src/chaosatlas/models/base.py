"""The contract every forecast model follows.

A model maps a context window ``(batch, context, variables)`` to a forecast
``(batch, horizon, variables)``. Neural models are ``torch.nn.Module``
subclasses of :class:`NeuralModel`; the training loop in
:mod:`chaosatlas.models.training` treats them all alike through the hooks
defined here (``prepare``, ``loss``, ``validation_loss``, ``optimisation``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .baselines import NORM_EPS  # one value for the torch and numpy models


def instance_normalise(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Subtract the context mean and divide by ``sqrt(biased variance + 1e-5)``.

    Both statistics are detached (no gradient flows through them), per
    instance and variable, over the context (time) axis.

    Returns
    -------
    normalised, mean, std : torch.Tensor
        ``mean`` and ``std`` have shape ``(batch, 1, variables)``.
    """
    mean = x.mean(dim=1, keepdim=True).detach()
    std = torch.sqrt(x.var(dim=1, keepdim=True, unbiased=False) + NORM_EPS).detach()
    return (x - mean) / std, mean, std


def instance_denormalise(y: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Undo :func:`instance_normalise` on a forecast."""
    return y * std + mean


def select_device(preference: str = "auto") -> torch.device:
    """CUDA when present (``"auto"``), else CPU; ``"cpu"``/``"cuda"`` force one."""
    if preference == "cpu":
        return torch.device("cpu")
    if preference == "cuda" or (preference == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    return torch.device("cpu")


@dataclass(frozen=True)
class Optimisation:
    """How the training loop optimises a model (the paper's recipe).

    ``lr_decay`` multiplies the learning rate after every epoch, never below
    ``min_lr``; ``clip`` is the gradient-norm clip (0: none).
    """

    optimiser: str = "adam"
    lr: float = 1e-3
    weight_decay: float = 0.0
    lr_decay: float = 1.0
    min_lr: float = 0.0
    clip: float = 0.0


class NeuralModel(nn.Module):
    """Base class of the neural forecasters.

    Subclasses set ``context``, ``horizon`` and ``n_vars`` and implement
    ``forward(x) -> (batch, horizon, n_vars)`` on raw (un-normalised) inputs,
    doing their own instance normalisation with :func:`instance_normalise`.
    """

    context: int
    horizon: int
    n_vars: int

    def prepare(self, train_context: torch.Tensor) -> None:
        """Called once before training with the training contexts ``(n, context, vars)``.

        Statistics a model takes from the training split only (Koopa's
        Fourier mask) are computed here.
        """

    def loss(
        self, forecast: torch.Tensor, target: torch.Tensor, context: torch.Tensor
    ) -> torch.Tensor:
        """Training loss (default: MSE over the forecast)."""
        return torch.mean((forecast - target) ** 2)

    def validation_loss(
        self, forecast: torch.Tensor, target: torch.Tensor, context: torch.Tensor
    ) -> torch.Tensor:
        """Loss that early stopping watches (default: MSE)."""
        return torch.mean((forecast - target) ** 2)

    @classmethod
    def optimisation(cls) -> Optimisation:
        return Optimisation()

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)
