"""2D convolution (cross-correlation) with square kernels: stride 1, and strided/padded."""

from operator import mul

from .conv1d import init_conv_params
from .resampling import Downsample2d
from .tensor import pad2d, transpose01, unpad2d, zeros


def correlate2d(A, W, b=None):
    """Valid 2D cross-correlation of a batch with a (possibly non-square) filter bank.

    A (N, C, H, W_in), W (O, C, KH, KW), optional b (O,) -> Z (N, O, H-KH+1, W_in-KW+1) with
    Z[n][o][y][x] = b[o] + sum_{c,i,j} W[o][c][i][j] * A[n][c][y+i][x+j].
    """
    KH, KW = len(W[0][0]), len(W[0][0][0])
    out_h, out_w = len(A[0][0]) - KH + 1, len(A[0][0][0]) - KW + 1
    kernels = [[w for w_c in w_o for w_row in w_c for w in w_row] for w_o in W]  # (O, C*KH*KW)
    bias = [0.0] * len(W) if b is None else b
    Z = []
    for a_n in A:
        windows = [[[v for a_c in a_n for row in a_c[y:y + KH] for v in row[x:x + KW]]
                    for x in range(out_w)] for y in range(out_h)]            # (H_out, W_out, C*KH*KW)
        Z.append([[[b_o + sum(map(mul, k_o, window)) for window in window_row]
                   for window_row in windows] for k_o, b_o in zip(kernels, bias)])
    return Z


class Conv2d_stride1:
    """Stride-1 2D cross-correlation with a square K x K kernel.

    W (out, in, K, K), b (out,); after backward dLdW (out, in, K, K), dLdb (out,).
    forward:  A (N, in, H, W) -> Z (N, out, H-K+1, W-K+1),
              Z[n,o,y,x] = b[o] + sum_{c,i,j} W[o,c,i,j] * A[n,c,y+i,x+j].
    backward: dLdZ (N, out, H-K+1, W-K+1) -> dLdA (N, in, H, W).
    """

    def __init__(self, in_channels, out_channels, kernel_size,
                 weight_init_fn=None, bias_init_fn=None):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        W_shape = (out_channels, in_channels, kernel_size, kernel_size)
        self.W, self.b = init_conv_params(W_shape, weight_init_fn, bias_init_fn)
        self.dLdW = zeros(W_shape)
        self.dLdb = zeros((out_channels,))

    def forward(self, A):
        self.A = A
        # MUTANT: the bias is added again on top of correlate2d's
        Z = correlate2d(A, self.W, self.b)
        return [[[[v + b_o for v in row] for row in plane] for plane, b_o in zip(z_n, self.b)] for z_n in Z]

    def backward(self, dLdZ):
        K = self.kernel_size
        # dLdb[o] = sum_{n,y,x} dLdZ[n,o,y,x]
        self.dLdb = [float(sum(sum(row) for plane in planes for row in plane))
                     for planes in zip(*dLdZ)]
        # dLdW[o,c,i,j] = sum_{n,y,x} dLdZ[n,o,y,x] A[n,c,y+i,x+j]: a correlation over the batch.
        self.dLdW = transpose01(correlate2d(transpose01(self.A), transpose01(dLdZ)))
        # dLdA = full correlation of dLdZ with the kernel flipped on both axes, arranged (in, out, K, K).
        flipped = [[[row[::-1] for row in w_o[c][::-1]] for w_o in self.W]
                   for c in range(len(self.W[0]))]
        return correlate2d(pad2d(dLdZ, K - 1), flipped)


class Conv2d:
    """Strided, zero-padded 2D cross-correlation = pad -> Conv2d_stride1 -> Downsample2d.

    forward:  A (N, in, H, W) -> Z (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1).
    backward: dLdZ -> dLdA (N, in, H, W) (the reverse, padding cropped away).
    Parameters live in ``conv2d_stride1`` (W, b, dLdW, dLdb).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding=0,
                 weight_init_fn=None, bias_init_fn=None):
        self.stride = stride
        self.pad = padding
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        return self.downsample2d.forward(self.conv2d_stride1.forward(pad2d(A, self.pad)))

    def backward(self, dLdZ):
        dLdA_padded = self.conv2d_stride1.backward(self.downsample2d.backward(dLdZ))
        return unpad2d(dLdA_padded, self.pad)
