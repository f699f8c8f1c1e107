"""Residual block built from Conv2d + BatchNorm2d blocks."""

from .activation import Identity, ReLU
from .batchnorm2d import BatchNorm2d
from .conv2d import Conv2d
from .tensor import add


class ConvBlock:
    """Conv2d followed by BatchNorm2d (training mode).

    forward:  A (N, in, H, W) -> (N, out, floor((H+2p-K)/s)+1, floor((W+2p-K)/s)+1).
    backward: grad (same shape as the output) -> dLdA (N, in, H, W).
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding):
        self.layers = [Conv2d(in_channels, out_channels, kernel_size, stride, padding),
                       BatchNorm2d(out_channels)]

    def forward(self, A):
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def backward(self, grad):
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
              d = the final ReLU's backward of grad.
    """

    def __init__(self, in_channels, out_channels, filter_size, stride=3, padding=1):
        self.convolution_layers = [
            ConvBlock(in_channels, out_channels, filter_size, stride, padding),
            ReLU(),
            ConvBlock(out_channels, out_channels, 1, 1, 0),
        ]
        self.final_activation = ReLU()
        if stride != 1 or in_channels != out_channels:
            self.residual_connection = ConvBlock(in_channels, out_channels, filter_size,
                                                 stride, padding)
        else:
            self.residual_connection = Identity()

    def forward(self, A):
        Z = A
        for layer in self.convolution_layers:
            Z = layer.forward(Z)
        return self.final_activation.forward(add(Z, self.residual_connection.forward(A)))

    def backward(self, grad):
        d = self.final_activation.backward(grad)
        d_main = d
        for layer in reversed(self.convolution_layers):
            d_main = layer.backward(d_main)
        return add(d_main, self.residual_connection.backward(d))
