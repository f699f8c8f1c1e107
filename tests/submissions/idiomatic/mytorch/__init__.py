"""mytorch: a stdlib-only CNN toolkit on nested lists of floats.

Modules: tensor (helpers, given), resampling, conv1d, conv2d, conv_transpose,
pool, flatten, dropout, batchnorm2d, activation (given), linear (given),
loss (given), resblock, mlp_scan, cnn; _nested holds this solution's shared
helpers (shapes, elementwise maps, resampling, padding, cross-correlation).
Import the classes from their modules, e.g. ``from mytorch.conv1d import Conv1d``.
"""
