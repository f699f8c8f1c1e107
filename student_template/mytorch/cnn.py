"""A 1D CNN classifier: [Conv1d -> activation] * L -> Flatten -> Linear -> (loss)."""

from .conv1d import Conv1d
from .flatten import Flatten
from .linear import Linear
from .tensor import tensor


class CNN:
    """Stack of Conv1d layers (padding 0) with activations, then Flatten and Linear.

    Conv i output width: W_{i+1} = floor((W_i - kernel_sizes[i]) / strides[i]) + 1, W_0 = input_width;
    the linear layer has num_channels[-1] * W_L inputs.
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
        """A (N, num_input_channels, input_width) -> Z (N, num_linear_neurons); store it as self.Z.

        For each i: conv i, then activations[i]; then flatten; then the linear layer.
        """
        raise NotImplementedError("CNN.forward: (conv -> activation) for each layer, flatten, linear; store self.Z")

    def backward(self, labels):
        """labels (N, num_linear_neurons) one-hot -> dLdA (N, num_input_channels, input_width).

        self.loss = criterion.forward(self.Z, labels); then back through criterion, linear,
        flatten and each (activation, conv) pair in reverse order.
        """
        raise NotImplementedError(
            "CNN.backward: set self.loss, then criterion.backward -> linear -> flatten -> (activation, conv) reversed")

    def step(self):
        """W -= lr*dLdW and b -= lr*dLdb for every conv (its conv1d_stride1) and the linear layer."""
        raise NotImplementedError("CNN.step: gradient-descent update of every conv1d_stride1 and of linear_layer")

    def zero_grads(self):
        """Set every dLdW and dLdb (convs and linear layer) to zeros of the parameter's shape."""
        raise NotImplementedError("CNN.zero_grads: reset every dLdW and dLdb to zeros")
