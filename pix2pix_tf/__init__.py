"""pix2pix-tf: Pix2Pix (Isola et al., CVPR 2017) in Keras 3 / TensorFlow, for teaching and for use.

The public API, importable from the top level::

    from pix2pix_tf import Pix2PixConfig, Pix2Pix, build_generator, build_discriminator
    from pix2pix_tf import make_dataset, random_jitter, train, load_run, export_saved_model

Where the paper is (read these, skip the rest):

* :mod:`.config` every knob with the paper's default; :mod:`.errors` beside it
* :mod:`.blocks` the paper's Ck / CDk blocks; :mod:`.inference` dropout and batch norm at test time
* :mod:`.generator` the U-Net; :mod:`.discriminator` the PatchGAN; :mod:`.losses` the objective
* :mod:`.model` ``Pix2Pix.train_step``; :mod:`.data` (``data.jitter``) the 286 -> 256 jitter

Everything else serves it: :mod:`.fast` (speed paths behind switches), :mod:`.run` (the run
folder, training, callbacks, evaluation, prediction, export), :mod:`.datasets` (synthetic,
standard, TFDS, combine, recipes), :mod:`.metrics`, :mod:`.plotting`, :mod:`.cli`; for the
course: :mod:`.course` (the notebooks' exercises: ``check``, ``solution``), :mod:`.diagrams`
(the U-Net and PatchGAN drawn), :mod:`.draw` (draw and see), :mod:`.failures` (notebook 08).

Names are loaded on first use, so ``import pix2pix_tf`` (and the CLI's flag checks) do not
import TensorFlow.

Example:
    >>> import pix2pix_tf
    >>> cfg = pix2pix_tf.Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)
    >>> pix2pix_tf.build_generator(cfg).output_shape
    (None, 64, 64, 3)
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it
_API = {
    "Pix2PixConfig": "config",
    "Pix2PixError": "errors",
    "ConfigError": "errors",
    "build_generator": "generator",
    "build_unet_generator": "generator",
    "build_discriminator": "discriminator",
    "receptive_field": "discriminator",
    "set_inference_mode": "inference",
    "Pix2Pix": "model",
    "make_dataset": "data",
    "random_jitter": "data",
    "train": "run.train",
    "load_run": "run.folder",
    "export_saved_model": "run.export",
    "export_tflite": "run.export",
    "tflite_interpreter": "run.tflite",
    "evaluate": "run.evaluate",
    "predict_files": "run.predict",
    "write_sample": "datasets.synthetic",
}
__all__ = sorted(_API) + ["__version__"]


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'pix2pix_tf' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_API[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
