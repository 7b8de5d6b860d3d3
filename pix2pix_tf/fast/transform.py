"""The CPU speed paths as a transform of built models: the paper's code never chooses them.

:func:`speed_up` takes a built :class:`~pix2pix_tf.model.Pix2Pix` (or one network) and, where
they apply, turns its layers and optimizers into their faster forms *in place*:

* the blocks' 4x4 stride-2 convolutions (``conv``, ``deconv``) into
  :class:`~pix2pix_tf.fast.matmul.MatmulConv2D` / ``MatmulConv2DTranspose`` (small maps as
  one matmul; ``conv_impl``, a run option: "auto" on a CPU, "matmul" always, "native" never);
* batch norm into :class:`~pix2pix_tf.fast.batchnorm.FusedBatchNorm` (on a CPU);
* both Adams into :class:`~pix2pix_tf.fast.adam.FusedAdam` (on a CPU).

Each faster class is a subclass of the layer or optimizer it replaces, adding no variable:
the object's class is changed, so its weights, its optimizer slots and its checkpoint keys
stay the very same objects (a run saved with or without the speed paths loads either way).
On a GPU (:func:`~pix2pix_tf.fast.cpu_speed_paths` false) only ``conv_impl="matmul"`` changes
anything. Apply it before the first call that traces a step (``fit``, an export).

Example:
    >>> from pix2pix_tf import Pix2Pix, Pix2PixConfig
    >>> model = Pix2Pix.from_config_object(Pix2PixConfig(image_size=32, load_size=32, ngf=4, ndf=4))
    >>> model.compile()
    >>> speed_up(model) is model
    True
"""

from __future__ import annotations

import keras

from ..layers import BatchNorm, walk_layers
from . import cpu_speed_paths
from .adam import FusedAdam
from .batchnorm import FusedBatchNorm
from .matmul import MATMUL_MAX_CONV, MATMUL_MAX_DECONV, MatmulConv2D, MatmulConv2DTranspose, use_matmul

# the blocks' convolutions (pix2pix_tf.blocks names them so): the layers the matmul path serves
_MATMUL_LAYERS = {("conv", keras.layers.Conv2D): (MatmulConv2D, MATMUL_MAX_CONV),
                  ("deconv", keras.layers.Conv2DTranspose): (MatmulConv2DTranspose, MATMUL_MAX_DECONV)}


def speed_up_network(network: keras.Model, conv_impl: str = "auto") -> keras.Model:
    """Apply the speed paths to one built network (a generator or a discriminator), in place.

    Args:
        conv_impl: "auto", "native" or "matmul" (:func:`~pix2pix_tf.fast.matmul.use_matmul`).

    Returns:
        ``network`` itself.

    Raises:
        ValueError: an unknown ``conv_impl``.
    """
    cpu, matmul = cpu_speed_paths(), use_matmul(conv_impl)
    for layer in walk_layers(network):
        fast = _MATMUL_LAYERS.get((layer.name, type(layer)))
        if fast is not None:
            cls, max_size = fast
            layer.__class__ = cls  # a subclass without variables of its own: same kernel, bias
            layer.max_matmul_size = max_size if matmul else 0
        elif cpu and type(layer) is BatchNorm:
            layer.__class__ = FusedBatchNorm
    return network


def speed_up(model, conv_impl: str = "auto"):
    """Apply the speed paths to a built (and compiled) Pix2Pix, or to one network, in place.

    Args:
        model: a :class:`~pix2pix_tf.model.Pix2Pix` (its generator, discriminator, moving
            average of G and, when compiled, both optimizers) or one ``keras.Model``.
        conv_impl: the run option of that name (:class:`~pix2pix_tf.run.options.RunOptions`):
            small-map convolutions as matmuls "auto" (on a CPU), "matmul" (always) or "native"
            (never).

    Returns:
        ``model`` itself.

    Raises:
        ValueError: an unknown ``conv_impl``.
    """
    networks = [getattr(model, name, None) for name in ("generator", "discriminator", "ema_generator")]
    networks = [n for n in networks if n is not None] or [model]
    for network in networks:
        speed_up_network(network, conv_impl)
    if cpu_speed_paths():
        for name in ("g_optimizer", "d_optimizer"):
            optimizer = getattr(model, name, None)
            inner = getattr(optimizer, "inner_optimizer", optimizer)  # under a LossScaleOptimizer
            if type(inner) is keras.optimizers.Adam:
                inner.__class__ = FusedAdam  # same slots and iterations: same checkpoint keys
    return model
