"""Transposed convolutions implemented as upsample -> stride-1 convolution."""

from ._nested import InitFn, Tensor
from .conv1d import Conv1d_stride1
from .conv2d import Conv2d_stride1
from .resampling import Upsample1d, Upsample2d


class ConvTranspose1d:
    """Upsample1d(k) followed by Conv1d_stride1. Parameters live in ``conv1d_stride1``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, upsampling_factor: int,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.upsampling_factor = upsampling_factor
        self.upsample1d = Upsample1d(upsampling_factor)
        self.conv1d_stride1 = Conv1d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)

    def forward(self, A: Tensor) -> Tensor:
        """(N, in, W) -> (N, out, k*(W-1)+1 - K + 1)."""
        return self.conv1d_stride1.forward(self.upsample1d.forward(A))

    def backward(self, dLdZ: Tensor) -> Tensor:
        """-> (N, in, W)."""
        return self.upsample1d.backward(self.conv1d_stride1.backward(dLdZ))


class ConvTranspose2d:
    """Upsample2d(k) followed by Conv2d_stride1. Parameters live in ``conv2d_stride1``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, upsampling_factor: int,
                 weight_init_fn: InitFn | None = None, bias_init_fn: InitFn | None = None) -> None:
        self.upsampling_factor = upsampling_factor
        self.upsample2d = Upsample2d(upsampling_factor)
        self.conv2d_stride1 = Conv2d_stride1(in_channels, out_channels, kernel_size,
                                             weight_init_fn, bias_init_fn)

    def forward(self, A: Tensor) -> Tensor:
        """(N, in, H, W) -> (N, out, k*(H-1)+1 - K + 1, k*(W-1)+1 - K + 1)."""
        return self.conv2d_stride1.forward(self.upsample2d.forward(A))

    def backward(self, dLdZ: Tensor) -> Tensor:
        """-> (N, in, H, W)."""
        return self.upsample2d.backward(self.conv2d_stride1.backward(dLdZ))
