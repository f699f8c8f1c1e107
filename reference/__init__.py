"""NumPy (float64) reference implementation of the mytorch CNN homework.

One module per layer family, exactly as in ``handout/api.md``.  Every array is
float64; weights returned by ``weight_init_fn`` / ``bias_init_fn`` may be
nested lists and are converted with ``np.asarray(..., dtype=np.float64)``.
"""

from .resampling import Upsample1d, Downsample1d, Upsample2d, Downsample2d
from .conv1d import Conv1d_stride1, Conv1d
from .conv2d import Conv2d_stride1, Conv2d
from .conv_transpose import ConvTranspose1d, ConvTranspose2d
from .pool import MaxPool2d_stride1, MeanPool2d_stride1, MaxPool2d, MeanPool2d
from .flatten import Flatten
from .dropout import Dropout2d
from .batchnorm2d import BatchNorm2d
from .activation import Identity, ReLU, Tanh, Sigmoid
from .linear import Linear
from .loss import CrossEntropyLoss
from .resblock import ConvBlock, ResBlock
from .mlp_scan import CNN_SimpleScanningMLP, CNN_DistributedScanningMLP
from .cnn import CNN

__all__ = [
    "Upsample1d", "Downsample1d", "Upsample2d", "Downsample2d",
    "Conv1d_stride1", "Conv1d", "Conv2d_stride1", "Conv2d",
    "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool2d_stride1", "MeanPool2d_stride1", "MaxPool2d", "MeanPool2d",
    "Flatten", "Dropout2d", "BatchNorm2d",
    "Identity", "ReLU", "Tanh", "Sigmoid",
    "Linear", "CrossEntropyLoss", "ConvBlock", "ResBlock",
    "CNN_SimpleScanningMLP", "CNN_DistributedScanningMLP", "CNN",
]
