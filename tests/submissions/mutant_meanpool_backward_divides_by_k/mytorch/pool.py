"""Max and mean pooling over square K x K windows."""

from .resampling import Downsample2d
from .tensor import shape, zeros


class MaxPool2d_stride1:
    """Stride-1 max pooling.

    forward:  A (N, C, H, W) -> Z (N, C, H-K+1, W-K+1), Z[n,c,y,x] = max of A[n,c,y:y+K,x:x+K].
              Ties: the first maximum in row-major window order wins.
    backward: dLdZ -> dLdA (N, C, H, W); each dLdZ[n,c,y,x] is added at its window's argmax
              (accumulated where windows overlap).
    """

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        K = self.kernel
        self.input_shape = shape(A)
        self.argmax = []          # (N, C, H-K+1, W-K+1) of (row, col) positions in A
        Z = []
        for a_n in A:
            z_n, arg_n = [], []
            for plane in a_n:
                out_h, out_w = len(plane) - K + 1, len(plane[0]) - K + 1
                z_plane, arg_plane = [], []
                for y in range(out_h):
                    rows = plane[y:y + K]
                    z_row, arg_row = [], []
                    for x in range(out_w):
                        window = [v for row in rows for v in row[x:x + K]]
                        best = max(window)
                        i, j = divmod(window.index(best), K)     # first maximum, row-major
                        z_row.append(float(best))
                        arg_row.append((y + i, x + j))
                    z_plane.append(z_row)
                    arg_plane.append(arg_row)
                z_n.append(z_plane)
                arg_n.append(arg_plane)
            Z.append(z_n)
            self.argmax.append(arg_n)
        return Z

    def backward(self, dLdZ):
        dLdA = zeros(self.input_shape)
        for g_n, d_n, arg_n in zip(dLdA, dLdZ, self.argmax):
            for g_plane, d_plane, arg_plane in zip(g_n, d_n, arg_n):
                for d_row, arg_row in zip(d_plane, arg_plane):
                    for d, (r, s) in zip(d_row, arg_row):
                        g_plane[r][s] += d
        return dLdA


class MeanPool2d_stride1:
    """Stride-1 mean pooling.

    forward:  A (N, C, H, W) -> Z (N, C, H-K+1, W-K+1), the mean of each K x K window.
    backward: dLdZ -> dLdA (N, C, H, W); dLdZ / K^2 spread over each window, accumulated.
    """

    def __init__(self, kernel):
        self.kernel = kernel

    def forward(self, A):
        K = self.kernel
        area = K * K
        self.input_shape = shape(A)
        Z = []
        for a_n in A:
            z_n = []
            for plane in a_n:
                out_h, out_w = len(plane) - K + 1, len(plane[0]) - K + 1
                z_n.append([[sum(v for row in plane[y:y + K] for v in row[x:x + K]) / area
                             for x in range(out_w)] for y in range(out_h)])
            Z.append(z_n)
        return Z

    def backward(self, dLdZ):
        K = self.kernel
        area = K * K
        dLdA = zeros(self.input_shape)
        for g_n, d_n in zip(dLdA, dLdZ):
            for g_plane, d_plane in zip(g_n, d_n):
                for y, d_row in enumerate(d_plane):
                    share = [d / K for d in d_row]  # MUTANT: divides by K, not K*K
                    width = len(share)
                    for g_row in g_plane[y:y + K]:
                        for j in range(K):
                            g_row[j:j + width] = [g + s for g, s in zip(g_row[j:j + width], share)]
        return dLdA


class MaxPool2d:
    """Strided max pooling = MaxPool2d_stride1 -> Downsample2d(stride).

    forward:  A (N, C, H, W) -> Z (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s)).
    backward: dLdZ -> dLdA (N, C, H, W).
    """

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride
        self.maxpool2d_stride1 = MaxPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        return self.downsample2d.forward(self.maxpool2d_stride1.forward(A))

    def backward(self, dLdZ):
        return self.maxpool2d_stride1.backward(self.downsample2d.backward(dLdZ))


class MeanPool2d:
    """Strided mean pooling = MeanPool2d_stride1 -> Downsample2d(stride).

    forward:  A (N, C, H, W) -> Z (N, C, ceil((H-K+1)/s), ceil((W-K+1)/s)).
    backward: dLdZ -> dLdA (N, C, H, W).
    """

    def __init__(self, kernel, stride):
        self.kernel = kernel
        self.stride = stride
        self.meanpool2d_stride1 = MeanPool2d_stride1(kernel)
        self.downsample2d = Downsample2d(stride)

    def forward(self, A):
        return self.downsample2d.forward(self.meanpool2d_stride1.forward(A))

    def backward(self, dLdZ):
        return self.meanpool2d_stride1.backward(self.downsample2d.backward(dLdZ))
