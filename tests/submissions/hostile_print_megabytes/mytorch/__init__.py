"""mytorch: a stdlib-only CNN toolkit on nested lists of floats.

Modules: tensor (helpers), resampling, conv1d, conv2d, conv_transpose, pool,
flatten, dropout, batchnorm2d, activation, linear, loss, resblock, mlp_scan, cnn.
Import the classes from their modules, e.g. ``from mytorch.conv1d import Conv1d``.
"""
