"""Flatten every axis but the batch axis."""


class Flatten:
    """Row-major (C order) flatten of every axis but the first."""

    def forward(self, A):
        """A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W). Remember A's shape."""
        raise NotImplementedError("Flatten.forward: one row-major flat list per sample; remember the input shape")

    def backward(self, dLdZ):
        """dLdZ (N, prod) -> dLdA with the forward input's shape."""
        raise NotImplementedError("Flatten.backward: reshape each row back to the stored input shape")
