"""Pix2Pix as a ``keras.Model`` with a custom ``train_step`` (paper section 3).

:meth:`Pix2Pix.train_step` is the paper's algorithm; the update order of the authors' code
and the L1-only ablation are small named alternatives beside it, and the plumbing (several
devices, float16 loss scaling) sits in :meth:`Pix2Pix._update`.

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

import keras
import tensorflow as tf

from . import losses, schedule
from .fast import cpu_speed_paths
from .fast.adam import FusedAdam
from .inference import dropout_seed_states
from .config import Pix2PixConfig
from .discriminator import build_discriminator, discriminator_is_conditional
from .generator import build_generator
from .metrics import image_metrics
from .fast.precision import precision_scope
from .schedule import LinearDecayAfter  # noqa: F401  (registers it; importable from here as before)


def make_optimizer(config: Pix2PixConfig, total_steps: int | None = None,
                   lr_scale: float = 1.0) -> keras.optimizers.Adam:
    """Adam(lr 2e-4, beta1 0.5, beta2 0.999) (section 3.3), with the configured LR schedule.

    Args:
        config: ``learning_rate``, ``beta_1``, ``beta_2`` and the schedule fields.
        total_steps: the run's length, for ``lr_policy="linear"``
            (see :func:`pix2pix_tf.schedule.learning_rate`).
        lr_scale: multiplies the learning rate; :meth:`Pix2Pix.compile` passes
            ``config.d_lr_scale`` for D (1 in the paper).

    Returns:
        A Keras Adam (:class:`~pix2pix_tf.fast.adam.FusedAdam`, the same maths and
        variables in one fused kernel, when TensorFlow sees no GPU).

    Example:
        >>> opt = make_optimizer(Pix2PixConfig())
        >>> round(float(opt.learning_rate), 6), opt.beta_1
        (0.0002, 0.5)
    """
    adam = FusedAdam if cpu_speed_paths() else keras.optimizers.Adam  # same variables either way
    return adam(learning_rate=schedule.learning_rate(config, total_steps, scale=lr_scale),
                beta_1=config.beta_1, beta_2=config.beta_2)


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class Pix2Pix(keras.Model):
    """Generator + discriminator trained with the conditional GAN + L1 objective.

    ``model(x)`` runs the generator. ``fit`` runs :meth:`train_step`: one generator
    pass, one discriminator update on the real pair (x, y) vs the fake pair (x, G(x)),
    one generator update on GAN + lambda * L1. ``evaluate`` reports L1, PSNR and SSIM.
    :meth:`get_config` / :meth:`from_config` round-trip it through its config.

    Args:
        generator: a model x -> G(x) (see :func:`build_generator`).
        discriminator: a model [x, y] -> patch logits (see :func:`build_discriminator`).
        config: the run's :class:`Pix2PixConfig` (loss settings come from it).

    Reference: Isola et al. 2017, sections 3.1 and 3.3.
    """

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 config: Pix2PixConfig | None = None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.config = config or Pix2PixConfig()
        names = ("d_loss", "d_real", "d_fake", "g_gan", "g_l1", "g_total")
        self.train_trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.test_trackers = {n: keras.metrics.Mean(name=n) for n in ("l1", "psnr", "ssim")}

    @classmethod
    def from_config_object(cls, config: Pix2PixConfig, shape: tuple[int, int] | None = None,
                           name: str = "pix2pix") -> "Pix2Pix":
        """Build G and D from ``config`` (seeded by the caller via keras.utils.set_random_seed).

        The layers compute in ``config.precision`` (weights stay float32); call this inside
        ``strategy.scope()`` to train with tf.distribute. ``shape``: (H, W) of non-square
        training images (default image_size square).
        """
        with precision_scope(config.precision):
            return cls(build_generator(config, shape=shape), build_discriminator(config, shape=shape),
                       config, name=name)

    def get_config(self) -> dict:
        """The model's Keras config: its name, the :class:`Pix2PixConfig` as a dict, the shape.

        Returns:
            ``{"name", "trainable", "config": config.to_dict(), "shape": [H, W] or None}``,
            plain JSON types; ``shape`` is None for image_size square images.
            :meth:`from_config` rebuilds G and D from it (fresh weights, same shapes).

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
        model = cls.from_config_object(Pix2PixConfig.from_dict(config["config"]),
                                       shape=None if shape is None else tuple(shape),
                                       name=config.get("name", "pix2pix"))
        model.trainable = config.get("trainable", True)
        return model

    @property
    def precision(self) -> str:
        """The dtype policy the generator computes with ("float32", "mixed_bfloat16", ...)."""
        return self.generator.dtype_policy.name  # set by precision_scope when it was built

    def compile(self, g_optimizer=None, d_optimizer=None, total_steps: int | None = None, **kwargs):
        """Attach one optimizer per network and build both so their state exists before fit.

        Args:
            g_optimizer, d_optimizer: default to the paper's Adam (see :func:`make_optimizer`);
                D's learning rate is scaled by ``config.d_lr_scale``.
            total_steps: length of the run, for the "linear" LR policy.
            **kwargs: passed to ``keras.Model.compile`` (jit_compile, steps_per_execution, ...).
        """
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

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    # ----------------------------------------------------------------- training
    def train_step(self, data):
        """One step of the paper's algorithm: one D update and one G update from the same G(x).

        D scores the real pair (x, y) and the fake pair (x, G(x)), one logit per patch, and
        minimises its cross-entropy (real -> 1, fake -> 0), halved. G minimises the GAN loss
        on D(x, G(x)) (the non-saturating form: fake -> 1) plus lambda * L1(y, G(x)). Both
        gradients are taken at the same point, so one D pass on G(x) serves both losses.

        Two settings run a small alternative instead: ``loss="l1"``
        (:meth:`_reconstruction_only_step`) and ``gan_update="alternating"``
        (:meth:`_alternating_step`). :meth:`_update` holds the multi-device and float16
        plumbing of each optimizer step.

        Reference: Isola et al. 2017, section 3.3 and equation 4.
        """
        if self._variant_step is not None:  # loss="l1" or gan_update="alternating"
            return self._variant_step(data)
        x, y = data  # input and target images: (batch, H, W, C) in [-1, 1]
        cfg = self.config
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)  # G(x): (batch, H, W, C)
            real_logits = self._discriminate(x, y)  # D(x, y): (batch, P, P, 1), one per patch
            fake_logits = self._discriminate(x, fake)  # D(x, G(x)): (batch, P, P, 1)
            d_loss, d_real, d_fake = losses.discriminator_loss(  # (real + fake) * 0.5
                real_logits, fake_logits, cfg.gan_mode, weight=cfg.d_loss_weight)
            g_total, g_gan, g_l1 = losses.generator_loss(  # GAN + lambda * L1
                fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
        self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_gan=g_gan, g_l1=g_l1, g_total=g_total)

    @property
    def _variant_step(self):
        """The step that replaces :meth:`train_step` for this config, or None (the paper's)."""
        if not losses.objective_terms(self.config.loss)[1]:  # no GAN term: loss="l1"
            return self._reconstruction_only_step
        if self.config.gan_update == "alternating":
            return self._alternating_step
        return None

    def _alternating_step(self, data):
        """``gan_update="alternating"``, the authors' code's order: D steps, then G against the new D.

        D's loss is taken on a detached G(x) and D is updated first; G's GAN loss then needs
        a second D pass on G(x), with the updated D. One more D pass than :meth:`train_step`.
        """
        x, y = data
        cfg = self.config
        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)  # G(x)
            with tf.GradientTape() as d_tape:
                real_logits = self._discriminate(x, y)
                fake_logits = self._discriminate(x, tf.stop_gradient(fake))  # no gradient into G
                d_loss, d_real, d_fake = losses.discriminator_loss(
                    real_logits, fake_logits, cfg.gan_mode, weight=cfg.d_loss_weight)
            self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
            fake_logits = self._discriminate(x, fake)  # the updated D
            g_total, g_gan, g_l1 = losses.generator_loss(
                fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake,
                         g_gan=g_gan, g_l1=g_l1, g_total=g_total)

    def _reconstruction_only_step(self, data):
        """``loss="l1"``, the "L1" row of the paper's table 1: G on lambda * L1 alone, no D.

        The discriminator is neither run nor updated; its losses are logged as 0.
        """
        x, y = data
        cfg = self.config
        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)  # G(x)
            g_total, g_gan, g_l1 = losses.generator_loss(
                None, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        zero = tf.constant(0.0)
        return self._log(d_loss=zero, d_real=zero, d_fake=zero, g_gan=g_gan, g_l1=g_l1, g_total=g_total)

    def _discriminate(self, x, image):
        """D's patch logits for ``image`` (conditioned on ``x`` unless D is unconditional)."""
        conditional = discriminator_is_conditional(self.config)
        return self.discriminator([x, image] if conditional else image, training=True)

    @staticmethod
    def _update(optimizer, tape, loss, variables):
        """One optimizer step down the gradient of ``loss``: the plumbing the paper needs none of.

        Two scalings of the loss, both by 1 on one device in float32 or bfloat16:

        * across devices: under a tf.distribute strategy each replica computes ``loss`` on
          its part of the batch and the replicas' gradients are *summed*, so the loss is
          divided by the number of replicas; the update then equals one device's at the
          global batch.
        * float16: ``optimizer`` is a ``keras.optimizers.LossScaleOptimizer`` (see
          :meth:`compile`); ``scale_loss`` multiplies the loss by its dynamic scale so small
          gradients do not underflow in float16, and ``apply_gradients`` divides the scale
          out again and skips a step whose gradients overflowed.

        ``tape`` records again while the loss is scaled, so the gradient includes both factors.
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
        fake = self.generator(x, training=False)
        for name, values in image_metrics(y, fake).items():
            self.test_trackers[name].update_state(values)
        return {name: t.result() for name, t in self.test_trackers.items()}

    def checkpoint(self) -> tf.train.Checkpoint:
        """A tf.train.Checkpoint of both networks, both optimizers (their step included) and
        the dropout layers' random-seed states, so a resumed run draws the same noise."""
        return tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                   g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                                   dropout_seeds=dropout_seed_states(self.generator))

    @property
    def step(self) -> int:
        """Number of generator updates done so far (restored with the optimizer on resume)."""
        return int(self.g_optimizer.iterations.numpy())

