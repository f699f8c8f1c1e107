"""Up- and down-sampling along the last axis (1d) or the last two axes (2d).

Tensors are nested lists of floats: (N, C, W) for 1d, (N, C, H, W) for 2d.
"""

from ._nested import Plane, Shape4, Tensor, dilated_length, every_kth, per_channel, shape_of, spread, spread2d


class Upsample1d:
    """Insert k-1 zeros between neighbouring samples of the last axis."""

    def __init__(self, upsampling_factor: int) -> None:
        self.upsampling_factor = upsampling_factor

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, W) -> (N, C, k*(W-1)+1) with Z[..., k*i] = A[..., i]."""
        k = self.upsampling_factor
        return per_channel(lambda row: spread(row, k, dilated_length(len(row), k)), A)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, C, k*(W-1)+1) -> (N, C, W) = dLdZ[..., ::k]."""
        return per_channel(lambda row: every_kth(row, self.upsampling_factor), dLdZ)


class Downsample1d:
    """Keep every k-th sample of the last axis."""

    def __init__(self, downsampling_factor: int) -> None:
        self.downsampling_factor = downsampling_factor
        self.input_width = 0  # of the last forward input

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, W) -> (N, C, ceil(W/k)) = A[..., ::k]; remembers W."""
        self.input_width = len(A[0][0])
        return per_channel(lambda row: every_kth(row, self.downsampling_factor), A)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, C, ceil(W/k)) -> (N, C, W): zeros, with dLdA[..., ::k] = dLdZ."""
        return per_channel(lambda row: spread(row, self.downsampling_factor, self.input_width), dLdZ)


class Upsample2d:
    """Upsample1d applied to both spatial axes."""

    def __init__(self, upsampling_factor: int) -> None:
        self.upsampling_factor = upsampling_factor

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, k*(H-1)+1, k*(W-1)+1) with Z[..., k*i, k*j] = A[..., i, j]."""
        k = self.upsampling_factor

        def upsample(plane: Plane) -> Plane:
            return spread2d(plane, k, dilated_length(len(plane), k), dilated_length(len(plane[0]), k))

        return per_channel(upsample, A)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, C, k*(H-1)+1, k*(W-1)+1) -> (N, C, H, W) = dLdZ[..., ::k, ::k]."""
        k = self.upsampling_factor
        return per_channel(lambda plane: [every_kth(row, k) for row in every_kth(plane, k)], dLdZ)


class Downsample2d:
    """Downsample1d applied to both spatial axes."""

    def __init__(self, downsampling_factor: int) -> None:
        self.downsampling_factor = downsampling_factor
        self.input_size: tuple[int, int] = (0, 0)  # (H, W) of the last forward input

    def forward(self, A: Tensor) -> Tensor:
        """(N, C, H, W) -> (N, C, ceil(H/k), ceil(W/k)) = A[..., ::k, ::k]; remembers (H, W)."""
        k = self.downsampling_factor
        shape = Shape4(*shape_of(A))
        self.input_size = (shape.H, shape.W)
        return per_channel(lambda plane: [every_kth(row, k) for row in every_kth(plane, k)], A)

    def backward(self, dLdZ: Tensor) -> Tensor:
        """(N, C, ceil(H/k), ceil(W/k)) -> (N, C, H, W): zeros, with dLdA[..., ::k, ::k] = dLdZ."""
        return per_channel(lambda plane: spread2d(plane, self.downsampling_factor, *self.input_size), dLdZ)
