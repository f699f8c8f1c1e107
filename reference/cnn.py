"""A 1D CNN classifier: [Conv1d -> activation] * L -> Flatten -> Linear -> (loss)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._types import Array, Criterion, InitFn, Layer
from .conv1d import Conv1d, Conv1d_stride1
from .flatten import Flatten
from .linear import Linear


class CNN:
    """Stack of Conv1d layers (padding 0) with activations, then Flatten and Linear.

    forward:  A (N, num_input_channels, input_width) -> Z (N, num_linear_neurons).
              Conv i output width: W_{i+1} = floor((W_i - kernel_sizes[i]) / strides[i]) + 1,
              W_0 = input_width; the linear layer has num_channels[-1] * W_L inputs.
    backward(labels): self.loss = criterion.forward(Z, labels); returns dLdA with the
              input's shape and stores every layer's dLdW / dLdb.
    step(): W -= lr*dLdW, b -= lr*dLdb for every conv and the linear layer.
    zero_grads(): every dLdW, dLdb set to zeros.
    """

    def __init__(self, input_width: int, num_input_channels: int, num_channels: Sequence[int],
                 kernel_sizes: Sequence[int], strides: Sequence[int], num_linear_neurons: int,
                 activations: Sequence[Layer], conv_weight_init_fn: InitFn | None, bias_init_fn: InitFn | None,
                 linear_weight_init_fn: InitFn | None, criterion: Criterion, lr: float) -> None:
        self.nlayers = len(num_channels)
        self.activations = activations
        self.criterion = criterion
        self.lr = lr
        self.convolutional_layers: list[Conv1d] = []
        in_channels, width = num_input_channels, input_width
        for out_channels, K, s in zip(num_channels, kernel_sizes, strides):
            self.convolutional_layers.append(
                Conv1d(in_channels, out_channels, K, s,
                       weight_init_fn=conv_weight_init_fn, bias_init_fn=bias_init_fn))
            in_channels, width = out_channels, (width - K) // s + 1
        self.flatten = Flatten()
        self.linear_layer = Linear(num_channels[-1] * width, num_linear_neurons)
        if linear_weight_init_fn is not None:
            self.linear_layer.W = np.asarray(
                linear_weight_init_fn(num_linear_neurons, num_channels[-1] * width),
                dtype=np.float64)
        if bias_init_fn is not None:
            self.linear_layer.b = np.asarray(bias_init_fn(num_linear_neurons), dtype=np.float64)

    def forward(self, A: Array) -> Array:
        Z = A
        for conv, act in zip(self.convolutional_layers, self.activations):
            Z = act.forward(conv.forward(Z))
        self.Z = self.linear_layer.forward(self.flatten.forward(Z))
        return self.Z

    def backward(self, labels: Array) -> Array:
        self.loss = self.criterion.forward(self.Z, labels)
        grad = self.flatten.backward(self.linear_layer.backward(self.criterion.backward()))
        for conv, act in zip(reversed(self.convolutional_layers), reversed(self.activations)):
            grad = conv.backward(act.backward(grad))
        return grad

    def _param_layers(self) -> list[Conv1d_stride1 | Linear]:
        return [c.conv1d_stride1 for c in self.convolutional_layers] + [self.linear_layer]

    def step(self) -> None:
        for layer in self._param_layers():
            layer.W -= self.lr * layer.dLdW
            layer.b -= self.lr * layer.dLdb

    def zero_grads(self) -> None:
        for layer in self._param_layers():
            layer.dLdW = np.zeros(layer.W.shape)
            layer.dLdb = np.zeros(layer.b.shape)
