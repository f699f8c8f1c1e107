"""Residual block built from Conv2d + BatchNorm2d blocks."""

from dataclasses import dataclass, field

from ._nested import Layer, Tensor, add, backward_through, forward_through
from .activation import Identity, ReLU
from .batchnorm2d import BatchNorm2d
from .conv2d import Conv2d


@dataclass(eq=False)
class ConvBlock:
    """Conv2d followed by BatchNorm2d (training mode)."""

    in_channels: int
    out_channels: int
    kernel_size: int
    stride: int
    padding: int
    layers: list[Layer] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.layers = [Conv2d(self.in_channels, self.out_channels, self.kernel_size, self.stride, self.padding),
                       BatchNorm2d(self.out_channels)]

    def forward(self, A: Tensor) -> Tensor:
        return forward_through(self.layers, A)

    def backward(self, grad: Tensor) -> Tensor:
        return backward_through(self.layers, grad)


@dataclass(eq=False)
class ResBlock:
    """ReLU(main(A) + residual(A)), main = convolution_layers, residual = residual_connection."""

    in_channels: int
    out_channels: int
    filter_size: int
    stride: int = 3
    padding: int = 1
    convolution_layers: list[Layer] = field(init=False, repr=False)
    final_activation: ReLU = field(default_factory=ReLU, init=False, repr=False)
    residual_connection: Layer = field(init=False, repr=False)

    @property
    def shape_preserving(self) -> bool:
        """The input already has the output's shape: the skip path can be the identity."""
        return (self.stride, self.filter_size, self.padding) == (1, 1, 0) and self.in_channels == self.out_channels

    def __post_init__(self) -> None:
        self.convolution_layers = [
            ConvBlock(self.in_channels, self.out_channels, self.filter_size, self.stride, self.padding),
            ReLU(),
            ConvBlock(self.out_channels, self.out_channels, 1, 1, 0),
        ]
        self.residual_connection = (Identity() if self.shape_preserving else
                                    ConvBlock(self.in_channels, self.out_channels, self.filter_size,
                                              self.stride, self.padding))

    def forward(self, A: Tensor) -> Tensor:
        """(N, in, H, W) -> (N, out, floor((H+2p-F)/s)+1, floor((W+2p-F)/s)+1)."""
        main = forward_through(self.convolution_layers, A)
        return self.final_activation.forward(add(main, self.residual_connection.forward(A)))

    def backward(self, grad: Tensor) -> Tensor:
        """-> (N, in, H, W): the sum sends the gradient to both branches, whose dLdA add up."""
        d = self.final_activation.backward(grad)
        return add(backward_through(self.convolution_layers, d), self.residual_connection.backward(d))
