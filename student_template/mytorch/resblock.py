"""Residual block built from Conv2d + BatchNorm2d blocks."""

from .activation import Identity, ReLU
from .batchnorm2d import BatchNorm2d
from .conv2d import Conv2d


class ConvBlock:
    """Conv2d followed by BatchNorm2d (training mode)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        self.layers = [Conv2d(in_channels, out_channels, kernel_size, stride, padding),
                       BatchNorm2d(out_channels)]

    def forward(self, A):
        """A (N, in, H, W) -> (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1): each layer in order."""
        raise NotImplementedError("ConvBlock.forward: run A through self.layers in order")

    def backward(self, grad):
        """grad (the output's shape) -> dLdA (N, in, H, W): each layer in reverse order."""
        raise NotImplementedError("ConvBlock.backward: run grad through self.layers in reverse order")


class ResBlock:
    """ReLU(main(A) + residual(A)), main = convolution_layers, residual = residual_connection."""

    def __init__(self, in_channels, out_channels, filter_size, stride=3, padding=1):
        self.convolution_layers = [
            ConvBlock(in_channels, out_channels, filter_size, stride, padding),
            ReLU(),
            ConvBlock(out_channels, out_channels, 1, 1, 0),
        ]
        self.final_activation = ReLU()
        if stride != 1 or in_channels != out_channels or filter_size != 1 or padding != 0:
            self.residual_connection = ConvBlock(in_channels, out_channels, filter_size,
                                                 stride, padding)
        else:
            self.residual_connection = Identity()

    def forward(self, A):
        """A (N, in, H, W) -> (N, out, floor((H+2p-F)/s)+1, floor((W+2p-F)/s)+1).

        ReLU(main(A) + residual(A)) with main = self.convolution_layers in order.
        """
        raise NotImplementedError("ResBlock.forward: final_activation(main(A) + residual_connection(A))")

    def backward(self, grad):
        """grad (the output's shape) -> dLdA (N, in, H, W).

        d = final_activation.backward(grad); dLdA = main.backward(d) + residual_connection.backward(d).
        """
        raise NotImplementedError("ResBlock.backward: through the final ReLU, then sum the main and residual gradients")
