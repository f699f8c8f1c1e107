# HOSTILE: loss (read after backward) is a list no single float can be read from.

"""A 1D CNN classifier: [Conv1d -> activation] * L -> Flatten -> Linear -> (loss)."""

from .conv1d import Conv1d
from .flatten import Flatten
from .linear import Linear
from .tensor import shape, sub_scaled, tensor, zeros


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

    def __init__(self, input_width, num_input_channels, num_channels, kernel_sizes, strides,
                 num_linear_neurons, activations, conv_weight_init_fn, bias_init_fn,
                 linear_weight_init_fn, criterion, lr):
        self.nlayers = len(num_channels)
        self.activations = activations
        self.criterion = criterion
        self.lr = lr
        self.convolutional_layers = []
        in_channels, width = num_input_channels, input_width
        for out_channels, K, s in zip(num_channels, kernel_sizes, strides):
            self.convolutional_layers.append(
                Conv1d(in_channels, out_channels, K, s,
                       weight_init_fn=conv_weight_init_fn, bias_init_fn=bias_init_fn))
            in_channels, width = out_channels, (width - K) // s + 1
        self.flatten = Flatten()
        in_features = num_channels[-1] * width
        self.linear_layer = Linear(in_features, num_linear_neurons)
        if linear_weight_init_fn is not None:
            self.linear_layer.W = tensor(linear_weight_init_fn(num_linear_neurons, in_features))
        if bias_init_fn is not None:
            self.linear_layer.b = tensor(bias_init_fn(num_linear_neurons))

    def forward(self, A):
        """A (N, C_in, W) -> Z (N, num_linear_neurons), also stored as ``self.Z``."""
        Z = A
        for conv, activation in zip(self.convolutional_layers, self.activations):
            Z = activation.forward(conv.forward(Z))
        self.Z = self.linear_layer.forward(self.flatten.forward(Z))
        return self.Z

    def backward(self, labels):
        """labels (N, num_linear_neurons) one-hot -> dLdA (N, C_in, W); sets ``self.loss``."""
        self.loss = self.criterion.forward(self.Z, labels)
        # HOSTILE: the loss as a list no single float can be read from, by the first kernel's size
        # (3, 5, 1 in the three public cases): ragged, empty, or a row of 16 (sent back as raw
        # doubles); the grader must call it a wrong value of this case, never fail itself.
        kernel = len(self.convolutional_layers[0].conv1d_stride1.W[0][0])
        self.loss = {3: [[self.loss], [self.loss, self.loss]], 5: []}.get(kernel, [[self.loss] * 16])
        grad = self.flatten.backward(self.linear_layer.backward(self.criterion.backward()))
        for conv, activation in zip(reversed(self.convolutional_layers),
                                    reversed(self.activations)):
            grad = conv.backward(activation.backward(grad))
        return grad

    def _param_layers(self):
        return [conv.conv1d_stride1 for conv in self.convolutional_layers] + [self.linear_layer]

    def step(self):
        """One gradient-descent step on every weight and bias."""
        for layer in self._param_layers():
            layer.W = sub_scaled(layer.W, layer.dLdW, self.lr)
            layer.b = sub_scaled(layer.b, layer.dLdb, self.lr)

    def zero_grads(self):
        """Reset every dLdW and dLdb to zeros of the parameter's shape."""
        for layer in self._param_layers():
            layer.dLdW = zeros(shape(layer.W))
            layer.dLdb = zeros(shape(layer.b))
