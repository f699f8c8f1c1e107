"""Centred finite-difference gradient checks of every op in the NumPy reference.

For a layer with output Z we use the scalar loss L = sum(G * Z) with a random G,
so backward(G) must equal dL/dA and every stored parameter gradient must equal
dL/dparam.  Everything is float64.
"""

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

FD_STEP = 1e-6        # centred-difference step
FD_RTOL = 1e-5        # relative tolerance analytic vs numeric
FD_ATOL = 1e-6        # absolute tolerance analytic vs numeric
MIN_SIGNAL = 1e-6     # a checked gradient must have at least one entry this large
SCAN_SAMPLES = 250    # entries sampled per tensor for the (large) scanning MLPs


# --------------------------------------------------------------------------- helpers


def numerical_grad(f, x, rng=None, max_entries=None):
    """Centred differences of the scalar f() wrt array x (perturbed in place).

    Returns (grad, index_list); with max_entries only that many random entries are probed.
    """
    idx = list(np.ndindex(x.shape))
    if max_entries is not None and len(idx) > max_entries:
        pick = (rng or np.random.default_rng(0)).choice(len(idx), max_entries, replace=False)
        idx = [idx[i] for i in sorted(pick)]
    grad = np.zeros(x.shape)
    for i in idx:
        old = x[i]
        x[i] = old + FD_STEP
        fp = f()
        x[i] = old - FD_STEP
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * FD_STEP)
    return grad, idx


def assert_grad_close(analytic, f, x, name, max_entries=None, allow_zero=False):
    analytic = np.asarray(analytic, dtype=np.float64)
    assert analytic.shape == x.shape, f"{name}: gradient shape {analytic.shape} != {x.shape}"
    numeric, idx = numerical_grad(f, x, max_entries=max_entries)
    rows = tuple(np.array(idx).T)
    np.testing.assert_allclose(analytic[rows], numeric[rows], rtol=FD_RTOL, atol=FD_ATOL,
                               err_msg=f"gradient mismatch for {name}")
    if not allow_zero:
        assert np.abs(numeric[rows]).max() > MIN_SIGNAL, f"{name}: gradient is trivially zero"


def gradcheck(forward, backward, A, params=(), seed=0, max_entries=None, zero_ok=()):
    """Check dLdA = backward(G) and every (name, obj, attr, grad_attr) in params.

    forward(A) -> Z must recompute from the *current* contents of A and of the parameters.
    """
    Z = forward(A)
    G = np.random.default_rng(seed + 1000).standard_normal(np.shape(Z))
    dLdA = np.array(backward(G), dtype=np.float64)
    analytic = {name: np.array(getattr(obj, gattr), dtype=np.float64)
                for name, obj, _, gattr in params}

    def loss():
        return float(np.sum(G * forward(A)))

    assert_grad_close(dLdA, loss, A, "dLdA", max_entries, allow_zero="dLdA" in zero_ok)
    for name, obj, attr, _ in params:
        assert_grad_close(analytic[name], loss, getattr(obj, attr), name, max_entries,
                          allow_zero=name in zero_ok)


def randn(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def away_from_zero(*shape, seed=0, margin=0.1):
    """Random values with |x| >= margin (no ReLU kink within FD reach)."""
    x = randn(*shape, seed=seed)
    return np.sign(x) * (np.abs(x) + margin)


def distinct(*shape, seed=0):
    """Random distinct values spaced 0.1 apart (no max-pool ties within FD reach)."""
    n = int(np.prod(shape))
    return np.random.default_rng(seed).permutation(n).reshape(shape) * 0.1 - n * 0.05


def conv_params(conv, prefix=""):
    return [(prefix + "dLdW", conv, "W", "dLdW"), (prefix + "dLdb", conv, "b", "dLdb")]


def randomise(conv, seed):
    """Give a stride-1 conv / linear layer random W and a non-zero b."""
    conv.W = randn(*conv.W.shape, seed=seed)
    conv.b = randn(*conv.b.shape, seed=seed + 1)


# --------------------------------------------------------------------------- meta


def test_gradcheck_detects_a_wrong_gradient():
    """The checker itself must fail on a slightly wrong backward."""
    layer = Conv1d_stride1(2, 3, 3)
    randomise(layer, 1)
    with pytest.raises(AssertionError):
        gradcheck(layer.forward, lambda G: 1.001 * layer.backward(G), randn(2, 2, 7))
    with pytest.raises(AssertionError):
        def bad_backward(G):
            d = layer.backward(G)
            layer.dLdW = layer.dLdW * 1.001
            return d
        gradcheck(layer.forward, bad_backward, randn(2, 2, 7), conv_params(layer))


# --------------------------------------------------------------------------- resampling


@pytest.mark.parametrize("width", [7, 8])
@pytest.mark.parametrize("k", [2, 3])
def test_resampling_1d(width, k):
    up = Upsample1d(k)
    gradcheck(up.forward, up.backward, randn(2, 3, width))
    down = Downsample1d(k)
    gradcheck(down.forward, down.backward, randn(2, 3, width))


@pytest.mark.parametrize("hw", [(5, 6), (8, 7)])
@pytest.mark.parametrize("k", [2, 3])
def test_resampling_2d(hw, k):
    up = Upsample2d(k)
    gradcheck(up.forward, up.backward, randn(2, 2, *hw))
    down = Downsample2d(k)
    gradcheck(down.forward, down.backward, randn(2, 2, *hw))


# --------------------------------------------------------------------------- convolutions


def test_conv1d_stride1():
    layer = Conv1d_stride1(3, 4, 3)
    randomise(layer, 1)
    gradcheck(layer.forward, layer.backward, randn(2, 3, 9), conv_params(layer))


@pytest.mark.parametrize("width,K,stride,pad", [(9, 3, 2, 1), (10, 3, 2, 1), (11, 4, 3, 2)])
def test_conv1d(width, K, stride, pad):
    layer = Conv1d(3, 2, K, stride, pad)
    randomise(layer.conv1d_stride1, 2)
    gradcheck(layer.forward, layer.backward, randn(2, 3, width),
              conv_params(layer.conv1d_stride1))


def test_conv2d_stride1():
    layer = Conv2d_stride1(2, 3, 3)
    randomise(layer, 3)
    gradcheck(layer.forward, layer.backward, randn(2, 2, 6, 5), conv_params(layer))


@pytest.mark.parametrize("hw,K,stride,pad", [((7, 6), 3, 2, 1), ((6, 9), 2, 3, 2)])
def test_conv2d(hw, K, stride, pad):
    layer = Conv2d(2, 3, K, stride, pad)
    randomise(layer.conv2d_stride1, 4)
    gradcheck(layer.forward, layer.backward, randn(2, 2, *hw),
              conv_params(layer.conv2d_stride1))


def test_conv_transpose1d():
    layer = ConvTranspose1d(3, 2, 3, 2)
    randomise(layer.conv1d_stride1, 5)
    gradcheck(layer.forward, layer.backward, randn(2, 3, 5), conv_params(layer.conv1d_stride1))


def test_conv_transpose2d():
    layer = ConvTranspose2d(2, 3, 3, 2)
    randomise(layer.conv2d_stride1, 6)
    gradcheck(layer.forward, layer.backward, randn(2, 2, 4, 3), conv_params(layer.conv2d_stride1))


# --------------------------------------------------------------------------- pooling


@pytest.mark.parametrize("make", [lambda: MaxPool2d_stride1(2), lambda: MaxPool2d_stride1(3),
                                  lambda: MaxPool2d(2, 2), lambda: MaxPool2d(3, 2)])
def test_maxpool(make):
    layer = make()
    gradcheck(layer.forward, layer.backward, distinct(2, 2, 7, 6, seed=7))


@pytest.mark.parametrize("make", [lambda: MeanPool2d_stride1(2), lambda: MeanPool2d_stride1(3),
                                  lambda: MeanPool2d(2, 2), lambda: MeanPool2d(3, 2)])
def test_meanpool(make):
    layer = make()
    gradcheck(layer.forward, layer.backward, randn(2, 2, 7, 6, seed=8))


# --------------------------------------------------------------------------- misc layers


@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5)])
def test_flatten(shape):
    layer = Flatten()
    gradcheck(layer.forward, layer.backward, randn(*shape))


def test_dropout2d_fixed_mask():
    layer = Dropout2d(0.5)

    def forward(A):                     # re-seed: the same mask on every call
        layer.rng = random.Random(3)
        return layer.forward(A)

    A = randn(4, 3, 3, 2)
    forward(A)
    assert 0 < layer.mask.sum() < layer.mask.size, "test needs kept and dropped channels"
    gradcheck(forward, layer.backward, A)


def test_batchnorm2d_train():
    layer = BatchNorm2d(3)
    layer.BW = randn(1, 3, 1, 1, seed=9)
    layer.Bb = randn(1, 3, 1, 1, seed=10)
    gradcheck(layer.forward, layer.backward, randn(2, 3, 3, 4, seed=11) * 2 + 1,
              [("dLdBW", layer, "BW", "dLdBW"), ("dLdBb", layer, "Bb", "dLdBb")])


def test_batchnorm2d_eval():
    layer = BatchNorm2d(2)
    layer.BW = randn(1, 2, 1, 1, seed=12)
    layer.running_M = randn(1, 2, 1, 1, seed=13)
    layer.running_V = np.abs(randn(1, 2, 1, 1, seed=14)) + 0.5
    gradcheck(lambda A: layer.forward(A, eval=True), layer.backward, randn(2, 2, 3, 3),
              [("dLdBW", layer, "BW", "dLdBW"), ("dLdBb", layer, "Bb", "dLdBb")])


def test_linear():
    layer = Linear(5, 3)
    randomise(layer, 15)
    gradcheck(layer.forward, layer.backward, randn(4, 5),
              [("dLdW", layer, "W", "dLdW"), ("dLdb", layer, "b", "dLdb")])


@pytest.mark.parametrize("cls", [Identity, ReLU, Tanh, Sigmoid])
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4), (2, 2, 3, 3)])
def test_activation(cls, shape):
    layer = cls()
    gradcheck(layer.forward, layer.backward, away_from_zero(*shape, seed=16))


def test_cross_entropy():
    loss = CrossEntropyLoss()
    A = randn(4, 5, seed=17) * 3
    Y = np.eye(5)[[0, 3, 3, 1]]
    loss.forward(A, Y)
    dLdA = loss.backward()
    assert_grad_close(dLdA, lambda: loss.forward(A, Y), A, "dLdA")


# --------------------------------------------------------------------------- composites


def _randomise_convblock(block, seed):
    randomise(block.layers[0].conv2d_stride1, seed)
    block.layers[1].BW = randn(*block.layers[1].BW.shape, seed=seed + 2)
    block.layers[1].Bb = randn(*block.layers[1].Bb.shape, seed=seed + 3)


def _convblock_params(block, prefix):
    conv, bn = block.layers[0].conv2d_stride1, block.layers[1]
    return conv_params(conv, prefix + ".") + [
        (prefix + ".dLdBW", bn, "BW", "dLdBW"), (prefix + ".dLdBb", bn, "Bb", "dLdBb")]


def test_convblock():
    block = ConvBlock(2, 3, 3, 2, 1)
    _randomise_convblock(block, 20)
    # the conv bias is cancelled exactly by the following training-mode BN: its gradient is 0
    gradcheck(block.forward, block.backward, randn(2, 2, 5, 6), _convblock_params(block, "cb"),
              zero_ok={"cb.dLdb"})


@pytest.mark.parametrize("args,shape,residual", [
    ((2, 3, 3, 2, 1), (2, 2, 7, 6), ConvBlock),
    ((3, 3, 1, 1, 0), (2, 3, 4, 5), Identity),
])
def test_resblock(args, shape, residual):
    block = ResBlock(*args)
    assert isinstance(block.residual_connection, residual)
    params = []
    for i in (0, 2):
        _randomise_convblock(block.convolution_layers[i], 30 + 10 * i)
        params += _convblock_params(block.convolution_layers[i], f"main{i}")
    zero_ok = {"main0.dLdb", "main2.dLdb", "res.dLdb"}
    if residual is ConvBlock:
        _randomise_convblock(block.residual_connection, 60)
        params += _convblock_params(block.residual_connection, "res")
    gradcheck(block.forward, block.backward, randn(*shape, seed=21), params, zero_ok=zero_ok)


def _mlp_weights(seed):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s) for s in [(192, 8), (8, 16), (16, 4)]]


@pytest.mark.slow
@pytest.mark.parametrize("cls", [CNN_SimpleScanningMLP, CNN_DistributedScanningMLP])
def test_scanning_mlp(cls):
    model = cls()
    model.init_weights(_mlp_weights(40))
    params = []
    for name in ("conv1", "conv2", "conv3"):
        conv = getattr(model, name).conv1d_stride1
        conv.b = randn(*conv.b.shape, seed=41) * 0.1
        params += conv_params(conv, name + ".")
    gradcheck(model.forward, model.backward, randn(2, 24, 128, seed=42), params,
              max_entries=SCAN_SAMPLES)


def test_cnn_model():
    rng = np.random.default_rng(50)
    model = CNN(input_width=15, num_input_channels=3, num_channels=[4, 3, 2],
                kernel_sizes=[3, 2, 2], strides=[2, 1, 2], num_linear_neurons=5,
                activations=[Tanh(), ReLU(), Sigmoid()],
                conv_weight_init_fn=lambda *s: rng.standard_normal(s).tolist(),
                bias_init_fn=lambda n: (0.1 * rng.standard_normal(n)).tolist(),
                linear_weight_init_fn=lambda *s: rng.standard_normal(s).tolist(),
                criterion=CrossEntropyLoss(), lr=0.1)
    A = randn(2, 3, 15, seed=51)
    labels = np.eye(5)[[1, 4]]

    def loss():
        return model.criterion.forward(model.forward(A), labels)

    model.forward(A)
    dLdA = model.backward(labels)
    assert model.loss == pytest.approx(loss(), rel=1e-12)
    layers = [c.conv1d_stride1 for c in model.convolutional_layers] + [model.linear_layer]
    analytic = [(layer.dLdW.copy(), layer.dLdb.copy()) for layer in layers]
    assert_grad_close(dLdA, loss, A, "dLdA")
    for i, (layer, (dW, db)) in enumerate(zip(layers, analytic)):
        assert_grad_close(dW, loss, layer.W, f"layer{i}.dLdW")
        assert_grad_close(db, loss, layer.b, f"layer{i}.dLdb")
