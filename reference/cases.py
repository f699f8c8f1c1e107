"""Fixture cases of every rubric item, drawn per seed from fixed ranges.

Each item has a builder ``build_<item>(rng) -> list[CaseBuilder]``.  Every
builder returns the same edge cases for any seed (batch 1, one channel,
kernel 1, kernel == width, stride with a remainder, stride >= kernel,
non-square inputs, factor 1, odd and even widths, padding, max-pool ties,
BatchNorm train then eval); the seed only draws the sizes and values, so a
hidden fixture set (another seed) has the same structure with other numbers.

Sizes are small on purpose: a straightforward nested-list solution must grade
the whole set in a few seconds.
"""
import numpy as np


class CaseBuilder:
    """Collects one case: its program, its input arrays and what to check.

    ``check`` entries name a step whose result the grader compares with the
    reference value (``kind`` "allclose"), or a property check (Dropout2d).
    """

    def __init__(self, name, description, module, cls, hyperparameters, args=(), kwargs=None):
        self.name = name
        self.description = description
        self.hyperparameters = dict(hyperparameters)
        self.inputs = {}
        self.reference_kwargs = {}
        self.program = {"module": module, "class": cls, "args": list(args),
                        "kwargs": dict(kwargs or {}), "set": [], "steps": []}
        self.checks = []

    def array(self, name, value):
        """Register an input array and return its program reference."""
        self.inputs[name] = np.asarray(value, dtype=np.float64)
        return {"$array": name}

    def init_fn(self, name, value):
        return {"$const_fn": self.array(name, value)}

    def set(self, path, name, value):
        self.program["set"].append([path, self.array(name, value)])

    def call(self, method, *args, check=None, formula=None, **kwargs):
        step = {"call": method, "args": list(args)}
        if kwargs:
            step["kwargs"] = kwargs
        return self._add_step(step, check, formula)

    def read(self, path, check=None, formula=None):
        return self._add_step({"read": path}, check or path, formula)

    def _add_step(self, step, check, formula):
        self.program["steps"].append(step)
        index = len(self.program["steps"]) - 1
        if check:
            self.add_check({"kind": "allclose", "quantity": check, "step": index,
                            **({"formula": formula} if formula else {})})
        return index

    def add_check(self, check):
        self.checks.append(check)


# ----------------------------------------------------------------------------- helpers

def normal(rng, *shape):
    return rng.normal(size=shape)


def pick(rng, low, high):
    """An integer uniformly drawn from [low, high]."""
    return int(rng.integers(low, high + 1))


def pick_where(rng, low, high, predicate):
    """An integer drawn from those in [low, high] that satisfy ``predicate``."""
    return int(rng.choice([w for w in range(low, high + 1) if predicate(w)]))


def pick_odd(rng, low, high):
    return pick_where(rng, low, high, lambda w: w % 2 == 1)


def pick_even(rng, low, high):
    return pick_where(rng, low, high, lambda w: w % 2 == 0)


def odd_with_remainder(divisor):
    """Odd sizes that are not a multiple of ``divisor`` (ceil(W/k) != W/k)."""
    return lambda w: w % 2 == 1 and w % divisor != 0


# ----------------------------------------------------------------------------- resampling

RESAMPLE_FORMULAS = {
    "Upsample1d": "(N, C, k*(W-1)+1)", "Downsample1d": "(N, C, ceil(W/k))",
    "Upsample2d": "(N, C, k*(H-1)+1, k*(W-1)+1)", "Downsample2d": "(N, C, ceil(H/k), ceil(W/k))",
}


def resample_case(rng, name, description, cls, factor, in_shape):
    case = CaseBuilder(name, description, "mytorch.resampling", cls,
                       {"factor": factor, "input_shape": list(in_shape)}, args=[factor])
    A = case.array("A", normal(rng, *in_shape))
    case.call("forward", A, check="forward output Z", formula=RESAMPLE_FORMULAS[cls])
    out_shape = list(in_shape)
    for axis in range(2, len(in_shape)):
        size = in_shape[axis]
        out_shape[axis] = factor * (size - 1) + 1 if cls.startswith("Up") else -(-size // factor)
    case.call("backward", case.array("dLdZ", normal(rng, *out_shape)),
              check="backward dLdA", formula="same shape as the forward input A")
    return case


def build_resampling_1d(cls):
    def build(rng):
        k = pick(rng, 2, 4)
        k3 = pick(rng, 3, 5)
        return [
            resample_case(rng, "factor_1", "factor 1 (identity), batch 1, one channel",
                          cls, 1, (1, 1, pick(rng, 3, 8))),
            resample_case(rng, "even_width", f"factor {k}, even width",
                          cls, k, (2, pick(rng, 2, 3), pick_even(rng, 6, 12))),
            resample_case(rng, "odd_width_remainder", f"factor {k3}, odd width not a multiple of the factor",
                          cls, k3, (2, pick(rng, 2, 3), pick_where(rng, 7, 15, odd_with_remainder(k3)))),
        ]
    return build


def build_resampling_2d(cls):
    def build(rng):
        k = pick(rng, 2, 3)
        return [
            resample_case(rng, "factor_1", "factor 1 (identity), batch 1, one channel, H != W",
                          cls, 1, (1, 1, pick(rng, 3, 4), pick(rng, 5, 7))),
            resample_case(rng, "even_non_square", f"factor {k}, even H and W, H != W",
                          cls, k, (2, 2, pick_even(rng, 4, 6), pick_even(rng, 8, 10))),
            resample_case(rng, "odd_remainder", "factor 3, odd H and W with remainders",
                          cls, 3, (2, pick(rng, 1, 2), pick_where(rng, 5, 9, odd_with_remainder(3)),
                                   pick_where(rng, 10, 15, odd_with_remainder(3)))),
        ]
    return build


# ----------------------------------------------------------------------------- convolution

def conv_case(rng, name, description, dims, N, C_in, C_out, K, size, stride=None, padding=0, repeat=False):
    """Conv{1,2}d_stride1 when ``stride`` is None, otherwise the strided Conv{1,2}d."""
    suffix = "1d" if dims == 1 else "2d"
    strided = stride is not None
    cls = f"Conv{suffix}" if strided else f"Conv{suffix}_stride1"
    hyper = {"in_channels": C_in, "out_channels": C_out, "kernel_size": K}
    if strided:
        hyper.update(stride=stride, padding=padding)
    spatial = (size,) if dims == 1 else tuple(size)
    hyper["input_shape"] = [N, C_in, *spatial]
    case = CaseBuilder(name, description, f"mytorch.conv{suffix}", cls, hyper,
                       args=[C_in, C_out, K] + ([stride, padding] if strided else []))
    case.program["kwargs"] = {
        "weight_init_fn": case.init_fn("W", normal(rng, C_out, C_in, *([K] * dims))),
        "bias_init_fn": case.init_fn("b", normal(rng, C_out)),
    }
    A = case.array("A", normal(rng, N, C_in, *spatial))
    s = stride or 1
    out = [(d + 2 * padding - K) // s + 1 for d in spatial]
    formula = ("floor((W + 2*padding - K)/stride) + 1 per spatial axis" if strided
               else "W - K + 1 per spatial axis")
    case.call("forward", A, check="forward output Z", formula=f"(N, out_channels, ...) with {formula}")
    case.call("backward", case.array("dLdZ", normal(rng, N, C_out, *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    prefix = f"conv{suffix}_stride1." if strided else ""
    case.read(prefix + "dLdW", formula="same shape as W: (out_channels, in_channels, K...)")
    case.read(prefix + "dLdb", formula="(out_channels,)")
    if repeat:
        repeat_pass(rng, case, (N, C_in, *spatial), (N, C_out, *out), prefix)
    return case


def repeat_pass(rng, case, in_shape, out_shape, prefix):
    """A second forward/backward on the same layer: gradients are overwritten, not accumulated."""
    case.description += "; a second forward/backward on the same layer"
    case.call("forward", case.array("A2", normal(rng, *in_shape)), check="second forward output Z")
    case.call("backward", case.array("dLdZ2", normal(rng, *out_shape)), check="second backward dLdA")
    case.read(prefix + "dLdW", check=prefix + "dLdW after the second backward",
              formula="the second pass's gradient alone (overwrite, do not accumulate)")
    case.read(prefix + "dLdb", check=prefix + "dLdb after the second backward",
              formula="the second pass's gradient alone (overwrite, do not accumulate)")


def build_conv1d_stride1(rng):
    W = pick(rng, 2, 6)
    return [
        conv_case(rng, "batch1_channel1_kernel1", "batch 1, one input channel, kernel 1",
                  1, 1, 1, pick(rng, 1, 3), 1, pick(rng, 4, 8)),
        conv_case(rng, "kernel_equals_width", "kernel as wide as the input (output width 1)",
                  1, 2, pick(rng, 2, 3), pick(rng, 2, 3), W, W),
        conv_case(rng, "general", "general shapes",
                  1, 2, pick(rng, 2, 4), pick(rng, 3, 5), pick(rng, 3, 5), pick(rng, 10, 16), repeat=True),
    ]


def build_conv1d(rng):
    return [
        conv_case(rng, "stride_remainder", "stride 2, the last input sample unused, no padding",
                  1, 2, pick(rng, 2, 3), pick(rng, 2, 4), 3, pick_even(rng, 8, 14), stride=2),  # (W-3) odd
        conv_case(rng, "stride_ge_kernel_padding", "stride 3 >= kernel 2, padding 1",
                  1, 2, pick(rng, 1, 3), pick(rng, 2, 3), 2, pick_where(rng, 9, 16, lambda w: w % 3 == 1),
                  stride=3, padding=1),  # W+2p-K and W+2p-K+1 both leave a remainder
        conv_case(rng, "padding_2_stride_2", "padding 2, stride 2, batch 1",
                  1, 1, pick(rng, 2, 3), pick(rng, 2, 4), pick(rng, 3, 4), pick(rng, 7, 12),
                  stride=2, padding=2),
        conv_case(rng, "stride_1_padding_1", "stride 1 with padding 1 (same-size output)",
                  1, 2, 2, 3, 3, pick(rng, 5, 9), stride=1, padding=1, repeat=True),
    ]


def build_conv2d_stride1(rng):
    W = pick(rng, 3, 4)
    return [
        conv_case(rng, "batch1_channel1_kernel1", "batch 1, one input channel, kernel 1, H != W",
                  2, 1, 1, pick(rng, 1, 3), 1, (pick(rng, 3, 5), pick(rng, 6, 8))),
        conv_case(rng, "kernel_equals_width", "kernel as wide as the input (W == K), H > W",
                  2, 2, 2, 2, W, (W + pick(rng, 1, 3), W)),
        conv_case(rng, "general_non_square", "general non-square input",
                  2, 2, pick(rng, 2, 3), pick(rng, 2, 4), 3, (pick(rng, 6, 8), pick(rng, 9, 11)), repeat=True),
    ]


def build_conv2d(rng):
    return [
        conv_case(rng, "stride_remainder_padding", "stride 2 with remainders, padding 1, H != W",
                  2, 2, 2, pick(rng, 2, 3), 3, (pick_even(rng, 6, 8), pick_odd(rng, 9, 11)), stride=2, padding=1),
        conv_case(rng, "stride_ge_kernel", "stride 3 >= kernel 2, no padding",
                  2, 2, pick(rng, 1, 2), 2, 2, (pick(rng, 7, 9), pick(rng, 5, 8)), stride=3, repeat=True),
        conv_case(rng, "padding_2_batch1", "padding 2, stride 2, batch 1, kernel 4",
                  2, 1, 2, 2, 4, (pick(rng, 5, 7), pick(rng, 6, 9)), stride=2, padding=2),
    ]


# ----------------------------------------------------------------------------- transposed convolution

def conv_transpose_case(rng, name, description, dims, N, C_in, C_out, K, factor, size, repeat=False):
    suffix = "1d" if dims == 1 else "2d"
    spatial = (size,) if dims == 1 else tuple(size)
    hyper = {"in_channels": C_in, "out_channels": C_out, "kernel_size": K,
             "upsampling_factor": factor, "input_shape": [N, C_in, *spatial]}
    case = CaseBuilder(name, description, "mytorch.conv_transpose", f"ConvTranspose{suffix}", hyper,
                       args=[C_in, C_out, K, factor])
    case.program["kwargs"] = {
        "weight_init_fn": case.init_fn("W", normal(rng, C_out, C_in, *([K] * dims))),
        "bias_init_fn": case.init_fn("b", normal(rng, C_out)),
    }
    out = [factor * (d - 1) + 1 - K + 1 for d in spatial]
    case.call("forward", case.array("A", normal(rng, N, C_in, *spatial)), check="forward output Z",
              formula="(N, out_channels, ...) with k*(W-1)+1 - K + 1 per spatial axis")
    case.call("backward", case.array("dLdZ", normal(rng, N, C_out, *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    case.read(f"conv{suffix}_stride1.dLdW", formula="same shape as W")
    case.read(f"conv{suffix}_stride1.dLdb", formula="(out_channels,)")
    if repeat:
        repeat_pass(rng, case, (N, C_in, *spatial), (N, C_out, *out), f"conv{suffix}_stride1.")
    return case


def build_conv_transpose_1d(rng):
    return [
        conv_transpose_case(rng, "factor_1_batch1", "upsampling factor 1, batch 1, one channel",
                            1, 1, 1, pick(rng, 1, 3), pick(rng, 2, 3), 1, pick(rng, 5, 8)),
        conv_transpose_case(rng, "factor_2", "upsampling factor 2, even width",
                            1, 2, pick(rng, 2, 3), pick(rng, 2, 3), 3, 2, pick_even(rng, 4, 8), repeat=True),
        conv_transpose_case(rng, "factor_3_kernel_1", "upsampling factor 3, kernel 1, odd width",
                            1, 2, 2, pick(rng, 2, 4), 1, 3, pick_odd(rng, 3, 7)),
    ]


def build_conv_transpose_2d(rng):
    return [
        conv_transpose_case(rng, "factor_1_batch1", "upsampling factor 1, batch 1, H != W",
                            2, 1, 1, 2, 2, 1, (pick(rng, 3, 4), pick(rng, 5, 6))),
        conv_transpose_case(rng, "factor_2_non_square", "upsampling factor 2, non-square input",
                            2, 2, 2, pick(rng, 2, 3), 3, 2, (pick(rng, 3, 4), pick(rng, 5, 6)), repeat=True),
        conv_transpose_case(rng, "factor_3_kernel_1", "upsampling factor 3, kernel 1",
                            2, 2, pick(rng, 1, 2), 2, 1, 3, (pick(rng, 2, 3), pick(rng, 3, 4))),
    ]


# ----------------------------------------------------------------------------- pooling

TIES_DESCRIPTION = {"MaxPool2d": "tied maxima inside overlapping windows (the first maximum wins)",
                    "MeanPool2d": "small repeated integer values in overlapping windows"}


def pool_case(rng, name, description, kind, shape, K, stride=None, ties=False):
    """Max/MeanPool2d(_stride1). ``ties`` draws small integers so windows share maxima."""
    cls = kind if stride is not None else f"{kind}_stride1"
    hyper = {"kernel": K, "input_shape": list(shape)}
    if stride is not None:
        hyper["stride"] = stride
    case = CaseBuilder(name, description, "mytorch.pool", cls, hyper,
                       args=[K] + ([stride] if stride is not None else []))
    values = rng.integers(0, 3, size=shape).astype(float) if ties else normal(rng, *shape)
    s = stride or 1
    out = [-(-(d - K + 1) // s) for d in shape[2:]]
    formula = ("ceil((H-K+1)/stride) by ceil((W-K+1)/stride)" if stride is not None
               else "(H-K+1) by (W-K+1)")
    case.call("forward", case.array("A", values), check="forward output Z", formula=f"(N, C, {formula})")
    case.call("backward", case.array("dLdZ", normal(rng, shape[0], shape[1], *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    return case


def build_pool_stride1(kind):
    def build(rng):
        H = pick(rng, 3, 4)
        return [
            pool_case(rng, "ties", TIES_DESCRIPTION[kind],
                      kind, (2, 2, pick(rng, 4, 5), pick(rng, 6, 7)), pick(rng, 2, 3), ties=True),
            pool_case(rng, "kernel_1_batch1", "kernel 1, batch 1, one channel, H != W",
                      kind, (1, 1, pick(rng, 3, 4), pick(rng, 5, 6)), 1),
            pool_case(rng, "kernel_equals_height", "kernel as tall as the input, W > H",
                      kind, (2, pick(rng, 1, 3), H, H + pick(rng, 1, 3)), H),
            pool_case(rng, "general_non_square", "general non-square input",
                      kind, (2, pick(rng, 2, 3), pick(rng, 6, 8), pick(rng, 9, 11)), 3),
        ]
    return build


def build_pool_strided(kind):
    def build(rng):
        return [
            pool_case(rng, "stride_remainder_ties", "stride 2 with remainders, " + TIES_DESCRIPTION[kind],
                      kind, (2, 2, pick_odd(rng, 6, 9), pick_odd(rng, 9, 11)), 3, stride=2, ties=True),
            pool_case(rng, "stride_ge_kernel", "stride 3 >= kernel 2 (gaps between windows)",
                      kind, (2, pick(rng, 1, 2), pick(rng, 7, 9), pick(rng, 5, 8)), 2, stride=3),
            pool_case(rng, "batch1_overlap", "batch 1, overlapping windows (kernel 3, stride 2)",
                      kind, (1, pick(rng, 2, 3), pick(rng, 5, 7), pick(rng, 8, 10)), 3, stride=2),
        ]
    return build


# ----------------------------------------------------------------------------- flatten

def flatten_case(rng, name, description, shape):
    case = CaseBuilder(name, description, "mytorch.flatten", "Flatten", {"input_shape": list(shape)})
    case.call("forward", case.array("A", normal(rng, *shape)), check="forward output Z",
              formula="(N, C*W) or (N, C*H*W), row-major")
    case.call("backward", case.array("dLdZ", normal(rng, shape[0], int(np.prod(shape[1:])))),
              check="backward dLdA", formula="same shape as the forward input A")
    return case


def build_flatten(rng):
    return [
        flatten_case(rng, "one_dimensional", "(N, C, W) input", (2, pick(rng, 2, 4), pick(rng, 3, 7))),
        flatten_case(rng, "two_dimensional", "(N, C, H, W) input, H != W",
                     (2, pick(rng, 2, 3), pick(rng, 2, 3), pick(rng, 4, 5))),
        flatten_case(rng, "batch1_channel1", "batch 1, one channel", (1, 1, pick(rng, 2, 6))),
    ]


# ----------------------------------------------------------------------------- scanning MLPs

SCAN_SHAPES = {"w1": (192, 8), "w2": (8, 16), "w3": (16, 4)}


def scanning_case(rng, name, description, cls, N, sparse=False):
    case = CaseBuilder(name, description, "mytorch.mlp_scan", cls,
                       {"input_shape": [N, 24, 128], "weight_shapes": {k: list(v) for k, v in SCAN_SHAPES.items()}})
    weights = []
    for key, shape in SCAN_SHAPES.items():
        w = normal(rng, *shape)
        if sparse:
            w *= rng.random(shape) < 0.5
        weights.append(case.array(key, w))
    case.call("init_weights", weights)
    for conv in ("conv1", "conv2", "conv3"):
        case.read(f"{conv}.conv1d_stride1.W", check=f"{conv}.conv1d_stride1.W after init_weights",
                  formula="(out_channels, in_channels, kernel_size)")
    case.call("forward", case.array("A", normal(rng, N, 24, 128)), check="forward output Z",
              formula="(N, 4*31)")
    case.call("backward", case.array("dLdZ", normal(rng, N, 124)), check="backward dLdA",
              formula="(N, 24, 128)")
    for conv in ("conv1", "conv2", "conv3"):
        case.read(f"{conv}.conv1d_stride1.dLdW", formula="same shape as W")
    return case


def build_scanning(cls):
    def build(rng):
        return [
            scanning_case(rng, "batch1", "batch 1", cls, 1),
            scanning_case(rng, "batch2", "batch 2", cls, 2),
            scanning_case(rng, "sparse_weights", "batch 1, half of the MLP weights zero", cls, 1, sparse=True),
        ]
    return build


# ----------------------------------------------------------------------------- CNN model

ACTIVATION_CHOICES = ["Tanh", "ReLU", "Sigmoid"]


def cnn_case(rng, name, description, N, width, c_in, channels, kernels, strides, classes):
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


def build_cnn(rng):
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


# ----------------------------------------------------------------------------- Dropout2d

def dropout_case(rng, name, description, shape, p, rate_sample=None):
    """Dropout2d is graded by properties, never by the reference's random mask."""
    case = CaseBuilder(name, description, "mytorch.dropout", "Dropout2d",
                       {"p": p, "input_shape": list(shape)}, args=[p])
    case.reference_kwargs = {"rng_seed": int(rng.integers(2 ** 31))}
    x = case.array("x", rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape))
    forward = case.call("forward", x)
    backward = case.call("backward", case.array("delta", normal(rng, *shape)))
    case.add_check({"kind": "dropout_forward", "quantity": "training forward output", "step": forward,
                    "input": "x", "p": p})
    case.add_check({"kind": "dropout_backward", "quantity": "backward output", "step": backward,
                    "forward_step": forward, "input": "delta", "p": p})
    case.call("forward", x, eval=True, check="eval-mode forward output (must equal the input)")
    if rate_sample:
        sample = case.call("forward", {"$fill": {"shape": list(rate_sample), "value": 1.0}})
        case.add_check({"kind": "dropout_rate", "quantity": "fraction of dropped channels",
                        "step": sample, "p": p, "max_sigma": 5.0})
    return case


def build_dropout2d(rng):
    return [
        dropout_case(rng, "half", "p = 0.5", (2, pick(rng, 3, 5), 3, pick(rng, 3, 4)), 0.5,
                     rate_sample=(200, 50, 1, 1)),
        dropout_case(rng, "low_p_batch1", "p = 0.2, batch 1", (1, pick(rng, 4, 6), 2, 3), 0.2,
                     rate_sample=(100, 50, 1, 2)),
        dropout_case(rng, "high_p", "p = 0.8, H != W", (3, 4, 2, pick(rng, 3, 5)), 0.8,
                     rate_sample=(100, 60, 2, 1)),
    ]


# ----------------------------------------------------------------------------- BatchNorm2d

def batchnorm_case(rng, name, description, shape, alpha, train_steps):
    C = shape[1]
    case = CaseBuilder(name, description, "mytorch.batchnorm2d", "BatchNorm2d",
                       {"num_features": C, "alpha": alpha, "input_shape": list(shape),
                        "train_steps": train_steps}, args=[C], kwargs={"alpha": alpha})
    case.set("BW", "BW", 1.0 + 0.5 * normal(rng, 1, C, 1, 1))
    case.set("Bb", "Bb", normal(rng, 1, C, 1, 1))
    for step in range(train_steps):
        Z = case.array(f"Z{step}", normal(rng, *shape) * rng.uniform(0.5, 3.0) + rng.uniform(-2, 2))
        case.call("forward", Z, check=f"training forward output (step {step + 1})", formula="same shape as Z")
        case.call("backward", case.array(f"dLdBZ{step}", normal(rng, *shape)),
                  check=f"backward dLdZ (step {step + 1})", formula="same shape as Z")
        case.read("dLdBW", check=f"dLdBW (step {step + 1})", formula="(1, C, 1, 1)")
        case.read("dLdBb", check=f"dLdBb (step {step + 1})", formula="(1, C, 1, 1)")
    case.read("running_M", formula="(1, C, 1, 1): alpha*running_M + (1-alpha)*batch mean")
    case.read("running_V", formula="(1, C, 1, 1): alpha*running_V + (1-alpha)*batch variance (biased)")
    case.call("forward", case.array("Z_eval", normal(rng, *shape)), eval=True,
              check="eval-mode forward output (uses running_M and running_V)", formula="same shape as Z")
    return case


def build_batchnorm2d(rng):
    return [
        batchnorm_case(rng, "train_then_eval", "one training step then eval", (2, 3, pick(rng, 3, 4), 5),
                       0.9, 1),
        batchnorm_case(rng, "batch1_channel1", "batch 1, one channel, H != W", (1, 1, 3, pick(rng, 4, 6)),
                       float(np.round(rng.uniform(0.5, 0.95), 2)), 1),
        batchnorm_case(rng, "two_train_steps", "two training steps then eval",
                       (pick(rng, 2, 3), 2, 4, pick(rng, 2, 3)), float(np.round(rng.uniform(0.5, 0.95), 2)), 2),
    ]


# ----------------------------------------------------------------------------- ResBlock

def resblock_case(rng, name, description, shape, out_channels, filter_size, stride, padding):
    N, C_in = shape[0], shape[1]
    conv_residual = stride != 1 or C_in != out_channels or filter_size != 1 or padding != 0
    case = CaseBuilder(name, description, "mytorch.resblock", "ResBlock",
                       {"in_channels": C_in, "out_channels": out_channels, "filter_size": filter_size,
                        "stride": stride, "padding": padding, "input_shape": list(shape),
                        "residual": "ConvBlock" if conv_residual else "Identity"},
                       args=[C_in, out_channels, filter_size, stride, padding])
    blocks = {"convolution_layers.0": (C_in, filter_size), "convolution_layers.2": (out_channels, 1)}
    if conv_residual:
        blocks["residual_connection"] = (C_in, filter_size)
    for index, (path, (c, k)) in enumerate(blocks.items()):
        conv = f"{path}.layers.0.conv2d_stride1"
        case.set(f"{conv}.W", f"W{index}", normal(rng, out_channels, c, k, k) * 0.5)
        case.set(f"{conv}.b", f"b{index}", normal(rng, out_channels) * 0.1)
        case.set(f"{path}.layers.1.BW", f"BW{index}", 1.0 + 0.3 * normal(rng, 1, out_channels, 1, 1))
        case.set(f"{path}.layers.1.Bb", f"Bb{index}", 0.3 * normal(rng, 1, out_channels, 1, 1))
    out = [(d + 2 * padding - filter_size) // stride + 1 for d in shape[2:]]
    case.call("forward", case.array("A", normal(rng, *shape)), check="forward output",
              formula="(N, out_channels, floor((H+2p-f)/s)+1, floor((W+2p-f)/s)+1)")
    case.call("backward", case.array("dLdZ", normal(rng, N, out_channels, *out)),
              check="backward dLdA", formula="same shape as the forward input A")
    for path in blocks:
        case.read(f"{path}.layers.0.conv2d_stride1.dLdW", formula="same shape as W")
        case.read(f"{path}.layers.1.dLdBW", formula="(1, out_channels, 1, 1)")
    return case


def build_resblock(rng):
    C = pick(rng, 2, 3)
    return [
        resblock_case(rng, "identity_residual", "in == out, filter 1, stride 1, padding 0 (identity skip)",
                      (2, C, pick(rng, 3, 4), pick(rng, 4, 5)), C, 1, 1, 0),
        resblock_case(rng, "default_stride3", "filter 3, stride 3, padding 1 (the defaults), H != W",
                      (2, pick(rng, 1, 2), pick(rng, 6, 8), pick(rng, 9, 10)), pick(rng, 2, 3), 3, 3, 1),
        resblock_case(rng, "stride2_channels_change", "filter 3, stride 2, padding 1, channels change",
                      (2, 2, pick(rng, 5, 6), pick(rng, 6, 7)), 3, 3, 2, 1),
    ]


# ----------------------------------------------------------------------------- registry

ITEM_BUILDERS = {
    "Downsampling1d": build_resampling_1d("Downsample1d"),
    "Upsampling1d": build_resampling_1d("Upsample1d"),
    "Downsampling2d": build_resampling_2d("Downsample2d"),
    "Upsampling2d": build_resampling_2d("Upsample2d"),
    "Conv1d_stride1": build_conv1d_stride1,
    "Conv1d": build_conv1d,
    "Conv2d_stride1": build_conv2d_stride1,
    "Conv2d": build_conv2d,
    "ConvTranspose1d": build_conv_transpose_1d,
    "ConvTranspose2d": build_conv_transpose_2d,
    "MaxPool2d_stride1": build_pool_stride1("MaxPool2d"),
    "MaxPool2d": build_pool_strided("MaxPool2d"),
    "MeanPool2d_stride1": build_pool_stride1("MeanPool2d"),
    "MeanPool2d": build_pool_strided("MeanPool2d"),
    "SimpleScanningMLP": build_scanning("CNN_SimpleScanningMLP"),
    "DistributedScanningMLP": build_scanning("CNN_DistributedScanningMLP"),
    "CNN": build_cnn,
    "Flatten": build_flatten,
    "Dropout2d": build_dropout2d,
    "BatchNorm2d": build_batchnorm2d,
    "ResBlock": build_resblock,
}
