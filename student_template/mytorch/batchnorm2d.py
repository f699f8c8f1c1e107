"""Batch normalisation over (N, H, W), per channel."""

from .tensor import full


class BatchNorm2d:
    """Per-channel batch norm for (N, C, H, W) inputs.

    BW (ones), Bb (zeros), running_M (zeros), running_V (ones), dLdBW, dLdBb: all (1, C, 1, 1),
    e.g. BW = [[[[1.0]], [[1.0]], ...]]; read channel c as BW[0][c][0][0].
    """

    def __init__(self, num_features, alpha=0.9):
        self.num_features = num_features
        self.alpha = alpha
        self.eps = 1e-8
        shape = (1, num_features, 1, 1)
        self.BW = full(shape, 1.0)
        self.Bb = full(shape, 0.0)
        self.dLdBW = full(shape, 0.0)
        self.dLdBb = full(shape, 0.0)
        self.running_M = full(shape, 0.0)
        self.running_V = full(shape, 1.0)

    def forward(self, Z, eval=False):
        """Z (N, C, H, W) -> BZ (N, C, H, W) = BW*NZ + Bb.

        Training: per channel mean M and BIASED variance V over (N, H, W);
            NZ = (Z - M)/sqrt(V + eps); running_M = alpha*running_M + (1-alpha)*M, same for running_V.
        eval=True: NZ = (Z - running_M)/sqrt(running_V + eps); running stats unchanged.
        """
        raise NotImplementedError(
            "BatchNorm2d.forward: per-channel mean/biased variance, normalise, scale/shift, update running stats")

    def backward(self, dLdBZ):
        """dLdBZ (N, C, H, W) -> dLdZ (N, C, H, W); sets dLdBW, dLdBb (1, C, 1, 1).

        dLdBW = sum(dLdBZ*NZ), dLdBb = sum(dLdBZ) over (N, H, W); with dNZ = dLdBZ*BW and
        means over (N, H, W): dLdZ = (dNZ - mean(dNZ) - NZ*mean(dNZ*NZ)) / sqrt(V + eps).
        """
        raise NotImplementedError(
            "BatchNorm2d.backward: dLdBW, dLdBb, then dLdZ = (dNZ - mean(dNZ) - NZ*mean(dNZ*NZ)) / sqrt(V+eps)")
