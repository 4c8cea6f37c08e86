"""Small deterministic series for the model tests."""

from __future__ import annotations

import torch


def series_windows(n: int, context: int, horizon: int, n_vars: int = 2) -> torch.Tensor:
    """``n`` windows ``(n, context + horizon, n_vars)`` of a quasi-periodic series."""
    t = torch.arange(n * 5 + context + horizon, dtype=torch.float32)
    chans = [
        torch.sin(0.31 * t + k) + 0.5 * torch.sin(0.73 * t + 2 * k) + 0.1 * k for k in range(n_vars)
    ]
    x = torch.stack(chans, dim=-1)
    return torch.stack([x[5 * i : 5 * i + context + horizon] for i in range(n)])
