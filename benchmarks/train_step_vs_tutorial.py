"""Benchmark: one pix2pix training step of ``pix2pix_tf`` vs the TensorFlow tutorial's recipe.

Claim checked: a 256x256, batch-1, float32 training step of our :class:`Pix2Pix` model
(run the way ``fit`` runs it) is no slower than the recipe of the public tensorflow.org
"pix2pix" tutorial, on the same machine.

The baseline below is an independent, minimal re-implementation of that tutorial's
recipe (written from its description, not copied):

* U-Net generator: ``downsample`` = Conv2D(4, s2, same, no bias) -> BatchNorm (all but the
  first block, the innermost included) -> LeakyReLU() (Keras 3 default slope 0.3);
  ``upsample`` = Conv2DTranspose(4, s2, same, no bias) -> BatchNorm -> Dropout(0.5) (first 3)
  -> ReLU; encoder 64-128-256-512-512-512-512-512, decoder 512-512-512-512-256-128-64 with
  skip concatenations, Conv2DTranspose(3, 4, s2, same, tanh); weights ~ N(0, 0.02).
* PatchGAN: concat(input, target) -> down 64 (no norm), 128, 256 -> ZeroPadding2D ->
  Conv2D(512, 4, s1, no bias) -> BatchNorm -> LeakyReLU -> ZeroPadding2D -> Conv2D(1, 4, s1).
* Losses: BCE from logits; G = gan + 100 * L1; D = real + fake (not halved).
* Two Adam(2e-4, beta_1=0.5); a ``@tf.function`` step with two GradientTapes opened
  together, one G forward, two D forwards, both gradients, both updates, called from a
  Python loop on one fixed batch.

Variants, timed interleaved in one process (the machine is small and shared, so only
the ratios measured side by side are meaningful):

* ``tutorial``: the baseline above.
* ``pix2pix_tf``: ``Pix2Pix`` with ``gan_update="simultaneous"`` (default), run through
  ``model.make_train_function()`` on a ``tf.data`` iterator of the fixed batch repeated,
  i.e. exactly the call ``fit`` makes (``model.train_function(iterator)``).
* ``pix2pix_tf_alternating``: the same with ``gan_update="alternating"`` (D step, then a
  G step against the updated D: one more D forward than the other two variants).

For ``--image-size`` below 256 both U-Nets get the depth ``Pix2PixConfig`` picks for that
size (6 at 64), so the smoke test compares like with like.

Usage:
    python benchmarks/train_step_vs_tutorial.py                       # 256x256, 5 rounds x 5 steps
    python benchmarks/train_step_vs_tutorial.py --image-size 64 --rounds 2 --steps 2

Prints one JSON object on stdout; everything else (TF/absl logs) goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Run as a script, everything that might print to stdout (Python or C++) goes to stderr
# until the JSON is written to the saved descriptor.
if __name__ == "__main__":
    _REAL_STDOUT_FD = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from pix2pix_tf.config import Pix2PixConfig  # noqa: E402
from pix2pix_tf.fast.transform import speed_up  # noqa: E402
from pix2pix_tf.model import Pix2Pix  # noqa: E402

BATCH_SIZE = 1
WARMUP_STEPS = 3
VARIANTS = ("tutorial", "pix2pix_tf", "pix2pix_tf_alternating")
JIT_COMPILE: dict[str, bool] = {}  # gan_update -> what compile()'s jit_compile="auto" resolved to


# --------------------------------------------------------------------------- baseline
class TutorialRecipe:
    """Minimal re-implementation of the tensorflow.org pix2pix tutorial's models and step."""

    LAMBDA = 100

    def __init__(self, image_size: int, depth: int, channels: int = 3):
        self.init = lambda: keras.initializers.RandomNormal(0.0, 0.02)
        self.generator = self._generator(image_size, depth, channels)
        self.discriminator = self._discriminator(image_size, channels)
        self.bce = keras.losses.BinaryCrossentropy(from_logits=True)
        self.g_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_opt = keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.train_step = tf.function(self._train_step)

    def _down(self, filters: int, norm: bool = True) -> keras.Sequential:
        block = keras.Sequential()
        block.add(keras.layers.Conv2D(filters, 4, strides=2, padding="same",
                                      kernel_initializer=self.init(), use_bias=False))
        if norm:
            block.add(keras.layers.BatchNormalization())
        block.add(keras.layers.LeakyReLU())  # Keras 3 default negative_slope = 0.3
        return block

    def _up(self, filters: int, dropout: bool = False) -> keras.Sequential:
        block = keras.Sequential()
        block.add(keras.layers.Conv2DTranspose(filters, 4, strides=2, padding="same",
                                               kernel_initializer=self.init(), use_bias=False))
        block.add(keras.layers.BatchNormalization())
        if dropout:
            block.add(keras.layers.Dropout(0.5))
        block.add(keras.layers.ReLU())
        return block

    def _generator(self, size: int, depth: int, channels: int) -> keras.Model:
        enc = [64 * min(2 ** i, 8) for i in range(depth)]  # 64,128,256,512,512,512,512,512 at 256
        dec = list(reversed(enc[:-1]))                     # 512,512,512,512,256,128,64 at 256
        down_stack = [self._down(f, norm=i > 0) for i, f in enumerate(enc)]
        up_stack = [self._up(f, dropout=j < 3) for j, f in enumerate(dec)]
        last = keras.layers.Conv2DTranspose(channels, 4, strides=2, padding="same",
                                            kernel_initializer=self.init(), activation="tanh")
        inputs = keras.layers.Input(shape=(size, size, channels))
        x, skips = inputs, []
        for down in down_stack:
            x = down(x)
            skips.append(x)
        for up, skip in zip(up_stack, reversed(skips[:-1])):
            x = keras.layers.Concatenate()([up(x), skip])
        return keras.Model(inputs=inputs, outputs=last(x), name="tutorial_generator")

    def _discriminator(self, size: int, channels: int) -> keras.Model:
        inp = keras.layers.Input(shape=(size, size, channels), name="input_image")
        tar = keras.layers.Input(shape=(size, size, channels), name="target_image")
        x = keras.layers.Concatenate()([inp, tar])
        x = self._down(64, norm=False)(x)
        x = self._down(128)(x)
        x = self._down(256)(x)
        x = keras.layers.ZeroPadding2D()(x)
        x = keras.layers.Conv2D(512, 4, strides=1, kernel_initializer=self.init(),
                                use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.LeakyReLU()(x)
        x = keras.layers.ZeroPadding2D()(x)
        logits = keras.layers.Conv2D(1, 4, strides=1, kernel_initializer=self.init())(x)
        return keras.Model(inputs=[inp, tar], outputs=logits, name="tutorial_discriminator")

    def _g_loss(self, fake_logits, gen_output, target):
        gan = self.bce(tf.ones_like(fake_logits), fake_logits)
        l1 = tf.reduce_mean(tf.abs(target - gen_output))
        return gan + self.LAMBDA * l1, gan, l1

    def _d_loss(self, real_logits, fake_logits):
        real = self.bce(tf.ones_like(real_logits), real_logits)
        fake = self.bce(tf.zeros_like(fake_logits), fake_logits)
        return real + fake

    def _train_step(self, input_image, target):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = self.generator(input_image, training=True)
            real_logits = self.discriminator([input_image, target], training=True)
            fake_logits = self.discriminator([input_image, gen_output], training=True)
            g_total, g_gan, g_l1 = self._g_loss(fake_logits, gen_output, target)
            d_loss = self._d_loss(real_logits, fake_logits)
        g_grads = gen_tape.gradient(g_total, self.generator.trainable_variables)
        d_grads = disc_tape.gradient(d_loss, self.discriminator.trainable_variables)
        self.g_opt.apply_gradients(zip(g_grads, self.generator.trainable_variables))
        self.d_opt.apply_gradients(zip(d_grads, self.discriminator.trainable_variables))
        return g_total, d_loss


# --------------------------------------------------------------------------- helpers
def param_counts(model: keras.Model) -> dict[str, int]:
    trainable = int(sum(int(np.prod(v.shape)) for v in model.trainable_weights))
    return {"total": int(model.count_params()), "trainable": trainable}


def make_tutorial_runner(x, y, image_size: int, depth: int):
    recipe = TutorialRecipe(image_size, depth)

    def run(n: int) -> None:
        for _ in range(n):
            g_total, _ = recipe.train_step(x, y)
        g_total.numpy()  # force completion of the last (and so of every) step

    return run, recipe.generator, recipe.discriminator


def make_pix2pix_runner(x, y, cfg: Pix2PixConfig):
    model = Pix2Pix.from_config_object(cfg)
    model.compile()
    speed_up(model)  # as a run trains it
    dataset = tf.data.Dataset.from_tensors((x, y)).repeat()
    # Sanity: one step through fit itself, then reuse the very function fit cached.
    model.fit(dataset, steps_per_epoch=1, epochs=1, verbose=0)
    model.make_train_function()  # returns None in Keras 3; sets model.train_function
    train_function = model.train_function
    iterator = iter(dataset)
    JIT_COMPILE[cfg.gan_update] = bool(model.jit_compile)

    def run(n: int) -> None:
        for _ in range(n):
            logs = train_function(iterator)  # what fit calls for each step
        logs["g_total"].numpy()

    return run, model.generator, model.discriminator


def summarize(samples: list[float]) -> dict[str, float]:
    med = statistics.median(samples)
    return {
        "median_s_per_step": med,
        "min_s_per_step": min(samples),
        "images_per_second": BATCH_SIZE / med,
        "per_round_s_per_step": samples,
    }


# --------------------------------------------------------------------------- main
def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image-size", type=int, default=256)
    p.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    p.add_argument("--steps", type=int, default=5, help="steps timed per variant per round")
    args = p.parse_args(argv)

    keras.utils.set_random_seed(0)
    cfg = Pix2PixConfig(image_size=args.image_size, load_size=args.image_size,
                        batch_size=BATCH_SIZE)
    rng = np.random.default_rng(0)
    shape = (BATCH_SIZE, args.image_size, args.image_size, 3)
    x = tf.constant(rng.uniform(-1, 1, shape).astype("float32"))
    y = tf.constant(rng.uniform(-1, 1, shape).astype("float32"))

    runners, params = {}, {}
    for name in VARIANTS:
        keras.utils.set_random_seed(0)
        if name == "tutorial":
            run, g, d = make_tutorial_runner(x, y, args.image_size, cfg.generator_depth)
        elif name == "pix2pix_tf":
            run, g, d = make_pix2pix_runner(x, y, cfg.replace(gan_update="simultaneous"))
        else:
            run, g, d = make_pix2pix_runner(x, y, cfg.replace(gan_update="alternating"))
        params[name] = {"generator": param_counts(g), "discriminator": param_counts(d)}
        run(WARMUP_STEPS)  # traces the step on first call
        runners[name] = run
        print(f"[bench] built and warmed up {name}", file=sys.stderr)

    load_before = os.getloadavg()
    samples: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for r in range(args.rounds):
        for name in VARIANTS:
            t0 = time.perf_counter()
            runners[name](args.steps)
            samples[name].append((time.perf_counter() - t0) / args.steps)
        print(f"[bench] round {r + 1}/{args.rounds}: "
              + ", ".join(f"{n}={samples[n][-1]:.3f}s" for n in VARIANTS), file=sys.stderr)
    load_after = os.getloadavg()

    variants = {name: summarize(s) for name, s in samples.items()}
    base = variants["tutorial"]
    for name, v in variants.items():
        v["ratio_to_tutorial"] = base["median_s_per_step"] / v["median_s_per_step"]
        # Load on a shared machine drifts between rounds; ratios of the timings taken
        # back to back in the same round, and of the minima, are less sensitive to it.
        paired = [t / s for t, s in zip(samples["tutorial"], samples[name])]
        v["per_round_ratio_to_tutorial"] = paired
        v["median_per_round_ratio_to_tutorial"] = statistics.median(paired)
        v["min_ratio_to_tutorial"] = base["min_s_per_step"] / v["min_s_per_step"]

    return {
        "benchmark": "pix2pix train step vs tensorflow.org tutorial recipe",
        "image_size": args.image_size,
        "batch_size": BATCH_SIZE,
        "dtype": "float32",
        "rounds": args.rounds,
        "steps_per_round": args.steps,
        "warmup_steps": WARMUP_STEPS,
        "generator_depth": cfg.generator_depth,
        "variants": variants,
        "ratio_to_tutorial_note": ("tutorial median s/step / variant median s/step; > 1 = faster. "
                                   "median_per_round_ratio_to_tutorial: median over rounds of "
                                   "tutorial/variant timed back to back; min_ratio_to_tutorial: "
                                   "ratio of the fastest rounds"),
        "parameters": params,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "pix2pix_tf_jit_compile": JIT_COMPILE,  # Keras' "auto": False on CPU-only machines
        "devices": [d.device_type for d in tf.config.list_physical_devices()],
        "cpu_count": os.cpu_count(),
        "tf_intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
        "tf_inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "loadavg_1min_before_after": [load_before[0], load_after[0]],
        "python_version": platform.python_version(),
    }


if __name__ == "__main__":
    result = main()
    sys.stdout.flush()
    with os.fdopen(_REAL_STDOUT_FD, "w") as out:
        out.write(json.dumps(result, indent=2) + "\n")
