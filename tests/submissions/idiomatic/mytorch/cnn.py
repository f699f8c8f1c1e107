"""A 1D CNN classifier: [Conv1d -> activation] * L -> Flatten -> Linear -> (loss)."""

from collections.abc import Iterator, Sequence
from itertools import accumulate, chain
from operator import attrgetter
from typing import Any

from ._debug import log, traced
from ._nested import InitFn, Layer, Tensor, as_floats, shape_of, zeros, zip_nested
from .conv1d import Conv1d
from .flatten import Flatten
from .linear import Linear


def conv_output_width(width: int, kernel_and_stride: tuple[int, int]) -> int:
    kernel, stride = kernel_and_stride
    return (width - kernel) // stride + 1


class CNN:
    """Stack of Conv1d layers (padding 0) with activations, then Flatten and Linear."""

    def __init__(self, input_width: int, num_input_channels: int, num_channels: Sequence[int],
                 kernel_sizes: Sequence[int], strides: Sequence[int], num_linear_neurons: int,
                 activations: Sequence[Layer], conv_weight_init_fn: InitFn | None, bias_init_fn: InitFn | None,
                 linear_weight_init_fn: InitFn | None, criterion: Any, lr: float) -> None:
        self.nlayers = len(num_channels)
        self.activations = list(activations)
        self.criterion = criterion
        self.lr = lr
        in_channels = [num_input_channels, *num_channels[:-1]]
        self.convolutional_layers = [
            Conv1d(c_in, c_out, K, s, weight_init_fn=conv_weight_init_fn, bias_init_fn=bias_init_fn)
            for c_in, c_out, K, s in zip(in_channels, num_channels, kernel_sizes, strides, strict=True)]
        *_, final_width = accumulate(zip(kernel_sizes, strides, strict=True), conv_output_width,
                                     initial=input_width)
        self.flatten = Flatten()
        in_features = num_channels[-1] * final_width
        self.linear_layer = Linear(in_features, num_linear_neurons)
        if linear_weight_init_fn is not None:
            self.linear_layer.W = as_floats(linear_weight_init_fn(num_linear_neurons, in_features))
        if bias_init_fn is not None:
            self.linear_layer.b = as_floats(bias_init_fn(num_linear_neurons))

    def parameter_layers(self) -> Iterator[Any]:
        """Every layer that owns W, b, dLdW, dLdb: the convs' conv1d_stride1, then the linear layer."""
        return chain(map(attrgetter("conv1d_stride1"), self.convolutional_layers), [self.linear_layer])

    @traced
    def forward(self, A: Tensor) -> Tensor:
        """(N, num_input_channels, input_width) -> Z (N, num_linear_neurons), stored as self.Z."""
        for conv, activation in zip(self.convolutional_layers, self.activations, strict=True):
            A = activation.forward(conv.forward(A))
        self.Z = self.linear_layer.forward(self.flatten.forward(A))
        return self.Z

    @traced
    def backward(self, labels: Tensor) -> Tensor:
        """labels (N, num_linear_neurons) one-hot -> dLdA (N, num_input_channels, input_width); sets self.loss."""
        self.loss = self.criterion.forward(self.Z, labels)
        log.debug("loss %g", self.loss)
        grad = self.flatten.backward(self.linear_layer.backward(self.criterion.backward()))
        for conv, activation in reversed(list(zip(self.convolutional_layers, self.activations, strict=True))):
            grad = conv.backward(activation.backward(grad))
        return grad

    def step(self) -> None:
        """W -= lr * dLdW and b -= lr * dLdb for every parameter layer."""
        def descend(w: float, g: float) -> float:
            return w - self.lr * g

        for layer in self.parameter_layers():
            layer.W = zip_nested(descend, layer.W, layer.dLdW)
            layer.b = zip_nested(descend, layer.b, layer.dLdb)

    def zero_grads(self) -> None:
        """Every dLdW and dLdb back to zeros of its parameter's shape."""
        for layer in self.parameter_layers():
            layer.dLdW = zeros(*shape_of(layer.W))
            layer.dLdb = zeros(*shape_of(layer.b))
