"""Pix2Pix as a ``keras.Model`` with a custom ``train_step`` (paper section 3).

:meth:`Pix2Pix.train_step` is the paper's algorithm; the update order of the authors' code
and the L1-only ablation are small named alternatives beside it, and the plumbing (several
devices, float16 loss scaling) sits in :meth:`Pix2Pix._update`. The quality levers of
pix2pix's successors (all off by default) are named pieces beside the step: D's features for
feature matching come with its logits (:meth:`Pix2Pix._discriminate`), G's extra loss terms
are :meth:`Pix2Pix._successor_terms`, the weight average is :meth:`Pix2Pix._update_ema`.

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
from .config import Pix2PixConfig
from .discriminator import build_discriminator, discriminator_features, discriminator_is_conditional
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

    Args:
        config: ``learning_rate``, ``beta_1``, ``beta_2`` and the schedule fields.
        total_steps: the run's length, for ``lr_policy="linear"``
            (see :func:`pix2pix_tf.schedule.learning_rate`).
        lr_scale: multiplies the learning rate; :meth:`Pix2Pix.compile` passes
            ``config.d_lr_scale`` for D (1 in the paper).

    Returns:
        A Keras Adam (the run makes it :class:`~pix2pix_tf.fast.adam.FusedAdam`, the same
        maths and variables in one fused kernel, on a CPU: :mod:`pix2pix_tf.fast.transform`).

    Example:
        >>> opt = make_optimizer(Pix2PixConfig())
        >>> round(float(opt.learning_rate), 6), opt.beta_1
        (0.0002, 0.5)
    """
    return keras.optimizers.Adam(learning_rate=schedule.learning_rate(config, total_steps, scale=lr_scale),
                beta_1=config.beta_1, beta_2=config.beta_2)


def ema_decay_at(decay: float, step) -> tf.Tensor:
    """The EMA's decay after ``step`` generator updates: ``min(decay, (1 + step) / (10 + step))``.

    The average starts as a copy of G's initial weights; a fixed decay of 0.999 would keep
    them for thousands of steps (after 1000 steps, 37% of the average would still be the
    random initialisation). The warm-up (as in TensorFlow's ExponentialMovingAverage with
    ``num_updates``) lets the average follow G closely early on: 0.18 after 1 step, 0.92 after
    100, 0.991 after 1000, the full 0.999 from about 9000 steps on.

    Example:
        >>> [round(float(ema_decay_at(0.999, t)), 3) for t in (1, 100, 1000, 10000)]
        [0.182, 0.918, 0.991, 0.999]
    """
    t = tf.cast(step, tf.float32)
    return tf.minimum(tf.constant(decay, tf.float32), (1.0 + t) / (10.0 + t))


def ema_update(averages, weights, decay) -> None:
    """``a <- decay * a + (1 - decay) * w`` for each pair of variables (same shapes), in place.

    Under a tf.distribute strategy the update runs once per replica's copy, in the strategy's
    cross-replica update (the weights are already equal on every replica after the step).

    Example:
        >>> a, w = tf.Variable([0.0, 10.0]), tf.Variable([1.0, 0.0])
        >>> ema_update([a], [w], 0.9)
        >>> [round(float(v), 3) for v in a.numpy()]
        [0.1, 9.0]
    """
    def tf_variable(v):  # a Keras variable's tf.Variable (what tf.distribute updates)
        return v.value if isinstance(v, keras.Variable) else v

    pairs = [(tf_variable(a), tf_variable(w)) for a, w in zip(averages, weights, strict=True)]

    def update(strategy, decay):
        for average, weight in pairs:
            strategy.extended.update(
                average, lambda a, w, d: a.assign_sub((1.0 - d) * (a - w)), args=(weight, decay), group=False)

    decay = tf.cast(decay, tf.float32)
    replica = tf.distribute.get_replica_context()  # public API: None in a cross-replica context
    if replica is None:
        update(tf.distribute.get_strategy(), decay)
    else:
        replica.merge_call(update, args=(decay,))  # calls update(strategy, decay) once


class _Untracked:
    """Holds a model Keras must not track as part of Pix2Pix (shared layers, or a frozen helper
    whose weights are not the run's): ``holder.model``."""

    def __init__(self, model=None):
        self.model = model


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class Pix2Pix(keras.Model):
    """Generator + discriminator trained with the conditional GAN + L1 objective.

    ``model(x)`` runs the generator. ``fit`` runs :meth:`train_step`: one generator
    pass, one discriminator update on the real pair (x, y) vs the fake pair (x, G(x)),
    one generator update on GAN + lambda * L1. ``evaluate`` reports L1, PSNR and SSIM.
    :meth:`get_config` / :meth:`from_config` round-trip it through its config.

    With ``config.ema_decay > 0`` the model also holds ``ema_generator``, an exponential
    moving average of G's weights (:meth:`_update_ema`); :attr:`inference_generator` (it, or
    G without it) is what ``model(x)``, ``evaluate``, ``predict`` and the exports run.

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
        names += tuple(n for n, on in (("g_fm", self.config.lambda_fm > 0),
                                       ("g_perceptual", self.config.lambda_perceptual > 0)) if on)
        self.train_trackers = {n: keras.metrics.Mean(name=n) for n in names}
        self.ema_generator = self._build_ema_generator() if self.config.ema_decay > 0 else None
        self._d_features = _Untracked(discriminator_features(discriminator, self.config)
                                      if self.config.lambda_fm > 0 else None)
        self._perceptual = _Untracked()  # loaded at the first training step (lambda_perceptual > 0)
        self.test_trackers = {n: keras.metrics.Mean(name=n) for n in ("l1", "psnr", "ssim")}

    @classmethod
    def from_config_object(cls, config: Pix2PixConfig, shape: tuple[int, int] | None = None,
                           name: str = "pix2pix", precision: str | None = None) -> "Pix2Pix":
        """Build G and D from ``config`` (seeded by the caller via keras.utils.set_random_seed).

        Call this inside ``strategy.scope()`` to train with tf.distribute. ``shape``: (H, W)
        of non-square training images (default image_size square). ``precision``: the Keras
        dtype policy the layers compute in (weights stay float32); default
        ``config.precision``, where "auto" (a choice per machine, which the run makes with
        :func:`pix2pix_tf.fast.precision.resolve_precision`) builds float32.
        """
        precision = precision or (config.precision if config.precision != "auto" else "float32")
        with dtype_policy(precision):
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
        return self.generator.dtype_policy.name  # set by dtype_policy when it was built

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

    @property
    def inference_generator(self) -> keras.Model:
        """The generator to evaluate, export and serve: the EMA of G's weights when
        ``config.ema_decay > 0`` (``ema_generator``), else G itself."""
        return self.generator if self.ema_generator is None else self.ema_generator

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

        Two settings run a small alternative instead: ``loss="l1"``
        (:meth:`_reconstruction_only_step`) and ``gan_update="alternating"``
        (:meth:`_alternating_step`). :meth:`_update` holds the multi-device and float16
        plumbing of each optimizer step. The successors' levers (off by default, adding
        nothing to the step then) are the features ``_discriminate`` returns,
        :meth:`_successor_terms` and :meth:`_update_ema`.

        Reference: Isola et al. 2017, section 3.3 and equation 4.
        """
        if self._variant_step is not None:  # loss="l1" or gan_update="alternating"
            return self._variant_step(data)
        x, y = data  # input and target images: (batch, H, W, C) in [-1, 1]
        cfg = self.config
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)  # G(x): (batch, H, W, C)
            real_logits, real_features = self._discriminate(x, y)  # D(x, y): (batch, P, P, 1), one per patch
            fake_logits, fake_features = self._discriminate(x, fake)  # D(x, G(x)); features: None unless FM
            d_loss, d_real, d_fake = losses.discriminator_loss(  # (real + fake) * 0.5
                real_logits, fake_logits, cfg.gan_mode, weight=cfg.d_loss_weight)
            g_total, g_gan, g_l1 = losses.generator_loss(  # GAN + lambda * L1
                fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
            g_total, extra = self._successor_terms(  # + feature matching, perceptual (off: nothing)
                g_total, y, fake, real_features, fake_features)
        self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        self._update_ema()
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_gan=g_gan, g_l1=g_l1,
                         g_total=g_total, **extra)

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
                real_logits, _ = self._discriminate(x, y)
                fake_logits, _ = self._discriminate(x, tf.stop_gradient(fake))  # no gradient into G
                d_loss, d_real, d_fake = losses.discriminator_loss(
                    real_logits, fake_logits, cfg.gan_mode, weight=cfg.d_loss_weight)
            self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
            fake_logits, fake_features = self._discriminate(x, fake)  # the updated D
            # feature matching compares the updated D's features on both pairs: one more D pass
            real_features = self._discriminate(x, y)[1] if fake_features is not None else None
            g_total, g_gan, g_l1 = losses.generator_loss(
                fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
            g_total, extra = self._successor_terms(g_total, y, fake, real_features, fake_features)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        self._update_ema()
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake,
                         g_gan=g_gan, g_l1=g_l1, g_total=g_total, **extra)

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
            g_total, extra = self._successor_terms(g_total, y, fake, None, None)  # no D: no feature matching
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        self._update_ema()
        zero = tf.constant(0.0)
        return self._log(d_loss=zero, d_real=zero, d_fake=zero, g_gan=g_gan, g_l1=g_l1,
                         g_total=g_total, **extra)

    def _discriminate(self, x, image):
        """D's patch logits for ``image`` (conditioned on ``x`` unless D is unconditional), and
        D's intermediate features for feature matching (None unless ``lambda_fm > 0``).

        Returns:
            ``(logits, features)``: logits (batch, P, P, 1), or a list of them, one per scale,
            when ``num_d > 1``; features as :func:`~pix2pix_tf.discriminator.discriminator_features`.
        """
        conditional = discriminator_is_conditional(self.config)
        inputs = [x, image] if conditional else image
        if self._d_features.model is None:
            return self.discriminator(inputs, training=True), None
        out = self._d_features.model(inputs, training=True)  # the same D pass, its features too
        return out["logits"], out["features"]

    # ----------------------------------------------------- levers of pix2pix's successors
    def _successor_terms(self, g_total, y, fake, real_features, fake_features):
        """G's extra loss terms from pix2pix's successors, added to the paper's total.

        * ``lambda_fm > 0``: pix2pixHD's feature matching between D's features on the real and
          the fake pair (:func:`~pix2pix_tf.losses.feature_matching_loss`), logged as ``g_fm``;
        * ``lambda_perceptual > 0``: L1 between a fixed network's features of y and G(x)
          (:func:`~pix2pix_tf.losses.perceptual_loss`), logged as ``g_perceptual``.

        Returns:
            ``(total, {name: unweighted term})``; with both off, ``g_total`` unchanged and ``{}``.
        """
        cfg = self.config
        extra = {}
        if cfg.lambda_fm > 0:
            extra["g_fm"] = losses.feature_matching_loss(real_features, fake_features)
            g_total = g_total + cfg.lambda_fm * extra["g_fm"]
        if cfg.lambda_perceptual > 0:
            net = self._perceptual_network()
            extra["g_perceptual"] = losses.perceptual_loss(net(y), net(fake), net.weights)
            g_total = g_total + cfg.lambda_perceptual * extra["g_perceptual"]
        return g_total, extra

    def _perceptual_network(self):
        """The perceptual loss's frozen network, loaded from ``config.perceptual_weights`` on
        first use (:func:`pix2pix_tf.successors.perceptual.load_feature_network`), outside any traced
        function: loading, evaluating or exporting a run never needs the file."""
        if self._perceptual.model is None:
            from .successors.perceptual import load_feature_network

            with tf.init_scope():  # build its variables eagerly, even while fit traces the step
                self._perceptual.model = load_feature_network(self.config.perceptual_weights)
        return self._perceptual.model

    def _build_ema_generator(self) -> keras.Model:
        """A second generator (same config and shape, not trainable) starting as a copy of G."""
        with dtype_policy(self.precision):  # G's own
            ema = build_generator(self.config, shape=tuple(self.generator.input_shape[1:3]),
                                  name=f"{self.generator.name}_ema")
        ema.trainable = False  # the optimizer never sees it; _update_ema moves it
        for average, weight in zip(ema.weights, self.generator.weights, strict=True):
            average.assign(weight)
        return ema

    def _update_ema(self):
        """After G's update: ``w_ema <- d * w_ema + (1 - d) * w`` for every weight of G (no-op when off).

        Every weight follows the same rule, batch-norm moving statistics included (they are
        averages already; averaging them again keeps them consistent with the averaged
        gamma/beta for ``inference_mode="moving_average"``). ``d`` warms up over the first
        thousands of steps (:func:`ema_decay_at`), so short runs are not dominated by the
        random initial weights. The raw weights keep training; only the average is served.

        Reference: Polyak & Juditsky 1992; Karras et al. 2018 (progressive GANs) and later
        GANs evaluate such an average of the generator.
        """
        if self.ema_generator is None:
            return
        decay = ema_decay_at(self.config.ema_decay, self.g_optimizer.iterations)  # after this update
        ema_update(self.ema_generator.weights, self.generator.weights, decay)

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
        fake = self.inference_generator(x, training=False)  # the EMA of G's weights when on
        for name, values in image_metrics(y, fake).items():
            self.test_trackers[name].update_state(values)
        return {name: t.result() for name, t in self.test_trackers.items()}

    def checkpoint(self) -> tf.train.Checkpoint:
        """A tf.train.Checkpoint of both networks, both optimizers (their step included) and
        the dropout layers' random-seed states, so a resumed run draws the same noise; with
        ``ema_decay > 0`` the averaged generator too (a checkpoint without it is the paper's)."""
        ema = {} if self.ema_generator is None else {
            "ema_generator": self.ema_generator,
            "ema_dropout_seeds": dropout_seed_states(self.ema_generator)}
        return tf.train.Checkpoint(generator=self.generator, discriminator=self.discriminator,
                                   g_optimizer=self.g_optimizer, d_optimizer=self.d_optimizer,
                                   dropout_seeds=dropout_seed_states(self.generator), **ema)

    @property
    def step(self) -> int:
        """Number of generator updates done so far (restored with the optimizer on resume)."""
        return int(self.g_optimizer.iterations.numpy())

