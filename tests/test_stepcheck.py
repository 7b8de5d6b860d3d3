"""The side-by-side train-step check of notebook 03 (``pix2pix_tf.course.stepcheck``).

The library's step and a correct two-tape reimplementation match; each planted bug fails and
the report names the term that bug changes first; the initial state is restored before
each comparison, so the same student model gives the same report twice.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from pix2pix_tf.course import get
from pix2pix_tf.course.nb03 import TRAIN_STEP_BUGS, adam_update_ratio
from pix2pix_tf.course.stepcheck import (LOSS_TERMS, TERMS, StepReport, check_config, compare_train_steps,
                                         make_batch, reference_model_class)

EXERCISE = get("03.train_step")

# planted bug -> the first term it changes (the order of TERMS: D's losses, G's, D's weights, G's)
EXPECTED_FIRST = {
    "unconditional": "d_real",  # D([0, y]): already D's verdict on the real pair changes
    "g_not_training": "d_fake",  # no dropout, per-image batch norm: another G(x)
    "no_half": "d_loss",
    "saturating": "g_gan",
    "l2": "g_l1",
    "no_lambda": "g_total",
    "d_from_g_loss": "d_weights",  # every loss right, D stepped along G's loss
    "g_from_d_loss": "g_weights",  # every loss and D right, G stepped along D's loss
}


@pytest.fixture(scope="module")
def solution_class():
    return EXERCISE.run_source(EXERCISE.solution)


@pytest.fixture(scope="module")
def solution_report(solution_class):
    return compare_train_steps(solution_class)


def test_every_term_has_a_planted_bug_that_changes_it_first():
    assert set(EXPECTED_FIRST) == set(TRAIN_STEP_BUGS)
    assert sorted(EXPECTED_FIRST.values()) == sorted(TERMS)


def test_the_library_step_and_the_solution_match(solution_report):
    library = compare_train_steps(reference_model_class())
    assert library.ok and library.first_difference is None and library.problem == ""
    report = solution_report
    assert report.ok, str(report)
    # both ran a real step: the losses are the library's own, the weights moved by ~lr
    assert report.reference == pytest.approx(library.reference)
    assert 0.5 < report.reference["d_loss"] < 1.0 and report.reference["g_total"] > 1.0
    for term in ("d_weights", "g_weights"):
        assert 1.5e-4 < report.student[term] < 2.5e-4  # Adam's first step: about lr = 2e-4
        assert report.difference[term] <= report.weight_atol
    # the optimizers differ (FusedAdam on this CPU vs keras Adam): close, not necessarily equal
    assert max(report.difference[t] for t in LOSS_TERMS) <= 1e-6


# correct steps written differently: other loss ops, other update order, one persistent tape
EQUIVALENT = {
    "other_ops": (
        ("d_real = self.bce(tf.ones_like(real_logits), real_logits)",
         "d_real = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits("
         "labels=tf.ones_like(real_logits), logits=real_logits))"),
        ("d_fake = self.bce(tf.zeros_like(fake_logits), fake_logits)",
         "d_fake = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits("
         "labels=tf.zeros_like(fake_logits), logits=fake_logits))"),
        ("d_loss = 0.5 * (d_real + d_fake)", "d_loss = (d_real + d_fake) / 2"),
        ("g_l1 = tf.reduce_mean(tf.abs(y - fake))", "g_l1 = keras.losses.MeanAbsoluteError()(y, fake)"),
    ),
    "g_first_one_tape": (
        ("with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:",
         "with tf.GradientTape(persistent=True) as g_tape:"),
        ("d_tape.gradient(", "g_tape.gradient("),
        ("""        self.d_optimizer.apply_gradients(zip(g_tape.gradient(d_loss, d_vars), d_vars))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_total, g_vars), g_vars))""",
         """        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_total, g_vars), g_vars))
        self.d_optimizer.apply_gradients(zip(g_tape.gradient(d_loss, d_vars), d_vars))"""),
    ),
}


@pytest.mark.slow  # a model pair per variant; CI runs the slow tests too
@pytest.mark.parametrize("variant", sorted(EQUIVALENT))
def test_a_correct_step_written_differently_matches(variant):
    source = EXERCISE.solution
    for old, new in EQUIVALENT[variant]:
        assert source.count(old) == 1, old
        source = source.replace(old, new)
    report = compare_train_steps(EXERCISE.run_source(source))
    assert report.ok, f"{variant}:\n{report}"


@pytest.mark.slow  # a model pair per bug (tests/test_course.py runs four in the default run)
@pytest.mark.parametrize("bug", sorted(EXPECTED_FIRST))
def test_each_planted_bug_is_caught_at_its_first_term(bug):
    description, source = TRAIN_STEP_BUGS[bug]
    report = compare_train_steps(EXERCISE.run_source(source))
    expected = EXPECTED_FIRST[bug]
    assert not report.ok
    assert report.first_difference == expected, f"{description}:\n{report}"
    first = TERMS.index(expected)
    assert all(report.matches[t] for t in TERMS[:first])  # everything before it agrees
    assert report.verdict().startswith(f"First difference: {expected} ")


def test_the_checker_answers_with_the_verdict(solution_report):
    right, message = EXERCISE.checker(EXERCISE.run_source(TRAIN_STEP_BUGS["no_half"][1]))
    assert right is False
    assert message.startswith("First difference: d_loss ") and "0.5 * (d_real + d_fake)" in message
    assert EXERCISE.checker(42) == (False, "MyPix2Pix should be your keras.Model subclass "
                                           "(MyPix2Pix = TwoTapePix2Pix), not a int.")
    assert solution_report.verdict().startswith("Your train_step matches")


def test_the_same_model_gives_the_same_report_twice(solution_class):
    """The model's weights and optimizers are reset before each step: no drift between calls."""
    model = solution_class(*_networks(), lambda_l1=100.0)
    first = compare_train_steps(model)
    weights_after_first = [w.copy() for w in model.generator.get_weights()]
    second = compare_train_steps(model)
    assert first.ok and second.ok
    assert first.student == second.student and first.reference == second.reference
    # the second step started from the initial weights again, not from the first step's result
    assert all(np.array_equal(a, b) for a, b in zip(weights_after_first, model.generator.get_weights()))
    assert int(model.g_optimizer.iterations.numpy()) == 1


def test_an_instance_with_stepped_weights_is_reset_and_compared():
    buggy = EXERCISE.run_source(TRAIN_STEP_BUGS["no_half"][1])
    model = buggy(*_networks(), lambda_l1=100.0)
    for v in model.discriminator.trainable_variables:  # scramble: the check must overwrite it
        v.assign(v + 1.0)
    report = compare_train_steps(model)
    assert report.first_difference == "d_loss"
    assert report.student["d_loss"] == pytest.approx(2 * report.reference["d_loss"], rel=1e-5)


def test_report_string_has_the_table_and_the_verdict(solution_report):
    report = compare_train_steps(EXERCISE.run_source(TRAIN_STEP_BUGS["l2"][1]))
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["term", "what"]
    rows = {line.split()[0]: line for line in lines[2:2 + len(TERMS)]}
    assert list(rows) == list(TERMS)
    assert rows["g_l1"].endswith("DIFFERS  <- first") and rows["g_gan"].endswith("ok")
    assert lines[-1] == report.verdict() and "g_l1" in lines[-1] and "not squared" in lines[-1]
    ok = str(solution_report)
    assert ok.splitlines()[-1].startswith("Your train_step matches pix2pix_tf's")
    assert "<- first" not in ok


def test_a_result_without_the_six_keys_names_the_missing_one(solution_class):
    class Renamed(solution_class):
        def train_step(self, data):
            logs = super().train_step(data)
            logs["g_loss"] = logs.pop("g_total")
            return logs

    report = compare_train_steps(Renamed)
    assert report.first_difference == "g_total" and not report.ok
    assert "no 'g_total'" in report.verdict()
    assert math.isnan(report.student["g_total"])
    assert "g_total" in str(report)


def test_networks_of_another_shape_are_refused(solution_class):
    from pix2pix_tf.discriminator import build_discriminator
    from pix2pix_tf.generator import build_generator

    other = check_config(width=4)
    model = solution_class(build_generator(other), build_discriminator(other))
    with pytest.raises(ValueError, match="not the network pix2pix_tf built"):
        compare_train_steps(model)


def test_a_custom_batch_and_config_are_used(solution_class):
    config = check_config().replace(lambda_l1=10.0)
    x, y = make_batch(config, batch_size=1, seed=3)
    report = compare_train_steps(solution_class, config=config, batch=(x, y))
    assert report.ok, str(report)
    assert report.reference["g_total"] == pytest.approx(
        report.reference["g_gan"] + 10.0 * report.reference["g_l1"], rel=1e-5)


def test_the_report_dataclass_orders_terms():
    zeros = {t: 0.0 for t in TERMS}
    matches = {t: t not in ("g_l1", "d_fake") for t in TERMS}
    report = StepReport(dict(zeros), dict(zeros), dict(zeros), matches)
    assert report.first_difference == "d_fake" and not report.ok


def test_adam_hardly_sees_the_halving():
    assert adam_update_ratio(0.5) == pytest.approx(1.0, abs=0.02)
    assert adam_update_ratio(0.1) == pytest.approx(1.0, abs=0.1)


def _networks():
    from pix2pix_tf.discriminator import build_discriminator
    from pix2pix_tf.generator import build_generator

    config = check_config()
    return build_generator(config), build_discriminator(config)
