"""pix2pix-tf: Pix2Pix (Isola et al., CVPR 2017) in Keras 3 / TensorFlow, for teaching and for use.

The paper is the modules directly in this package (read these, skip the rest): :mod:`.config`
(every setting, the paper's defaults), :mod:`.blocks` and :mod:`.layers` (Ck / CDk blocks,
dropout and batch norm at test time), :mod:`.generator` (U-Net), :mod:`.discriminator`
(PatchGAN), :mod:`.losses`, :mod:`.model` (``Pix2Pix.train_step``), :mod:`.jitter`,
:mod:`.metrics`, :mod:`.schedule`, :mod:`.errors`. Everything else is a sub-package above them:
:mod:`.host`, :mod:`.fast` (CPU speed paths), :mod:`.successors` (the successors' levers),
:mod:`.data`, :mod:`.datasets`, :mod:`.run`, :mod:`.web`, :mod:`.course`, :mod:`.apps`.

The public API below is loaded on first use, so ``import pix2pix_tf`` does not import TensorFlow.

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
