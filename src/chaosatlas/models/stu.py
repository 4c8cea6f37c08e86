"""Spectral state space model: stacked STU layers (Agarwal, Suo, Chen, Hazan 2023).

A sequence layer whose convolution filters are fixed, not learned: the top
eigenvectors of the Hankel matrix ``Z_ij = 2 / ((i + j)^3 - (i + j))``. The
input is convolved with each filter (and with its alternating-sign twin), and
learned matrices mix the resulting spectral features with the last three
inputs.

Written from the specification in ``specs/models.md`` (section "STU").

Choices and fixes:

* the causal convolution uses an FFT of length ``>= 2L - 1`` (next power of
  two), zero-padded and cropped to ``L``; a length-``L`` FFT wraps around
  and leaks future inputs into past outputs. Up to ``L = 256`` the same sum
  is computed as one product with the causal Toeplitz matrix of the filters,
  which is faster on a CPU (both are tested against the term-by-term sum);
* the filters are computed in float64 (``eigh``) and cast once; they are tied
  to the sequence length, which here is the context length, so they are
  built with the model and stored as buffers;
* forecasting reads all ``H`` steps out of the last position's state with one
  linear map (direct multi-step), rather than next-step teacher forcing and an
  autoregressive rollout: training then optimises exactly the quantity that
  is scored, and a forecast costs one forward pass;
* the optional autoregressive term ``y_{t-2}`` of the paper is left out;
* only the last position feeds the read-out, so the final block computes the
  STU output at that position alone (a direct sum over time, no FFT).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .base import NeuralModel, Optimisation, instance_denormalise, instance_normalise

#: inputs mixed directly by ``M^u`` (u_t, u_{t-1}, u_{t-2})
N_DIRECT = 3


def hankel_matrix(length: int) -> np.ndarray:
    """``Z_ij = 2 / ((i + j)^3 - (i + j))`` for ``i, j = 1..length``, float64."""
    idx = np.arange(1, length + 1, dtype=np.float64)
    s = idx[:, None] + idx[None, :]
    return 2.0 / (s**3 - s)


def hankel_filters(length: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenpairs of :func:`hankel_matrix` (float64).

    Parameters
    ----------
    length : int
        Sequence length ``L``.
    k : int
        Number of filters (at most ``L``).

    Returns
    -------
    sigma : numpy.ndarray
        Eigenvalues ``(k,)``, largest first.
    phi : numpy.ndarray
        Eigenvectors ``(L, k)`` as columns; ``phi[i - 1]`` is ``phi(i)``.
    """
    if length < 1 or not 1 <= k <= length:
        raise ValueError(f"STU: need 1 <= k <= L, got k={k}, L={length}")
    sigma, phi = np.linalg.eigh(hankel_matrix(length))
    order = np.argsort(sigma)[::-1][:k]
    return sigma[order], phi[:, order]


def _fft_length(length: int) -> int:
    """Smallest power of two ``>= 2 * length - 1`` (no circular wrap-around)."""
    return 1 << max(0, (2 * length - 2).bit_length())


def causal_convolution(u: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """``out[b, t, k, d] = sum_{s=0..t} filters[s, k] * u[b, t - s, d]`` by FFT.

    Parameters
    ----------
    u : torch.Tensor
        Inputs ``(batch, L, d)``.
    filters : torch.Tensor
        ``(L, K)``; row ``s`` weights the input ``s`` steps back.

    Returns
    -------
    torch.Tensor
        ``(batch, L, K, d)``. The transform length is at least ``2L - 1`` so
        no output depends on a later input.
    """
    length = u.shape[1]
    n = _fft_length(length)
    u_hat = torch.fft.rfft(u, n=n, dim=1)  # (b, f, d)
    f_hat = torch.fft.rfft(filters.to(u.dtype), n=n, dim=0)  # (f, K)
    out = torch.fft.irfft(u_hat[:, :, None, :] * f_hat[None, :, :, None], n=n, dim=1)
    return out[:, :length]


#: longest sequence convolved by the Toeplitz product rather than the FFT
TOEPLITZ_MAX_LENGTH = 256


def causal_toeplitz(filters: torch.Tensor) -> torch.Tensor:
    """``T[t, s, k] = filters[t - s, k]`` for ``s <= t``, else 0: ``(L, L, K)``."""
    length = filters.shape[0]
    lag = torch.arange(length)[:, None] - torch.arange(length)[None, :]
    causal = (lag >= 0).to(filters.dtype)
    return filters[lag.clamp(min=0)] * causal[..., None]


def causal_convolution_toeplitz(u: torch.Tensor, toeplitz: torch.Tensor) -> torch.Tensor:
    """The sum of :func:`causal_convolution` as one product with :func:`causal_toeplitz`.

    ``O(L^2 K d)`` instead of ``O(L log L K d)``, but one dense product: on a
    CPU it is several times faster than the FFT for contexts up to a few
    hundred steps, where the FFT's cost is moving ``(batch, 2L, K, d)``
    complex arrays through memory.
    """
    return torch.einsum("tsk,bsd->btkd", toeplitz.to(u.dtype), u)


def causal_convolution_direct(u: torch.Tensor, filters: torch.Tensor) -> torch.Tensor:
    """The same sum as :func:`causal_convolution`, term by term (reference)."""
    batch, length, dim = u.shape
    out = u.new_zeros(batch, length, filters.shape[1], dim)
    for t in range(length):
        for s in range(t + 1):
            out[:, t] += filters[s][None, :, None] * u[:, t - s][:, None, :]
    return out


class STULayer(nn.Module):
    """One spectral transform unit on ``(batch, L, d)`` sequences.

    ``y_t = sum_{i=0..2} M^u_i u_{t-i}
    + sum_k sigma_k^(1/4) (M+_k U+_{t-2,k} + M-_k U-_{t-2,k})`` with the
    paper's features ``U+_{t,k} = sum_{i>=1} u_{t-i} phi_k(i)`` and
    ``U-_{t,k} = sum_{i>=1} u_{t-i} (-1)^i phi_k(i)``: the spectral part sees
    inputs up to ``t - 3``, the direct part ``t - 2 .. t``.

    The ``2K`` filters (``+`` and ``-``, scaled by ``sigma^(1/4)``) go through
    one FFT convolution, and the ``2K`` mixing matrices act as one
    ``(2K d) x d`` matrix product. The cost, ``O(batch L K d^2)``, is the
    mixing, not the FFT.
    """

    def __init__(self, length: int, d_model: int, k: int) -> None:
        super().__init__()
        sigma, phi = hankel_filters(length, k)
        sign = (-1.0) ** np.arange(1, length + 1)
        scaled = phi * sigma**0.25
        filters = np.concatenate([scaled, scaled * sign[:, None]], axis=1)
        #: (L, 2K): the sigma^(1/4)-scaled phi_k, then their alternating-sign twins
        self.register_buffer("filters", torch.from_numpy(filters).float())
        if length <= TOEPLITZ_MAX_LENGTH:  # derived from the filters: not saved
            self.register_buffer("toeplitz", causal_toeplitz(self.filters), persistent=False)
        else:
            self.toeplitz = None
        self.m_u = nn.Parameter(
            nn.init.trunc_normal_(torch.empty(N_DIRECT, d_model, d_model)) / math.sqrt(d_model)
        )
        self.m_plus = nn.Parameter(torch.zeros(k, d_model, d_model))
        self.m_minus = nn.Parameter(torch.zeros(k, d_model, d_model))

    def _mixing(self) -> torch.Tensor:
        """``(2K d_in, d_out)``: all spectral mixing matrices as one."""
        m = torch.cat([self.m_plus, self.m_minus], dim=0)  # (2K, d_out, d_in)
        return m.transpose(1, 2).reshape(-1, m.shape[1])

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        batch, length, dim = u.shape
        direct = sum(_delayed(u, i) @ self.m_u[i].T for i in range(N_DIRECT))
        # conv[t] = sum_{s>=0} phi(s + 1) u[t - s]: delayed by three it is U_{t-2}
        if self.toeplitz is not None:
            features = causal_convolution_toeplitz(u, self.toeplitz)  # (b, L, 2K, d)
        else:
            features = causal_convolution(u, self.filters)
        spectral = features.reshape(batch, length, -1) @ self._mixing()
        return direct + _delayed(spectral, N_DIRECT)

    def forward_last(self, u: torch.Tensor) -> torch.Tensor:
        """The output at the last position only, ``(batch, 1, d)``, by direct sums.

        Equal to ``forward(u)[:, -1:]`` at a fraction of the cost: the
        features at one position are one contraction over time.
        """
        length = u.shape[1]
        direct = sum(u[:, length - 1 - i] @ self.m_u[i].T for i in range(N_DIRECT))
        spectral = u.new_zeros(direct.shape)
        lags = length - N_DIRECT  # inputs u[0 .. L-4] at lags 0 .. L-4 from t - 3
        if lags > 0:
            past = u[:, :lags].flip(1)  # past[:, s] = u[L - 4 - s]
            features = torch.einsum("bsd,sk->bkd", past, self.filters[:lags])
            spectral = features.reshape(u.shape[0], -1) @ self._mixing()
        return (direct + spectral)[:, None]


def _delayed(x: torch.Tensor, steps: int) -> torch.Tensor:
    """``x`` delayed by ``steps`` along axis 1 (zeros before the start)."""
    if steps == 0:
        return x
    return F.pad(x, (0, 0) * (x.dim() - 2) + (steps, 0))[:, : x.shape[1]]


class STUBlock(nn.Module):
    """``x + Dropout(GLU(Linear(Dropout(GELU(STU(norm(x)))))))``."""

    def __init__(self, length: int, d_model: int, k: int, dropout: float) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.stu = STULayer(length, d_model, k)
        self.expand = nn.Linear(d_model, 2 * d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, *, last_only: bool = False) -> torch.Tensor:
        """``last_only``: compute the last position only, ``(batch, 1, d)``."""
        if last_only:
            s, x = self.stu.forward_last(self.norm(x)), x[:, -1:]
        else:
            s = self.stu(self.norm(x))
        h = self.dropout(F.gelu(s))
        return x + self.dropout(F.glu(self.expand(h), dim=-1))


class STU(NeuralModel):
    """Stacked spectral state space model with a direct multi-step read-out.

    Parameters
    ----------
    context, horizon, n_vars : int
        Window lengths and number of variables.
    d_model : int
        Width of the hidden sequence.
    k : int
        Number of Hankel filters (capped at the context length).
    n_layers : int
        STU blocks.
    dropout : float
        Dropout inside each block.
    """

    def __init__(
        self,
        context: int,
        horizon: int,
        n_vars: int,
        *,
        d_model: int = 256,
        k: int = 24,
        n_layers: int = 2,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if n_layers < 1 or d_model < 1:
            raise ValueError(f"STU: n_layers and d_model must be >= 1, got {n_layers}, {d_model}")
        self.context, self.horizon, self.n_vars = context, horizon, n_vars
        self.k = min(k, context)
        self.embed = nn.Linear(n_vars, d_model)
        self.blocks = nn.ModuleList(
            STUBlock(context, d_model, self.k, dropout) for _ in range(n_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.readout = nn.Linear(d_model, horizon * n_vars)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z, mean, std = instance_normalise(x)
        h = self.embed(z)
        # only the last position reaches the read-out: the final block computes just that
        for i, block in enumerate(self.blocks):
            h = block(h, last_only=i == len(self.blocks) - 1)
        last = self.norm(h[:, -1])
        out = self.readout(last).reshape(x.shape[0], self.horizon, self.n_vars)
        return instance_denormalise(out, mean, std)

    @classmethod
    def optimisation(cls) -> Optimisation:
        """AdamW, lr 1e-3, weight decay 1e-2, gradient clip 1."""
        return Optimisation(optimiser="adamw", lr=1e-3, weight_decay=1e-2, clip=1.0)
