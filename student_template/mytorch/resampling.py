"""Up- and down-sampling along the last axis (1d) or the last two axes (2d).

Tensors are nested lists of floats: (N, C, W) for 1d, (N, C, H, W) for 2d.
"""


class Upsample1d:
    """Insert k-1 zeros between neighbouring samples of the last axis."""

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        """A (N, C, W) -> Z (N, C, k*(W-1)+1) with Z[..., k*i] = A[..., i] and zeros elsewhere."""
        raise NotImplementedError("Upsample1d.forward: build rows of k*(W-1)+1 zeros and put A[..., i] at index k*i")

    def backward(self, dLdZ):
        """dLdZ (N, C, k*(W-1)+1) -> dLdA (N, C, W) = dLdZ[..., ::k]."""
        raise NotImplementedError("Upsample1d.backward: keep every k-th gradient entry (dLdZ[..., ::k])")


class Downsample1d:
    """Keep every k-th sample of the last axis."""

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        """A (N, C, W) -> Z (N, C, ceil(W/k)) = A[..., ::k]. Remember W for backward."""
        raise NotImplementedError("Downsample1d.forward: keep A[..., ::k] and remember the input width W")

    def backward(self, dLdZ):
        """dLdZ (N, C, ceil(W/k)) -> dLdA (N, C, W): zeros with dLdA[..., ::k] = dLdZ."""
        raise NotImplementedError("Downsample1d.backward: zeros of the stored width W, then dLdA[..., ::k] = dLdZ")


class Upsample2d:
    """Upsample1d applied to both spatial axes."""

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        """A (N, C, H, W) -> Z (N, C, k*(H-1)+1, k*(W-1)+1) with Z[..., k*i, k*j] = A[..., i, j]."""
        raise NotImplementedError("Upsample2d.forward: zeros of k*(H-1)+1 by k*(W-1)+1, A[..., i, j] at [k*i, k*j]")

    def backward(self, dLdZ):
        """dLdZ (N, C, k*(H-1)+1, k*(W-1)+1) -> dLdA (N, C, H, W) = dLdZ[..., ::k, ::k]."""
        raise NotImplementedError("Upsample2d.backward: keep every k-th row and every k-th column of dLdZ")


class Downsample2d:
    """Downsample1d applied to both spatial axes."""

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        """A (N, C, H, W) -> Z (N, C, ceil(H/k), ceil(W/k)) = A[..., ::k, ::k]. Remember (H, W)."""
        raise NotImplementedError("Downsample2d.forward: keep A[..., ::k, ::k] and remember the input (H, W)")

    def backward(self, dLdZ):
        """dLdZ (N, C, ceil(H/k), ceil(W/k)) -> dLdA (N, C, H, W): zeros with dLdA[..., ::k, ::k] = dLdZ."""
        raise NotImplementedError("Downsample2d.backward: zeros of the stored (H, W), then dLdA[..., ::k, ::k] = dLdZ")
