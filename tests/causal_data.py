"""A linear VAR(1) with a known sparse graph, shared by the causal method tests."""

from __future__ import annotations

import numpy as np

# VAR(1): x(t) = W^T x(t-1) + noise, W[source, target]; self-loops 0.5 on the diagonal
VAR_EDGES = [(0, 1, 0.4), (1, 2, 0.4), (3, 2, -0.4), (2, 4, 0.4), (4, 3, 0.3)]


def var1_series(n_points: int, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """``n_points`` samples (after 100 discarded) and the truth ``A[source, target]``."""
    W = 0.5 * np.eye(5)
    truth = np.zeros((5, 5), dtype=int)
    for i, j, c in VAR_EDGES:
        W[i, j] = c
        truth[i, j] = 1
    rng = np.random.default_rng(seed)
    X = np.zeros((n_points + 100, 5))
    for t in range(1, n_points + 100):
        X[t] = X[t - 1] @ W + rng.standard_normal(5)
    return X[100:], truth
