"""The network diagrams: drawn from the built models, one box per block, saved as PNG and SVG."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from pix2pix_tf.course import diagrams  # noqa: E402
from pix2pix_tf.config import Pix2PixConfig  # noqa: E402
from pix2pix_tf.discriminator import build_discriminator, receptive_field  # noqa: E402
from pix2pix_tf.generator import build_generator  # noqa: E402
from pix2pix_tf.successors.config import SuccessorConfig  # noqa: E402
from pix2pix_tf.successors.networks import build_successor_generator  # noqa: E402

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def gids(fig, prefix: str) -> list[str]:
    """The gids starting with ``prefix`` of every artist of the figure."""
    return sorted(a.get_gid() for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix)))


def texts(fig, *prefixes: str) -> dict[str, str]:
    """``{gid: text}`` of the figure's texts whose gid starts with one of ``prefixes``."""
    return {t.get_gid(): t.get_text() for t in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefixes))}


def small(size: int = 64, **kwargs) -> Pix2PixConfig:
    return Pix2PixConfig(image_size=size, load_size=size, ngf=8, ndf=8, **kwargs)


@pytest.mark.parametrize("size, depth", [(64, 6), (128, 7)])
def test_unet_has_a_box_per_block_and_a_skip_per_mirrored_level(size, depth):
    fig = diagrams.draw_unet(small(size))
    assert gids(fig, "encoder-") == sorted(f"encoder-down{k}" for k in range(1, depth + 1))
    assert gids(fig, "decoder-") == sorted(f"decoder-up{j}" for j in range(1, depth))
    assert len(gids(fig, "input-")) == 1 and len(gids(fig, "output-")) == 1
    # encoder level k is joined to the decoder block that brings the image back to its size
    assert gids(fig, "skip-") == sorted(f"skip-down{k}-up{depth - k}" for k in range(1, depth))
    assert f"depth {depth}" in fig.axes[0].get_title()


def test_unet_labels_carry_the_paper_names_and_the_shapes_at_64x64():
    fig = diagrams.draw_unet(build_generator(small()))
    labels = diagrams.box_labels(fig)
    assert labels == {
        "input_image": "input\n64x64x3",
        "down1": "C8\n32x32x8", "down2": "C16\n16x16x16", "down3": "C32\n8x8x32",
        "down4": "C64\n4x4x64", "down5": "C64\n2x2x64", "down6": "C64\n1x1x64",
        "up1": "CD64\n2x2x64", "up2": "CD64\n4x4x64", "up3": "CD32\n8x8x32",
        "up4": "C16\n16x16x16", "up5": "C8\n32x32x8",
        "tanh": "output\n64x64x3",
    }
    notes = texts(fig, "skiplabel-", "note-")
    assert notes["skiplabel-down1-up5"] == "concat -> 32x32x16"
    assert notes["skiplabel-down5-up1"] == "concat -> 2x2x128"
    # no norm on the first and the innermost encoder block; dropout on the first three decoder blocks
    assert notes["note-down1"] == notes["note-down6"] == "no norm" and "note-down2" not in notes
    assert notes["note-up1"] == "dropout 50%" and "note-up4" not in notes
    assert notes["note-tanh"] == "deconv 4x4 + tanh"


def test_unet_follows_the_model_it_is_given():
    # a model with fewer dropout blocks and no skips: drawn as it is, not as the paper's
    fig = diagrams.draw_unet(build_generator(small(num_dropout_blocks=1), skip_connections=False))
    assert gids(fig, "skip-") == []
    assert "encoder-decoder" in fig.axes[0].get_title()
    labels = diagrams.box_labels(fig)
    assert labels["up1"].startswith("CD") and labels["up2"].startswith("C64")


def test_unet_refuses_a_resnet_and_a_discriminator():
    resnet = SuccessorConfig(**{**small().to_dict(), "net_g": "resnet_6blocks"})  # CycleGAN's: a successors' choice
    with pytest.raises(ValueError, match="ResNet"):
        diagrams.draw_unet(resnet)
    with pytest.raises(ValueError, match="residual"):
        diagrams.draw_unet(build_successor_generator(resnet))
    with pytest.raises(ValueError, match="encoder"):
        diagrams.draw_unet(build_discriminator(small()))


@pytest.mark.parametrize("n_layers, size, rf, grid", [(3, 64, 70, 6), (1, 64, 16, 30), (5, 256, 286, 6)])
def test_patchgan_has_a_box_per_block_and_the_receptive_field(n_layers, size, rf, grid):
    d = build_discriminator(small(size, n_layers_d=n_layers))
    assert receptive_field(d) == rf  # the library's number, which the figure must agree with
    fig = diagrams.draw_patchgan(d)
    blocks = [f"conv-down{k}" for k in range(1, n_layers + 1)] + ["conv-conv_s1"]
    assert gids(fig, "conv-") == sorted(blocks)
    assert gids(fig, "logits-") == ["logits-logits"]
    assert fig.axes[0].get_title() == (f"patchgan_discriminator: receptive field {rf}x{rf}, "
                                       f"{grid}x{grid} logits for a {size}x{size} image")
    assert texts(fig, "note-")["note-logits"].endswith(f"rf {rf}")
    # the window one logit sees is drawn to scale against the image; dashed when it is larger
    window = next(iter(fig.findobj(lambda a: a.get_gid() == "window")))
    image = next(iter(fig.findobj(lambda a: a.get_gid() == "image")))
    assert window.get_width() / image.get_width() == pytest.approx(rf / size)
    assert (window.get_linestyle() == "--") == (rf > size)


def test_patchgan_labels_at_64x64():
    labels = diagrams.box_labels(diagrams.draw_patchgan(small()))
    assert labels == {"pair": "input|output\n64x64x6", "down1": "C8\n32x32x8", "down2": "C16\n16x16x16",
                      "down3": "C32\n8x8x32", "conv_s1": "C64\n7x7x64", "logits": "logits\n6x6x1"}


def test_unconditional_and_pixel_discriminators():
    fig = diagrams.draw_patchgan(small(loss="gan"))
    assert diagrams.box_labels(fig)["image"] == "image\n64x64x3"
    fig = diagrams.draw_patchgan(small(net_d="pixel"))
    assert "receptive field 1x1, 64x64 logits" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="upsamples"):
        diagrams.draw_patchgan(build_generator(small()))


@pytest.mark.parametrize("draw", [diagrams.draw_unet, diagrams.draw_patchgan])
def test_figures_save_as_png_and_svg(draw, tmp_path):
    fig = draw(small())
    fig.savefig(tmp_path / "net.png")
    fig.savefig(tmp_path / "net.svg")
    assert (tmp_path / "net.png").read_bytes()[:8] == PNG
    svg = (tmp_path / "net.svg").read_bytes()
    assert svg.startswith(b"<?xml") and b"<svg" in svg[:1000]
    assert b'id="label-down1"' in svg  # the gids become ids: a slide tool can find each part


def test_save_diagram_falls_back_to_ours_without_pydot_or_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(diagrams, "keras_plot_available", lambda: False)
    assert diagrams.save_diagram(build_generator(small()), tmp_path / "g.png") == "pix2pix_tf"
    assert (tmp_path / "g.png").read_bytes()[:8] == PNG
    assert diagrams.save_diagram(build_discriminator(small()), tmp_path / "d.svg") == "pix2pix_tf"
    assert b'id="logits-logits"' in (tmp_path / "d.svg").read_bytes()
    assert plt.get_fignums() == []  # the figures it drew are closed


def test_save_diagram_uses_keras_plot_model_when_it_can(tmp_path, monkeypatch):
    calls = []

    def fake_plot_model(model, to_file, **kwargs):
        calls.append((model.name, to_file, kwargs["show_shapes"]))
        open(to_file, "wb").write(PNG)

    monkeypatch.setattr(diagrams, "keras_plot_available", lambda: True)
    monkeypatch.setattr(keras.utils, "plot_model", fake_plot_model)
    d = build_discriminator(small())
    assert diagrams.save_diagram(d, tmp_path / "d.png") == "keras"
    assert calls == [("patchgan_discriminator", str(tmp_path / "d.png"), True)]
    assert diagrams.save_diagram(d, tmp_path / "ours.png", use_keras=False) == "pix2pix_tf"


def test_keras_plot_available_needs_pydot_and_dot(monkeypatch):
    import importlib
    import shutil

    real_import = importlib.import_module

    def no_pydot(name, *args):
        if name in ("pydot", "pydotplus"):
            raise ImportError(name)
        return real_import(name, *args)

    monkeypatch.setattr(importlib, "import_module", no_pydot)
    assert diagrams.keras_plot_available() is False
    monkeypatch.setattr(importlib, "import_module", lambda name, *args: object())
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert diagrams.keras_plot_available() is False
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/dot")
    assert diagrams.keras_plot_available() is True
