"""Exercises of notebook 03 (the train step from scratch).

* ``03.untrained_losses``: the four GAN losses of an undecided D (every logit 0), by hand.
* ``03.train_step``: pix2pix's ``train_step`` with two ``GradientTape``\\ s; checked side by
  side with :meth:`pix2pix_tf.model.Pix2Pix.train_step` (:mod:`.stepcheck`).
* ``03.d_loss_half``: how much halving D's loss changes D's update under Adam.

The train step's wrong answers are the solution with one planted bug each
(:data:`TRAIN_STEP_BUGS`); ``tests/test_stepcheck.py`` checks that the report names the term
each bug changes first.

Example:
    >>> from pix2pix_tf.course import get
    >>> right, message = get("03.untrained_losses").checker(
    ...     {"d_real": 0.693, "d_fake": 0.693, "d_loss": 1.386, "g_gan": 0.693})
    >>> right
    False
    >>> print(message)
    d_loss = 1.386 is not it: that is real + fake; the paper halves D's loss (section 3.3).
"""

from __future__ import annotations

import math

from . import Exercise, register

# ------------------------------------------------------------------ 03.untrained_losses
UNTRAINED_TERMS = ("d_real", "d_fake", "d_loss", "g_gan")


def _check_untrained(answer) -> tuple[bool, str]:
    import tensorflow as tf

    from pix2pix_tf import losses

    if not isinstance(answer, dict) or set(answer) != set(UNTRAINED_TERMS):
        return False, f"give a dict with the keys {', '.join(UNTRAINED_TERMS)} (numbers)."
    zeros = tf.zeros((1, 30, 30, 1))  # an undecided D: logit 0 on every patch, sigmoid 0.5
    d_loss, d_real, d_fake = losses.discriminator_loss(zeros, zeros)
    g_gan, _, _ = losses.generator_loss(zeros, zeros, zeros, lambda_l1=0.0)
    truth = {"d_real": float(d_real), "d_fake": float(d_fake), "d_loss": float(d_loss), "g_gan": float(g_gan)}
    wrong = [k for k in UNTRAINED_TERMS if abs(float(answer[k]) - truth[k]) > 0.005]
    if not wrong:
        return True, (f"each is -log(0.5) = log 2 = {math.log(2):.3f}; D's halved total too: "
                      "0.5 * (log 2 + log 2). A loss curve hovering at log 2 means D cannot tell "
                      "real from fake.")
    key = wrong[0]
    value = float(answer[key])
    if abs(value - 0.5) < 0.005:
        hint = "0.5 is D's probability sigmoid(0); the loss is the cross-entropy -log(0.5)."
    elif key == "d_loss" and abs(value - 2 * math.log(2)) < 0.005:
        hint = "that is real + fake; the paper halves D's loss (section 3.3)."
    elif abs(value) < 0.005:
        hint = "a loss of 0 would mean D is certain and right; an undecided D says 0.5."
    else:
        hint = "each term is a sigmoid cross-entropy -[t log p + (1 - t) log(1 - p)] with p = 0.5."
    return False, f"{key} = {value:g} is not it: {hint}"


register(Exercise(
    key="03.untrained_losses",
    question="An untrained D is undecided: every patch logit is 0, so sigmoid(logit) = 0.5. What "
             "are d_real, d_fake, d_loss (the paper's halved total) and g_gan then?",
    answer_name="UNTRAINED",
    checker=_check_untrained,
    solution="""\
import math

# every term is a cross-entropy at p = 0.5: -log(0.5) = log 2; the halved sum of two is log 2 too
UNTRAINED = {"d_real": math.log(2), "d_fake": math.log(2), "d_loss": 0.5 * (math.log(2) + math.log(2)),
             "g_gan": math.log(2)}
""",
    wrong=(
        'UNTRAINED = {"d_real": 0.693, "d_fake": 0.693, "d_loss": 1.386, "g_gan": 0.693}\n',
        'UNTRAINED = {"d_real": 0.5, "d_fake": 0.5, "d_loss": 0.5, "g_gan": 0.5}\n',
        'UNTRAINED = {"d_real": 0.693, "d_fake": 0.693, "d_loss": 0.693, "g_gan": 0.0}\n',
    ),
    explanation="With logits 0, D's sigmoid says 0.5 for every patch. The cross-entropy against "
                "label 1 is -log(0.5) and against label 0 is -log(1 - 0.5): both log 2 = 0.693. "
                "D's total is 0.5 * (log 2 + log 2) = log 2, and G's GAN term (label 1 on the "
                "fake pair) is log 2 too. This is the log 2 line drawn on the loss curves.",
))


# ------------------------------------------------------------------ 03.train_step
TRAIN_STEP_SOLUTION = '''\
import keras
import tensorflow as tf


class TwoTapePix2Pix(keras.Model):
    """pix2pix's G and D, trained by one step of the paper's algorithm."""

    def __init__(self, generator, discriminator, lambda_l1=100.0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator  # x -> G(x): (batch, H, W, 3) in [-1, 1]
        self.discriminator = discriminator  # [x, image] -> patch logits (batch, P, P, 1)
        self.lambda_l1 = lambda_l1
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)  # mean over the patches

    def compile(self, g_optimizer, d_optimizer, **kwargs):
        super().compile(**kwargs)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.g_optimizer.build(self.generator.trainable_variables)  # their state exists before fit
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, x, training=False):
        return self.generator(x, training=training)

    def train_step(self, data):
        x, y = data  # input and target: (batch, H, W, 3) in [-1, 1]
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(x, training=True)  # G(x), once: D and G both use it
            real_logits = self.discriminator([x, y], training=True)  # D(x, y)
            fake_logits = self.discriminator([x, fake], training=True)  # D(x, G(x))
            d_real = self.bce(tf.ones_like(real_logits), real_logits)  # real pairs -> 1
            d_fake = self.bce(tf.zeros_like(fake_logits), fake_logits)  # fake pairs -> 0
            d_loss = 0.5 * (d_real + d_fake)  # halved (section 3.3)
            g_gan = self.bce(tf.ones_like(fake_logits), fake_logits)  # G wants D to say "real"
            g_l1 = tf.reduce_mean(tf.abs(y - fake))
            g_total = g_gan + self.lambda_l1 * g_l1  # equation 4
        d_vars = self.discriminator.trainable_variables
        g_vars = self.generator.trainable_variables
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_total, g_vars), g_vars))
        return {"d_real": d_real, "d_fake": d_fake, "d_loss": d_loss,
                "g_gan": g_gan, "g_l1": g_l1, "g_total": g_total}


MyPix2Pix = TwoTapePix2Pix
'''


def _plant(description: str, *edits: tuple[str, str]) -> tuple[str, str]:
    """The solution with ``edits`` (old, new) applied: a train step with one planted bug."""
    source = TRAIN_STEP_SOLUTION
    for old, new in edits:
        if source.count(old) != 1:  # the bug must land exactly where it is meant to
            raise ValueError(f"planting {description!r}: {old!r} is not in the solution once")
        source = source.replace(old, new)
    return description, f"# planted bug: {description}\n{source}"


#: bug name -> (what is wrong, the source): each changes one term of the step first
TRAIN_STEP_BUGS = dict((name, _plant(*spec)) for name, spec in {
    "no_half": ("D's loss not halved",
                ("d_loss = 0.5 * (d_real + d_fake)", "d_loss = d_real + d_fake")),
    "l2": ("L2 (squared error) instead of L1",
           ("tf.reduce_mean(tf.abs(y - fake))", "tf.reduce_mean(tf.square(y - fake))")),
    "unconditional": ("D does not see the input x (an unconditional GAN: a blank image instead)",
                      ("self.discriminator([x, y], training=True)",
                       "self.discriminator([tf.zeros_like(x), y], training=True)"),
                      ("self.discriminator([x, fake], training=True)",
                       "self.discriminator([tf.zeros_like(x), fake], training=True)")),
    "g_from_d_loss": ("G updated along the gradient of D's loss",
                      ("g_tape.gradient(g_total, g_vars)", "g_tape.gradient(d_loss, g_vars)")),
    "g_not_training": ("G called without training=True (no dropout, inference batch norm)",
                       ("self.generator(x, training=True)", "self.generator(x)")),
    "saturating": ("G minimises log(1 - D(x, G(x))), the saturating form",
                   ("g_gan = self.bce(tf.ones_like(fake_logits), fake_logits)",
                    "g_gan = -self.bce(tf.zeros_like(fake_logits), fake_logits)")),
    "no_lambda": ("L1 term not weighted by lambda",
                  ("g_total = g_gan + self.lambda_l1 * g_l1", "g_total = g_gan + g_l1")),
    "d_from_g_loss": ("D updated along the gradient of G's loss",
                      ("d_tape.gradient(d_loss, d_vars)", "d_tape.gradient(g_total, d_vars)")),
}.items())

# the wrong answers the course's tests run through the checker (each takes a few seconds)
_REGISTERED_BUGS = ("no_half", "l2", "unconditional", "g_from_d_loss")


def _check_train_step(answer) -> tuple[bool, str]:
    import keras

    from .stepcheck import compare_train_steps

    model_class = answer if isinstance(answer, type) else type(answer)
    if not issubclass(model_class, keras.Model):
        return False, ("MyPix2Pix should be your keras.Model subclass (MyPix2Pix = TwoTapePix2Pix), "
                       f"not a {model_class.__name__}.")
    report = compare_train_steps(answer)
    return report.ok, report.verdict()


register(Exercise(
    key="03.train_step",
    question="Write train_step for a keras.Model holding pix2pix's G and D: one forward pass under "
             "two GradientTapes, D's halved cross-entropy, G's GAN + lambda * L1 loss, one update "
             "of each network; return the six terms.",
    answer_name="MyPix2Pix",
    checker=_check_train_step,
    solution=TRAIN_STEP_SOLUTION,
    wrong=tuple(TRAIN_STEP_BUGS[name][1] for name in _REGISTERED_BUGS),
    explanation="One generator pass serves both losses: D's gradient comes from d_tape and "
                "touches only D's variables, G's from g_tape (through D) and touches only G's. "
                "Both gradients are taken at the same point, before either update, so the order "
                "of the two apply_gradients calls does not matter.",
))


# ------------------------------------------------------------------ 03.d_loss_half
def adam_update_ratio(scale: float = 0.5, seed: int = 0) -> float:
    """Size of Adam's first update with the loss times ``scale``, over the unscaled one's.

    Two copies of one weight vector take one ``keras.optimizers.Adam(2e-4, beta_1=0.5)``
    step, along the gradient ``g`` and along ``scale * g``; the ratio of the mean absolute
    moves is returned. (Adam's update is m / sqrt(v), which does not change when g is scaled,
    except through the tiny epsilon.)

    Example:
        >>> round(adam_update_ratio(0.5), 2)  # SGD's would be 0.5
        0.99
    """
    import keras
    import numpy as np

    g = np.random.default_rng(seed).normal(0.0, 1e-3, size=1000).astype("float32")
    moves = []
    for factor in (1.0, scale):
        w = keras.Variable(np.zeros(1000, "float32"))
        opt = keras.optimizers.Adam(learning_rate=2e-4, beta_1=0.5)
        opt.build([w])
        opt.apply_gradients([(keras.ops.convert_to_tensor(factor * g), w)])
        moves.append(float(np.mean(np.abs(w.numpy()))))
    return moves[1] / moves[0]


def _check_d_loss_half(answer) -> tuple[bool, str]:
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return False, "give one number: the size of D's update with the halving / without it."
    ratio = adam_update_ratio(0.5)
    if abs(float(answer) - ratio) < 0.05:
        return True, (f"measured {ratio:.4f}. Adam moves each weight by about lr * m / sqrt(v); "
                      "scaling the loss scales m and sqrt(v) alike, so a constant factor on a "
                      "loss hardly changes Adam's steps (it would halve SGD's).")
    if abs(float(answer) - 0.5) < 0.05:
        return False, ("0.5 is what plain SGD would do (the step is lr * gradient). Adam divides "
                       "the gradient by the root of its running mean square: what happens to "
                       "m / sqrt(v) when every gradient is halved?")
    return False, (f"{answer:g} is not it. Adam's step is lr * m_hat / (sqrt(v_hat) + eps) with m "
                   "a running mean of g and v of g squared: halve g and see what the ratio does.")


register(Exercise(
    key="03.d_loss_half",
    question="The paper halves D's loss 'to slow down the rate at which D learns relative to G'. "
             "D is trained with Adam (lr 2e-4, beta_1 0.5). By what factor does the halving change "
             "the size of D's update (halved / not halved)?",
    answer_name="D_UPDATE_RATIO",
    checker=_check_d_loss_half,
    solution="""\
# Adam's step is lr * m_hat / (sqrt(v_hat) + eps): halving every gradient halves m_hat and
# sqrt(v_hat) alike, so the step is (almost exactly) the same; eps = 1e-7 is far below |g|
D_UPDATE_RATIO = 1.0
""",
    wrong=("D_UPDATE_RATIO = 0.5\n", "D_UPDATE_RATIO = 0.25\n", "D_UPDATE_RATIO = 2.0\n"),
    explanation="With SGD the halving would halve D's steps. Adam normalises each weight's step "
                "by the running RMS of its gradient, so multiplying a loss by a constant changes "
                "the steps only through epsilon: the halving shows in the logged d_loss, hardly "
                "in D's training. The notebook measures it on the real D.",
))
