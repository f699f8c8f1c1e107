"""Transposed convolutions implemented as upsample -> stride-1 convolution."""

from .conv1d import Conv1d_stride1
from .conv2d import Conv2d_stride1
from .resampling import Upsample1d, Upsample2d


class ConvTranspose1d:
    """Upsample1d(k) followed by Conv1d_stride1. Parameters live in ``conv1d_stride1``."""

    def __init__(self, in_channels, out_channels, kernel_size, upsampling_factor,
                 weight_init_fn=None, bias_init_fn=None):
        self.upsampling_factor = upsampling_factor
        self.upsample1d = Upsample1d(upsampling_factor)
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)

    def forward(self, A):
        """A (N, in, W) -> Z (N, out, k*(W-1)+1 - K + 1): upsample, then stride-1 conv."""
        raise NotImplementedError("ConvTranspose1d.forward: upsample1d.forward, then conv1d_stride1.forward")

    def backward(self, dLdZ):
        """dLdZ (N, out, k*(W-1)+1 - K + 1) -> dLdA (N, in, W): the reverse."""
        raise NotImplementedError("ConvTranspose1d.backward: conv1d_stride1.backward, then upsample1d.backward")


class ConvTranspose2d:
    """Upsample2d(k) followed by Conv2d_stride1. Parameters live in ``conv2d_stride1``."""

    def __init__(self, in_channels, out_channels, kernel_size, upsampling_factor,
                 weight_init_fn=None, bias_init_fn=None):
        self.upsampling_factor = upsampling_factor
        self.upsample2d = Upsample2d(upsampling_factor)
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)

    def forward(self, A):
        """A (N, in, H, W) -> Z (N, out, k*(H-1)+1 - K + 1, k*(W-1)+1 - K + 1): upsample, then stride-1 conv."""
        raise NotImplementedError("ConvTranspose2d.forward: upsample2d.forward, then conv2d_stride1.forward")

    def backward(self, dLdZ):
        """dLdZ (N, out, k*(H-1)+1 - K + 1, k*(W-1)+1 - K + 1) -> dLdA (N, in, H, W): the reverse."""
        raise NotImplementedError("ConvTranspose2d.backward: conv2d_stride1.backward, then upsample2d.backward")
