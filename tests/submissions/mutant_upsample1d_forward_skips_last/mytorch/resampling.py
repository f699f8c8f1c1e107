"""Up- and down-sampling along the last axis (1d) or the last two axes (2d)."""


class Upsample1d:
    """Insert k-1 zeros between neighbouring samples of the last axis.

    forward:  A (N, C, W) -> Z (N, C, k*(W-1)+1), Z[..., k*i] = A[..., i], zeros elsewhere.
    backward: dLdZ (N, C, k*(W-1)+1) -> dLdA (N, C, W) = dLdZ[..., ::k].
    """

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        k = self.upsampling_factor
        Z = []
        for a_n in A:
            z_n = []
            for row in a_n:
                out = [0.0] * (k * (len(row) - 1) + 1)
                for i in range(len(row) - 1):  # MUTANT: the last sample is never copied
                    out[k * i] = row[i]
                z_n.append(out)
            Z.append(z_n)
        return Z

    def backward(self, dLdZ):
        k = self.upsampling_factor
        return [[row[::k] for row in d_n] for d_n in dLdZ]


class Downsample1d:
    """Keep every k-th sample of the last axis.

    forward:  A (N, C, W) -> Z (N, C, ceil(W/k)), Z = A[..., ::k]; remembers W.
    backward: dLdZ (N, C, ceil(W/k)) -> dLdA (N, C, W), zeros with dLdA[..., ::k] = dLdZ.
    """

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        k = self.downsampling_factor
        self.input_width = len(A[0][0])
        return [[row[::k] for row in a_n] for a_n in A]

    def backward(self, dLdZ):
        k = self.downsampling_factor
        dLdA = []
        for d_n in dLdZ:
            g_n = []
            for row in d_n:
                out = [0.0] * self.input_width
                out[::k] = row
                g_n.append(out)
            dLdA.append(g_n)
        return dLdA


class Upsample2d:
    """Upsample1d applied to both spatial axes.

    forward:  A (N, C, H, W) -> Z (N, C, k*(H-1)+1, k*(W-1)+1), Z[..., k*i, k*j] = A[..., i, j].
    backward: dLdZ -> dLdA (N, C, H, W) = dLdZ[..., ::k, ::k].
    """

    def __init__(self, upsampling_factor):
        self.upsampling_factor = upsampling_factor

    def forward(self, A):
        k = self.upsampling_factor
        Z = []
        for a_n in A:
            z_n = []
            for plane in a_n:
                height, width = k * (len(plane) - 1) + 1, k * (len(plane[0]) - 1) + 1
                out = [[0.0] * width for _ in range(height)]
                for i, row in enumerate(plane):
                    out[k * i][::k] = row
                z_n.append(out)
            Z.append(z_n)
        return Z

    def backward(self, dLdZ):
        k = self.upsampling_factor
        return [[[row[::k] for row in plane[::k]] for plane in d_n] for d_n in dLdZ]


class Downsample2d:
    """Downsample1d applied to both spatial axes.

    forward:  A (N, C, H, W) -> Z (N, C, ceil(H/k), ceil(W/k)), Z = A[..., ::k, ::k]; remembers (H, W).
    backward: dLdZ -> dLdA (N, C, H, W), zeros with dLdA[..., ::k, ::k] = dLdZ.
    """

    def __init__(self, downsampling_factor):
        self.downsampling_factor = downsampling_factor

    def forward(self, A):
        k = self.downsampling_factor
        self.input_height, self.input_width = len(A[0][0]), len(A[0][0][0])
        return [[[row[::k] for row in plane[::k]] for plane in a_n] for a_n in A]

    def backward(self, dLdZ):
        k = self.downsampling_factor
        dLdA = []
        for d_n in dLdZ:
            g_n = []
            for plane in d_n:
                out = [[0.0] * self.input_width for _ in range(self.input_height)]
                for i, row in enumerate(plane):
                    out[k * i][::k] = row
                g_n.append(out)
            dLdA.append(g_n)
        return dLdA
