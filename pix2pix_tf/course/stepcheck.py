"""Run a student's ``train_step`` side by side with pix2pix_tf's, from the same weights and batch.

Notebook 03 asks the student to write pix2pix's training step (two ``GradientTape``\\ s, about
20 lines) in a ``keras.Model`` subclass. :func:`compare_train_steps` builds that model and
:class:`pix2pix_tf.model.Pix2Pix` from one tiny config, gives both the same initial weights
(batch-norm statistics and the dropout layers' random-seed states included, so both draw the
same dropout mask), runs one step of each on the same batch and compares, in the order the
step computes them:

1. ``d_real``: D's loss on the real pairs (x, y), labels 1;
2. ``d_fake``: D's loss on the generated pairs (x, G(x)), labels 0;
3. ``d_loss``: D's total, ``0.5 * (d_real + d_fake)`` (the paper halves it);
4. ``g_gan``: G's GAN term, D's loss on (x, G(x)) with labels 1 (the non-saturating form);
5. ``g_l1``: G's L1 term, mean |y - G(x)|;
6. ``g_total``: G's total, ``g_gan + lambda * g_l1`` (equation 4);
7. ``d_weights`` then ``g_weights``: every weight of D, then of G, after the update.

The report names the first term that differs (:attr:`StepReport.first_difference`).

**The contract** the student's model follows (notebook 03 states it too):

* ``Model(generator, discriminator, lambda_l1=100.0)`` builds it from pix2pix_tf's networks;
  ``D([x, image])`` returns patch logits;
* ``model.compile(g_optimizer=..., d_optimizer=...)`` attaches the two optimizers;
* ``model.train_step((x, y))`` does one step of both networks and returns a dict with the
  six terms above (``d_real``, ``d_fake``, ``d_loss``, ``g_gan``, ``g_l1``, ``g_total``);
* it holds ``generator``, ``discriminator``, ``g_optimizer``, ``d_optimizer``, ``lambda_l1``.

**Tolerance.** Both models run the same networks and layers, so the forward passes agree
exactly; what may differ is arithmetic order: the student's loss ops (``BinaryCrossentropy``
or ``tf.nn.sigmoid_cross_entropy_with_logits``, a mean taken in another order) and the
optimizer. pix2pix_tf's step is compared as the paper's code builds it, with Keras' layers
and ``keras.optimizers.Adam`` (a training run on a CPU then applies the speed paths of
:mod:`pix2pix_tf.fast.transform`, e.g. :class:`~pix2pix_tf.fast.adam.FusedAdam`, the same
Adam in one kernel, which differs from Keras' by float32 rounding). A loss term matches when
``|yours - ours| <= LOSS_ATOL + LOSS_RTOL * |ours|`` (1e-5 + 1e-5 relative: float32 sums
over a few thousand patch logits and pixels agree to ~1e-6); the weights match when no
weight differs by more than ``WEIGHT_ATOL = 1e-6``, 1/200 of the largest move one Adam step
makes (the learning rate, 2e-4: Adam's first step moves a weight by about
``lr * sign(gradient)``). Every mistake the notebook plants misses these by 100x or more.

Example:
    >>> report = compare_train_steps(reference_model_class())  # the library's own step: matches
    >>> report.ok, report.first_difference
    (True, None)
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

#: the six loss terms, in the order the step computes them (keys of train_step's result)
LOSS_TERMS = ("d_real", "d_fake", "d_loss", "g_gan", "g_l1", "g_total")
#: every weight of each network after the update (D first: the paper's step updates it first)
WEIGHT_TERMS = ("d_weights", "g_weights")
TERMS = LOSS_TERMS + WEIGHT_TERMS

DESCRIPTIONS = {
    "d_real": "D's loss on real pairs (x, y)",
    "d_fake": "D's loss on fake pairs (x, G(x))",
    "d_loss": "D's total, 0.5 * (real + fake)",
    "g_gan": "G's GAN term",
    "g_l1": "G's L1 term",
    "g_total": "G's total, GAN + lambda * L1",
    "d_weights": "D's weights after the step",
    "g_weights": "G's weights after the step",
}

# what to look at when a term is the first one that differs
HINTS = {
    "d_real": "D scores the real pair: discriminator([x, y], training=True), cross-entropy "
              "against label 1, averaged over the patches.",
    "d_fake": "D scores the generated pair: discriminator([x, G(x)], training=True) with "
              "G(x) = generator(x, training=True) computed once, cross-entropy against label 0.",
    "d_loss": "the paper halves D's objective: d_loss = 0.5 * (d_real + d_fake).",
    "g_gan": "G's GAN term is the cross-entropy of D's logits on (x, G(x)) against label 1 "
             "(maximise log D(x, G(x))), from the same D pass as d_fake, before any update.",
    "g_l1": "the L1 term is the mean absolute difference mean(|y - G(x)|), not squared.",
    "g_total": "G's total is g_gan + lambda_l1 * g_l1 (lambda = 100).",
    "d_weights": "update D once with d_optimizer, along d_tape's gradient of d_loss with "
                 "respect to discriminator.trainable_variables.",
    "g_weights": "update G once with g_optimizer, along g_tape's gradient of g_total with "
                 "respect to generator.trainable_variables.",
}

LOSS_ATOL = 1e-5
LOSS_RTOL = 1e-5
WEIGHT_ATOL = 1e-6
BATCH_SIZE = 2  # > 1: batch-norm statistics of a batch differ from one image's


def check_config(image_size: int = 32, width: int = 8):
    """The tiny config the check runs at: the paper's settings at 32x32, ngf = ndf = 8.

    Dropout stays on (rate 0.5, as in the paper): both models draw the same mask because
    their dropout layers start from the same random-seed state.
    """
    from pix2pix_tf.config import Pix2PixConfig

    return Pix2PixConfig(image_size=image_size, load_size=image_size, ngf=width, ndf=width)


def make_batch(config, batch_size: int = BATCH_SIZE, seed: int = 0):
    """A fixed (x, y) batch in [-1, 1]: y is a smooth function of x plus a little noise."""
    import tensorflow as tf

    size = (batch_size, config.image_size, config.image_size)
    x = tf.random.stateless_uniform(size + (config.input_channels,), (seed, 1), minval=-1.0, maxval=1.0)
    noise = tf.random.stateless_uniform(size + (config.output_channels,), (seed, 2), minval=-0.2, maxval=0.2)
    y = tf.clip_by_value(tf.reduce_mean(x, axis=-1, keepdims=True) * 0.8 + noise, -1.0, 1.0)  # (b, S, S, out)
    return x, y


def reference_model_class():
    """pix2pix_tf's own step behind the student's contract (to test the check itself).

    Returns:
        A subclass of :class:`pix2pix_tf.model.Pix2Pix` built as ``cls(generator,
        discriminator, lambda_l1=100.0)`` and compiled with ``compile(g_optimizer,
        d_optimizer)``, whose ``train_step`` is the library's.
    """
    from pix2pix_tf.model import Pix2Pix

    class LibraryStep(Pix2Pix):
        def __init__(self, generator, discriminator, lambda_l1=100.0, **kwargs):
            config = check_config(generator.input_shape[1]).replace(lambda_l1=lambda_l1)
            super().__init__(generator, discriminator, config, **kwargs)
            self.lambda_l1 = lambda_l1

    return LibraryStep


@dataclasses.dataclass
class StepReport:
    """One step of the student's ``train_step`` next to pix2pix_tf's.

    Attributes:
        reference, student: term -> value. Loss terms: the loss. Weight terms: the largest
            move of a weight in the step, max |w_after - w_before| (NaN: term missing).
        difference: term -> |student - reference| for losses, max |w_student - w_reference|
            over the network's weights (trainable and batch-norm statistics) for weights.
        matches: term -> within the tolerance.
        first_difference: the first term (order of :data:`TERMS`) that does not match, or None.
        ok: every term matches.
        loss_atol, loss_rtol, weight_atol: the tolerances used.
        problem: what prevented a comparison (a missing key, a shape mismatch), or "".
    """

    reference: dict[str, float]
    student: dict[str, float]
    difference: dict[str, float]
    matches: dict[str, bool]
    loss_atol: float = LOSS_ATOL
    loss_rtol: float = LOSS_RTOL
    weight_atol: float = WEIGHT_ATOL
    problem: str = ""

    @property
    def first_difference(self) -> str | None:
        return next((t for t in TERMS if not self.matches.get(t, False)), None)

    @property
    def ok(self) -> bool:
        return self.first_difference is None and not self.problem

    def verdict(self) -> str:
        """One line: the steps match, or the first term that differs and what to look at."""
        if self.ok:
            return ("Your train_step matches pix2pix_tf's: all six losses and the updated weights "
                    f"of D and G agree (losses within {self.loss_atol:g} + {self.loss_rtol:g} x value, "
                    f"weights within {self.weight_atol:g}).")
        term = self.first_difference
        if self.problem and math.isnan(self.student[term]):  # the term is missing
            return f"First difference: {term} ({DESCRIPTIONS[term]}): {self.problem}."
        if term in LOSS_TERMS:
            where = (f"yours {self.student[term]:.6g}, pix2pix_tf's {self.reference[term]:.6g}"
                     f" (tolerance {self.loss_atol + self.loss_rtol * abs(self.reference[term]):.1g})")
        else:
            where = (f"a weight differs by {self.difference[term]:.2g} after the step "
                     f"(tolerance {self.weight_atol:g}; one Adam step moves a weight by up to "
                     f"{self.reference[term]:.1g})")
        return f"First difference: {term} ({DESCRIPTIONS[term]}): {where}. Check: {HINTS[term]}"

    def table(self) -> str:
        """The terms in order: pix2pix_tf's value, the student's, the difference, a mark."""
        lines = [f"{'term':10s} {'what':32s} {'pix2pix_tf':>12s} {'yours':>12s} {'|diff|':>9s}  match",
                 "-" * 84]
        for term in TERMS:
            mark = "ok" if self.matches.get(term) else "DIFFERS"
            if term == self.first_difference:
                mark += "  <- first"
            lines.append(f"{term:10s} {DESCRIPTIONS[term]:32s} {self.reference[term]:12.6g} "
                         f"{self.student[term]:12.6g} {self.difference[term]:9.2g}  {mark}")
        lines.append("(weights rows: the largest move of a trainable weight in the step; |diff|: the "
                     "largest difference between the two models' weights after it)")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.table()}\n{self.verdict()}"


def _copy_variables(source, target, what: str) -> None:
    """Assign ``source``'s variables to ``target``'s, in order (same architecture required)."""
    src, dst = source.variables, target.variables
    shapes = [tuple(v.shape) for v in src], [tuple(v.shape) for v in dst]
    if shapes[0] != shapes[1]:
        raise ValueError(f"the student's {what} is not the network pix2pix_tf built for this config "
                         f"({len(dst)} variables, expected {len(src)} of the same shapes): build it "
                         "with build_generator / build_discriminator(config)")
    for s, d in zip(src, dst):
        d.assign(s)


def _largest_move(network, before) -> float:
    """max |w_after - w_before| over the trainable weights of ``network``."""
    import numpy as np

    return max(float(np.max(np.abs(v.numpy() - b))) for v, b in zip(network.trainable_variables, before))


def _fresh_adam(config):
    import keras

    return keras.optimizers.Adam(learning_rate=config.learning_rate, beta_1=config.beta_1,
                                 beta_2=config.beta_2)


def compare_train_steps(student: Any, config=None, batch=None, loss_atol: float = LOSS_ATOL,
                        loss_rtol: float = LOSS_RTOL, weight_atol: float = WEIGHT_ATOL) -> StepReport:
    """One ``train_step`` of ``student`` and of :class:`pix2pix_tf.model.Pix2Pix`, compared.

    Both start from the same weights (copied from a freshly built, seeded Pix2Pix into the
    student's networks, dropout seed states included) and fresh optimizers, and take one
    step on the same batch. Calling it twice gives the same report.

    Args:
        student: a class following the contract (module docstring), built here with G and D
            from :func:`~pix2pix_tf.generator.build_generator` /
            :func:`~pix2pix_tf.discriminator.build_discriminator` and compiled with
            ``keras.optimizers.Adam(2e-4, beta_1=0.5)`` for each network; or such a model
            already built (its networks' variables and its optimizers are replaced).
        config: a :class:`~pix2pix_tf.config.Pix2PixConfig` with the paper's objective
            (default :func:`check_config`: 32x32, ngf = ndf = 8). It is seeded by
            ``config.seed`` (``keras.utils.set_random_seed``).
        batch: ``(x, y)`` of shape (batch, S, S, C) in [-1, 1] (default :func:`make_batch`).
        loss_atol, loss_rtol, weight_atol: the tolerances (see the module docstring).

    Returns:
        A :class:`StepReport`; ``print`` it for the table and the verdict.

    Raises:
        Whatever the student's ``__init__``, ``compile`` or ``train_step`` raises.
    """
    import keras
    import numpy as np

    from pix2pix_tf.discriminator import build_discriminator
    from pix2pix_tf.generator import build_generator
    from pix2pix_tf.model import Pix2Pix

    config = config or check_config()
    x, y = batch if batch is not None else make_batch(config)
    keras.utils.set_random_seed(config.seed)
    reference = Pix2Pix.from_config_object(config)
    reference.compile()  # the paper's code: Keras' Adam (the run's speed paths are not applied)
    if isinstance(student, type):
        student = student(build_generator(config), build_discriminator(config), lambda_l1=config.lambda_l1)
    _copy_variables(reference.generator, student.generator, "generator")
    _copy_variables(reference.discriminator, student.discriminator, "discriminator")
    student.compile(g_optimizer=_fresh_adam(config), d_optimizer=_fresh_adam(config))

    networks = {"d_weights": "discriminator", "g_weights": "generator"}  # D first, as the step
    before = {t: [v.numpy() for v in getattr(reference, n).trainable_variables] for t, n in networks.items()}
    ours = reference.train_step((x, y))
    yours = student.train_step((x, y))
    reference_values, student_values, difference, matches = {}, {}, {}, {}
    problem = ""
    for term in LOSS_TERMS:
        ref = float(ours[term])
        reference_values[term] = ref
        if not isinstance(yours, dict) or term not in yours:
            student_values[term], difference[term], matches[term] = math.nan, math.nan, False
            if not problem:
                got = sorted(yours) if isinstance(yours, dict) else type(yours).__name__
                problem = (f"train_step's result has no {term!r} (it returned {got}); return a dict "
                           f"with the keys {', '.join(LOSS_TERMS)}")
            continue
        value = float(yours[term])
        student_values[term] = value
        difference[term] = abs(value - ref)
        matches[term] = bool(difference[term] <= loss_atol + loss_rtol * abs(ref))
    for term, name in networks.items():
        ref_net, student_net = getattr(reference, name), getattr(student, name)
        reference_values[term] = _largest_move(ref_net, before[term])
        student_values[term] = _largest_move(student_net, before[term])
        difference[term] = max(float(np.max(np.abs(a - b)))  # trainable weights and BN statistics
                               for a, b in zip(student_net.get_weights(), ref_net.get_weights()))
        matches[term] = bool(difference[term] <= weight_atol)
    return StepReport(reference_values, student_values, difference, matches,
                      loss_atol=loss_atol, loss_rtol=loss_rtol, weight_atol=weight_atol, problem=problem)


__all__ = ["DESCRIPTIONS", "LOSS_TERMS", "StepReport", "TERMS", "WEIGHT_TERMS", "check_config",
           "compare_train_steps", "make_batch", "reference_model_class"]
