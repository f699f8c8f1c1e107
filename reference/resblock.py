"""Residual block built from Conv2d + BatchNorm2d blocks."""
from __future__ import annotations

from ._types import Array, Layer
from .activation import Identity, ReLU
from .batchnorm2d import BatchNorm2d
from .conv2d import Conv2d


class ConvBlock:
    """Conv2d followed by BatchNorm2d (training mode).

    forward:  A (N, in, H, W) -> (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1).
    backward: grad -> dLdA (N, in, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int) -> None:
        self.layers: list[Layer] = [Conv2d(in_channels, out_channels, kernel_size, stride, padding),
                                    BatchNorm2d(out_channels)]

    def forward(self, A: Array) -> Array:
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def backward(self, grad: Array) -> Array:
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad


class ResBlock:
    """ReLU(main(A) + residual(A)).

    main = [ConvBlock(in, out, filter_size, stride, padding), ReLU(), ConvBlock(out, out, 1, 1, 0)];
    residual = ConvBlock(in, out, filter_size, stride, padding), or Identity() when
    stride == 1, in == out, filter_size == 1 and padding == 0.
    forward:  A (N, in, H, W) -> (N, out, floor((H+2p-F)/s)+1, floor((W+2p-F)/s)+1).
    backward: grad -> dLdA (N, in, H, W) = main.backward(d) + residual.backward(d),
              d = final ReLU backward of grad.
    """

    def __init__(self, in_channels: int, out_channels: int, filter_size: int, stride: int = 3,
                 padding: int = 1) -> None:
        self.convolution_layers: list[Layer] = [
            ConvBlock(in_channels, out_channels, filter_size, stride, padding),
            ReLU(),
            ConvBlock(out_channels, out_channels, 1, 1, 0),
        ]
        self.final_activation = ReLU()
        if stride != 1 or in_channels != out_channels or filter_size != 1 or padding != 0:
            self.residual_connection: ConvBlock | Identity = ConvBlock(in_channels, out_channels, filter_size,
                                                                     stride, padding)
        else:
            self.residual_connection = Identity()

    def forward(self, A: Array) -> Array:
        Z = A
        for layer in self.convolution_layers:
            Z = layer.forward(Z)
        return self.final_activation.forward(Z + self.residual_connection.forward(A))

    def backward(self, grad: Array) -> Array:
        d = self.final_activation.backward(grad)
        dmain = d
        for layer in reversed(self.convolution_layers):
            dmain = layer.backward(dmain)
        return dmain + self.residual_connection.backward(d)
