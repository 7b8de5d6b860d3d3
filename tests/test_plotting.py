"""pix2pix_tf.plotting: the figures show the images and curves they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from matplotlib.patches import Rectangle

from pix2pix_tf import plotting


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
    return {line.get_label(): line for ax in fig.axes for line in ax.get_lines()}


def test_plot_history_one_line_per_key_from_dict_and_csv(tmp_path):
    hist = {"d_loss": [0.7, 0.6, 0.5], "g_gan": [1.0, 1.2, 1.5], "g_l1": [0.5, 0.4, 0.3],
            "g_total": [51, 41, 31], "val_l1": [0.5, 0.45, 0.4], "val_psnr": [10, 11, 12]}
    fig = plotting.plot_history(hist)
    lines = _lines(fig)
    assert set(lines) == set(hist)
    np.testing.assert_allclose(lines["g_l1"].get_ydata(), hist["g_l1"])
    np.testing.assert_allclose(lines["g_l1"].get_xdata(), [1, 2, 3])
    assert len(fig.axes) == 5  # D, GAN term, L1 (g_l1 + val_l1), total, PSNR
    # the CSV of keras.callbacks.CSVLogger: epoch column (from 0) becomes x = 1, 2, 3
    csv = tmp_path / "history.csv"
    csv.write_text("epoch,d_loss,g_l1\n0,0.7,0.5\n1,0.6,0.4\n2,0.5,0.3\n")
    lines = _lines(plotting.plot_history(csv))
    assert set(lines) == {"d_loss", "g_l1"}
    np.testing.assert_allclose(lines["d_loss"].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(lines["d_loss"].get_ydata(), [0.7, 0.6, 0.5])
    assert set(_lines(plotting.plot_history(hist, keys=["g_l1"]))) == {"g_l1"}
    with pytest.raises(KeyError, match="nope"):
        plotting.plot_history(hist, keys=["nope"])


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
