"""Max and mean pooling over square K x K windows (tensors (N, C, H, W) as nested lists)."""

from .resampling import Downsample2d


class MaxPool2d_stride1:
    """Stride-1 max pooling with a K x K window."""

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        """A (N, C, H, W) -> Z (N, C, H-K+1, W-K+1), Z[n][c][y][x] = max of A[n][c][y:y+K][x:x+K].

        Ties: the FIRST maximum in row-major window order wins. Remember each argmax for backward.
        """
        raise NotImplementedError(
            "MaxPool2d_stride1.forward: max of every KxK window; remember the first argmax (row-major)")

    def backward(self, dLdZ):
        """dLdZ (N, C, H-K+1, W-K+1) -> dLdA (N, C, H, W).

        Each dLdZ[n][c][y][x] is ADDED at its window's argmax (accumulate where windows overlap).
        """
        raise NotImplementedError(
            "MaxPool2d_stride1.backward: add each dLdZ entry at its window's argmax in zeros of A's shape")


class MeanPool2d_stride1:
    """Stride-1 mean pooling with a K x K window."""

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        """A (N, C, H, W) -> Z (N, C, H-K+1, W-K+1), the mean of each K x K window."""
        raise NotImplementedError("MeanPool2d_stride1.forward: mean of every KxK window")

    def backward(self, dLdZ):
        """dLdZ (N, C, H-K+1, W-K+1) -> dLdA (N, C, H, W): dLdZ / K^2 spread over each window, accumulated."""
        raise NotImplementedError("MeanPool2d_stride1.backward: add dLdZ[n][c][y][x] / K^2 to every cell of its window")


class MaxPool2d:
    """Strided max pooling = MaxPool2d_stride1 -> Downsample2d(stride)."""

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride
        self.maxpool2d_stride1 = MaxPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """A (N, C, H, W) -> Z (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s))."""
        raise NotImplementedError("MaxPool2d.forward: maxpool2d_stride1.forward, then downsample2d.forward")

    def backward(self, dLdZ):
        """dLdZ (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s)) -> dLdA (N, C, H, W)."""
        raise NotImplementedError("MaxPool2d.backward: downsample2d.backward, then maxpool2d_stride1.backward")


class MeanPool2d:
    """Strided mean pooling = MeanPool2d_stride1 -> Downsample2d(stride)."""

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        """A (N, C, H, W) -> Z (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s))."""
        raise NotImplementedError("MeanPool2d.forward: meanpool2d_stride1.forward, then downsample2d.forward")

    def backward(self, dLdZ):
        """dLdZ (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s)) -> dLdA (N, C, H, W)."""
        raise NotImplementedError("MeanPool2d.backward: downsample2d.backward, then meanpool2d_stride1.backward")
