"""Pix2Pix as a ``keras.Model`` with a custom ``train_step`` (paper section 3).

:meth:`Pix2Pix.train_step` is the paper's algorithm and nothing else. Beside it, the paper's
own variants: :class:`ReconstructionOnlyPix2Pix` (table 1's "L1": no D) and
:class:`AlternatingPix2Pix` (the authors' code's update order), picked by :func:`model_class`;
the cGAN-only and unconditional ablations are the paper's step with ``config.loss``'s terms.
The plumbing (several devices, float16 loss scaling) is :meth:`Pix2Pix._update`; the
successors' levers are another model (:mod:`pix2pix_tf.successors.model`).

Example:
    >>> cfg = Pix2PixConfig(image_size=32, load_size=32, ngf=4, ndf=4)
    >>> model = Pix2Pix.from_config_object(cfg)
    >>> model.compile()  # Adam(2e-4, 0.5, 0.999) for G and D, lambda = 100
    >>> x = y = tf.zeros((1, 32, 32, 3))  # one (input, target) pair; fit() takes a dataset of them
    >>> sorted(model.train_step((x, y)))
    ['d_fake', 'd_loss', 'd_real', 'g_gan', 'g_l1', 'g_total']
    >>> model.step
    1
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from . import losses, schedule
from .layers import dropout_seed_states
from .config import ConfigError, Pix2PixConfig, as_paper_config
from .discriminator import build_discriminator, discriminator_is_conditional
from .generator import build_generator
from .metrics import image_metrics
from .schedule import LinearDecayAfter  # noqa: F401  (registers it; importable from here as before)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Build layers under the Keras dtype policy ``name``; restore the global policy after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def make_optimizer(config: Pix2PixConfig, total_steps: int | None = None,
                   lr_scale: float = 1.0) -> keras.optimizers.Adam:
    """Adam(lr 2e-4, beta1 0.5, beta2 0.999) (section 3.3), with the configured LR schedule.

    ``total_steps``: the run's length, for ``lr_policy="linear"``
    (:func:`pix2pix_tf.schedule.learning_rate`); ``lr_scale`` multiplies the rate
    (:meth:`Pix2Pix.compile` passes ``config.d_lr_scale`` for D). On a CPU the run swaps in
    the same maths in one fused kernel (:mod:`pix2pix_tf.fast.transform`).

    Example:
        >>> opt = make_optimizer(Pix2PixConfig())
        >>> round(float(opt.learning_rate), 6), opt.beta_1
        (0.0002, 0.5)
    """
    return keras.optimizers.Adam(learning_rate=schedule.learning_rate(config, total_steps, scale=lr_scale),
                beta_1=config.beta_1, beta_2=config.beta_2)


def model_class(config: Pix2PixConfig) -> type["Pix2Pix"]:
    """The paper's model that trains ``config``: :class:`Pix2Pix`, :class:`ReconstructionOnlyPix2Pix`
    (``loss="l1"``) or :class:`AlternatingPix2Pix` (``gan_update="alternating"``).

    Example:
        >>> model_class(Pix2PixConfig(loss="l1")).__name__
        'ReconstructionOnlyPix2Pix'
    """
    if not losses.objective_terms(config.loss)[1]:  # no GAN term
        return ReconstructionOnlyPix2Pix
    if config.gan_update == "alternating":
        return AlternatingPix2Pix
    return Pix2Pix


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class Pix2Pix(keras.Model):
    """G (:func:`build_generator`) and D (:func:`build_discriminator`) trained with the
    conditional GAN + L1 objective of ``config``: ``fit`` runs :meth:`train_step`, ``model(x)``
    runs G, ``evaluate`` reports L1, PSNR and SSIM.

    Reference: Isola et al. 2017, sections 3.1 and 3.3.
    """

    config_class = Pix2PixConfig  # the config this class trains (a subclass may extend it)

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 config: Pix2PixConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.config = config or self.config_class()
        self.conditional = discriminator_is_conditional(self.config)  # D sees x (a cGAN)
        self.train_trackers = {n: keras.metrics.Mean(name=n) for n in self.loss_names()}
        self.test_trackers = {n: keras.metrics.Mean(name=n) for n in ("l1", "psnr", "ssim")}

    def loss_names(self) -> tuple[str, ...]:
        """The losses :meth:`train_step` logs, in order."""
        return ("d_loss", "d_real", "d_fake", "g_gan", "g_l1", "g_total")

    @classmethod
    def from_config_object(cls, config: Pix2PixConfig, shape: tuple[int, int] | None = None,
                           name: str = "pix2pix", precision: str | None = None) -> "Pix2Pix":
        """Build G and D from ``config`` (seeded by the caller via keras.utils.set_random_seed).

        ``Pix2Pix.from_config_object`` builds the class :func:`model_class` picks. Call it inside
        ``strategy.scope()`` to train with tf.distribute. ``shape``: (H, W) of non-square
        training images; ``precision``: the Keras dtype policy the layers compute in (default
        "float32"; weights stay float32), chosen by the run.
        """
        if cls is Pix2Pix:
            cls = model_class(config)
        config = cls.own_config(config)
        with dtype_policy(precision or "float32"):
            return cls(*cls.build_networks(config, shape), config, name=name)

    @classmethod
    def own_config(cls, config: Pix2PixConfig) -> Pix2PixConfig:
        """``config`` as this class's config: one extending the paper's with nothing of its own
        set reads as the paper's; a :class:`ConfigError` if it asks for more (a successors' lever).
        """
        own = as_paper_config(config)
        if own is not None:
            return own
        raise ConfigError(f"{cls.__name__} does not train this {type(config).__name__} (a lever of "
                          "pix2pix's successors is on); build pix2pix_tf.successors.model_class(config)")

    @staticmethod
    def build_networks(config: Pix2PixConfig, shape: tuple[int, int] | None = None):
        """``(G, D)`` for ``config``: :func:`build_generator` and :func:`build_discriminator`."""
        return build_generator(config, shape=shape), build_discriminator(config, shape=shape)

    def get_config(self) -> dict:
        """``{"name", "trainable", "config": config.to_dict(), "shape": [H, W] or None}`` (None for
        image_size squares): :meth:`from_config` rebuilds G and D from it (fresh weights).

        Example:
            >>> model = Pix2Pix.from_config_object(Pix2PixConfig(image_size=32, load_size=32, ngf=2, ndf=2))
            >>> model.get_config()["config"]["image_size"], model.get_config()["shape"]
            (32, None)
            >>> Pix2Pix.from_config(model.get_config()).config == model.config
            True
        """
        h, w = self.generator.input_shape[1:3]
        size = self.config.image_size
        return {"name": self.name, "trainable": self.trainable, "config": self.config.to_dict(),
                "shape": None if (h, w) == (size, size) else [h, w]}

    @classmethod
    def from_config(cls, config: dict, custom_objects=None) -> "Pix2Pix":
        """Build the model :meth:`get_config` describes (G and D freshly initialised)."""
        shape = config.get("shape")
        model = cls.from_config_object(cls.config_class.from_dict(config["config"]),
                                       shape=None if shape is None else tuple(shape),
                                       name=config.get("name", "pix2pix"))
        model.trainable = config.get("trainable", True)
        return model

    @property
    def precision(self) -> str:
        """The dtype policy the generator computes with ("float32", "mixed_bfloat16", ...)."""
        return self.generator.dtype_policy.name  # set by dtype_policy when it was built

    def compile(self, g_optimizer=None, d_optimizer=None, total_steps: int | None = None, **kwargs):
        """Attach one optimizer per network (default: the paper's Adam, :func:`make_optimizer`;
        ``total_steps`` for the "linear" LR policy) and build both so their state exists before
        fit; ``kwargs`` go to ``keras.Model.compile``."""
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or make_optimizer(self.config, total_steps)
        self.d_optimizer = d_optimizer or make_optimizer(self.config, total_steps,
                                                         lr_scale=self.config.d_lr_scale)
        if self.precision == "mixed_float16":
            # float16 gradients underflow: scale each loss up, unscale before the update,
            # skip steps whose gradients overflow (dynamic scale, one per network)
            wrap = keras.optimizers.LossScaleOptimizer
            if not isinstance(self.g_optimizer, wrap):
                self.g_optimizer = wrap(self.g_optimizer)
            if not isinstance(self.d_optimizer, wrap):
                self.d_optimizer = wrap(self.d_optimizer)
        # Two optimizers held as attributes are invisible to Keras' own build step:
        # create their slots now so checkpoints and resume see them from step 0.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    @property
    def metrics(self):
        return [*self.train_trackers.values(), *self.test_trackers.values()]

    @property
    def inference_generator(self) -> keras.Model:
        """The generator to evaluate, export and serve (G; the successors' model may serve an
        average of G's weights)."""
        return self.generator

    def call(self, inputs, training=False):
        """G(x): the generator being trained when ``training``, else :attr:`inference_generator`."""
        return (self.generator if training else self.inference_generator)(inputs, training=training)

    # ----------------------------------------------------------------- training
    def train_step(self, data):
        """One step of the paper's algorithm: one D update and one G update from the same G(x).

        D scores the real pair (x, y) and the fake pair (x, G(x)), one logit per patch, and
        minimises its cross-entropy (real -> 1, fake -> 0), halved. G minimises the GAN loss
        on D(x, G(x)) (the non-saturating form: fake -> 1) plus lambda * L1(y, G(x)). Both
        gradients are taken at the same point, so one D pass on G(x) serves both losses.

        Reference: Isola et al. 2017, section 3.3 and equation 4.
        """
        x, y = data  # input and target images: (batch, H, W, C) in [-1, 1]
        cfg = self.config
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)  # G(x): (batch, H, W, C)
            real_logits = self.discriminate(x, y)  # D(x, y): (batch, P, P, 1), one per patch
            fake_logits = self.discriminate(x, fake)  # D(x, G(x))
            d_loss, d_real, d_fake = losses.discriminator_loss(  # (real + fake) * 0.5
                real_logits, fake_logits, cfg.gan_mode, weight=cfg.d_loss_weight)
            g_total, g_gan, g_l1 = losses.generator_loss(  # GAN + lambda * L1
                fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
        self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_gan=g_gan, g_l1=g_l1,
                         g_total=g_total)

    def discriminate(self, x, image):
        """D's patch logits (batch, P, P, 1) for ``image``, conditioned on ``x`` (the paper's
        cGAN) or, for the unconditional ablations ("gan", "l1+gan"), on nothing."""
        return self.discriminator([x, image] if self.conditional else image, training=True)

    @staticmethod
    def _update(optimizer, tape, loss, variables):
        """One optimizer step down the gradient of ``loss``, with two scalings the paper needs
        none of (both 1 on one device in float32 or bfloat16): under tf.distribute the
        replicas' gradients are summed, so each replica's loss is divided by their number; in
        float16 a ``LossScaleOptimizer`` (:meth:`compile`) scales the loss up against underflow
        and the update back down. ``tape`` records the scaling, so the gradient includes both.
        """
        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        with tape:  # record the scaling too: the gradient is of the scaled loss
            loss = optimizer.scale_loss(loss * (1.0 / replicas))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))

    def _log(self, **values):
        """Add this step's losses to their running means; return all of them (Keras' logs)."""
        for name, value in values.items():
            self.train_trackers[name].update_state(value)
        return {name: t.result() for name, t in self.train_trackers.items()}

    # --------------------------------------------------------------- evaluation
    def test_step(self, data):
        x, y = data
        fake = self.inference_generator(x, training=False)
        for name, values in image_metrics(y, fake).items():
            self.test_trackers[name].update_state(values)
        return {name: t.result() for name, t in self.test_trackers.items()}

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """Both networks, both optimizers (their step included) and the dropout seed states (a
        resumed run draws the same noise); ``extra``: a subclass's objects."""
        return tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                   g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                                   dropout_seeds=dropout_seed_states(self.generator), **extra)

    @property
    def step(self) -> int:
        """Number of generator updates done so far (restored with the optimizer on resume)."""
        return int(self.g_optimizer.iterations.numpy())


# ------------------------------------------------------------ the paper's own variants
@keras.saving.register_keras_serializable(package="pix2pix_tf")
class AlternatingPix2Pix(Pix2Pix):
    """``gan_update="alternating"``, the authors' code's order: D steps, then G against the new D."""

    def train_step(self, data):
        """D's loss is taken on a detached G(x) and D is updated first; G's GAN loss then needs
        a second D pass on G(x), with the updated D. One more D pass than :meth:`Pix2Pix.train_step`.
        """
        x, y = data
        cfg = self.config
        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)  # G(x)
            with tf.GradientTape() as d_tape:
                d_loss, d_real, d_fake = losses.discriminator_loss(
                    self.discriminate(x, y), self.discriminate(x, tf.stop_gradient(fake)),  # no gradient into G
                    cfg.gan_mode, weight=cfg.d_loss_weight)
            self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
            g_total, g_gan, g_l1 = losses.generator_loss(  # the updated D
                self.discriminate(x, fake), y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss,
                recon=cfg.recon_loss)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_gan=g_gan, g_l1=g_l1,
                         g_total=g_total)


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class ReconstructionOnlyPix2Pix(Pix2Pix):
    """``loss="l1"``, table 1's "L1": G on lambda * L1 alone. D is built (checkpoints keep
    their shape) but neither run nor updated; its losses are logged as 0."""

    def train_step(self, data):
        x, y = data
        cfg = self.config
        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)  # G(x)
            g_total, g_gan, g_l1 = losses.generator_loss(
                None, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        zero = tf.constant(0.0)
        return self._log(d_loss=zero, d_real=zero, d_fake=zero, g_gan=g_gan, g_l1=g_l1, g_total=g_total)
