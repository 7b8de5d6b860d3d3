"""Exercises of notebook 04, training on a GPU: reading the GAN losses, counting steps, resuming."""

from __future__ import annotations

import math
import numbers

from . import Exercise, register


def _number(answer) -> float:
    """A plain number (int, float, NumPy or 0-d tensor scalar) as a float; else TypeError."""
    if hasattr(answer, "numpy"):
        answer = answer.numpy()
    if isinstance(answer, bool) or not isinstance(answer, numbers.Real) and not hasattr(answer, "item"):
        raise TypeError(f"give a number, not {type(answer).__name__}")
    return float(answer)


# ---------------------------------------------------------------------------- 04.ln2
# Notebook 03 (03.untrained_losses) found every term of an undecided D at ln 2. Here D is sure
# about one kind of pair only: reading d_loss without d_real and d_fake misleads.
def _check_ln2(answer):
    value = _number(answer)
    half = math.log(2) / 2
    if abs(value - half) < 1e-3:
        return True, (f"{value:.4f} = ln 2 / 2. d_real = -log(1) = 0 (sure and right about the real "
                      "pair), d_fake = -log(1 - 0.5) = ln 2 (still undecided about the fake one), and "
                      "the halved sum is ln 2 / 2. A d_loss below the ln 2 line can mean D wins on one "
                      "kind of pair only: read d_real and d_fake, not d_loss alone.")
    if abs(value - math.log(2)) < 1e-3:
        return False, ("ln 2 would be D undecided on both pairs, or this D's two terms added up without "
                       "the paper's halving (section 3.3)")
    if abs(value) < 1e-3:
        return False, "D is sure only about the real pairs; about the fake ones it still says 0.5"
    if abs(value - 0.5) < 1e-3 or abs(value - 0.25) < 1e-3:
        return False, "0.5 is what D outputs (a probability); its loss is the cross-entropy -log(p)"
    if abs(value - math.log10(2) / 2) < 1e-3 or abs(value - math.log10(2)) < 1e-3:
        return False, "the cross-entropy uses the natural logarithm"
    return False, ("one term at a time: the real pair is labelled 1 and D says 1, the fake pair is "
                   "labelled 0 and D says 0.5; each term is -log of the probability D gives the right "
                   "label. Then the paper's 0.5 * (d_real + d_fake)")


register(Exercise(
    key="04.ln2",
    question=("Some steps into a run, D is sure and right about the real pair (x, y): it outputs 1 on "
              "every patch. About the fake pair (x, G(x)) it is still undecided: 0.5 on every patch. "
              "What is its loss d_loss (the paper's halved cross-entropy, as logged)?"),
    answer_name="d_loss_half_sure",
    checker=_check_ln2,
    solution=("import math\n\n"
              "real_term = -math.log(1.0)  # real pair, label 1, D says 1: no loss\n"
              "fake_term = -math.log(1 - 0.5)  # fake pair, label 0, D says 0.5\n"
              "d_loss_half_sure = 0.5 * (real_term + fake_term)  # halved (section 3.3)\n"),
    wrong=("import math\nd_loss_half_sure = -math.log(1.0) - math.log(0.5)  # not halved\n",
           "import math\nd_loss_half_sure = math.log(2)  # as if D were undecided on both\n",
           "d_loss_half_sure = 0.5\n",
           "import math\nd_loss_half_sure = 0.5 * -math.log10(0.5)  # log base 10\n"),
    explanation=("pix2pix_tf.losses.discriminator_loss on real logits of +inf-like size (sigmoid 1) "
                 "and fake logits of 0 returns about (0.3466, 0.0, 0.6931): the total and both terms. "
                 "The ln 2 line of the curves is where an undecided D sits (notebook 03); a d_loss "
                 "between 0 and ln 2 says D is ahead, not on which pairs."),
))


# ------------------------------------------------------------------ 04.steps_per_epoch
_STEP_CASES = ((400, 1, 200), (400, 4, 200), (10, 3, 5), (1096, 10, 2), (5, 5, 3))


def _reference_total_steps(n_train, batch_size, epochs):
    return max(1, n_train // batch_size) * epochs


def _check_total_steps(answer):
    if not callable(answer):
        return False, "write a function total_steps(n_train, batch_size, epochs)"
    for n_train, batch_size, epochs in _STEP_CASES:
        got, want = answer(n_train, batch_size, epochs), _reference_total_steps(n_train, batch_size, epochs)
        if isinstance(got, float) and got != int(got) or _number(got) != want:
            where = f"total_steps({n_train}, {batch_size}, {epochs}) gave {got!r}, expected {want}"
            if math.isclose(_number(got), n_train * epochs):
                return False, f"{where}: one step takes a whole batch, not one image"
            if math.isclose(_number(got), math.ceil(n_train / batch_size) * epochs):
                return False, (f"{where}: an epoch is n_train // batch_size full batches; the "
                               "leftover images (fewer than a batch) wait for the next epoch")
            if math.isclose(_number(got), n_train / batch_size * epochs):
                return False, f"{where}: count whole batches (integer division //)"
            return False, where
    return True, ("an epoch is n_train // batch_size steps (pix2pix_tf.run.train.train: "
                  "`steps_per_epoch or max(1, n_train // batch_size)`), so facades at batch 1 "
                  "for the paper's 200 epochs is 80,000 generator updates")


register(Exercise(
    key="04.steps_per_epoch",
    question=("One step is one generator (and one discriminator) update on one batch. Write "
              "total_steps(n_train, batch_size, epochs): the steps of a run over n_train training "
              "pairs for that many epochs. An epoch uses only full batches."),
    answer_name="total_steps",
    checker=_check_total_steps,
    solution=("def total_steps(n_train, batch_size, epochs):\n"
              "    steps_per_epoch = n_train // batch_size  # full batches only\n"
              "    return steps_per_epoch * epochs\n"),
    wrong=("def total_steps(n_train, batch_size, epochs):\n    return n_train * epochs\n",
           "import math\n\ndef total_steps(n_train, batch_size, epochs):\n"
           "    return math.ceil(n_train / batch_size) * epochs\n",
           "def total_steps(n_train, batch_size, epochs):\n    return n_train / batch_size * epochs\n"),
    explanation=("The training set repeats, so leftover images are not lost: they start the next "
                 "epoch. Facades: 400 pairs at batch size 1 are 400 steps per epoch."),
))


# --------------------------------------------------------------------- 04.resume_step
_CRASH_STEP, _EVERY, _EPOCH = 2750, 1000, 400  # the run of the question


def _check_resume_step(answer):
    value = _number(answer)
    if value == 2400:
        return True, ("2400: checkpoints were saved at 400, 800, 1000, 1200, 1600, 2000 and 2400 "
                      "(every 1000 steps and at each epoch end); the 350 steps after 2400 are done "
                      "again, from the same weights, optimizer state and data position")
    if value == _CRASH_STEP:
        return False, "nothing was saved at step 2750: a run resumes from its last checkpoint"
    if value == 2000:
        return False, "CheckpointEvery also saves at each epoch end (every 400 steps here)"
    if value == 0:
        return False, "the checkpoint holds the step count (the optimizer's iterations): no restart from 0"
    if value in (2, 3, 6, 7):
        return False, "give the step (generator updates), not the epoch or checkpoint number"
    return False, "list the steps at which a checkpoint was written before 2750; take the last one"


register(Exercise(
    key="04.resume_step",
    question=("A run saves a checkpoint every 1000 steps and at the end of every epoch of 400 "
              "steps (--checkpoint-every 1000 --checkpoint-min-seconds 0). Colab disconnects at step 2750. Resumed from the latest checkpoint, from which "
              "step does training continue?"),
    answer_name="resume_step",
    checker=_check_resume_step,
    solution=("crash, every, steps_per_epoch = 2750, 1000, 400\n"
              "saved = [s for s in range(1, crash + 1) if s % every == 0 or s % steps_per_epoch == 0]\n"
              "resume_step = max(saved)  # 2400\n"),
    wrong=("resume_step = 2750\n", "resume_step = 2000\n", "resume_step = 0\n"),
    explanation=("The CheckpointManager stores G, D, both Adam states and the step (the generator "
                 "optimizer's iterations); pix2pix_tf.run.train.train also skips the examples "
                 "already seen, so the resumed run sees the data an uninterrupted run would."),
))
