"""1D convolution (cross-correlation): stride 1, and strided/padded."""

from operator import mul

from .resampling import Downsample1d
from .tensor import pad1d, randn, tensor, transpose01, unpad1d, zeros


def init_conv_params(W_shape, weight_init_fn=None, bias_init_fn=None):
    """Return ``(W, b)`` as nested float lists.

    ``W = weight_init_fn(*W_shape)`` or standard normal draws when it is None;
    ``b = bias_init_fn(out_channels)`` or zeros when it is None.
    """
    out_channels = W_shape[0]
    W = randn(W_shape) if weight_init_fn is None else tensor(weight_init_fn(*W_shape))
    b = zeros((out_channels,)) if bias_init_fn is None else tensor(bias_init_fn(out_channels))
    return W, b


def correlate1d(A, W, b=None):
    """Valid cross-correlation of a batch with a filter bank.

    A (N, C, W_in), W (O, C, K), optional b (O,) -> Z (N, O, W_in - K + 1) with
    Z[n][o][x] = b[o] + sum_{c,k} W[o][c][k] * A[n][c][x+k].
    Each output is one dot product of a flattened kernel with a flattened window.
    """
    K = len(W[0][0])
    width = len(A[0][0]) - K + 1
    kernels = [[w for w_c in w_o for w in w_c] for w_o in W]        # (O, C*K)
    bias = [0.0] * len(W) if b is None else b
    Z = []
    for a_n in A:
        windows = [[v for a_c in a_n for v in a_c[x:x + K]] for x in range(width)]  # (W_out, C*K)
        Z.append([[b_o + sum(map(mul, k_o, window)) for window in windows]
                  for k_o, b_o in zip(kernels, bias)])
    return Z


class Conv1d_stride1:
    """Stride-1 1D cross-correlation.

    W (out, in, K), b (out,); after backward dLdW (out, in, K), dLdb (out,).
    forward:  A (N, in, W) -> Z (N, out, W-K+1),
              Z[n,o,x] = b[o] + sum_{c,k} W[o,c,k] * A[n,c,x+k].
    backward: dLdZ (N, out, W-K+1) -> dLdA (N, in, W).
    """

    def __init__(self, in_channels, out_channels, kernel_size,
                 weight_init_fn=None, bias_init_fn=None):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.W, self.b = init_conv_params((out_channels, in_channels, kernel_size),
                                          weight_init_fn, bias_init_fn)
        self.dLdW = zeros((out_channels, in_channels, kernel_size))
        self.dLdb = zeros((out_channels,))

    def forward(self, A):
        self.A = A
        return correlate1d(A, self.W, self.b)

    def backward(self, dLdZ):
        K = self.kernel_size
        # dLdb[o] = sum_{n,x} dLdZ[n,o,x]
        # MUTANT: adds to the stored dLdb instead of overwriting it
        self.dLdb = [old + float(sum(sum(row) for row in rows)) for old, rows in zip(self.dLdb, zip(*dLdZ))]
        # dLdW[o,c,k] = sum_{n,x} dLdZ[n,o,x] A[n,c,x+k]: a correlation over the batch axis.
        self.dLdW = transpose01(correlate1d(transpose01(self.A), transpose01(dLdZ)))
        # dLdA = full correlation of dLdZ with the flipped kernel, arranged (in, out, K).
        flipped = [[w_o[c][::-1] for w_o in self.W] for c in range(len(self.W[0]))]
        return correlate1d(pad1d(dLdZ, K - 1), flipped)


class Conv1d:
    """Strided, zero-padded 1D cross-correlation = pad -> Conv1d_stride1 -> Downsample1d.

    forward:  A (N, in, W) -> Z (N, out, floor((W + 2p - K)/s) + 1).
    backward: dLdZ -> dLdA (N, in, W) (the reverse, padding cropped away).
    Parameters live in ``conv1d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        self.stride = stride
        self.pad = padding
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample1d = Downsample1d(stride)

    def forward(self, A):
        return self.downsample1d.forward(self.conv1d_stride1.forward(pad1d(A, self.pad)))

    def backward(self, dLdZ):
        dLdA_padded = self.conv1d_stride1.backward(self.downsample1d.backward(dLdZ))
        return unpad1d(dLdA_padded, self.pad)
