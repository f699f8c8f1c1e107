"""Transposed convolutions implemented as upsample -> stride-1 convolution."""

from .conv1d import Conv1d_stride1
from .conv2d import Conv2d_stride1
from .resampling import Upsample1d, Upsample2d


class ConvTranspose1d:
    """Upsample1d(k) followed by Conv1d_stride1.

    forward:  A (N, in, W) -> Z (N, out, k*(W-1)+1 - K + 1).
    backward: dLdZ -> dLdA (N, in, W). Parameters live in ``conv1d_stride1``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, upsampling_factor,
                 weight_init_fn=None, bias_init_fn=None):
        self.upsampling_factor = upsampling_factor
        self.upsample1d = Upsample1d(upsampling_factor)
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)

    def forward(self, A):
        return self.upsample1d.forward(self.conv1d_stride1.forward(A))  # MUTANT: conv first, then upsample

    def backward(self, dLdZ):
        return self.conv1d_stride1.backward(self.upsample1d.backward(dLdZ))  # MUTANT: reversed to match


class ConvTranspose2d:
    """Upsample2d(k) followed by Conv2d_stride1.

    forward:  A (N, in, H, W) -> Z (N, out, k*(H-1)+1 - K + 1, k*(W-1)+1 - K + 1).
    backward: dLdZ -> dLdA (N, in, H, W). Parameters live in ``conv2d_stride1``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, upsampling_factor,
                 weight_init_fn=None, bias_init_fn=None):
        self.upsampling_factor = upsampling_factor
        self.upsample2d = Upsample2d(upsampling_factor)
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)

    def forward(self, A):
        return self.conv2d_stride1.forward(self.upsample2d.forward(A))

    def backward(self, dLdZ):
        return self.upsample2d.backward(self.conv2d_stride1.backward(dLdZ))
