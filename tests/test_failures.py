"""pix2pix_tf.course.failures: the measures, figures and variants of notebook 08 (when GANs go wrong)."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from conftest import SAMPLE_DATA  # noqa: E402
from pix2pix_tf.course import failures  # noqa: E402
from pix2pix_tf.config import Pix2PixConfig  # noqa: E402
from pix2pix_tf.course.curves import plot_history  # noqa: E402
from pix2pix_tf.course.ablations import run_name, variant_configs  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# ------------------------------------------------------------------------- checkerboard
def test_checkerboard_energy_of_known_patterns():
    i, j = np.mgrid[0:16, 0:12]
    rows, cols, board = (-1.0) ** i, (-1.0) ** j, (-1.0) ** (i + j)
    for pattern in (rows, cols, board, 0.3 + 0.2 * board):  # the mean does not count
        np.testing.assert_allclose(failures.checkerboard_energy(pattern), [1.0])
    ramp = np.stack([i / 15.0, j / 11.0, (i + j) / 26.0], axis=-1)  # smooth: no Nyquist power
    assert failures.checkerboard_energy(ramp)[0] < 0.02
    mixed = ramp + 0.1 * board[..., None]  # a faint checkerboard on the smooth image
    assert 0.05 < failures.checkerboard_energy(mixed)[0] < 0.95
    noise = np.random.default_rng(0).normal(size=(20, 64, 64, 3))  # white: 3 of 4095 frequencies
    np.testing.assert_allclose(failures.checkerboard_energy(noise).mean(), 3 / 4095, rtol=0.2)
    assert failures.checkerboard_energy(np.full((8, 8, 3), 0.5)).tolist() == [0.0]
    batch = np.stack([board[..., None], ramp[..., :1]])
    energy = failures.checkerboard_energy(batch)
    assert energy.shape == (2,) and energy[0] == pytest.approx(1.0) and energy[1] < 0.02
    with pytest.raises(ValueError, match="shape"):
        failures.checkerboard_energy(np.zeros(5))


def test_power_spectrum_puts_period_2_at_the_edges():
    i, j = np.mgrid[0:16, 0:16]
    spectrum = failures.power_spectrum(((-1.0) ** i)[..., None])  # alternating rows
    assert spectrum.shape == (16, 16)
    assert np.unravel_index(spectrum.argmax(), spectrum.shape) == (0, 8)  # row Nyquist, column 0
    period4 = np.cos(np.pi * j / 2)  # columns with period 4: half-way to the edge
    assert np.unravel_index(failures.power_spectrum(period4).argmax(), (16, 16)) in {(8, 4), (8, 12)}
    with pytest.raises(ValueError, match="one image"):
        failures.power_spectrum(np.zeros((2, 8, 8, 1)))


def test_stretch_and_show_spectra():
    faint = 0.01 * np.random.default_rng(1).normal(size=(16, 16, 3)) + 0.2
    out = failures.stretch(faint)
    assert out.shape == (16, 16, 3) and out.min() >= -1 and out.max() <= 1
    assert abs(out.mean()) < 0.05 and out.std() > 0.2  # spread over the display range
    board = np.indices((16, 16)).sum(axis=0) % 2 * 2.0 - 1.0
    fig = failures.show_spectra([faint, board[..., None]], ["noise", "board"], stretched=True)
    assert len(fig.axes) == 4
    assert "100.0%" in fig.axes[1].get_title()  # the board's period-2 power, under its title
    # the spectra are labelled below, so no title of the lower row runs into the image above it
    assert fig.axes[2].get_title() == "" and fig.axes[2].get_xlabel() == "power spectrum (log)"
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for top, bottom in ((fig.axes[0], fig.axes[2]), (fig.axes[1], fig.axes[3])):
        image = top.get_window_extent(renderer)
        label = bottom.xaxis.label.get_window_extent(renderer)
        assert bottom.get_window_extent(renderer).y1 < image.y0 and label.y1 < image.y0
    with pytest.raises(ValueError, match="titles"):
        failures.show_spectra([faint], ["a", "b"])


# ------------------------------------------------------------------- ignoring the input
def test_spread_across_inputs():
    rng = np.random.default_rng(2)
    one = rng.uniform(-1, 1, (8, 8, 3))
    assert failures.spread_across_inputs(np.stack([one] * 4)) == 0.0  # busy, but always the same
    a, b = np.zeros((4, 4, 3)), np.ones((4, 4, 3))
    assert failures.spread_across_inputs(np.stack([a, b])) == pytest.approx(0.5)  # std of {0, 1}
    batch = rng.uniform(-1, 1, (6, 8, 8, 3))
    assert failures.spread_across_inputs(batch) == pytest.approx(batch.std(axis=0).mean())
    with pytest.raises(ValueError, match="at least 2"):
        failures.spread_across_inputs(one)


def test_summarize_outputs():
    targets = np.stack([np.full((4, 4, 3), -0.5), np.full((4, 4, 3), 0.5)])
    table = failures.summarize_outputs({"flat": np.zeros_like(targets), "right": targets}, targets)
    assert table["flat"] == {"l1": 0.5, "std": 0.0, "spread": 0.0}
    assert table["right"]["l1"] == 0.0 and table["right"]["spread"] == pytest.approx(0.5)
    assert table["targets"] == table["right"]


# ------------------------------------------------------------------------------ curves
def _fake_run(tmp_path, steps=40, rows=4):
    run = tmp_path / "run"
    run.mkdir()
    lines = ["epoch,d_loss,d_real,d_fake,g_gan,g_l1"]
    lines += [f"{e},{0.7 - 0.1 * e},{0.7},{0.6},{0.8 + 0.3 * e},{0.4}" for e in range(rows)]
    (run / "history.csv").write_text("\n".join(lines) + "\n")
    (run / "summary.json").write_text(json.dumps({"steps": steps}))
    return run


def test_load_curves_counts_steps(tmp_path):
    run = _fake_run(tmp_path)
    curves = failures.load_curves(run)
    assert curves["step"] == [10, 20, 30, 40] and "epoch" not in curves
    assert curves["d_loss"] == pytest.approx([0.7, 0.6, 0.5, 0.4])
    (run / "summary.json").unlink()  # no summary: one step per row
    assert failures.load_curves(run)["step"] == [1, 2, 3, 4]
    (run / "history.csv").write_text("epoch,d_loss\n")
    with pytest.raises(FileNotFoundError, match="no rows"):
        failures.load_curves(run)


def test_curves_plot_with_the_ln2_line(tmp_path):
    """load_curves feeds plot_history: steps on the x axis, ln 2 on the GAN-loss panels."""
    fig = plot_history(failures.load_curves(_fake_run(tmp_path)), keys=["d_loss", "g_gan", "g_l1"])
    assert [ax.get_xlabel() for ax in fig.axes] == ["step"] * 3
    assert list(fig.axes[0].get_lines()[0].get_xdata()) == [10, 20, 30, 40]
    ln2 = [[line.get_gid() == "ln2" and line.get_ydata()[0] == pytest.approx(math.log(2))
            for line in ax.get_lines()] for ax in fig.axes]
    assert [any(flags) for flags in ln2] == [True, True, False]  # D, GAN term; not L1


def test_same_ylim(tmp_path):
    curves = failures.load_curves(_fake_run(tmp_path))
    low = plot_history(curves, keys=["g_gan"])
    high = plot_history({**curves, "g_gan": [v * 10 for v in curves["g_gan"]]}, keys=["g_gan"])
    assert low.axes[0].get_ylim() != high.axes[0].get_ylim()
    failures.same_ylim([low, high])
    assert low.axes[0].get_ylim() == high.axes[0].get_ylim()
    assert low.axes[0].get_ylim()[1] >= max(curves["g_gan"]) * 10


# ---------------------------------------------------------------------------- variants
def test_every_table_starts_with_the_paper_and_builds():
    base = Pix2PixConfig(image_size=32, load_size=36, ngf=8, ndf=8)
    for table in (failures.STRONG_D, failures.NO_L1, failures.CHECKERBOARD, failures.COLLAPSE):
        assert list(table)[0] == "paper" and len(table) == 2
        configs = variant_configs(table, base)
        assert configs["paper"] == base  # the base config is the paper's objective
        failed = configs[list(table)[1]]
        assert failed != base and len({run_name(label) for label in table}) == 2
    assert variant_configs(failures.STRONG_D, base)["D lr x10"].d_lr_scale == 10.0
    assert variant_configs(failures.COLLAPSE, base)["GAN only, no skips"].loss == "gan"


# ------------------------------------------------------------------- inference modes
@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    from pix2pix_tf.run.train import train

    run = tmp_path_factory.mktemp("failures") / "run"
    cfg = Pix2PixConfig(image_size=32, load_size=36, ngf=4, ndf=4)
    train(cfg, SAMPLE_DATA, run, steps=4, steps_per_epoch=2, export=False, verbose=0)
    return run


def test_outputs_by_inference_mode_and_curves_of_a_real_run(short_run):
    x, y, outputs = failures.outputs_by_inference_mode(short_run, SAMPLE_DATA, count=3)
    assert x.shape == y.shape == (3, 32, 32, 3)
    assert list(outputs) == ["deterministic", "paper", "moving_average"]
    for out in outputs.values():
        assert out.shape == (3, 32, 32, 3) and np.all(np.abs(out) <= 1)
    # after 4 steps the moving averages are not each image's statistics: other outputs
    assert np.abs(outputs["moving_average"] - outputs["deterministic"]).mean() > 1e-3
    # deterministic mode does not depend on the batch: one image at a time or all together
    _, _, together = failures.outputs_by_inference_mode(short_run, SAMPLE_DATA, modes=("deterministic",),
                                                        count=3, batch_size=3)
    np.testing.assert_allclose(together["deterministic"], outputs["deterministic"], atol=1e-5)
    curves = failures.load_curves(short_run)
    assert curves["step"] == [2, 4] and len(curves["d_loss"]) == 2
