"""DeepEDM / LETS Forecast: differentiable empirical dynamic modelling (Majeedi et al., ICML 2025).

Takens delay embedding plus nearest-neighbour prediction, made differentiable:
each channel's series (context followed by the current forecast) is cut into
delay vectors; the last ones (the queries) are predicted from their nearest
library vectors' successors by kernel regression written as softmax
attention in a learned latent space. A decoder maps the predicted delay
vectors back to a forecast, which the next block refines.

Written from the specification in ``specs/models.md`` (section "DeepEDM").

Fixed with respect to the reference implementation:

* attention dropout is applied only in training mode; the reference applies
  it in evaluation too, so its test forecasts are random;
* the number of delay vectors is taken from ``unfold`` itself,
  ``floor((L + H - m) / tau) + 1``; the closed form
  ``floor((L + H) / tau) - m + 1`` is exact only for ``tau = 1``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .base import NeuralModel, Optimisation, instance_denormalise, instance_normalise

#: the spec's hyperparameters
DEFAULTS: dict[str, Any] = {
    "delay": 7,
    "stride": 1,
    "projection": 64,
    "theta": 1.0,
    "dropout": 0.1,
    "n_blocks": 1,
    "mlp_layers": 1,
    "activation": "selu",
}

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
}


def _activation(name: str) -> nn.Module:
    try:
        return _ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(
            f"DeepEDM: unknown activation {name!r}; choose one of {sorted(_ACTIVATIONS)}"
        ) from None


def sinusoidal_embedding(n_positions: int, width: int) -> torch.Tensor:
    """The transformer's sinusoidal position table ``(n_positions, width)``."""
    position = torch.arange(n_positions, dtype=torch.float64)[:, None]
    freq = torch.exp(torch.arange(0, width, 2, dtype=torch.float64) * (-math.log(10000.0) / width))
    table = torch.zeros(n_positions, width, dtype=torch.float64)
    table[:, 0::2] = torch.sin(position * freq)
    table[:, 1::2] = torch.cos(position * freq[: width // 2])
    return table.float()


def delay_layout(context: int, horizon: int, delay: int, stride: int) -> tuple[int, int, int]:
    """Delay vectors of the series ``[context; forecast]`` and how they are used.

    Returns
    -------
    n_windows, n_queries, n_keys : int
        ``N'`` windows from ``unfold(size=delay, step=stride)``; ``P`` queries
        (the last ``P + 1`` windows without the final one); ``N' - P - 2``
        keys (the library without its last window, whose successor is a
        query).

    Raises
    ------
    ValueError
        When the series is too short for at least one key and one query.
    """
    total = context + horizon
    if delay < 1 or stride < 1:
        raise ValueError(f"DeepEDM: delay and stride must be >= 1, got {delay}, {stride}")
    if total < delay:
        raise ValueError(f"DeepEDM: context + horizon = {total} is shorter than delay {delay}")
    n_windows = (total - delay) // stride + 1
    n_library = int(context / total * n_windows)
    n_queries = n_windows - n_library
    n_keys = n_windows - n_queries - 2
    if n_queries < 1 or n_keys < 1:
        raise ValueError(
            f"DeepEDM: context {context}, horizon {horizon}, delay {delay}, stride {stride} "
            f"give {n_windows} delay vectors, {n_queries} queries and {n_keys} keys; "
            "need at least one of each (lengthen the context or shorten the delay)"
        )
    return n_windows, n_queries, n_keys


class EDMBlock(nn.Module):
    """One kernel-regression step over the delay vectors, then the decoder."""

    def __init__(
        self,
        context: int,
        horizon: int,
        *,
        delay: int,
        stride: int,
        projection: int,
        theta: float,
        dropout: float,
        activation: str,
    ) -> None:
        super().__init__()
        self.delay, self.stride, self.theta, self.dropout = delay, stride, theta, dropout
        self.n_windows, self.n_queries, self.n_keys = delay_layout(context, horizon, delay, stride)
        self.scale = 1.0 / math.sqrt(projection)
        self.project = nn.Linear(delay, projection)
        self.position = nn.Parameter(sinusoidal_embedding(self.n_windows, projection))
        self.norm = nn.LayerNorm(projection)
        self.decoder = nn.Sequential(
            nn.Linear(self.n_queries * delay, horizon),
            nn.Dropout(dropout),
            _activation(activation),
            nn.Linear(horizon, horizon),
        )

    def forward(self, context: torch.Tensor, forecast: torch.Tensor) -> torch.Tensor:
        """``context (n, L)`` and ``forecast (n, H)`` -> refined forecast ``(n, H)``."""
        series = torch.cat([context, forecast], dim=-1)
        windows = series.unfold(-1, self.delay, self.stride)  # (n, N', m)
        p, k = self.n_queries, self.n_keys
        keys, values = windows[:, :k], windows[:, 1 : k + 1]
        queries = windows[:, -p - 1 : -1]
        latent_k = self.norm(self.project(keys) + self.position[:k])
        latent_q = self.norm(self.project(queries) + self.position[-p - 1 : -1])
        weights = torch.softmax(
            self.theta * self.scale * latent_q @ latent_k.transpose(-1, -2), dim=-1
        )
        # only while training: the reference keeps this dropout on at test time
        weights = F.dropout(weights, self.dropout, training=self.training)
        predicted = weights @ values  # (n, P, m): successors of the queries
        return self.decoder(predicted.flatten(1))


class DeepEDM(NeuralModel):
    """DeepEDM forecaster, channel-independent and instance-normalised.

    Parameters
    ----------
    context, horizon, n_vars : int
        Window lengths and number of variables.
    delay : int
        Embedding window ``m`` (delay-vector length).
    stride : int
        Step ``tau`` between consecutive delay vectors.
    projection : int
        Width of the latent space in which queries meet keys.
    theta : float
        Inverse temperature of the softmax kernel.
    dropout : float
        Dropout in the initial MLP, the decoders and on the attention weights
        (training only).
    n_blocks : int
        EDM blocks, each refining the previous forecast.
    mlp_layers : int
        Hidden ``H -> H`` layers of the initial forecast MLP after ``L -> H``.
    activation : str
        ``selu`` (default), ``gelu``, ``relu`` or ``tanh``.
    """

    def __init__(
        self,
        context: int,
        horizon: int,
        n_vars: int,
        *,
        delay: int = 7,
        stride: int = 1,
        projection: int = 64,
        theta: float = 1.0,
        dropout: float = 0.1,
        n_blocks: int = 1,
        mlp_layers: int = 1,
        activation: str = "selu",
    ) -> None:
        super().__init__()
        if n_blocks < 1 or mlp_layers < 0:
            raise ValueError(
                f"DeepEDM: n_blocks >= 1 and mlp_layers >= 0, got {n_blocks}, {mlp_layers}"
            )
        self.context, self.horizon, self.n_vars = context, horizon, n_vars
        layers: list[nn.Module] = [nn.Linear(context, horizon)]
        for _ in range(mlp_layers):
            layers += [_activation(activation), nn.Dropout(dropout), nn.Linear(horizon, horizon)]
        self.initial = nn.Sequential(*layers)
        self.blocks = nn.ModuleList(
            EDMBlock(
                context,
                horizon,
                delay=delay,
                stride=stride,
                projection=projection,
                theta=theta,
                dropout=dropout,
                activation=activation,
            )
            for _ in range(n_blocks)
        )
        self.gate = nn.Linear(horizon, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, mean, std = instance_normalise(x)
        batch = z.shape[0]
        series = z.transpose(1, 2).reshape(batch * self.n_vars, self.context)
        first = self.initial(series)
        refined = first
        for block in self.blocks:
            refined = block(series, refined)
        out = refined * torch.sigmoid(self.gate(refined)) + first
        out = out.reshape(batch, self.n_vars, self.horizon).transpose(1, 2)
        return instance_denormalise(out, mean, std)

    def loss(
        self, forecast: torch.Tensor, target: torch.Tensor, context: torch.Tensor
    ) -> torch.Tensor:
        """``rho * L_point + (1 - rho) * L_diff``, rho the sign-disagreement rate.

        Both sequences are prefixed by the last context value, so the first
        difference is the step out of the context. ``rho`` is a detached
        weight: the worse the forecast's direction of change, the more weight
        goes to the pointwise error.
        """
        last = context[:, -1:, :]
        pred = torch.cat([last, forecast], dim=1)
        true = torch.cat([last, target], dim=1)
        point = torch.mean(torch.abs(pred - true))
        d_pred, d_true = torch.diff(pred, dim=1), torch.diff(true, dim=1)
        diff = torch.mean(torch.abs(d_pred - d_true))
        rho = (torch.sign(d_pred) != torch.sign(d_true)).float().mean().detach()
        return rho * point + (1.0 - rho) * diff

    def validation_loss(
        self, forecast: torch.Tensor, target: torch.Tensor, context: torch.Tensor
    ) -> torch.Tensor:
        """``(MSE + MAE) / 2``."""
        err = forecast - target
        return 0.5 * (torch.mean(err**2) + torch.mean(torch.abs(err)))

    @classmethod
    def optimisation(cls) -> Optimisation:
        """AdamW, lr 5e-4, weight decay 1e-5, lr x 0.8 per epoch (floor 1e-5), clip 1."""
        return Optimisation(
            optimiser="adamw", lr=5e-4, weight_decay=1e-5, lr_decay=0.8, min_lr=1e-5, clip=1.0
        )
