"""STU: the Hankel filters, the causal FFT convolution, the layer's causality."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chaosatlas.models.stu import (
    STU,
    STULayer,
    causal_convolution,
    causal_convolution_direct,
    causal_convolution_toeplitz,
    causal_toeplitz,
    hankel_filters,
    hankel_matrix,
)


@pytest.mark.parametrize("length", [7, 32, 96])
def test_hankel_filters_are_orthonormal_eigenvectors_in_float64(length):
    k = min(24, length)
    sigma, phi = hankel_filters(length, k)
    assert sigma.dtype == np.float64 and phi.dtype == np.float64
    assert phi.shape == (length, k)
    np.testing.assert_allclose(phi.T @ phi, np.eye(k), atol=1e-12)
    z = hankel_matrix(length)
    np.testing.assert_allclose(z @ phi, phi * sigma, atol=1e-13 * z.max())
    assert np.all(np.diff(sigma) <= 0)  # largest first
    # Z is positive definite with rapidly decaying spectrum: the reason a
    # few filters suffice
    full = np.linalg.eigvalsh(z)
    assert sigma[0] == pytest.approx(full.max(), rel=1e-12)
    assert sigma[-1] > 0


def test_hankel_matrix_entries():
    z = hankel_matrix(3)
    # i + j = 2: 2 / (8 - 2); i + j = 4: 2 / (64 - 4)
    assert z[0, 0] == pytest.approx(1 / 3)
    assert z[1, 1] == pytest.approx(1 / 30)
    assert z[0, 2] == z[1, 1] == z[2, 0]


def test_hankel_filters_reject_too_many_filters():
    with pytest.raises(ValueError, match="k <= L"):
        hankel_filters(5, 6)


@pytest.mark.parametrize("length", [1, 2, 5, 16, 17, 33])
def test_fft_convolution_equals_the_direct_causal_sum(length):
    g = torch.Generator().manual_seed(length)
    u = torch.randn(2, length, 3, generator=g, dtype=torch.float64)
    _, phi = hankel_filters(length, min(4, length))
    filters = torch.from_numpy(phi)
    direct = causal_convolution_direct(u, filters)
    torch.testing.assert_close(causal_convolution(u, filters), direct, atol=1e-12, rtol=0)
    toeplitz = causal_toeplitz(filters)
    torch.testing.assert_close(causal_convolution_toeplitz(u, toeplitz), direct, atol=1e-12, rtol=0)


def test_fft_convolution_never_uses_future_inputs():
    length, t = 40, 23
    g = torch.Generator().manual_seed(0)
    u = torch.randn(1, length, 2, generator=g, dtype=torch.float64)
    # large filter weights at long lags: a circular FFT of length L would wrap
    # them onto the earliest outputs
    filters = torch.ones(length, 1, dtype=torch.float64)
    v = u.clone()
    v[:, t:] += 100.0
    a, b = causal_convolution(u, filters), causal_convolution(v, filters)
    torch.testing.assert_close(a[:, :t], b[:, :t], atol=1e-10, rtol=0)
    assert (a[:, t:] - b[:, t:]).abs().min() > 1.0


def test_stu_layer_and_model_are_causal():
    torch.manual_seed(0)
    length, t = 30, 17
    layer = STULayer(length, 4, 6)
    with torch.no_grad():  # M+/M- start at zero; give the spectral path weight
        layer.m_plus.normal_()
        layer.m_minus.normal_()
    u = torch.randn(2, length, 4)
    v = u.clone()
    v[:, t] += 5.0
    with torch.no_grad():
        a, b = layer(u), layer(v)
    # float32 FFT round-off only (~1e-6); a leak would be O(1)
    torch.testing.assert_close(a[:, :t], b[:, :t], atol=1e-5, rtol=0)
    assert (a[:, t] - b[:, t]).abs().max() > 1e-3  # the direct term sees u_t
    # the spectral features enter three steps late (U_{t-2} sums inputs up to t-3)
    with torch.no_grad():
        layer.m_u.zero_()
        a, b = layer(u), layer(v)
    torch.testing.assert_close(a[:, : t + 3], b[:, : t + 3], atol=1e-5, rtol=0)
    assert (a[:, t + 3] - b[:, t + 3]).abs().max() > 1e-3


def test_filters_follow_the_context_length_and_cap_k():
    m = STU(10, 4, 2, d_model=8, k=24, n_layers=1)
    assert m.k == 10
    filters = m.blocks[0].stu.filters
    assert filters.shape == (10, 20)  # phi_k then (-1)^i phi_k
    sign = torch.tensor([(-1.0) ** i for i in range(1, 11)])
    torch.testing.assert_close(filters[:, 10:], filters[:, :10] * sign[:, None])


def test_spectral_term_is_the_papers_sum():
    # M^u = 0, M+_0 = I, everything else 0: y_t = sigma_0^(1/4) sum_{i>=1} u_{t-2-i} phi_0(i)
    length, dim = 12, 3
    layer = STULayer(length, dim, 4)
    with torch.no_grad():
        layer.m_u.zero_()
        layer.m_plus[0] = torch.eye(dim)
    sigma, phi = hankel_filters(length, 4)
    u = torch.randn(2, length, dim, dtype=torch.float64)
    expected = torch.zeros_like(u)
    for t in range(length):
        for i in range(1, t - 1):
            expected[:, t] += sigma[0] ** 0.25 * phi[i - 1, 0] * u[:, t - 2 - i]
    with torch.no_grad():
        got = layer.double()(u)
    # the filters are stored in float32
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)


def test_long_sequences_take_the_fft_path_with_the_same_result():
    torch.manual_seed(0)
    layer = STULayer(300, 4, 5).double()
    assert layer.toeplitz is None  # beyond TOEPLITZ_MAX_LENGTH
    with torch.no_grad():
        layer.m_plus.normal_()
        u = torch.randn(2, 300, 4, dtype=torch.float64)
        short = STULayer(300, 4, 5).double()
        short.load_state_dict(layer.state_dict())
        short.toeplitz = causal_toeplitz(short.filters)
        torch.testing.assert_close(layer(u), short(u), atol=1e-10, rtol=0)


@pytest.mark.parametrize("length", [3, 4, 9, 32])
def test_last_position_shortcut_equals_the_full_layer(length):
    torch.manual_seed(length)
    layer = STULayer(length, 5, min(6, length)).double()
    with torch.no_grad():
        layer.m_plus.normal_()
        layer.m_minus.normal_()
        u = torch.randn(3, length, 5, dtype=torch.float64)
        torch.testing.assert_close(layer.forward_last(u), layer(u)[:, -1:], atol=1e-10, rtol=0)
