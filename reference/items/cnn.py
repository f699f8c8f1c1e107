"""Graded item: the 1D CNN model (forward, backward, step, zero_grads)."""
from __future__ import annotations

import numpy as np

from autograder.contract.rubric import Section
from reference.casebuilder import CaseBuilder, Item, normal, pick, pick_where
from reference.cnn import CNN
from reference.items.conv import conv1d_dldb_last_sample, conv1d_dldw_last_sample, conv1d_unflipped_kernel
from reference.items.flatten import flatten_backward_column_major
from reference.items.resampling import downsample1d_backward_width, downsample1d_floor
from reference.variants import variant

POSITION = 6  # where this family's items stand in the rubric (families in increasing order)


ACTIVATION_CHOICES = ["Tanh", "ReLU", "Sigmoid"]


def cnn_case(rng: np.random.Generator, name: str, description: str, N: int, width: int, c_in: int,
             channels: list[int], kernels: list[int], strides: list[int], classes: int) -> CaseBuilder:
    """CNN: forward, backward, step() and zero_grads() on one model."""
    activations = [ACTIVATION_CHOICES[i] for i in rng.permutation(3)][:len(channels)]
    lr = float(np.round(rng.uniform(0.01, 0.2), 3))
    hyper = {"input_width": width, "num_input_channels": c_in, "num_channels": channels,
             "kernel_sizes": kernels, "strides": strides, "num_linear_neurons": classes,
             "activations": activations, "lr": lr, "batch_size": N}
    new = lambda module, cls: {"$new": {"module": module, "class": cls, "args": []}}
    case = CaseBuilder(name, description, "mytorch.cnn", "CNN", hyper, args=[
        width, c_in, channels, kernels, strides, classes,
        [new("mytorch.activation", a) for a in activations],
        {"$zeros_fn": True}, {"$zeros_fn": True}, {"$zeros_fn": True},
        new("mytorch.loss", "CrossEntropyLoss"), lr])
    w, inputs = width, c_in
    for i, (c, k, s) in enumerate(zip(channels, kernels, strides)):
        case.set(f"convolutional_layers.{i}.conv1d_stride1.W", f"conv{i}_W", normal(rng, c, inputs, k) * 0.5)
        case.set(f"convolutional_layers.{i}.conv1d_stride1.b", f"conv{i}_b", normal(rng, c) * 0.1)
        w, inputs = (w - k) // s + 1, c
    case.set("linear_layer.W", "linear_W", normal(rng, classes, inputs * w) * 0.5)
    case.set("linear_layer.b", "linear_b", normal(rng, classes) * 0.1)
    labels = np.eye(classes)[rng.integers(0, classes, size=N)]
    A = case.array("A", normal(rng, N, c_in, width))
    case.call("forward", A, check="forward output Z", formula="(N, num_linear_neurons)")
    case.call("backward", case.array("labels", labels), check="backward dLdA (returned by backward)",
              formula="(N, num_input_channels, input_width)")
    case.read("loss", check="loss (set by backward)", formula="a float: mean cross-entropy")
    params = [f"convolutional_layers.{i}.conv1d_stride1" for i in range(len(channels))] + ["linear_layer"]
    for p in params:
        case.read(f"{p}.dLdW", formula="same shape as W")
        case.read(f"{p}.dLdb", formula="same shape as b")
    case.call("step")
    for p in params:
        case.read(f"{p}.W", check=f"{p}.W after step()", formula="W - lr*dLdW")
        case.read(f"{p}.b", check=f"{p}.b after step()", formula="b - lr*dLdb")
    case.call("forward", A, check="forward output after step()", formula="(N, num_linear_neurons)")
    case.call("zero_grads")
    case.read(f"{params[0]}.dLdW", check=f"{params[0]}.dLdW after zero_grads()", formula="zeros")
    case.read("linear_layer.dLdb", check="linear_layer.dLdb after zero_grads()", formula="zeros")
    return case


def build_cnn(rng: np.random.Generator) -> list[CaseBuilder]:
    return [
        cnn_case(rng, "batch1_stride1", "batch 1, all strides 1", 1, pick(rng, 10, 14), pick(rng, 2, 3),
                 [pick(rng, 2, 4), pick(rng, 2, 3), pick(rng, 2, 3)], [3, 2, 2], [1, 1, 1], pick(rng, 3, 5)),
        cnn_case(rng, "strided", "batch 2, strides with remainders", 2, pick_where(rng, 20, 26, lambda w: w % 4 == 0),
                 pick(rng, 2, 4),
                 [pick(rng, 3, 5), pick(rng, 2, 4), pick(rng, 2, 3)], [5, 3, 2], [1, 2, 2], pick(rng, 3, 6)),
        cnn_case(rng, "kernel1_stride_ge_kernel", "kernel 1 and stride >= kernel", 2,
                 pick_where(rng, 14, 18, lambda w: w % 3 == 0),  # stride 3 leaves both kinds of remainder
                 pick(rng, 1, 3), [pick(rng, 2, 3), pick(rng, 2, 4), 2], [1, 2, 3], [1, 3, 1], pick(rng, 2, 4)),
    ]


# ----------------------------------------------------------------------------- known mistakes (hints)

@variant("cnn_step_ascends", "step() adds lr times the gradient to the parameters (gradient ascent) "
         "instead of subtracting it.", CNN, "step")
def cnn_step_ascends(self: CNN) -> None:
    for layer in self._param_layers():
        layer.W = layer.W + self.lr * layer.dLdW
        layer.b = layer.b + self.lr * layer.dLdb


@variant("cnn_step_no_bias", "step() updates the weights W but not the biases b.", CNN, "step")
def cnn_step_no_bias(self: CNN) -> None:
    for layer in self._param_layers():
        layer.W = layer.W - self.lr * layer.dLdW


@variant("cnn_zero_grads_skips_linear", "zero_grads() resets the convolutional layers' gradients but not "
         "the linear layer's.", CNN, "zero_grads")
def cnn_zero_grads_skips_linear(self: CNN) -> None:
    for layer in self._param_layers()[:-1]:
        layer.dLdW = np.zeros(layer.W.shape)
        layer.dLdb = np.zeros(layer.b.shape)


CNN_VARIANTS = (cnn_step_ascends, cnn_step_no_bias, cnn_zero_grads_skips_linear, conv1d_unflipped_kernel,
                conv1d_dldb_last_sample, conv1d_dldw_last_sample, downsample1d_floor, downsample1d_backward_width,
                flatten_backward_column_major)

ITEMS = [
    Item("CNN", Section.MAIN, 5, ("CNN",),
         "items.md#17-cnn-5-points-main", build_cnn,
         variants=CNN_VARIANTS),
]
