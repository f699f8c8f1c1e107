"""Independent checks of the NumPy reference against direct formulas.

Every expected value here is computed with explicit loops or plain formulas that
share no code with ``reference/`` (no sliding windows, no einsum), on several
seeded random shapes.
"""

import itertools
import math
import random

import numpy as np
import pytest

from reference.activation import Identity, ReLU, Sigmoid, Tanh
from reference.batchnorm2d import BatchNorm2d
from reference.cnn import CNN
from reference.conv1d import Conv1d, Conv1d_stride1
from reference.conv2d import Conv2d, Conv2d_stride1
from reference.conv_transpose import ConvTranspose1d, ConvTranspose2d
from reference.dropout import Dropout2d
from reference.flatten import Flatten
from reference.linear import Linear
from reference.loss import CrossEntropyLoss
from reference.mlp_scan import CNN_DistributedScanningMLP, CNN_SimpleScanningMLP
from reference.pool import MaxPool2d, MaxPool2d_stride1, MeanPool2d, MeanPool2d_stride1
from reference.resampling import Downsample1d, Downsample2d, Upsample1d, Upsample2d
from reference.resblock import ConvBlock, ResBlock

RTOL = 1e-10
ATOL = 1e-10


def close(actual, expected):
    np.testing.assert_allclose(np.asarray(actual), np.asarray(expected), rtol=RTOL, atol=ATOL)


# --------------------------------------------------------------------------- direct formulas


def conv1d_direct(A, W, b, stride=1, pad=0):
    """Z[n,o,j] = b[o] + sum_{c,k} W[o,c,k] * Apad[n,c,s*j+k], explicit loops."""
    N, C, width = A.shape
    O, _, K = W.shape
    Ap = np.zeros((N, C, width + 2 * pad))
    Ap[:, :, pad:pad + width] = A
    Wout = (width + 2 * pad - K) // stride + 1
    Z = np.zeros((N, O, Wout))
    for n, o, j in itertools.product(range(N), range(O), range(Wout)):
        total = b[o]
        for c in range(C):
            for k in range(K):
                total += W[o, c, k] * Ap[n, c, stride * j + k]
        Z[n, o, j] = total
    return Z


def conv1d_direct_backward(A, W, G, stride=1, pad=0):
    """Adjoint loops of conv1d_direct: returns dLdA, dLdW, dLdb."""
    N, C, width = A.shape
    O, _, K = W.shape
    Ap = np.zeros((N, C, width + 2 * pad))
    Ap[:, :, pad:pad + width] = A
    dAp, dW, db = np.zeros(Ap.shape), np.zeros(W.shape), np.zeros(O)
    for n, o, j in itertools.product(range(N), range(O), range(G.shape[2])):
        db[o] += G[n, o, j]
        for c in range(C):
            for k in range(K):
                dW[o, c, k] += G[n, o, j] * Ap[n, c, stride * j + k]
                dAp[n, c, stride * j + k] += G[n, o, j] * W[o, c, k]
    return dAp[:, :, pad:pad + width], dW, db


def conv2d_direct(A, W, b, stride=1, pad=0):
    """Z[n,o,y,x] = b[o] + sum_{c,i,j} W[o,c,i,j] * Apad[n,c,s*y+i,s*x+j], explicit loops."""
    N, C, H, Wd = A.shape
    O, _, K, _ = W.shape
    Ap = np.zeros((N, C, H + 2 * pad, Wd + 2 * pad))
    Ap[:, :, pad:pad + H, pad:pad + Wd] = A
    Ho, Wo = (H + 2 * pad - K) // stride + 1, (Wd + 2 * pad - K) // stride + 1
    Z = np.zeros((N, O, Ho, Wo))
    for n, o, y, x in itertools.product(range(N), range(O), range(Ho), range(Wo)):
        total = b[o]
        for c, i, j in itertools.product(range(C), range(K), range(K)):
            total += W[o, c, i, j] * Ap[n, c, stride * y + i, stride * x + j]
        Z[n, o, y, x] = total
    return Z


def conv2d_direct_backward(A, W, G, stride=1, pad=0):
    N, C, H, Wd = A.shape
    O, _, K, _ = W.shape
    Ap = np.zeros((N, C, H + 2 * pad, Wd + 2 * pad))
    Ap[:, :, pad:pad + H, pad:pad + Wd] = A
    dAp, dW, db = np.zeros(Ap.shape), np.zeros(W.shape), np.zeros(O)
    for n, o, y, x in itertools.product(range(N), range(O), range(G.shape[2]), range(G.shape[3])):
        g = G[n, o, y, x]
        db[o] += g
        for c, i, j in itertools.product(range(C), range(K), range(K)):
            dW[o, c, i, j] += g * Ap[n, c, stride * y + i, stride * x + j]
            dAp[n, c, stride * y + i, stride * x + j] += g * W[o, c, i, j]
    return dAp[:, :, pad:pad + H, pad:pad + Wd], dW, db


def bn_direct(Z, BW, Bb, eps=1e-8):
    M = np.mean(Z, axis=(0, 2, 3), keepdims=True)
    V = np.var(Z, axis=(0, 2, 3), keepdims=True)
    return BW * (Z - M) / np.sqrt(V + eps) + Bb


def relu(x):
    return np.maximum(x, 0)


# --------------------------------------------------------------------------- conv 1d / 2d

CONV1D_SHAPES = [  # (N, C_in, C_out, W, K)
    (1, 1, 1, 5, 1), (2, 3, 4, 9, 3), (3, 2, 5, 8, 4), (2, 4, 2, 6, 6)]


@pytest.mark.parametrize("seed,shape", list(enumerate(CONV1D_SHAPES)))
def test_conv1d_stride1_vs_direct_sum(seed, shape):
    N, C, O, width, K = shape
    rng = np.random.default_rng(seed)
    A, W, b = rng.standard_normal((N, C, width)), rng.standard_normal((O, C, K)), rng.standard_normal(O)
    layer = Conv1d_stride1(C, O, K, lambda *s: W.tolist(), lambda n: b.tolist())
    Z = layer.forward(A)
    assert Z.shape == (N, O, width - K + 1)
    close(Z, conv1d_direct(A, W, b))
    G = rng.standard_normal(Z.shape)
    dA, dW, db = conv1d_direct_backward(A, W, G)
    close(layer.backward(G), dA)
    close(layer.dLdW, dW)
    close(layer.dLdb, db)


CONV1D_STRIDED = [  # (N, C_in, C_out, W, K, stride, pad)
    (2, 3, 2, 9, 3, 2, 1), (2, 3, 2, 10, 3, 2, 1), (1, 2, 3, 11, 4, 3, 2),
    (2, 1, 2, 7, 2, 4, 0), (1, 2, 2, 5, 5, 1, 3)]


@pytest.mark.parametrize("seed,shape", list(enumerate(CONV1D_STRIDED)))
def test_conv1d_strided_padded(seed, shape):
    N, C, O, width, K, s, p = shape
    rng = np.random.default_rng(100 + seed)
    A, W, b = rng.standard_normal((N, C, width)), rng.standard_normal((O, C, K)), rng.standard_normal(O)
    layer = Conv1d(C, O, K, s, p, lambda *sh: W.tolist(), lambda n: b.tolist())
    assert (layer.stride, layer.pad) == (s, p)
    assert isinstance(layer.conv1d_stride1, Conv1d_stride1)
    assert isinstance(layer.downsample1d, Downsample1d)
    Z = layer.forward(A)
    assert Z.shape == (N, O, math.floor((width + 2 * p - K) / s) + 1)
    close(Z, conv1d_direct(A, W, b, s, p))
    # strided conv == stride-1 conv on the padded input, subsampled
    Ap = np.pad(A, ((0, 0), (0, 0), (p, p)))
    close(Z, conv1d_direct(Ap, W, b)[:, :, ::s])
    G = rng.standard_normal(Z.shape)
    dA, dW, db = conv1d_direct_backward(A, W, G, s, p)
    close(layer.backward(G), dA)
    close(layer.conv1d_stride1.dLdW, dW)
    close(layer.conv1d_stride1.dLdb, db)


CONV2D_SHAPES = [  # (N, C_in, C_out, H, W, K, stride, pad)
    (1, 1, 1, 4, 4, 1, 1, 0), (2, 2, 3, 6, 5, 3, 1, 0), (2, 2, 3, 7, 6, 3, 2, 1),
    (1, 3, 2, 6, 9, 2, 3, 2), (2, 1, 2, 5, 8, 4, 2, 0)]


@pytest.mark.parametrize("seed,shape", list(enumerate(CONV2D_SHAPES)))
def test_conv2d_vs_direct_sum(seed, shape):
    N, C, O, H, Wd, K, s, p = shape
    rng = np.random.default_rng(200 + seed)
    A = rng.standard_normal((N, C, H, Wd))
    W, b = rng.standard_normal((O, C, K, K)), rng.standard_normal(O)
    if s == 1 and p == 0:
        layer1 = Conv2d_stride1(C, O, K, lambda *sh: W.tolist(), lambda n: b.tolist())
        Z1 = layer1.forward(A)
        assert Z1.shape == (N, O, H - K + 1, Wd - K + 1)
        close(Z1, conv2d_direct(A, W, b))
        G = rng.standard_normal(Z1.shape)
        dA, dW, db = conv2d_direct_backward(A, W, G)
        close(layer1.backward(G), dA)
        close(layer1.dLdW, dW)
        close(layer1.dLdb, db)
    layer = Conv2d(C, O, K, s, p, lambda *sh: W.tolist(), lambda n: b.tolist())
    assert (layer.stride, layer.pad) == (s, p)
    assert isinstance(layer.downsample2d, Downsample2d)
    Z = layer.forward(A)
    assert Z.shape == (N, O, (H + 2 * p - K) // s + 1, (Wd + 2 * p - K) // s + 1)
    close(Z, conv2d_direct(A, W, b, s, p))
    Ap = np.pad(A, ((0, 0), (0, 0), (p, p), (p, p)))
    close(Z, conv2d_direct(Ap, W, b)[:, :, ::s, ::s])
    G = rng.standard_normal(Z.shape)
    dA, dW, db = conv2d_direct_backward(A, W, G, s, p)
    close(layer.backward(G), dA)
    close(layer.conv2d_stride1.dLdW, dW)
    close(layer.conv2d_stride1.dLdb, db)


def test_conv_init_fns_and_defaults():
    calls = []

    def winit(*shape):
        calls.append(shape)
        return np.arange(np.prod(shape), dtype=float).reshape(shape).tolist()

    layer = Conv1d(3, 4, 2, 2, weight_init_fn=winit, bias_init_fn=lambda n: [1.0] * n)
    assert calls == [(4, 3, 2)]
    W = layer.conv1d_stride1.W
    assert isinstance(W, np.ndarray) and W.dtype == np.float64 and W.shape == (4, 3, 2)
    close(layer.conv1d_stride1.b, np.ones(4))
    layer2 = Conv2d_stride1(2, 5, 3, weight_init_fn=winit)
    assert calls[-1] == (5, 2, 3, 3)
    for conv in (Conv1d_stride1(2, 3, 4), Conv2d_stride1(30, 40, 3)):
        assert conv.W.dtype == np.float64
        close(conv.b, np.zeros(conv.W.shape[0]))
    big = Conv2d_stride1(30, 40, 3).W                      # 10800 standard-normal draws
    assert abs(big.mean()) < 0.05 and abs(big.std() - 1) < 0.05
    assert not np.array_equal(big, Conv2d_stride1(30, 40, 3).W)
    close(layer2.b, np.zeros(5))


def test_param_gradients_are_overwritten_not_accumulated():
    rng = np.random.default_rng(5)
    layer = Conv1d_stride1(2, 3, 2)
    A, G = rng.standard_normal((2, 2, 6)), rng.standard_normal((2, 3, 5))
    for _ in range(3):
        layer.forward(A)
        layer.backward(G)
    _, dW, db = conv1d_direct_backward(A, layer.W, G)
    close(layer.dLdW, dW)
    close(layer.dLdb, db)


# --------------------------------------------------------------------------- transposed conv


def conv_transpose1d_scatter(A, W, b, s):
    """Each input A[n,c,i] adds A[n,c,i] * W[o,c,K-1-j] at position s*i + j of a 'full'
    output of width s*(W_in-1)+K; the K-1 border samples on each side are cropped.

    Derivation: upsample+conv gives Z[x] = sum_{i,k: s*i = x+k} W[k] A[i], i.e. A[i] lands
    at x = s*i - k; with j = K-1-k that is full index x + (K-1) = s*i + j.
    """
    N, C, width = A.shape
    O, _, K = W.shape
    full = np.zeros((N, O, s * (width - 1) + K))
    for n, c, i, o, j in itertools.product(range(N), range(C), range(width), range(O), range(K)):
        full[n, o, s * i + j] += A[n, c, i] * W[o, c, K - 1 - j]
    return full[:, :, K - 1:full.shape[2] - (K - 1)] + b[None, :, None]


def conv_transpose1d_scatter_backward(A, W, G, s):
    """Adjoint of the scatter: dLdA[n,c,i] = sum_{o,j} Gfull[n,o,s*i+j] * W[o,c,K-1-j]."""
    N, C, width = A.shape
    O, _, K = W.shape
    Gfull = np.pad(G, ((0, 0), (0, 0), (K - 1, K - 1)))
    dA, dW = np.zeros(A.shape), np.zeros(W.shape)
    for n, c, i, o, j in itertools.product(range(N), range(C), range(width), range(O), range(K)):
        dA[n, c, i] += Gfull[n, o, s * i + j] * W[o, c, K - 1 - j]
        dW[o, c, K - 1 - j] += Gfull[n, o, s * i + j] * A[n, c, i]
    return dA, dW, G.sum(axis=(0, 2))


CONVT1D = [(2, 3, 2, 5, 3, 2), (1, 2, 3, 4, 2, 3), (2, 1, 1, 6, 1, 1), (1, 2, 2, 3, 5, 3)]


@pytest.mark.parametrize("seed,shape", list(enumerate(CONVT1D)))
def test_conv_transpose1d_scatter_add(seed, shape):
    N, C, O, width, K, s = shape
    rng = np.random.default_rng(300 + seed)
    A, W, b = rng.standard_normal((N, C, width)), rng.standard_normal((O, C, K)), rng.standard_normal(O)
    layer = ConvTranspose1d(C, O, K, s, lambda *sh: W.tolist(), lambda n: b.tolist())
    assert isinstance(layer.upsample1d, Upsample1d)
    assert isinstance(layer.conv1d_stride1, Conv1d_stride1)
    Z = layer.forward(A)
    assert Z.shape == (N, O, s * (width - 1) + 1 - K + 1)
    close(Z, conv_transpose1d_scatter(A, W, b, s))
    G = rng.standard_normal(Z.shape)
    dA, dW, db = conv_transpose1d_scatter_backward(A, W, G, s)
    close(layer.backward(G), dA)
    close(layer.conv1d_stride1.dLdW, dW)
    close(layer.conv1d_stride1.dLdb, db)


def conv_transpose2d_scatter(A, W, b, s):
    N, C, H, Wd = A.shape
    O, _, K, _ = W.shape
    full = np.zeros((N, O, s * (H - 1) + K, s * (Wd - 1) + K))
    for n, c, y, x, o in itertools.product(range(N), range(C), range(H), range(Wd), range(O)):
        for i, j in itertools.product(range(K), range(K)):
            full[n, o, s * y + i, s * x + j] += A[n, c, y, x] * W[o, c, K - 1 - i, K - 1 - j]
    Hf, Wf = full.shape[2:]
    return full[:, :, K - 1:Hf - (K - 1), K - 1:Wf - (K - 1)] + b[None, :, None, None]


@pytest.mark.parametrize("seed,shape", list(enumerate([(2, 2, 3, 4, 3, 3, 2), (1, 3, 2, 3, 5, 2, 3)])))
def test_conv_transpose2d_scatter_add(seed, shape):
    N, C, O, H, Wd, K, s = shape
    rng = np.random.default_rng(400 + seed)
    A = rng.standard_normal((N, C, H, Wd))
    W, b = rng.standard_normal((O, C, K, K)), rng.standard_normal(O)
    layer = ConvTranspose2d(C, O, K, s, lambda *sh: W.tolist(), lambda n: b.tolist())
    assert isinstance(layer.upsample2d, Upsample2d)
    Z = layer.forward(A)
    assert Z.shape == (N, O, s * (H - 1) + 2 - K, s * (Wd - 1) + 2 - K)
    close(Z, conv_transpose2d_scatter(A, W, b, s))
    # backward: adjoint identity <forward_linear(A'), G> == <A', backward(G)> for any A'
    G = rng.standard_normal(Z.shape)
    layer.forward(A)
    dA = layer.backward(G)
    A2 = rng.standard_normal(A.shape)
    lhs = np.sum(G * (conv_transpose2d_scatter(A2, W, np.zeros(O), s)))
    close(np.sum(A2 * dA), lhs)


# --------------------------------------------------------------------------- pooling


def pool_direct(A, K, s, kind):
    """Explicit window loops; max uses a strict '>' scan so the first maximum wins."""
    N, C, H, Wd = A.shape
    Ho, Wo = math.ceil((H - K + 1) / s), math.ceil((Wd - K + 1) / s)
    Z = np.zeros((N, C, Ho, Wo))
    argpos = {}
    for n, c, y, x in itertools.product(range(N), range(C), range(Ho), range(Wo)):
        if kind == "mean":
            Z[n, c, y, x] = sum(A[n, c, s * y + i, s * x + j]
                                for i in range(K) for j in range(K)) / (K * K)
            continue
        best, pos = -np.inf, None
        for i in range(K):                     # row-major window order
            for j in range(K):
                v = A[n, c, s * y + i, s * x + j]
                if v > best:
                    best, pos = v, (s * y + i, s * x + j)
        Z[n, c, y, x] = best
        argpos[n, c, y, x] = pos
    return Z, argpos


def pool_direct_backward(A, G, K, s, kind, argpos):
    dA = np.zeros(A.shape)
    for n, c, y, x in itertools.product(*map(range, G.shape)):
        if kind == "max":
            r, q = argpos[n, c, y, x]
            dA[n, c, r, q] += G[n, c, y, x]
        else:
            for i, j in itertools.product(range(K), range(K)):
                dA[n, c, s * y + i, s * x + j] += G[n, c, y, x] / (K * K)
    return dA


POOL_CASES = [  # (N, C, H, W, K, stride)
    (1, 1, 4, 4, 2, 1), (2, 3, 7, 6, 3, 1), (2, 2, 7, 6, 2, 2), (1, 3, 8, 9, 3, 2),
    (2, 1, 5, 10, 2, 3)]


def _make_pool(kind, K, s):
    if s == 1 and kind == "max":
        return MaxPool2d_stride1(K)
    if s == 1:
        return MeanPool2d_stride1(K)
    return MaxPool2d(K, s) if kind == "max" else MeanPool2d(K, s)


@pytest.mark.parametrize("kind", ["max", "mean"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed,case", list(enumerate(POOL_CASES)))
def test_pooling_vs_window_loops(kind, ties, seed, case):
    N, C, H, Wd, K, s = case
    rng = np.random.default_rng(500 + seed)
    # with ties: values from {0, 1, 2} so most windows have several equal maxima
    A = rng.integers(0, 3, (N, C, H, Wd)).astype(float) if ties else rng.standard_normal((N, C, H, Wd))
    layer = _make_pool(kind, K, s)
    Z = layer.forward(A)
    expected, argpos = pool_direct(A, K, s, kind)
    assert Z.shape == expected.shape
    close(Z, expected)
    G = rng.standard_normal(Z.shape)
    close(layer.backward(G), pool_direct_backward(A, G, K, s, kind, argpos))


def test_maxpool_tie_goes_to_first_maximum():
    A = np.array([[[[1.0, 5.0, 5.0],
                    [5.0, 0.0, 2.0],
                    [5.0, 5.0, 5.0]]]])
    layer = MaxPool2d_stride1(2)
    close(layer.forward(A), [[[[5.0, 5.0], [5.0, 5.0]]]])
    dA = layer.backward(np.array([[[[1.0, 10.0], [100.0, 1000.0]]]]))
    # windows: (0,0)->first 5 at (0,1); (0,1)->(0,1); (1,0)->(1,0); (1,1)->(2,1)
    close(dA, [[[[0.0, 11.0, 0.0], [100.0, 0.0, 0.0], [0.0, 1000.0, 0.0]]]])
    flat = MaxPool2d(2, 2)
    close(flat.forward(np.full((1, 1, 4, 4), 3.0)), np.full((1, 1, 2, 2), 3.0))
    dA = flat.backward(np.ones((1, 1, 2, 2)))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, ::2, ::2] = 1.0
    close(dA, expected)


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("width", range(1, 10))
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_resampling_1d_widths(width, k):
    rng = np.random.default_rng(width * 10 + k)
    A = rng.standard_normal((2, 3, width))
    down = Downsample1d(k)
    Z = down.forward(A)
    assert Z.shape == (2, 3, math.ceil(width / k))
    close(Z, [[[A[n, c, k * i] for i in range(math.ceil(width / k))] for c in range(3)] for n in range(2)])
    G = rng.standard_normal(Z.shape)
    dA = down.backward(G)
    assert dA.shape == A.shape                         # exact restore of odd and even widths
    expected = np.zeros(A.shape)
    for i in range(Z.shape[2]):
        expected[:, :, k * i] = G[:, :, i]
    close(dA, expected)

    up = Upsample1d(k)
    U = up.forward(A)
    assert U.shape == (2, 3, k * (width - 1) + 1)
    expected = np.zeros(U.shape)
    for i in range(width):
        expected[:, :, k * i] = A[:, :, i]
    close(U, expected)
    GU = rng.standard_normal(U.shape)
    close(up.backward(GU), GU[:, :, [k * i for i in range(width)]])


@pytest.mark.parametrize("hw", [(5, 6), (8, 7), (1, 4), (6, 6)])
@pytest.mark.parametrize("k", [2, 3])
def test_resampling_2d_shapes(hw, k):
    H, Wd = hw
    rng = np.random.default_rng(H * 100 + Wd * 10 + k)
    A = rng.standard_normal((2, 2, H, Wd))
    down = Downsample2d(k)
    Z = down.forward(A)
    assert Z.shape == (2, 2, math.ceil(H / k), math.ceil(Wd / k))
    for y, x in itertools.product(range(Z.shape[2]), range(Z.shape[3])):
        close(Z[:, :, y, x], A[:, :, k * y, k * x])
    dA = down.backward(Z)
    assert dA.shape == A.shape
    close(dA[:, :, ::k, ::k], Z)
    assert np.count_nonzero(dA) == np.count_nonzero(Z)
    up = Upsample2d(k)
    U = up.forward(A)
    assert U.shape == (2, 2, k * (H - 1) + 1, k * (Wd - 1) + 1)
    assert np.count_nonzero(U) == A.size
    close(U[:, :, ::k, ::k], A)
    close(up.backward(U), A)


# --------------------------------------------------------------------------- flatten / linear


def test_flatten_row_major():
    rng = np.random.default_rng(6)
    for shape in [(2, 3, 5), (2, 3, 4, 5)]:
        A = rng.standard_normal(shape)
        layer = Flatten()
        Z = layer.forward(A)
        flat_len = int(np.prod(shape[1:]))
        assert Z.shape == (shape[0], flat_len)
        for n in range(shape[0]):
            close(Z[n], [A[n][idx] for idx in itertools.product(*map(range, shape[1:]))])
        close(layer.backward(Z), A)


def test_linear_formulas():
    rng = np.random.default_rng(7)
    layer = Linear(4, 3)
    close(layer.W, np.zeros((3, 4)))
    close(layer.b, np.zeros(3))
    layer.W, layer.b = rng.standard_normal((3, 4)), rng.standard_normal(3)
    A = rng.standard_normal((5, 4))
    Z = layer.forward(A)
    close(Z, [[sum(A[n, i] * layer.W[o, i] for i in range(4)) + layer.b[o] for o in range(3)]
              for n in range(5)])
    G = rng.standard_normal((5, 3))
    dA = layer.backward(G)
    close(dA, [[sum(G[n, o] * layer.W[o, i] for o in range(3)) for i in range(4)] for n in range(5)])
    close(layer.dLdW, [[sum(G[n, o] * A[n, i] for n in range(5)) for i in range(4)] for o in range(3)])
    close(layer.dLdb, G.sum(axis=0))


# --------------------------------------------------------------------------- activations / loss


def test_activation_formulas():
    rng = np.random.default_rng(8)
    Z = rng.standard_normal((2, 3, 4)) * 3
    G = rng.standard_normal(Z.shape)
    cases = [(Identity, Z, np.ones_like(Z)),
             (ReLU, np.where(Z > 0, Z, 0.0), (Z > 0).astype(float)),
             (Tanh, np.tanh(Z), 1 / np.cosh(Z) ** 2),
             (Sigmoid, 1 / (1 + np.exp(-Z)), np.exp(-Z) / (1 + np.exp(-Z)) ** 2)]
    for cls, value, deriv in cases:
        act = cls()
        close(act.forward(Z), value)
        close(act.backward(G), G * deriv)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow
        close(Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0])), [0.0, 0.5, 1.0])


def test_cross_entropy_formula():
    rng = np.random.default_rng(9)
    for N, K in [(1, 2), (4, 5), (7, 3)]:
        A = rng.standard_normal((N, K)) * 2
        Y = np.eye(K)[rng.integers(0, K, N)]
        loss = CrossEntropyLoss()
        value = loss.forward(A, Y)
        assert isinstance(value, float)
        expected = 0.0
        softmax = np.zeros((N, K))
        for n in range(N):
            denom = sum(math.exp(a) for a in A[n])
            softmax[n] = [math.exp(a) / denom for a in A[n]]
            expected -= sum(Y[n, j] * math.log(softmax[n, j]) for j in range(K))
        assert value == pytest.approx(expected / N, rel=1e-12)
        close(loss.backward(), (softmax - Y) / N)
    big = CrossEntropyLoss().forward(np.array([[1000.0, 0.0]]), np.array([[0.0, 1.0]]))
    assert big == pytest.approx(1000.0)


# --------------------------------------------------------------------------- batch norm


@pytest.mark.parametrize("shape,alpha", [((2, 3, 4, 5), 0.9), ((3, 2, 1, 1), 0.9), ((1, 4, 3, 2), 0.7)])
def test_batchnorm_forward_running_stats_and_eval(shape, alpha):
    N, C, H, Wd = shape
    rng = np.random.default_rng(C * 7 + N)
    bn = BatchNorm2d(C, alpha) if alpha != 0.9 else BatchNorm2d(C)
    assert bn.alpha == alpha and bn.eps == 1e-8
    for name, value in [("BW", 1.0), ("Bb", 0.0), ("running_M", 0.0), ("running_V", 1.0)]:
        close(getattr(bn, name), np.full((1, C, 1, 1), value))
    bn.BW, bn.Bb = rng.standard_normal((1, C, 1, 1)), rng.standard_normal((1, C, 1, 1))
    rM, rV = np.zeros(C), np.ones(C)
    for step in range(2):                                    # two training steps
        Z = rng.standard_normal(shape) * (step + 2) + step
        out = bn.forward(Z)
        for c in range(C):
            values = Z[:, c].ravel()
            m = values.sum() / values.size
            v = ((values - m) ** 2).sum() / values.size      # biased variance
            close(out[:, c], bn.BW[0, c, 0, 0] * (Z[:, c] - m) / math.sqrt(v + 1e-8) + bn.Bb[0, c, 0, 0])
            rM[c] = alpha * rM[c] + (1 - alpha) * m
            rV[c] = alpha * rV[c] + (1 - alpha) * v
        close(out, bn_direct(Z, bn.BW, bn.Bb))
        close(bn.running_M.ravel(), rM)
        close(bn.running_V.ravel(), rV)
        assert bn.running_M.shape == bn.running_V.shape == (1, C, 1, 1)
    Z = rng.standard_normal(shape)                          # eval step
    out = bn.forward(Z, eval=True)
    close(out, bn.BW * (Z - rM.reshape(1, C, 1, 1)) / np.sqrt(rV.reshape(1, C, 1, 1) + 1e-8) + bn.Bb)
    close(bn.running_M.ravel(), rM)
    close(bn.running_V.ravel(), rV)


def test_batchnorm_backward_formula():
    rng = np.random.default_rng(10)
    bn = BatchNorm2d(3)
    bn.BW = rng.standard_normal((1, 3, 1, 1))
    Z = rng.standard_normal((2, 3, 2, 4))
    bn.forward(Z)
    G = rng.standard_normal(Z.shape)
    dZ = bn.backward(G)
    m = 2 * 2 * 4
    for c in range(3):
        z, g = Z[:, c].ravel(), G[:, c].ravel()
        mu, var = z.mean(), z.var()
        nz = (z - mu) / math.sqrt(var + 1e-8)
        assert bn.dLdBW[0, c, 0, 0] == pytest.approx((g * nz).sum(), rel=1e-10)
        assert bn.dLdBb[0, c, 0, 0] == pytest.approx(g.sum(), rel=1e-10)
        dnz = g * bn.BW[0, c, 0, 0]
        # textbook form: (m*dnz - sum(dnz) - nz*sum(dnz*nz)) / (m*sqrt(var+eps))
        expected = (m * dnz - dnz.sum() - nz * (dnz * nz).sum()) / (m * math.sqrt(var + 1e-8))
        close(dZ[:, c].ravel(), expected)


# --------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout2d(p):
    rng = np.random.default_rng(int(p * 10))
    x = rng.standard_normal((6, 5, 3, 4)) + 5.0             # no zeros in x
    layer = Dropout2d(p, rng=random.Random(11))
    y = layer.forward(x)
    assert layer.mask.shape == (6, 5)
    kept = 0
    for n, c in itertools.product(range(6), range(5)):
        if np.all(y[n, c] == 0):
            assert layer.mask[n, c] == 0.0
        else:
            close(y[n, c], x[n, c] / (1 - p))
            assert layer.mask[n, c] == 1.0
            kept += 1
    assert 0 < kept < 30
    # decisions: rng.random() < p means dropped, n outer, c inner
    ref = random.Random(11)
    close(layer.mask, [[0.0 if ref.random() < p else 1.0 for _ in range(5)] for _ in range(6)])
    # same seed -> same mask; different seed -> (here) a different mask
    other = Dropout2d(p, rng=random.Random(11))
    other.forward(x)
    close(other.mask, layer.mask)
    third = Dropout2d(p, rng=random.Random(12))
    third.forward(x)
    assert not np.array_equal(third.mask, layer.mask)
    # backward uses the mask and scale of the last *training* forward, even after an eval forward
    mask = layer.mask.copy()
    ye = layer.forward(x, eval=True)
    close(ye, x)
    assert ye is not x
    close(layer.mask, mask)
    delta = rng.standard_normal(x.shape)
    close(layer.backward(delta), delta * mask[:, :, None, None] / (1 - p))


def test_dropout2d_drop_rate_and_defaults():
    layer = Dropout2d(0.3, rng=random.Random(0))
    layer.forward(np.ones((200, 50, 1, 1)))
    assert abs((1 - layer.mask.mean()) - 0.3) < 0.02
    default = Dropout2d()
    assert default.p == 0.5
    close(Dropout2d(0.0).forward(np.arange(8.0).reshape(1, 2, 2, 2)), np.arange(8.0).reshape(1, 2, 2, 2))


# --------------------------------------------------------------------------- scanning MLPs


def mlp(x, w1, w2, w3):
    return relu(relu(x @ w1) @ w2) @ w3


def scan_mlp_direct(A, w1, w2, w3):
    """The 3-layer MLP on every window of 8 steps, stride 4; x[t*24 + c] = A[n, c, 4p + t]."""
    N, C, T = A.shape
    P = (T - 8) // 4 + 1
    out = np.zeros((N, 4, P))
    for n, p in itertools.product(range(N), range(P)):
        x = np.array([A[n, c, 4 * p + t] for t in range(8) for c in range(C)])
        out[n, :, p] = mlp(x, w1, w2, w3)
    return out.reshape(N, 4 * P)                       # Flatten of (N, 4, P)


def distributed_direct(A, w1, w2, w3):
    """Explicit loop over the distributed structure of one 8-step window.

    Layer 1: 4 copies (g = 0..3) of 2 neurons, copy g sees steps 2g, 2g+1:
        h1[g, o] = relu(sum_{t<2, c<24} A[c, 4p + 2g + t] * w1[t*24 + c, o]).
    Layer 2: 2 copies (h = 0..1) of 8 neurons, copy h sees layer-1 copies 2h, 2h+1:
        h2[h, o] = relu(sum_{t<2, c<2} h1[2h + t, c] * w2[t*2 + c, o]).
    Layer 3: y[o] = sum_{t<2, c<8} h2[t, c] * w3[t*8 + c, o].
    """
    N, C, T = A.shape
    P = (T - 8) // 4 + 1
    out = np.zeros((N, 4, P))
    for n, p in itertools.product(range(N), range(P)):
        h1 = np.zeros((4, 2))
        for g, o in itertools.product(range(4), range(2)):
            h1[g, o] = max(0.0, sum(A[n, c, 4 * p + 2 * g + t] * w1[t * 24 + c, o]
                                    for t in range(2) for c in range(C)))
        h2 = np.zeros((2, 8))
        for h, o in itertools.product(range(2), range(8)):
            h2[h, o] = max(0.0, sum(h1[2 * h + t, c] * w2[t * 2 + c, o]
                                    for t in range(2) for c in range(2)))
        for o in range(4):
            out[n, o, p] = sum(h2[t, c] * w3[t * 8 + c, o] for t in range(2) for c in range(8))
    return out.reshape(N, 4 * P)


def shared_to_full_mlp(w1, w2, w3):
    """The full (192,8),(8,16),(16,4) MLP whose weight sharing the distributed CNN implements:
    block-diagonal copies of the shared slices w1[:48,:2] and w2[:4,:8]; w3 is used whole."""
    W1 = np.zeros((192, 8))
    for g in range(4):
        W1[48 * g:48 * (g + 1), 2 * g:2 * (g + 1)] = w1[:48, :2]
    W2 = np.zeros((8, 16))
    for h in range(2):
        W2[4 * h:4 * (h + 1), 8 * h:8 * (h + 1)] = w2[:4, :8]
    return W1, W2, np.array(w3[:16, :4])


def _mlp_weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in [(192, 8), (8, 16), (16, 4)]]


@pytest.mark.parametrize("seed", [0, 1])
def test_simple_scanning_mlp_equals_mlp_on_every_window(seed):
    w1, w2, w3 = _mlp_weights(600 + seed)
    A = np.random.default_rng(610 + seed).standard_normal((2, 24, 128))
    model = CNN_SimpleScanningMLP()
    model.init_weights([w1.tolist(), w2.tolist(), w3.tolist()])     # nested lists accepted
    assert model.conv1.conv1d_stride1.W.shape == (8, 24, 8)
    assert model.conv1.conv1d_stride1.W[5, 7, 3] == w1[3 * 24 + 7, 5]
    assert [type(layer).__name__ for layer in model.layers] == \
        ["Conv1d", "ReLU", "Conv1d", "ReLU", "Conv1d", "Flatten"]
    Z = model.forward(A)
    assert Z.shape == (2, 124)
    close(Z, scan_mlp_direct(A, w1, w2, w3))
    dA = model.backward(np.ones(Z.shape))
    assert dA.shape == A.shape


@pytest.mark.parametrize("seed", [0, 1])
def test_distributed_scanning_mlp(seed):
    w1, w2, w3 = _mlp_weights(700 + seed)
    A = np.random.default_rng(710 + seed).standard_normal((2, 24, 128))
    model = CNN_DistributedScanningMLP()
    model.init_weights([w1, w2, w3])
    shapes = [getattr(model, f"conv{i}").conv1d_stride1.W.shape for i in (1, 2, 3)]
    assert shapes == [(2, 24, 2), (8, 2, 2), (4, 8, 2)]
    Z = model.forward(A)
    assert Z.shape == (2, 124)
    # (a) explicit loop over the distributed (weight-shared) structure
    close(Z, distributed_direct(A, w1, w2, w3))
    # (b) it is exactly the full scanning MLP with block-shared weights ...
    W1, W2, W3 = shared_to_full_mlp(w1, w2, w3)
    close(Z, scan_mlp_direct(A, W1, W2, W3))
    simple = CNN_SimpleScanningMLP()
    simple.init_weights([W1, W2, W3])
    close(Z, simple.forward(A))
    # (c) ... and entries outside the shared slices are ignored
    v1, v2 = w1.copy(), w2.copy()
    v1[48:, :] = 123.0
    v1[:, 2:] = -7.0
    v2[4:, :] = 55.0
    v2[:, 8:] = 9.0
    other = CNN_DistributedScanningMLP()
    other.init_weights([v1, v2, w3])
    close(other.forward(A), Z)


# --------------------------------------------------------------------------- CNN model


def test_cnn_forward_backward_step_zero_grads():
    rng = np.random.default_rng(800)
    widths, C_in = 20, 3
    channels, kernels, strides = [4, 3, 2], [3, 2, 3], [2, 1, 2]
    conv_W = [rng.standard_normal((o, i, k)) for o, i, k in zip(channels, [C_in] + channels[:-1], kernels)]
    conv_b = [rng.standard_normal(o) for o in channels]
    w_last = widths
    for k, s in zip(kernels, strides):
        w_last = (w_last - k) // s + 1
    lin_W, lin_b = rng.standard_normal((5, channels[-1] * w_last)), rng.standard_normal(5)
    w_iter, b_iter = iter(conv_W + [lin_W]), iter(conv_b + [lin_b])
    w_calls = []

    def winit(*shape):
        w_calls.append(shape)
        return next(w_iter).tolist()

    model = CNN(widths, C_in, channels, kernels, strides, 5, [Tanh(), ReLU(), Sigmoid()],
                winit, lambda n: next(b_iter).tolist(), winit, CrossEntropyLoss(), 0.05)
    assert w_calls == [(4, 3, 3), (3, 4, 2), (2, 3, 3), (5, channels[-1] * w_last)]
    assert model.linear_layer.W.shape == (5, 2 * w_last) and w_last == 3

    A = rng.standard_normal((3, C_in, widths))
    h = A
    for W, b, s, f in zip(conv_W, conv_b, strides, [np.tanh, relu, lambda z: 1 / (1 + np.exp(-z))]):
        h = f(conv1d_direct(h, W, b, s))
    expected = h.reshape(3, -1) @ lin_W.T + lin_b
    Z = model.forward(A)
    close(Z, expected)
    close(model.Z, expected)

    labels = np.eye(5)[[0, 2, 4]]
    dA = model.backward(labels)
    assert dA.shape == A.shape
    assert model.loss == pytest.approx(CrossEntropyLoss().forward(expected, labels), rel=1e-12)
    params = [c.conv1d_stride1 for c in model.convolutional_layers] + [model.linear_layer]
    before = [(p.W.copy(), p.b.copy(), p.dLdW.copy(), p.dLdb.copy()) for p in params]
    assert all(np.abs(dW).sum() > 0 for _, _, dW, _ in before)
    model.step()
    for p, (W, b, dW, db) in zip(params, before):
        close(p.W, W - 0.05 * dW)
        close(p.b, b - 0.05 * db)
    model.zero_grads()
    for p in params:
        close(p.dLdW, np.zeros(p.W.shape))
        close(p.dLdb, np.zeros(p.b.shape))


# --------------------------------------------------------------------------- ResBlock


@pytest.mark.parametrize("args,identity", [
    ((3, 3, 1, 1, 0), True), ((3, 4, 1, 1, 0), False), ((3, 3, 3, 1, 0), False),
    ((3, 3, 1, 2, 0), False), ((3, 3, 1, 1, 1), False), ((2, 3, 3, 2, 1), False)])
def test_resblock_structure_and_forward(args, identity):
    in_c, out_c, f, s, p = args
    block = ResBlock(*args)
    assert isinstance(block.residual_connection, Identity if identity else ConvBlock)
    assert isinstance(block.convolution_layers[1], ReLU) and isinstance(block.final_activation, ReLU)
    rng = np.random.default_rng(900 + sum(args))
    convs = [block.convolution_layers[0], block.convolution_layers[2]]
    if not identity:
        convs.append(block.residual_connection)
    params = []
    for cb in convs:
        conv, bn = cb.layers[0], cb.layers[1]
        assert isinstance(conv, Conv2d) and isinstance(bn, BatchNorm2d)
        W = rng.standard_normal(conv.conv2d_stride1.W.shape)
        b = rng.standard_normal(conv.conv2d_stride1.b.shape)
        BW, Bb = rng.standard_normal(bn.BW.shape), rng.standard_normal(bn.Bb.shape)
        conv.conv2d_stride1.W, conv.conv2d_stride1.b, bn.BW, bn.Bb = W, b, BW, Bb
        params.append((W, b, BW, Bb, conv.stride, conv.pad))
    A = rng.standard_normal((2, in_c, 6, 5))

    def convblock(x, W, b, BW, Bb, stride, pad):
        return bn_direct(conv2d_direct(x, W, b, stride, pad), BW, Bb)

    main = convblock(relu(convblock(A, *params[0])), *params[1])
    residual = A if identity else convblock(A, *params[2])
    close(block.forward(A), relu(main + residual))
    assert block.backward(np.ones(main.shape)).shape == A.shape
