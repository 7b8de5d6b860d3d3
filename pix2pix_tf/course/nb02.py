"""Exercises of notebook 02, the networks: the U-Net's skips, the PatchGAN's logit map and window."""

from __future__ import annotations

import functools

from . import Exercise, register


@functools.lru_cache(maxsize=1)
def paper_decoder_channels() -> tuple[tuple[str, int, int], ...]:
    """``(layer, channels received, channels without the skip)`` for each decoder layer of the
    paper's 256x256 U-Net, read from a built model (only the numbers are kept).

    Every channel count of the U-Net is ngf times a constant, so the model is built with
    ngf=8 (faster: no 54 million weights to draw) and its counts are scaled to the paper's ngf.
    """
    import keras

    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.generator import build_unet_generator

    paper, ngf = Pix2PixConfig(), 8
    g = build_unet_generator(paper.replace(ngf=ngf))
    scale = paper.ngf // ngf
    layers = g.layers
    concats = [i for i, layer in enumerate(layers) if isinstance(layer, keras.layers.Concatenate)]
    # the decoder blocks, then the first layer after the last concatenation (the output deconv)
    decoder = [layer for layer in layers
               if isinstance(layer, keras.Sequential) and layer.name.startswith("up")]
    decoder.append(layers[concats[-1] + 1])
    rows, previous = [], g.get_layer(f"down{paper.generator_depth}")
    for layer in decoder:
        received = int(layer.input.shape[-1]) * scale
        alone = int(previous.output.shape[-1]) * scale  # the block before it, without the skip
        rows.append((layer.name, received, alone))
        previous = layer
    return tuple(rows)


def check_decoder_channels(answer) -> tuple[bool, str]:
    """``answer``: the channels each decoder layer of the paper's U-Net receives, in order."""
    rows = paper_decoder_channels()
    names = [name for name, _, _ in rows]
    want = [received for _, received, _ in rows]
    try:
        got = [int(a) for a in answer]
    except (TypeError, ValueError):
        return False, f"give a list of {len(want)} numbers, not {answer!r}"
    if len(got) != len(want):
        return False, f"give {len(want)} numbers, one for each of {', '.join(names)}; you gave {len(got)}"
    if got == want:
        return True, ("each decoder layer after the first receives its predecessor's output concatenated "
                      "with the encoder output of the same size: twice the channels (the paper's "
                      "appendix lists them: CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128)")
    if got == [alone for _, _, alone in rows]:
        return False, ("those are the channels without the skip connections: each Concatenate adds the "
                       "channels of the mirrored encoder block")
    i = next(k for k in range(len(want)) if got[k] != want[k])
    if i == 0:
        return False, (f"{names[0]} gets {got[0]}? It takes the 1x1 bottleneck alone: no skip joins "
                       "before the first decoder block")
    return False, (f"{names[i]} (number {i + 1}) gets {got[i]}? It receives the output of {names[i - 1]} "
                   "concatenated with the encoder block of the same size: add both channel counts")


register(Exercise(
    key="02.decoder_channels",
    question=("In the paper's 256x256 U-Net (ngf=64, 8 levels), how many channels does each decoder "
              "layer receive as input: up1 ... up7, then output_deconv? Give a list of 8 numbers."),
    answer_name="decoder_channels",
    checker=check_decoder_channels,
    solution=("# up1 gets the bottleneck (1x1x512); every later layer gets the previous block's output\n"
              "# concatenated with the encoder block of the same size (channels add up)\n"
              "decoder_channels = [512, 1024, 1024, 1024, 1024, 512, 256, 128]\n"),
    wrong=("decoder_channels = [512, 512, 512, 512, 512, 256, 128, 64]\n",
           "decoder_channels = [1024, 1024, 1024, 1024, 1024, 512, 256, 128]\n",
           "decoder_channels = [512, 1024, 1024, 1024, 512, 256, 128, 64]\n",
           "decoder_channels = [512, 1024]\n"),
    explanation=("Encoder: C64-C128-C256-C512-C512-C512-C512-C512; decoder blocks output "
                 "512-512-512-512-256-128-64. Block up_j's output is concatenated with the encoder "
                 "output of the same size, so the next layer receives both: 512 + 512 = 1024 four "
                 "times, then 256 + 256, 128 + 128, 64 + 64. That is why the paper writes the U-Net "
                 "decoder as CD512-CD1024-CD1024-C1024-C1024-C512-C256-C128."),
))


# (image_size, n_layers_d) pairs the student's function is tried on
MAP_CASES = ((256, 3), (64, 3), (128, 1), (256, 5), (512, 4), (96, 2))


@functools.lru_cache(maxsize=None)
def built_map_size(image_size: int, n_layers_d: int) -> int:
    """The side of the logit map of the PatchGAN built for this size and depth."""
    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.discriminator import build_discriminator

    config = Pix2PixConfig(image_size=image_size, load_size=image_size, ndf=4, n_layers_d=n_layers_d)
    return int(build_discriminator(config).output_shape[1])


def check_logit_map_size(fn) -> tuple[bool, str]:
    """``fn(image_size, n_layers_d)``: compared with the output of the built discriminators."""
    if not callable(fn):
        return False, "logit_map_size should be a function: def logit_map_size(image_size, n_layers_d): ..."
    misses = []
    for size, n in MAP_CASES:
        want, got = built_map_size(size, n), fn(size, n)
        if got != want:
            misses.append((size, n, got, want))
    if not misses:
        return True, ("n stride-2 blocks halve the size n times; the two 4x4 stride-1 convolutions "
                       "(padding 1) take one pixel off each: S / 2**n - 2, so 30x30 at 256x256")
    size, n, got, want = misses[0]
    message = (f"for image_size={size}, n_layers_d={n} your function gives {got}, the built "
               f"discriminator outputs {want}x{want}")
    if all(got == size // 2 ** n for size, n, got, _ in misses):
        message += ("; the stride-2 blocks are right, but two 4x4 stride-1 convolutions follow them "
                    "(C512 and the logit layer), each with 1 pixel of padding")
    elif all(n != 3 for _, n, _, _ in misses):
        message += "; right for n_layers_d=3 only: use n_layers_d"
    return False, message


register(Exercise(
    key="02.logit_map_size",
    question=("Write logit_map_size(image_size, n_layers_d): the side P of the P x P map of logits "
              "the PatchGAN outputs (n_layers_d >= 1; the paper's 70x70 D has n_layers_d=3)."),
    answer_name="logit_map_size",
    checker=check_logit_map_size,
    solution=("def logit_map_size(image_size, n_layers_d):\n"
              "    # n stride-2 blocks halve the size; two 4x4 stride-1 convs (padding 1) take 1 pixel each\n"
              "    return image_size // 2 ** n_layers_d - 2\n"),
    wrong=("def logit_map_size(image_size, n_layers_d):\n    return image_size // 2 ** n_layers_d\n",
           "def logit_map_size(image_size, n_layers_d):\n    return image_size // 8 - 2\n",
           "def logit_map_size(image_size, n_layers_d):\n    return image_size // 2 ** n_layers_d - 1\n",
           "logit_map_size = 30\n"),
    explanation=("A 4x4 convolution with stride 1 and 1 pixel of padding on each side turns n pixels "
                 "into n + 2 - 4 + 1 = n - 1. After n_layers_d halvings the map is S / 2**n_layers_d; "
                 "the stride-1 C512 block and the 1-channel logit convolution take 2 pixels off: "
                 "256 / 8 - 2 = 30."),
))


def check_receptive_field(answer) -> tuple[bool, str]:
    """``answer``: the receptive field (pixels per side) of the PatchGAN with n_layers_d=5."""
    from pix2pix_tf.config import Pix2PixConfig
    from pix2pix_tf.discriminator import build_discriminator, receptive_field

    if isinstance(answer, (tuple, list)) and len(answer) == 2 and answer[0] == answer[1]:
        answer = answer[0]  # (286, 286) is fine too
    want = receptive_field(build_discriminator(Pix2PixConfig(ndf=4, n_layers_d=5)))
    if answer == want:
        return True, (f"{want}x{want}: larger than a 256x256 image, so at 256 each logit judges the "
                      "whole image: the paper's 'ImageGAN'")
    walk = ("walk back from one logit: a k x k layer with stride s turns a window of r pixels into "
            "(r - 1) * s + k; start at r = 1 and go through the 4x4 logit layer (stride 1), the 4x4 C512 "
            "block (stride 1), then the 5 stride-2 4x4 blocks")
    if answer == 70:
        return False, ("70 is the paper's default, n_layers_d=3; with n_layers_d=5 two more stride-2 "
                       "blocks come in: " + walk)
    if answer == 94:
        return False, "94 leaves out the two stride-1 4x4 layers after the stride-2 blocks: " + walk
    if answer == 256:
        return False, "the receptive field is not capped by the image size (padding reaches past it): " + walk
    return False, walk


register(Exercise(
    key="02.receptive_field",
    question=("With n_layers_d=5 the PatchGAN has five 4x4 stride-2 blocks (C64-C128-C256-C512-C512), "
              "then a 4x4 stride-1 block and the 4x4 stride-1 logit layer. How many pixels wide is the "
              "window one logit sees? Work it out by hand."),
    answer_name="receptive_field_5",
    checker=check_receptive_field,
    solution=("# walk back from one logit, r -> (r - 1) * stride + kernel:\n"
              "# logits 4x4/1: 4, C512 4x4/1: 7, then five 4x4/2 blocks: 16, 34, 70, 142, 286\n"
              "receptive_field_5 = 286\n"),
    wrong=("receptive_field_5 = 70\n", "receptive_field_5 = 94\n", "receptive_field_5 = 256\n",
           "receptive_field_5 = 142\n"),
    explanation=("Backwards from one logit: the window grows to (r - 1) * s + k through each layer. "
                 "1 -> 4 -> 7 (the two stride-1 layers), then 16, 34, 70, 142, 286 through the five "
                 "stride-2 blocks. Forwards, the library adds (k - 1) * jump per layer, jump being the "
                 "product of the strides before it: 1 + 3 * (1 + 2 + 4 + 8 + 16 + 32 + 32) = 286."),
))
