"""SuccessorPix2Pix: the paper's model with the quality levers of its successors.

A subclass of :class:`pix2pix_tf.model.Pix2Pix` trained from a
:class:`~pix2pix_tf.successors.config.SuccessorConfig`, with its own :meth:`train_step`:

* the networks of :mod:`pix2pix_tf.successors.networks` (resize-convolutions in G,
  spectral normalization and several scales in D);
* G's extra loss terms (:meth:`SuccessorPix2Pix.successor_terms`): pix2pixHD's feature
  matching (``lambda_fm``) and a perceptual loss (``lambda_perceptual``);
* the hinge GAN loss (``gan_mode="hinge"``);
* an exponential moving average of G's weights (``ema_decay``), which is what it evaluates,
  exports and serves.

It runs the paper's update orders too (``gan_update``, ``loss="l1"``), so every lever
combines with every ablation. :func:`model_class` picks the class for any config.

Example:
    >>> cfg = SuccessorConfig(image_size=32, load_size=32, ngf=4, ndf=4, ema_decay=0.9)
    >>> model = model_class(cfg).from_config_object(cfg)
    >>> type(model).__name__, model.inference_generator is model.ema_generator
    ('SuccessorPix2Pix', True)
"""

from __future__ import annotations

import keras
import tensorflow as tf

from .. import model as paper_model
from ..config import Pix2PixConfig
from ..layers import dropout_seed_states
from ..losses import objective_terms
from ..model import Pix2Pix, dtype_policy
from . import losses
from .config import SuccessorConfig, uses_levers
from .networks import build_successor_discriminator, build_successor_generator, discriminator_features
from .perceptual import load_feature_network


def model_class(config: Pix2PixConfig) -> type[Pix2Pix]:
    """The class that trains ``config``: :class:`SuccessorPix2Pix` when a lever is on, else
    the paper's model or its named alternative (:func:`pix2pix_tf.model.model_class`).

    Example:
        >>> model_class(Pix2PixConfig()).__name__, model_class(SuccessorConfig(num_d=2)).__name__
        ('Pix2Pix', 'SuccessorPix2Pix')
    """
    return SuccessorPix2Pix if uses_levers(config) else paper_model.model_class(config)


def ema_decay_at(decay: float, step) -> tf.Tensor:
    """The EMA's decay after ``step`` generator updates: ``min(decay, (1 + step) / (10 + step))``.

    The average starts as a copy of G's initial weights; a fixed decay of 0.999 would keep
    them for thousands of steps (after 1000 steps, 37% of the average would still be the
    random initialisation). The warm-up (as in TensorFlow's ExponentialMovingAverage with
    ``num_updates``) lets the average follow G closely early on.

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
    """Holds a model Keras must not track as part of the model (shared layers, or a frozen
    helper whose weights are not the run's): ``holder.model``."""

    def __init__(self, model=None):
        self.model = model


@keras.saving.register_keras_serializable(package="pix2pix_tf")
class SuccessorPix2Pix(Pix2Pix):
    """Pix2Pix with the successors' levers (:class:`SuccessorConfig`).

    With ``config.ema_decay > 0`` it also holds ``ema_generator``, an exponential moving
    average of G's weights (:meth:`update_ema`); :attr:`inference_generator` (it, or G
    without it) is what ``model(x)``, ``evaluate``, ``predict`` and the exports run.
    """

    config_class = SuccessorConfig

    def __init__(self, generator: keras.Model, discriminator: keras.Model,
                 config: SuccessorConfig | None = None, **kwargs):
        super().__init__(generator, discriminator, config, **kwargs)
        cfg = self.config
        self.ema_generator = self._build_ema_generator() if cfg.ema_decay > 0 else None
        self._d_features = _Untracked(discriminator_features(discriminator, cfg) if cfg.lambda_fm > 0 else None)
        self._perceptual = _Untracked()  # loaded at the first training step (lambda_perceptual > 0)

    def loss_names(self) -> tuple[str, ...]:
        extra = (("g_fm", self.config.lambda_fm > 0), ("g_perceptual", self.config.lambda_perceptual > 0))
        return super().loss_names() + tuple(name for name, on in extra if on)

    @classmethod
    def own_config(cls, config: Pix2PixConfig) -> SuccessorConfig:
        """``config`` as a :class:`SuccessorConfig` (a paper config: every lever off)."""
        return config if isinstance(config, SuccessorConfig) else SuccessorConfig.from_dict(config.to_dict())

    @staticmethod
    def build_networks(config: SuccessorConfig, shape: tuple[int, int] | None = None):
        return (build_successor_generator(config, shape=shape),
                build_successor_discriminator(config, shape=shape))

    @property
    def inference_generator(self) -> keras.Model:
        """The EMA of G's weights when ``config.ema_decay > 0`` (``ema_generator``), else G."""
        return self.generator if self.ema_generator is None else self.ema_generator

    # ----------------------------------------------------------------- training
    def train_step(self, data):
        """The paper's step (or its alternating or L1-only order) with the successors' terms.

        D's loss may be the hinge loss and average several scales; G's total adds
        :meth:`successor_terms`; after G's update the weight average moves (:meth:`update_ema`).
        """
        if not objective_terms(self.config.loss)[1]:  # loss="l1": no D
            return self._reconstruction_only_step(data)
        if self.config.gan_update == "alternating":
            return self._alternating_step(data)
        x, y = data
        cfg = self.config
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)  # G(x)
            real_logits, real_features = self.discriminate_with_features(x, y)
            fake_logits, fake_features = self.discriminate_with_features(x, fake)
            d_loss, d_real, d_fake = losses.discriminator_loss(
                real_logits, fake_logits, cfg.gan_mode, weight=cfg.d_loss_weight)
            g_total, g_gan, g_l1 = losses.generator_loss(
                fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
            g_total, extra = self.successor_terms(g_total, y, fake, real_features, fake_features)
        self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        self.update_ema()
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake, g_gan=g_gan, g_l1=g_l1,
                         g_total=g_total, **extra)

    def _alternating_step(self, data):
        """``gan_update="alternating"``: D steps, then G against the updated D (as
        :class:`pix2pix_tf.model.AlternatingPix2Pix`), with the successors' terms."""
        x, y = data
        cfg = self.config
        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)  # G(x)
            with tf.GradientTape() as d_tape:
                real_logits, _ = self.discriminate_with_features(x, y)
                fake_logits, _ = self.discriminate_with_features(x, tf.stop_gradient(fake))  # no gradient into G
                d_loss, d_real, d_fake = losses.discriminator_loss(
                    real_logits, fake_logits, cfg.gan_mode, weight=cfg.d_loss_weight)
            self._update(self.d_optimizer, d_tape, d_loss, self.discriminator.trainable_variables)
            fake_logits, fake_features = self.discriminate_with_features(x, fake)  # the updated D
            # feature matching compares the updated D's features on both pairs: one more D pass
            real_features = self.discriminate_with_features(x, y)[1] if fake_features is not None else None
            g_total, g_gan, g_l1 = losses.generator_loss(
                fake_logits, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
            g_total, extra = self.successor_terms(g_total, y, fake, real_features, fake_features)
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        self.update_ema()
        return self._log(d_loss=d_loss, d_real=d_real, d_fake=d_fake,
                         g_gan=g_gan, g_l1=g_l1, g_total=g_total, **extra)

    def _reconstruction_only_step(self, data):
        """``loss="l1"``: G on lambda * L1 alone, no D (as
        :class:`pix2pix_tf.model.ReconstructionOnlyPix2Pix`), with the perceptual term and the EMA."""
        x, y = data
        cfg = self.config
        with tf.GradientTape() as g_tape:
            fake = self.generator(x, training=True)  # G(x)
            g_total, g_gan, g_l1 = losses.generator_loss(
                None, y, fake, cfg.lambda_l1, cfg.gan_mode, loss=cfg.loss, recon=cfg.recon_loss)
            g_total, extra = self.successor_terms(g_total, y, fake, None, None)  # no D: no feature matching
        self._update(self.g_optimizer, g_tape, g_total, self.generator.trainable_variables)
        self.update_ema()
        zero = tf.constant(0.0)
        return self._log(d_loss=zero, d_real=zero, d_fake=zero, g_gan=g_gan, g_l1=g_l1,
                         g_total=g_total, **extra)

    def discriminate_with_features(self, x, image):
        """D's patch logits for ``image`` (a list, one per scale, when ``num_d > 1``) and D's
        intermediate features for feature matching (None unless ``lambda_fm > 0``).

        Returns:
            ``(logits, features)``; features as
            :func:`~pix2pix_tf.successors.networks.discriminator_features`.
        """
        if self._d_features.model is None:
            return self.discriminate(x, image), None
        out = self._d_features.model([x, image] if self.conditional else image, training=True)  # one D pass
        return out["logits"], out["features"]

    def successor_terms(self, g_total, y, fake, real_features, fake_features):
        """G's extra loss terms from pix2pix's successors, added to the paper's total.

        * ``lambda_fm > 0``: pix2pixHD's feature matching between D's features on the real and
          the fake pair (:func:`~pix2pix_tf.successors.losses.feature_matching_loss`), logged as ``g_fm``;
        * ``lambda_perceptual > 0``: L1 between a fixed network's features of y and G(x)
          (:func:`~pix2pix_tf.successors.losses.perceptual_loss`), logged as ``g_perceptual``.

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
        first use (:func:`pix2pix_tf.successors.perceptual.load_feature_network`), outside any
        traced function: loading, evaluating or exporting a run never needs the file."""
        if self._perceptual.model is None:
            with tf.init_scope():  # build its variables eagerly, even while fit traces the step
                self._perceptual.model = load_feature_network(self.config.perceptual_weights)
        return self._perceptual.model

    def _build_ema_generator(self) -> keras.Model:
        """A second generator (same config and shape, not trainable) starting as a copy of G."""
        with dtype_policy(self.precision):  # G's own
            ema = build_successor_generator(self.config, shape=tuple(self.generator.input_shape[1:3]),
                                            name=f"{self.generator.name}_ema")
        ema.trainable = False  # the optimizer never sees it; update_ema moves it
        for average, weight in zip(ema.weights, self.generator.weights, strict=True):
            average.assign(weight)
        return ema

    def update_ema(self):
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

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        """The paper's checkpoint; with ``ema_decay > 0`` the averaged generator and its
        dropout seeds too (a checkpoint without them is the paper's)."""
        if self.ema_generator is not None:
            extra = {"ema_generator": self.ema_generator,
                     "ema_dropout_seeds": dropout_seed_states(self.ema_generator), **extra}
        return super().checkpoint(**extra)
