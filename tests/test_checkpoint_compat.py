"""Runs written by earlier versions still load: a checkpoint made before the restructure.

``tests/fixtures/run_before_restructure`` was written by pix2pix-tf at commit 7941258 (the
flat layout, before run-folder manifests): 3 steps at 32x32, ngf = ndf = 2, with the
generator's output on a fixed input saved next to it.
"""

import shutil
from pathlib import Path

import numpy as np

from pix2pix_tf.layers import set_inference_mode
from pix2pix_tf.run.loading import load_run

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run_before_restructure"


def test_old_run_loads_and_translates_exactly_as_before(tmp_path):
    run = shutil.copytree(FIXTURE, tmp_path / "run")
    model = load_run(run)
    assert int(model.step) == 3
    set_inference_mode(model.generator, "deterministic")
    x = np.linspace(-1, 1, 32 * 32 * 3, dtype="float32").reshape(1, 32, 32, 3)
    expected = np.load(FIXTURE / "expected_output.npy")
    np.testing.assert_allclose(model.generator(x, training=False).numpy(), expected, atol=1e-6)
