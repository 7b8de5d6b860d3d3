"""Pix2Pix as a ``keras.Model`` with a custom ``train_step`` (paper section 3).

Example:
    >>> cfg = Pix2PixConfig(image_size=64, load_size=72)
    >>> model = Pix2Pix.from_config_object(cfg)
    >>> model.compile()  # Adam(2e-4, 0.5, 0.999) for G and D, lambda = 100
    >>> history = model.fit(train_ds, steps_per_epoch=10, epochs=1)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from . import losses
from .fast import cpu_speed_paths
from .fast.adam import FusedAdam
from .inference import dropout_seed_states
from .config import Pix2PixConfig
from .discriminator import build_discriminator, discriminator_is_conditional
from .generator import build_generator
from .metrics import image_metrics
from .fast.precision import precision_scope


def make_optimizer(config: Pix2PixConfig, total_steps: int | None = None) -> keras.optimizers.Adam:
    """Adam(lr 2e-4, beta1 0.5, beta2 0.999) (section 3.3), with the configured LR policy."""
    lr = config.learning_rate
    if config.lr_policy == "linear" and total_steps:
        start = int(round(total_steps * config.lr_decay_start))
        lr = LinearDecayAfter(config.learning_rate, start, max(total_steps - start, 1))
    adam = FusedAdam if cpu_speed_paths() else keras.optimizers.Adam  # same variables either way
    return adam(learning_rate=lr, beta_1=config.beta_1, beta_2=config.beta_2)


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class LinearDecayAfter(keras.optimizers.schedules.LearningRateSchedule):
    """Constant ``lr`` for ``start`` steps, then linear decay to 0 over ``decay_steps``."""

    def __init__(self, lr: float, start: int, decay_steps: int):
        self.lr, self.start, self.decay_steps = lr, start, decay_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        frac = tf.clip_by_value((step - self.start) / float(self.decay_steps), 0.0, 1.0)
        return self.lr * (1.0 - frac)

    def get_config(self):
        return {"lr": self.lr, "start": self.start, "decay_steps": self.decay_steps}


class Pix2Pix(keras.Model):
    """Generator + discriminator trained with the conditional GAN + L1 objective.

    ``model(x)`` runs the generator. ``fit`` runs :meth:`train_step`: one generator
    pass, one discriminator update on the real pair (x, y) vs the fake pair (x, G(x)),
    one generator update on GAN + lambda * L1. ``evaluate`` reports L1, PSNR and SSIM.

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
    def from_config_object(cls, config: Pix2PixConfig, shape: tuple[int, int] | None = None) -> "Pix2Pix":
        """Build G and D from ``config`` (seeded by the caller via keras.utils.set_random_seed).

        The layers compute in ``config.precision`` (weights stay float32); call this inside
        ``strategy.scope()`` to train with tf.distribute. ``shape``: (H, W) of non-square
        training images (default image_size square).
        """
        with precision_scope(config.precision):
            return cls(build_generator(config, shape=shape), build_discriminator(config, shape=shape),
                       config, name="pix2pix")

    @property
    def precision(self) -> str:
        """The dtype policy the generator computes with ("float32", "mixed_bfloat16", ...)."""
        return self.generator.dtype_policy.name  # set by precision_scope when it was built

    def compile(self, g_optimizer=None, d_optimizer=None, total_steps: int | None = None, **kwargs):
        """Attach one optimizer per network and build both so their state exists before fit.

        Args:
            g_optimizer, d_optimizer: default to the paper's Adam (see :func:`make_optimizer`).
            total_steps: length of the run, for the "linear" LR policy.
            **kwargs: passed to ``keras.Model.compile`` (jit_compile, steps_per_execution, ...).
        """
        super().compile(**kwargs)
        self.g_optimizer = g_optimizer or make_optimizer(self.config, total_steps)
        self.d_optimizer = d_optimizer or make_optimizer(self.config, total_steps)
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
    def _discriminate(self, x, image):
        """D's patch logits for ``image`` (conditioned on ``x`` unless D is unconditional)."""
        conditional = discriminator_is_conditional(self.config)
        return self.discriminator([x, image] if conditional else image, training=True)

    def _d_loss(self, x, y, fake):
        real_logits = self._discriminate(x, y)
        fake_logits = self._discriminate(x, fake)
        return losses.discriminator_loss(real_logits, fake_logits, self.config.gan_mode,
                                         self.config.d_loss_weight), fake_logits

    def _g_loss(self, fake_logits, y, fake):
        cfg = self.config
        return losses.generator_loss(fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode,
                                     loss=cfg.loss, recon=cfg.recon_loss)

    @staticmethod
    def _apply(optimizer, tape, loss, variables):
        """Gradients of ``loss`` -> one update. ``loss`` is already scaled by the caller: divided
        by the replica count (gradients are summed over replicas, so the update equals one
        replica at the global batch) and, for float16, by the LossScaleOptimizer's scale."""
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))

    def train_step(self, data):
        x, y = data
        cfg = self.config
        g_vars = self.generator.trainable_variables
        d_vars = self.discriminator.trainable_variables
        per_replica = 1.0 / tf.distribute.get_strategy().num_replicas_in_sync
        use_gan = losses.objective_terms(cfg.loss)[1]
        zero = tf.constant(0.0)
        if not use_gan:
            # reconstruction only (the paper's "L1" row of table 1): no discriminator at all
            with tf.GradientTape() as g_tape:
                fake = self.generator(x, training=True)
                g_total, g_gan, g_l1 = self._g_loss(None, y, fake)
                g_scaled = self.g_optimizer.scale_loss(g_total * per_replica)
            self._apply(self.g_optimizer, g_tape, g_scaled, g_vars)
            d_loss = d_real = d_fake = zero
        elif cfg.gan_update == "simultaneous":
            # One D pass on (x, G(x)) serves both losses; both nets step from the same point.
            with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
                fake = self.generator(x, training=True)
                (d_loss, d_real, d_fake), fake_logits = self._d_loss(x, y, fake)
                g_total, g_gan, g_l1 = self._g_loss(fake_logits, y, fake)
                d_scaled = self.d_optimizer.scale_loss(d_loss * per_replica)
                g_scaled = self.g_optimizer.scale_loss(g_total * per_replica)
            self._apply(self.d_optimizer, d_tape, d_scaled, d_vars)
            self._apply(self.g_optimizer, g_tape, g_scaled, g_vars)
        else:
            # The reference code's order: update D on a detached fake, then G against the new D.
            with tf.GradientTape() as g_tape:
                fake = self.generator(x, training=True)
                with tf.GradientTape() as d_tape:
                    (d_loss, d_real, d_fake), _ = self._d_loss(x, y, tf.stop_gradient(fake))
                    d_scaled = self.d_optimizer.scale_loss(d_loss * per_replica)
                self._apply(self.d_optimizer, d_tape, d_scaled, d_vars)
                fake_logits = self._discriminate(x, fake)
                g_total, g_gan, g_l1 = self._g_loss(fake_logits, y, fake)
                g_scaled = self.g_optimizer.scale_loss(g_total * per_replica)
            self._apply(self.g_optimizer, g_tape, g_scaled, g_vars)
        for name, value in (("d_loss", d_loss), ("d_real", d_real), ("d_fake", d_fake),
                            ("g_gan", g_gan), ("g_l1", g_l1), ("g_total", g_total)):
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

