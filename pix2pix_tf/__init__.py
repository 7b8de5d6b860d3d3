"""pix2pix-tf: Pix2Pix (Isola et al., CVPR 2017) in Keras 3 / TensorFlow, for teaching and for use.

The public API, importable from the top level::

    from pix2pix_tf import Pix2PixConfig, Pix2Pix, build_generator, build_discriminator
    from pix2pix_tf import make_dataset, random_jitter, train, load_run, export_saved_model

Where the paper is: the modules directly in this package (read these, skip the rest):

* :mod:`.config` every knob with the paper's default; :mod:`.errors` beside it
* :mod:`.blocks` the paper's Ck / CDk blocks; :mod:`.layers` dropout and batch norm at test time
* :mod:`.generator` the U-Net; :mod:`.discriminator` the PatchGAN; :mod:`.losses` the objective
* :mod:`.model` ``Pix2Pix.train_step``; :mod:`.jitter` the 286 -> 256 jitter; :mod:`.metrics`,
  :mod:`.schedule` the test metrics and the learning-rate policy

Everything else is a sub-package above it: :mod:`.host` (safe writes, output folders,
memory), :mod:`.fast` (CPU speed paths), :mod:`.successors` (levers of pix2pix's
successors), :mod:`.data` (files, shapes, tf.data), :mod:`.datasets` (synthetic, standard,
TFDS, combine, recipes), :mod:`.run` (the run folder, training, callbacks, evaluation,
prediction, export), :mod:`.web` (drawing widget, web page), :mod:`.course` (the notebooks'
exercises, plots, diagrams, the failure gallery, Colab), :mod:`.apps` (the CLI, the demo).

Names are loaded on first use, so ``import pix2pix_tf`` (and the CLI's flag checks) do not
import TensorFlow.

Example:
    >>> import pix2pix_tf
    >>> cfg = pix2pix_tf.Pix2PixConfig(image_size=64, load_size=72, ngf=8, ndf=8)
    >>> pix2pix_tf.build_generator(cfg).output_shape
    (None, 64, 64, 3)
"""

import importlib as _importlib

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
    "set_inference_mode": "layers",
    "Pix2Pix": "model",
    "make_dataset": "data",
    "random_jitter": "jitter",
    "train": "run.train",
    "load_run": "run.loading",
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
    value = getattr(_importlib.import_module(f".{_API[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(_API) | {"__version__"})
