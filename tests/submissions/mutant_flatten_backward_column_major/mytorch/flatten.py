"""Flatten every axis but the batch axis."""

from .tensor import flatten, reshape, shape


class Flatten:
    """Row-major (C order) flatten of every axis but the first.

    forward:  A (N, C, W) -> Z (N, C*W), or A (N, C, H, W) -> Z (N, C*H*W).
    backward: dLdZ (N, prod) -> dLdA with the forward input shape.
    """

    def forward(self, A):
        self.input_shape = shape(A)
        return [flatten(a_n) for a_n in A]

    def backward(self, dLdZ):
        # MUTANT: un-flattened column-major (first axis fastest), not in the forward's row-major order
        return [_reverse_axes(reshape(row, self.input_shape[1:][::-1])) for row in dLdZ]


def _reverse_axes(x):
    """Transpose a nested list, reversing the order of all its axes."""
    if not isinstance(x[0], list):
        return x
    parts = [_reverse_axes(sub) for sub in x]
    return _stack_last(parts)


def _stack_last(parts):
    """[p_0, p_1, ...] (same shapes) -> tensor t with t[...][i] = p_i[...]."""
    if not isinstance(parts[0], list):
        return list(parts)
    return [_stack_last([p[j] for p in parts]) for j in range(len(parts[0]))]
