"""What the network diagrams show, read from a built Keras model: the boxes (:class:`Block`)
of a U-Net generator (:func:`unet_layout`) and of a PatchGAN discriminator
(:func:`patchgan_layout`, with the receptive field after each layer).

Nothing is copied from the builders: both functions walk the layers of the model they are
given, so a narrower, shallower or otherwise changed network is read as it is. Kept apart
from the drawing (:mod:`pix2pix_tf.course.diagrams`, matplotlib) because reading a model's
structure is Keras only and is checked on its own (the layouts are plain data).

Example:
    >>> from pix2pix_tf.config import Pix2PixConfig
    >>> from pix2pix_tf.discriminator import build_discriminator
    >>> layout = patchgan_layout(build_discriminator(Pix2PixConfig(image_size=64, load_size=64, ndf=8)))
    >>> layout.receptive_field, layout.map_size
    (70, 6)
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

__all__ = ["Block", "UNetLayout", "PatchGANLayout", "unet_layout", "patchgan_layout"]

_NORM_TYPES = (keras.layers.BatchNormalization, keras.layers.GroupNormalization,
               keras.layers.LayerNormalization)


@dataclass(frozen=True)
class Block:
    """One box of a diagram: a layer (or a Sequential block) of the model.

    Attributes:
        name: the Keras layer name (``"down1"``).
        kind: "input", "encoder", "decoder", "output" (U-Net), "conv", "logits" (PatchGAN).
        label: the box text: the paper's name and the output shape, one per line.
        note: a remark beside the box ("no norm", "dropout 50 %", "4x4 /2, rf 10").
    """

    name: str
    kind: str
    label: str
    note: str = ""


def _shape(tensor) -> str:
    """``(None, 32, 32, 64)`` -> ``"32x32x64"``."""
    return "x".join("?" if d is None else str(d) for d in tuple(tensor.shape)[1:])


def _sublayers(layer) -> list:
    """The layers of a Sequential block, or the layer itself; a wrapped layer (a spectrally
    normalised convolution) counts as the layer it wraps."""
    layers = list(layer.layers) if isinstance(layer, keras.Sequential) else [layer]
    return [s.layer if isinstance(s, keras.layers.Wrapper) else s for s in layers]


def _is_upsampling(layer) -> bool:
    return isinstance(layer, (keras.layers.Conv2DTranspose, keras.layers.UpSampling2D))


def _convs(layer) -> list:
    """The (transposed) convolutions in ``layer`` (a block or one layer), in order."""
    return [s for s in _sublayers(layer)
            if isinstance(s, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))]


def _has(layer, types) -> bool:
    return any(isinstance(s, types) for s in _sublayers(layer))


def _dropout_rate(layer) -> float:
    rates = [s.rate for s in _sublayers(layer) if isinstance(s, keras.layers.Dropout)]
    return max(rates, default=0.0)


# ------------------------------------------------------------------------------ U-Net
@dataclass(frozen=True)
class UNetLayout:
    """What :func:`~pix2pix_tf.course.diagrams.draw_unet` draws, read from a built generator.

    Attributes:
        input: the input box; encoder / decoder: the blocks, top to bottom / bottom to top;
        output: the final (transposed) convolution and tanh as one box;
        skips: ``(encoder name, decoder name, concatenated shape)`` per skip connection.
    """

    input: Block
    encoder: list[Block]
    decoder: list[Block]
    output: Block
    skips: list[tuple[str, str, str]]


def unet_layout(generator: keras.Model) -> UNetLayout:
    """Walk a U-Net (or encoder-decoder) generator's layers into the boxes of its diagram.

    Sequential blocks whose first layer downsamples are encoder blocks (``Ck``), those that
    upsample (transposed convolution, or resize + convolution) are decoder blocks (``Ck`` /
    ``CDk`` with dropout); a ``Concatenate`` of a decoder block's output with an encoder
    block's output is a skip connection; the layers after the last block form the output box.

    Raises:
        ValueError: ``generator`` is not a U-Net (e.g. a ResNet generator).
    """
    if any(isinstance(layer, keras.layers.Add) for layer in generator.layers):
        raise ValueError(f"{generator.name} has residual additions: draw_unet draws U-Net generators "
                         "(net_g 'unet', 'unet_256', 'unet_128', 'encoder_decoder'), not ResNets")
    encoder, decoder, skips = [], [], []
    block_of = {}  # id(output tensor) -> block name
    last = 0
    for i, layer in enumerate(generator.layers):
        if isinstance(layer, keras.Sequential) and _convs(layer):
            conv = _convs(layer)[0]
            if _has(layer, (keras.layers.Conv2DTranspose, keras.layers.UpSampling2D)):
                rate = _dropout_rate(layer)
                notes = [f"dropout {rate:.0%}"] if rate > 0 else []
                if _has(layer, keras.layers.UpSampling2D):
                    notes.append("resize + conv")
                name = f"{'CD' if rate > 0 else 'C'}{conv.filters}"
                decoder.append(Block(layer.name, "decoder", f"{name}\n{_shape(layer.output)}",
                                     ", ".join(notes)))
            else:
                note = "" if _has(layer, _NORM_TYPES) else "no norm"
                encoder.append(Block(layer.name, "encoder", f"C{conv.filters}\n{_shape(layer.output)}", note))
            block_of[id(layer.output)] = layer.name
            last = i
        elif isinstance(layer, keras.layers.Concatenate):
            sources = [block_of.get(id(t)) for t in layer.input]
            enc = [s for s in sources if s in {b.name for b in encoder}]
            dec = [s for s in sources if s in {b.name for b in decoder}]
            if enc and dec:
                skips.append((enc[0], dec[0], _shape(layer.output)))
            block_of[id(layer.output)] = dec[0] if dec else None
            last = i
    if not encoder or len(decoder) != len(encoder) - 1:
        raise ValueError(f"{generator.name}: found {len(encoder)} encoder and {len(decoder)} decoder "
                         "blocks; draw_unet draws U-Nets (depth d: d encoder, d - 1 decoder blocks)")
    tail = generator.layers[last + 1:]
    kinds = []
    for layer in tail:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            kinds.append(f"deconv {layer.kernel_size[0]}x{layer.kernel_size[1]}")
        elif isinstance(layer, keras.layers.UpSampling2D):
            kinds.append("resize")
        elif isinstance(layer, keras.layers.Conv2D):
            kinds.append(f"conv {layer.kernel_size[0]}x{layer.kernel_size[1]}")
        elif isinstance(layer, keras.layers.Activation):
            kinds.append(getattr(layer.activation, "__name__", "activation"))
    out = generator.outputs[0]
    output = Block(tail[-1].name if tail else "output", "output", f"output\n{_shape(out)}", " + ".join(kinds))
    inp = generator.inputs[0]
    input_block = Block(inp.name if isinstance(getattr(inp, "name", None), str) else "input", "input",
                        f"input\n{_shape(inp)}")
    return UNetLayout(input_block, encoder, decoder, output, skips)


# ------------------------------------------------------------------------------ PatchGAN
@dataclass(frozen=True)
class PatchGANLayout:
    """What :func:`~pix2pix_tf.course.diagrams.draw_patchgan` draws, read from a built discriminator.

    Attributes:
        input: the input box (the (input, output) pair, or the image alone);
        layers: one box per convolution block, the last one the logits;
        receptive_field: pixels of the input one logit sees; jump: pixels between the
            windows of neighbouring logits; image_size and map_size: sides of the input and
            of the logit map.
    """

    input: Block
    layers: list[Block]
    receptive_field: int
    jump: int
    image_size: int
    map_size: int


def patchgan_layout(discriminator: keras.Model) -> PatchGANLayout:
    """Walk a PatchGAN (or PixelGAN) discriminator's layers into the boxes of its diagram.

    Every convolution (alone, or the first layer of a Sequential block) starts a box; a norm
    layer after it marks it normalised. The receptive field grows as the library's
    :func:`pix2pix_tf.discriminator.receptive_field` computes it:
    ``rf += (k - 1) * jump; jump *= stride``, layer by layer.
    """
    if any(_has(layer, (keras.layers.Conv2DTranspose, keras.layers.UpSampling2D))
           for layer in discriminator.layers):
        raise ValueError(f"{discriminator.name} upsamples: draw_patchgan draws discriminators, "
                         "draw_unet draws U-Net generators")
    if len(discriminator.outputs) > 1:
        raise ValueError(f"{discriminator.name} has {len(discriminator.outputs)} scales (num_d > 1): "
                         "draw_patchgan draws one PatchGAN; draw build_successor_discriminator(config.replace(num_d=1)), "
                         "the same network at every scale")
    rf, jump = 1, 1
    boxes: list[dict] = []
    for layer in discriminator.layers:
        convs = _convs(layer)
        if convs:
            conv = convs[0]
            k, s = conv.kernel_size[0], conv.strides[0]
            rf += (k - 1) * jump
            jump *= s
            boxes.append({"layer": layer, "conv": conv, "norm": _has(layer, _NORM_TYPES),
                          "k": k, "s": s, "rf": rf})
        elif boxes and isinstance(layer, _NORM_TYPES):
            boxes[-1]["norm"] = True  # a stride-1 block written as separate layers
    if not boxes:
        raise ValueError(f"{discriminator.name} has no convolutions: not a PatchGAN discriminator")
    blocks = []
    for i, box in enumerate(boxes):
        layer, conv = box["layer"], box["conv"]
        last = i == len(boxes) - 1
        shape = _shape(layer.output)
        name = "logits" if last else f"C{conv.filters}"
        notes = [f"{box['k']}x{box['k']} /{box['s']}" if box["s"] > 1 else f"{box['k']}x{box['k']} stride 1"]
        if not last and not box["norm"]:
            notes.append("no norm")
        notes.append(f"rf {box['rf']}")
        blocks.append(Block(layer.name, "logits" if last else "conv", f"{name}\n{shape}", ", ".join(notes)))
    conditional = len(discriminator.inputs) > 1
    concat = next((layer for layer in discriminator.layers
                   if isinstance(layer, keras.layers.Concatenate)), None)
    first = concat.output if conditional and concat is not None else discriminator.inputs[0]
    input_block = Block("pair" if conditional else "image", "input",
                        f"{'input|output' if conditional else 'image'}\n{_shape(first)}")
    out_shape = tuple(discriminator.outputs[0].shape)
    return PatchGANLayout(input_block, blocks, rf, jump, int(first.shape[1]), int(out_shape[1]))

