"""Diagrams of the two networks for notes and slides, drawn from the built Keras models.

:func:`draw_unet` draws a U-Net generator as the paper describes it: the encoder blocks
(C64-C128-...) going down on the left, the decoder blocks (CD512-...-C64) coming back up on
the right, each box with its output shape, and one arrow per skip connection between
mirrored levels. :func:`draw_patchgan` draws the PatchGAN discriminator as its stack of
blocks (C64-C128-C256-C512, then the 1-channel logit layer) with the receptive field after
each layer, above a picture of one logit's window on the image and the grid of logits.

Nothing is copied from the builders: both functions walk the layers of the model they are
given (or build one from a :class:`~pix2pix_tf.config.Pix2PixConfig`), so a narrower,
shallower or otherwise changed network is drawn as it is. Both return a
:class:`matplotlib.figure.Figure` made with ``pyplot`` (a notebook shows it at the end of the
cell); ``fig.savefig("unet.svg")`` or ``"unet.png"`` saves it for slides.

:func:`save_diagram` writes Keras' own layer graph (``keras.utils.plot_model``) when pydot
and Graphviz are installed, and our figure when they are not.

Every box, arrow and label carries a matplotlib ``gid`` (``"encoder-down1"``,
``"skip-down1-up5"``, ``"label-down1"``...), which also becomes the element's ``id`` in
an SVG: :func:`box_labels` reads the labels back.

What each diagram shows (its boxes, read from the model's layers) is
:mod:`pix2pix_tf.course.diagram_layouts`; this module draws it with matplotlib and saves it.

Example:
    >>> fig = draw_unet(Pix2PixConfig(image_size=64, load_size=64, ngf=8))
    >>> print(box_labels(fig)["down1"])
    C8
    32x32x8
    >>> plt.close(fig)
"""

from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import keras
import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from ..config import Pix2PixConfig
from ..discriminator import build_discriminator
from ..generator import build_generator
from .diagram_layouts import Block, patchgan_layout, unet_layout

__all__ = ["draw_unet", "draw_patchgan", "box_labels", "keras_plot_available", "save_diagram"]

# colours of the box kinds (matplotlib's tab10, light)
_COLOURS = {"input": "#e6e6e6", "encoder": "#c6dbef", "bottleneck": "#9ecae1", "decoder": "#c7e9c0",
            "output": "#e6e6e6", "conv": "#c6dbef", "logits": "#fdd0a2"}
_SKIP_COLOUR = "#e6550d"


def _box(ax, x, y, w, h, block: Block, colour: str | None = None, fontsize: float = 8.0):
    """A rounded box centred at (x, y) with the block's label; gids for the box and the label."""
    patch = FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                           facecolor=colour or _COLOURS.get(block.kind, "white"), edgecolor="#333333",
                           linewidth=0.8)
    patch.set_gid(f"{block.kind}-{block.name}")
    ax.add_patch(patch)
    text = ax.text(x, y, block.label, ha="center", va="center", fontsize=fontsize, family="monospace")
    text.set_gid(f"label-{block.name}")
    return patch


def _arrow(ax, start, end, gid: str | None = None, colour: str = "#333333", **kwargs):
    arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, color=colour,
                            linewidth=kwargs.pop("linewidth", 0.9), shrinkA=0, shrinkB=0, **kwargs)
    if gid:
        arrow.set_gid(gid)
    ax.add_patch(arrow)
    return arrow


def _note(ax, x, y, block: Block, ha: str):
    if block.note:
        text = ax.text(x, y, block.note, ha=ha, va="center", fontsize=7, color="#555555", style="italic")
        text.set_gid(f"note-{block.name}")


def box_labels(fig) -> dict[str, str]:
    """The text of every box of a diagram, by layer name (``{"down1": "C64\\n128x128x64", ...}``)."""
    labels = {}
    for text in fig.findobj(lambda a: (a.get_gid() or "").startswith("label-")):
        labels[text.get_gid()[len("label-"):]] = text.get_text()
    return labels


# ------------------------------------------------------------------------------ U-Net
def _generator(generator_or_config) -> keras.Model:
    if isinstance(generator_or_config, Pix2PixConfig):
        config = generator_or_config
        if config.net_g.startswith("resnet"):
            raise ValueError(f"net_g {config.net_g!r} is a ResNet: draw_unet draws U-Net generators")
        return build_generator(config)
    return generator_or_config


def draw_unet(generator_or_config, width: float = 9.0):
    """Draw a U-Net generator: encoder down the left, decoder up the right, skips across.

    Each level is one row: the encoder block that brings the image to that size on the left,
    the decoder block that brings it back on the right, and (U-Net) an orange arrow for the
    skip connection that concatenates the two, labelled with the concatenated shape. The
    innermost block (the bottleneck, 1x1 at 256x256) sits at the bottom. Box labels use the
    paper's names: ``Ck`` = k filters, ``CDk`` = with dropout.

    Args:
        generator_or_config: a built U-Net / encoder-decoder generator (any width, depth,
            norm or upsampling), or a :class:`Pix2PixConfig` to build one from.
        width: figure width in inches.

    Returns:
        The figure: a box per encoder block (gid ``"encoder-<layer>"``), per decoder block
        (``"decoder-<layer>"``), the input and the output, and depth - 1 skip arrows
        (``"skip-<encoder layer>-<decoder layer>"``), none for an encoder-decoder.

    Example:
        >>> fig = draw_unet(Pix2PixConfig(image_size=64, load_size=64, ngf=8))
        >>> print(box_labels(fig)["up1"])
        CD64
        2x2x64
        >>> sum((p.get_gid() or "").startswith("skip-") for p in fig.axes[0].patches)
        5
        >>> plt.close(fig)

    Reference: Isola et al. 2017, section 3.2.1, figure 3 and appendix 6.1.1.
    """
    generator = _generator(generator_or_config)
    lay = unet_layout(generator)
    depth = len(lay.encoder)
    box_w, box_h, col = 2.3, 0.72, 7.0  # encoder column at x = 0, decoder column at x = col
    row = {b.name: k + 1 for k, b in enumerate(lay.encoder)}  # down_k on row k (row 0: input/output)
    # the decoder block up_j brings the image back to the size of the encoder row depth - j
    row.update({b.name: depth - 1 - j for j, b in enumerate(lay.decoder)})
    pos = {lay.input.name: (0.0, 0.0), lay.output.name: (col, 0.0)}
    for b in lay.encoder[:-1]:
        pos[b.name] = (0.0, -row[b.name])
    bottleneck = lay.encoder[-1]
    pos[bottleneck.name] = (col / 2, -depth)
    for b in lay.decoder:
        pos[b.name] = (col, -row[b.name])

    fig, ax = plt.subplots(figsize=(width, 0.62 * (depth + 1) + 1.3))
    ax.set_xlim(-box_w / 2 - 1.9, col + box_w / 2 + 1.9)
    ax.set_ylim(-depth - 0.7, 0.75)
    ax.axis("off")
    blocks = [lay.input, *lay.encoder, *lay.decoder, lay.output]
    for b in blocks:
        _box(ax, *pos[b.name], box_w, box_h, b, colour=_COLOURS["bottleneck"] if b is bottleneck else None)
        x, y = pos[b.name]
        if b.kind in ("input", "encoder") and b is not bottleneck:
            _note(ax, x - box_w / 2 - 0.12, y, b, "right")
        elif b is bottleneck:
            _note(ax, x, y - box_h / 2 - 0.17, b, "center")
        else:
            _note(ax, x + box_w / 2 + 0.12, y, b, "left")

    def edge(name, side):
        x, y = pos[name]
        return {"top": (x, y + box_h / 2), "bottom": (x, y - box_h / 2),
                "left": (x - box_w / 2, y), "right": (x + box_w / 2, y)}[side]

    chain_down = [lay.input, *lay.encoder[:-1]]
    for a, b in zip(chain_down, chain_down[1:]):
        _arrow(ax, edge(a.name, "bottom"), edge(b.name, "top"))
    _arrow(ax, edge(chain_down[-1].name, "bottom"), edge(bottleneck.name, "left"))  # into the bottleneck
    chain_up = [*lay.decoder, lay.output]
    _arrow(ax, edge(bottleneck.name, "right"), edge(chain_up[0].name, "bottom"))
    for a, b in zip(chain_up, chain_up[1:]):
        _arrow(ax, edge(a.name, "top"), edge(b.name, "bottom"))
    for enc, dec, shape in lay.skips:
        (x0, y0), (x1, y1) = edge(enc, "right"), edge(dec, "left")
        _arrow(ax, (x0, y0), (x1, y1), gid=f"skip-{enc}-{dec}", colour=_SKIP_COLOUR, linewidth=1.3)
        label = ax.text((x0 + x1) / 2, y0 + 0.07, f"concat -> {shape}", ha="center", va="bottom",
                        fontsize=7, color=_SKIP_COLOUR)
        label.set_gid(f"skiplabel-{enc}-{dec}")

    kind = "U-Net" if lay.skips else "encoder-decoder (no skips)"
    ax.set_title(f"{generator.name}: {kind}, depth {depth}, {generator.count_params():,} parameters",
                 fontsize=10)
    dec_conv = "resize + conv" if any("resize" in b.note for b in lay.decoder) else "4x4 transposed conv"
    fig.text(0.5, 0.01,
             "encoder Ck: 4x4 conv, stride 2 - norm - LeakyReLU(0.2)    "
             f"decoder Ck: {dec_conv} (x2) - norm - ReLU; CDk adds dropout\n"
             + ("orange: skip connection, the encoder's output concatenated to the decoder's"
                if lay.skips else "no skip connections: everything passes through the bottleneck"),
             ha="center", va="bottom", fontsize=7.5, color="#333333")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.09)
    return fig


# ------------------------------------------------------------------------------ PatchGAN
def draw_patchgan(discriminator_or_config, width: float | None = None):
    """Draw a PatchGAN discriminator: its blocks, the receptive field, the grid of logits.

    Top: the (input, output) pair concatenated on channels, then one box per block (the
    paper's C64-C128-C256-C512, then the 1-channel convolution giving the logits), each
    with its output shape, kernel / stride, and the receptive field so far. Bottom: the input
    image with the window one logit sees (dashed where it reaches past the image: the
    286x286 "ImageGAN" at 256x256), and the map of logits with that logit marked.

    Args:
        discriminator_or_config: a built discriminator, or a :class:`Pix2PixConfig` to build one.
        width: figure width in inches (default: by the number of blocks).

    Returns:
        The figure: a box per convolution block (gids ``"conv-<layer>"``, ``"logits-<layer>"``),
        the input box, and in the lower axes the image (gid ``"image"``), the window
        (``"window"``) and the logit map (``"map"``).

    Example:
        >>> fig = draw_patchgan(Pix2PixConfig(image_size=64, load_size=64, ndf=8))
        >>> print(box_labels(fig)["logits"])
        logits
        6x6x1
        >>> fig.axes[0].get_title()
        'patchgan_discriminator: receptive field 70x70, 6x6 logits for a 64x64 image'
        >>> plt.close(fig)

    Reference: Isola et al. 2017, section 3.2.2, figure 6 and appendix 6.1.2.
    """
    d = discriminator_or_config
    if isinstance(d, Pix2PixConfig):
        d = build_discriminator(d)
    lay = patchgan_layout(d)
    n = len(lay.layers) + 1
    step, box_w, box_h = 2.25, 1.85, 0.9
    width = width or max(7.0, 1.15 * n + 1.0)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(width, 5.6), gridspec_kw={"height_ratios": [1.0, 1.9]})
    top.set_xlim(-box_w / 2 - 0.2, (n - 1) * step + box_w / 2 + 0.2)
    top.set_ylim(-1.05, 0.65)
    top.axis("off")
    blocks = [lay.input, *lay.layers]
    for i, b in enumerate(blocks):
        _box(top, i * step, 0.0, box_w, box_h, b)
        if b.note:
            text = top.text(i * step, -box_h / 2 - 0.12, b.note.replace(", ", "\n"), ha="center", va="top",
                            fontsize=7, color="#555555", style="italic")
            text.set_gid(f"note-{b.name}")
        if i:
            _arrow(top, ((i - 1) * step + box_w / 2, 0.0), (i * step - box_w / 2, 0.0))
    top.set_title(f"{d.name}: receptive field {lay.receptive_field}x{lay.receptive_field}, "
                  f"{lay.map_size}x{lay.map_size} logits for a {lay.image_size}x{lay.image_size} image",
                  fontsize=10)

    # bottom: the image with one window, and the map of logits beside it (same scale in the figure)
    s, rf, p = lay.image_size, lay.receptive_field, lay.map_size
    bottom.set_aspect("equal")
    bottom.axis("off")
    image = Rectangle((0, 0), s, s, facecolor="#f4f4f4", edgecolor="#333333", linewidth=1.0)
    image.set_gid("image")
    bottom.add_patch(image)
    half = s / 2
    window = Rectangle((half - rf / 2, half - rf / 2), rf, rf, fill=False, edgecolor=_SKIP_COLOUR,
                       linewidth=1.6, linestyle="--" if rf > s else "-")
    window.set_gid("window")
    bottom.add_patch(window)
    margin = max(0.0, (rf - s) / 2) + 0.02 * s  # room for a window larger than the image
    below = -margin - 0.04 * s
    bottom.text(half, below, f"{s}x{s} input: one logit sees {rf}x{rf}\n"
                f"neighbouring logits: windows {lay.jump} px apart", ha="center", va="top", fontsize=8)
    gap = 0.45 * s
    x0 = s + gap  # the map, drawn as large as the image
    cell = s / p
    grid = Rectangle((x0, 0), s, s, facecolor="white", edgecolor="#333333", linewidth=1.0)
    grid.set_gid("map")
    bottom.add_patch(grid)
    if p <= 40:  # draw the cells
        for k in range(1, p):
            bottom.plot([x0 + k * cell] * 2, [0, s], color="#bbbbbb", linewidth=0.4)
            bottom.plot([x0, x0 + s], [k * cell] * 2, color="#bbbbbb", linewidth=0.4)
    c = p // 2
    marked = Rectangle((x0 + c * cell, s - (c + 1) * cell), cell, cell, facecolor=_SKIP_COLOUR,
                       edgecolor="none")
    marked.set_gid("logit")
    bottom.add_patch(marked)
    bottom.text(x0 + s / 2, below, f"{p}x{p} logits: a real/fake verdict per patch\n"
                "(D's loss averages them)", ha="center", va="top", fontsize=8)
    _arrow(bottom, (x0 + (c + 0.5) * cell, s - (c + 0.5) * cell), (half + min(rf, s) / 2, half),
           colour=_SKIP_COLOUR, connectionstyle="arc3,rad=0.25", linewidth=1.0)
    bottom.set_xlim(-margin, x0 + s + 0.02 * s)
    bottom.set_ylim(below - 0.22 * s, s + margin)
    fig.subplots_adjust(left=0.02, right=0.98, top=0.93, bottom=0.02, hspace=0.12)
    return fig


# ------------------------------------------------------------------------------ Keras' graph
def keras_plot_available() -> bool:
    """Whether ``keras.utils.plot_model`` can run here: pydot (or pydotplus) and Graphviz's ``dot``.

    Colab has both; a plain ``pip install`` has neither (Graphviz is a system package).
    """
    for module in ("pydot", "pydotplus"):
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        return shutil.which("dot") is not None
    return False


def _is_generator(model: keras.Model) -> bool:
    try:
        unet_layout(model)
    except ValueError:
        return False
    return True


def save_diagram(model: keras.Model, path, use_keras: bool | None = None) -> str:
    """Save a diagram of ``model`` to ``path`` (the suffix picks PNG, SVG, PDF...).

    Args:
        model: a U-Net generator or a PatchGAN discriminator.
        path: the file to write.
        use_keras: True: Keras' layer graph (``keras.utils.plot_model(show_shapes=True)``);
            False: our figure (:func:`draw_unet` / :func:`draw_patchgan`); None (default):
            Keras' when :func:`keras_plot_available`, else ours.

    Returns:
        ``"keras"`` or ``"pix2pix_tf"``: which diagram was written.

    Example:
        >>> d = build_discriminator(Pix2PixConfig(image_size=64, load_size=64, ndf=8))
        >>> save_diagram(d, "patchgan.png", use_keras=False)
        'pix2pix_tf'
        >>> Path("patchgan.png").read_bytes()[:4]
        b'\\x89PNG'
    """
    path = Path(path)
    if use_keras is None:
        use_keras = keras_plot_available()
    if use_keras:
        keras.utils.plot_model(model, to_file=str(path), show_shapes=True, show_layer_names=True,
                               expand_nested=True, dpi=96)
        return "keras"
    fig = draw_unet(model) if _is_generator(model) else draw_patchgan(model)
    try:
        fig.savefig(path, dpi=150)
    finally:
        plt.close(fig)
    return "pix2pix_tf"
