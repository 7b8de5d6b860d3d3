"""pix2pix_tf.course.plotting and .curves: the figures show the images and curves they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import math
import os
import types

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.patches import Rectangle

from pix2pix_tf.course import curves, plotting
from pix2pix_tf.run import callbacks as cb
from pix2pix_tf.host.writes import WriteError


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _shown(ax) -> np.ndarray:
    return np.asarray(ax.get_images()[0].get_array())


def test_to_display_handles_both_ranges_and_gray():
    x = tf.constant([[[-1.0, 0.0, 1.0]]])  # (1, 1, 3) in [-1, 1]
    np.testing.assert_allclose(plotting.to_display(x), [[[0.0, 0.5, 1.0]]])
    u = np.array([[[0, 51, 255]]], np.uint8)
    np.testing.assert_allclose(plotting.to_display(u), [[[0.0, 0.2, 1.0]]])
    f255 = np.array([[[0.0, 127.5, 300.0]]], np.float32)  # decode_pair range, clipped
    np.testing.assert_allclose(plotting.to_display(f255, value_range=(0, 255)), [[[0.0, 0.5, 1.0]]])
    assert plotting.to_display(np.zeros((4, 5, 1))).shape == (4, 5)
    with pytest.raises(ValueError, match="one image"):
        plotting.to_display(np.zeros((2, 4, 4, 3)))


def test_show_images_one_axis_per_image_with_data_in_unit_range():
    rng = np.random.default_rng(0)
    imgs = [rng.uniform(-1, 1, (8, 8, 3)).astype(np.float32) for _ in range(5)]
    fig = plotting.show_images(imgs, titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 5  # the 6th grid cell is removed
    for ax, img, t in zip(fig.axes, imgs, "abcde"):
        np.testing.assert_allclose(_shown(ax), (img + 1) / 2, atol=1e-6)
        assert ax.get_title() == t
    with pytest.raises(ValueError, match="titles"):
        plotting.show_images(imgs, titles=["x"])


def test_show_pair_uint8_and_gray():
    a = np.full((6, 6, 3), 255, np.uint8)
    b = np.zeros((6, 6, 1), np.float32)  # gray, 0 in [-1, 1] -> 0.5
    fig = plotting.show_pair(a, b, titles=("A", "B"))
    assert [ax.get_title() for ax in fig.axes] == ["A", "B"]
    np.testing.assert_allclose(_shown(fig.axes[0]), 1.0)
    shown_b = _shown(fig.axes[1])
    assert shown_b.shape == (6, 6)
    np.testing.assert_allclose(shown_b, 0.5)


def test_show_batch_and_translations_grid_layout():
    x = tf.random.uniform((3, 8, 8, 3), -1, 1, seed=1)
    y = -x
    fig = plotting.show_batch(x, y, max_rows=2)
    assert len(fig.axes) == 4  # 2 rows x (input, target)
    np.testing.assert_allclose(_shown(fig.axes[2]), (x[1].numpy() + 1) / 2, atol=1e-6)
    np.testing.assert_allclose(_shown(fig.axes[3]), (y[1].numpy() + 1) / 2, atol=1e-6)
    fig = plotting.show_translations(x, tf.zeros_like(x), y, max_rows=None,
                                     row_titles=["r0", "r1", "r2"])
    assert len(fig.axes) == 9
    assert fig.axes[0].get_title() == "input\nr0" and fig.axes[1].get_title() == "output"
    assert fig.axes[3].get_title() == "r1"
    np.testing.assert_allclose(_shown(fig.axes[4]), 0.5)


def _lines(fig):
    """The data lines by label (the ln 2 reference lines left out)."""
    return {line.get_label(): line for ax in fig.axes for line in ax.get_lines()
            if line.get_gid() != "ln2"}


def _ln2_lines(ax):
    return [line for line in ax.get_lines() if line.get_gid() == "ln2"]


def test_plot_history_one_line_per_key_from_dict_and_csv(tmp_path):
    hist = {"d_loss": [0.7, 0.6, 0.5], "g_gan": [1.0, 1.2, 1.5], "g_l1": [0.5, 0.4, 0.3],
            "g_total": [51, 41, 31], "val_l1": [0.5, 0.45, 0.4], "val_psnr": [10, 11, 12]}
    fig = curves.plot_history(hist)
    lines = _lines(fig)
    assert set(lines) == set(hist)
    np.testing.assert_allclose(lines["g_l1"].get_ydata(), hist["g_l1"])
    np.testing.assert_allclose(lines["g_l1"].get_xdata(), [1, 2, 3])
    assert len(fig.axes) == 5  # D, GAN term, L1 (g_l1 + val_l1), total, PSNR
    # the CSV of keras.callbacks.CSVLogger: epoch column (from 0) becomes x = 1, 2, 3
    csv = tmp_path / "history.csv"
    csv.write_text("epoch,d_loss,g_l1\n0,0.7,0.5\n1,0.6,0.4\n2,0.5,0.3\n")
    lines = _lines(curves.plot_history(csv))
    assert set(lines) == {"d_loss", "g_l1"}
    np.testing.assert_allclose(lines["d_loss"].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(lines["d_loss"].get_ydata(), [0.7, 0.6, 0.5])
    assert set(_lines(curves.plot_history(hist, keys=["g_l1"]))) == {"g_l1"}
    with pytest.raises(KeyError, match="nope"):
        curves.plot_history(hist, keys=["nope"])


def test_history_csv_with_unvalidated_epochs(tmp_path):
    """Epochs the validation budget skipped are NA in history.csv: nan when read (columns stay
    one value per epoch), left out of the plot, the others at their own epochs."""
    csv = tmp_path / "history.csv"
    csv.write_text("epoch,d_loss,val_l1\n0,0.7,0.5\n1,0.6,NA\n2,0.55,NA\n3,0.5,0.3\n")
    data = curves.read_history(csv)
    assert data["d_loss"] == [0.7, 0.6, 0.55, 0.5]
    assert data["val_l1"][0] == 0.5 and data["val_l1"][3] == 0.3
    assert math.isnan(data["val_l1"][1]) and math.isnan(data["val_l1"][2])
    lines = _lines(curves.plot_history(csv))
    np.testing.assert_allclose(lines["val_l1"].get_xdata(), [1, 4])
    np.testing.assert_allclose(lines["val_l1"].get_ydata(), [0.5, 0.3])
    np.testing.assert_allclose(lines["d_loss"].get_xdata(), [1, 2, 3, 4])
    plt.close("all")


def test_plot_history_ln2_line_on_the_cross_entropy_panels_only(tmp_path):
    hist = {"d_loss": [0.7, 0.5], "d_real": [0.7, 0.4], "d_fake": [0.7, 0.6], "g_gan": [0.7, 1.1],
            "g_l1": [0.5, 0.3], "g_total": [51.0, 31.0], "val_psnr": [10.0, 12.0]}
    fig = curves.plot_history(hist)
    titles = {ax.get_title(): ax for ax in fig.axes}
    for title in ("discriminator", "generator: GAN term"):
        (line,) = _ln2_lines(titles[title])
        np.testing.assert_allclose(line.get_ydata(), [math.log(2)] * 2)  # horizontal, at ln 2
        assert line.get_linestyle() == "--"
        assert "ln 2" in line.get_label()
        assert "ln 2" in [t.get_text() for t in titles[title].get_legend().get_texts()][-1]
    for title in ("L1 ([-1, 1] units)", "generator: total = GAN + lambda L1", "validation PSNR (dB)"):
        assert _ln2_lines(titles[title]) == [], title
    # a figure of L1 alone has no reference line; ln2=False turns it off everywhere
    assert not any(_ln2_lines(ax) for ax in curves.plot_history(hist, keys=["g_l1"]).axes)
    assert not any(_ln2_lines(ax) for ax in curves.plot_history(hist, ln2=False).axes)
    assert set(_lines(curves.plot_history(hist, ln2=False))) == set(hist)


@pytest.mark.parametrize("settings, drawn", [
    ({"gan_mode": "vanilla", "loss": "l1+cgan"}, True),
    ({"gan_mode": "lsgan", "loss": "l1+cgan"}, False),  # least squares: 0.5 is not ln 2
    ({"gan_mode": "vanilla", "loss": "l1"}, False),  # no GAN term at all
    (None, True),  # a history.csv without a config.json beside it
])
def test_plot_history_reads_the_gan_loss_of_the_run(tmp_path, settings, drawn):
    import json

    csv = tmp_path / "history.csv"
    csv.write_text("epoch,d_loss,g_gan,g_l1\n0,0.7,0.7,0.5\n1,0.6,0.9,0.4\n")
    if settings is not None:
        (tmp_path / "config.json").write_text(json.dumps(settings))
    fig = curves.plot_history(csv)
    assert [bool(_ln2_lines(ax)) for ax in fig.axes] == [drawn, drawn, False]
    assert all(_ln2_lines(ax) for ax in curves.plot_history(csv, ln2=True).axes[:2])


# ------------------------------------------------------------------ snapshot strip
def _tile(ax) -> np.ndarray:
    return np.asarray(ax.get_images()[0].get_array())


def _write_snapshots(images_dir, epochs: int, rows: int = 2, side: int = 8):
    """Epoch PNGs written by the real ImageSnapshot callback, from a stand-in generator whose
    output after epoch e is the flat value -1 + e / 8 (so every epoch's tile is known)."""
    inputs = tf.linspace(-1.0, 1.0, rows * side * side * 3)
    inputs = tf.reshape(inputs, (rows, side, side, 3))  # distinct values per row
    targets = -inputs
    snapshot = cb.ImageSnapshot(inputs, targets, images_dir)
    for epoch in range(epochs):
        level = -1.0 + (epoch + 1) / 8
        snapshot.set_model(types.SimpleNamespace(
            inference_generator=lambda x, training=False, level=level: tf.fill(tf.shape(x), level)))
        snapshot.on_epoch_end(epoch)
    return inputs, targets


def test_snapshot_strip_lines_up_the_output_of_one_image_per_epoch(tmp_path):
    run = tmp_path / "run"
    inputs, targets = _write_snapshots(run / "images", epochs=5)
    assert len(list((run / "images").glob("epoch_*.png"))) == 5
    fig = plotting.snapshot_strip(run, row=1)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["input", "epoch 1", "epoch 2", "epoch 3", "epoch 4", "epoch 5", "target"]
    to01 = lambda t: np.round((t.numpy() + 1) * 127.5) / 255  # noqa: E731 (the PNG's quantisation)
    np.testing.assert_allclose(_tile(fig.axes[0]), to01(inputs[1]), atol=1e-6)  # row 1, not row 0
    np.testing.assert_allclose(_tile(fig.axes[-1]), to01(targets[1]), atol=1e-6)
    for e, ax in enumerate(fig.axes[1:-1], start=1):
        np.testing.assert_allclose(_tile(ax), np.round(e / 8 * 127.5) / 255, atol=1e-6)
    # row 0 is the other test image; the images/ folder itself works too
    first = plotting.snapshot_strip(run / "images", row=0)
    np.testing.assert_allclose(_tile(first.axes[0]), to01(inputs[0]), atol=1e-6)
    # at most 3 epochs: the first, the middle and the last
    fig = plotting.snapshot_strip(run, max_epochs=3)
    assert [ax.get_title() for ax in fig.axes] == ["input", "epoch 1", "epoch 3", "epoch 5", "target"]
    np.testing.assert_allclose(_tile(fig.axes[2]), np.round(3 / 8 * 127.5) / 255, atol=1e-6)
    # a long strip wraps onto further lines of ncols tiles
    fig = plotting.snapshot_strip(run, ncols=4)
    assert len(fig.axes) == 7
    assert fig.axes[4].get_position().y0 < fig.axes[0].get_position().y0


def test_snapshot_strip_refuses_what_it_cannot_read(tmp_path):
    with pytest.raises(FileNotFoundError, match="no epoch_"):
        plotting.snapshot_strip(tmp_path)
    _write_snapshots(tmp_path / "images", epochs=2, rows=2)
    with pytest.raises(IndexError, match=r"2 test images \(rows 0..1\)"):
        plotting.snapshot_strip(tmp_path, row=2)
    with pytest.raises(ValueError, match="max_epochs"):
        plotting.snapshot_strip(tmp_path, max_epochs=0)
    odd = tmp_path / "odd"
    odd.mkdir()
    cb.save_png(np.zeros((8, 20, 3), np.uint8), odd / "epoch_0001.png")  # not three square tiles
    with pytest.raises(ValueError, match="input \\| output \\| target"):
        plotting.snapshot_strip(odd)


def test_snapshot_strip_of_a_real_run(trained_run):
    """The short run of conftest (2 epochs, 2 test images): the strip's last output is what
    the run's generator makes of the input tile; the target is the inverted input."""
    from pix2pix_tf.run.loading import load_run

    root, summary, cfg = trained_run
    fig = plotting.snapshot_strip(root / "run")
    assert [ax.get_title() for ax in fig.axes] == ["input", "epoch 1", "epoch 2", "target"]
    source, last, target = _tile(fig.axes[0]), _tile(fig.axes[2]), _tile(fig.axes[3])
    assert source.shape == last.shape == target.shape == (64, 64, 3)
    np.testing.assert_allclose(target, 1 - source, atol=1.5 / 255)  # the data: B = 255 - A
    generator = load_run(root / "run").generator
    expected = (generator(tf.constant(source[None] * 2 - 1), training=False)[0].numpy() + 1) / 2
    assert np.abs(last - expected).mean() < 0.01  # the input tile is the input, rounded to uint8
    assert np.abs(_tile(fig.axes[1]) - last).mean() > 1e-3  # epoch 1 differs: it learned


# ---------------------------------------------------------------------------- saving
def test_save_figure_png_svg_pdf_by_suffix_atomically(tmp_path):
    fig = plotting.show_images([np.zeros((8, 8, 3))])
    png = plotting.save_figure(fig, tmp_path / "new" / "deeper" / "fig.png")  # folders created
    assert png == tmp_path / "new" / "deeper" / "fig.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = plotting.save_figure(fig, str(tmp_path / "fig.SVG"))  # a str, any case
    text = svg.read_bytes()
    assert text.lstrip().startswith(b"<?xml") and b"<svg" in text
    assert plotting.save_figure(fig, tmp_path / "fig.svg").read_bytes() == \
        plotting.save_figure(fig, tmp_path / "again.svg").read_bytes()  # no date inside
    assert plotting.save_figure(fig, tmp_path / "fig.pdf").read_bytes()[:5] == b"%PDF-"
    # dpi reaches the PNG: twice the dpi, twice the pixels
    small = plotting.save_figure(fig, tmp_path / "small.png", dpi=50)
    big = plotting.save_figure(fig, tmp_path / "big.png", dpi=100)
    assert plt.imread(big).shape[0] in range(2 * plt.imread(small).shape[0] - 2, 2 * plt.imread(small).shape[0] + 3)
    for bad in ("fig.jpg", "fig", "fig.png.txt"):
        with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
            plotting.save_figure(fig, tmp_path / bad)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["again.svg", "big.png", "fig.SVG", "fig.pdf", "fig.svg", "new", "small.png"]


def test_save_figure_failure_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    fig = plotting.show_images([np.zeros((8, 8, 3))])
    old = plotting.save_figure(fig, tmp_path / "fig.png")
    before = old.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    fig2 = plotting.show_images([np.ones((8, 8, 3)), np.zeros((8, 8, 3))])
    with pytest.raises(WriteError, match="fig.png"):
        plotting.save_figure(fig2, tmp_path / "fig.png")
    with pytest.raises(WriteError, match="other.svg"):
        plotting.save_figure(fig2, tmp_path / "other.svg")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]  # no temporary left
    assert old.read_bytes() == before
    monkeypatch.undo()
    # a figure that cannot be rendered writes nothing either
    monkeypatch.setattr(fig2, "savefig", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("render")))
    with pytest.raises(RuntimeError, match="render"):
        plotting.save_figure(fig2, tmp_path / "sub" / "broken.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fig.png"]


def test_show_columns_one_titled_column_per_variant():
    x = tf.random.uniform((3, 8, 8, 3), -1, 1, seed=2)
    fig = plotting.show_columns({"input": x, "a": tf.zeros_like(x), "b": -x}, max_rows=2,
                                row_titles=["first", "second"])
    assert len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes] == ["input\nfirst", "a", "b", "second", "", ""]
    np.testing.assert_allclose(_tile(fig.axes[5]), (-x[1].numpy() + 1) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="at least one column"):
        plotting.show_columns({})


def test_draw_receptive_field_square_of_given_size():
    img = np.zeros((64, 64, 3), np.uint8)
    fig = plotting.draw_receptive_field(img, 20, center=(10, 30))
    (ax,) = fig.axes
    (rect,) = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert rect.get_width() == rect.get_height() == 20
    x0, y0 = rect.get_xy()
    assert (x0 + 10.5, y0 + 10.5) == (30, 10)  # centred on (row 10, col 30)


def test_show_patch_logits_heat_map_covers_image():
    img = np.zeros((32, 32, 3), np.float32)
    logits = tf.reshape(tf.range(16, dtype=tf.float32) - 8, (1, 4, 4, 1))
    fig = plotting.show_patch_logits(img, logits)
    assert len(fig.axes) == 3  # image, heat map, colour bar
    heat = fig.axes[1].get_images()[0]
    np.testing.assert_allclose(heat.get_array(), logits.numpy()[0, :, :, 0])
    assert tuple(heat.get_extent()) == (0, 32, 32, 0)
    assert heat.get_clim() == (-8.0, 8.0)  # symmetric: 0 (undecided) is the middle colour
    with pytest.raises(ValueError, match="logits"):
        plotting.show_patch_logits(img, np.zeros((2, 4, 4, 1)))
