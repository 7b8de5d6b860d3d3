"""The TensorFlow pix2pix tutorial's whole program as one process, for ``end_to_end.py``.

What the tensorflow.org "pix2pix" tutorial runs, re-implemented from its description
(models and step: :class:`train_step_vs_tutorial.TutorialRecipe`):

* data: ``tf.data.Dataset.list_files`` of the split's JPEGs, decoded, split in halves (the
  input is the right half, the target the left: edges2things is "photo | edges", so this
  is edges -> photo, like ``pix2pix-tf train --direction BtoA``); training: resize to
  286x286 (nearest neighbour), a random 256x256 crop of both, a random mirror, scale to
  [-1, 1]; ``shuffle(400)``, ``batch(1)``; test: resize to 256x256;
* the loop: ``for step, (x, y) in train_ds.repeat().take(steps).enumerate()``; an image of
  one test example every 1000 steps (step 0 included; saved as a PNG here instead of
  shown); TensorBoard scalars of the four losses at every step (``step // 1000``); a dot
  every 10 steps; a checkpoint every 5000 steps;
* at the end: the tutorial's "generate some images using the test set" (5 test examples).

It evaluates nothing and exports nothing (the tutorial does neither).

Usage:
    python benchmarks/tutorial_run.py --data DIR --out DIR --steps 200 [--image-size 256]

Prints one JSON object (its phases in seconds) on stdout.
"""

from __future__ import annotations

import os
import sys
import time

_T_MAIN = time.perf_counter()
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _jsonout  # noqa: E402

if __name__ == "__main__":
    _jsonout.reserve()

import argparse  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import tensorflow as tf  # noqa: E402

from train_step_vs_tutorial import TutorialRecipe  # noqa: E402


def process_seconds() -> float | None:
    """Seconds since this process started (Linux), None elsewhere."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def load(path):
    image = tf.io.decode_jpeg(tf.io.read_file(path))
    w = tf.shape(image)[1] // 2
    input_image = tf.cast(image[:, w:, :], tf.float32)  # right half
    real_image = tf.cast(image[:, :w, :], tf.float32)   # left half
    return input_image, real_image


def resize(a, b, h, w):
    return (tf.image.resize(a, [h, w], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR),
            tf.image.resize(b, [h, w], method=tf.image.ResizeMethod.NEAREST_NEIGHBOR))


def normalize(a, b):
    return a / 127.5 - 1, b / 127.5 - 1


def make_datasets(data_dir: Path, size: int):
    load_size = size + size * 30 // 256  # 286 at 256

    @tf.function
    def random_jitter(a, b):
        a, b = resize(a, b, load_size, load_size)
        both = tf.image.random_crop(tf.stack([a, b]), size=[2, size, size, 3])
        a, b = both[0], both[1]
        if tf.random.uniform(()) > 0.5:
            a, b = tf.image.flip_left_right(a), tf.image.flip_left_right(b)
        return a, b

    def train_example(path):
        return normalize(*random_jitter(*load(path)))

    def test_example(path):
        return normalize(*resize(*load(path), size, size))

    test = "test" if (data_dir / "test").is_dir() else "val"
    train_ds = (tf.data.Dataset.list_files(str(data_dir / "train" / "*.jpg"))
                .map(train_example, num_parallel_calls=tf.data.AUTOTUNE).shuffle(400).batch(1))
    test_ds = (tf.data.Dataset.list_files(str(data_dir / test / "*.jpg"))
               .map(test_example).batch(1))
    return train_ds, test_ds


def generate_images(generator, x, y, path: Path) -> None:
    prediction = generator(x, training=True)  # the tutorial keeps training=True here
    plt.figure(figsize=(15, 15))
    for i, (image, title) in enumerate(zip((x[0], y[0], prediction[0]),
                                           ("Input Image", "Ground Truth", "Predicted Image"))):
        plt.subplot(1, 3, i + 1)
        plt.title(title)
        plt.imshow(image * 0.5 + 0.5)
        plt.axis("off")
    plt.savefig(path)
    plt.close()


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--image-size", type=int, default=256)
    args = parser.parse_args(argv)
    startup = process_seconds()
    t = time.perf_counter()
    phases = {"startup": startup if startup is not None else t - _T_MAIN}

    def lap(name):
        nonlocal t
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - t
        t = now

    args.out.mkdir(parents=True, exist_ok=False)
    train_ds, test_ds = make_datasets(args.data, args.image_size)
    depth = {256: 8, 128: 7, 64: 6}.get(args.image_size, 8)
    recipe = TutorialRecipe(args.image_size, depth)
    g, d = recipe.generator, recipe.discriminator
    checkpoint = tf.train.Checkpoint(generator_optimizer=recipe.g_opt, discriminator_optimizer=recipe.d_opt,
                                     generator=g, discriminator=d)
    writer = tf.summary.create_file_writer(str(args.out / "logs"))

    @tf.function
    def train_step(input_image, target, step):
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            gen_output = g(input_image, training=True)
            real_logits = d([input_image, target], training=True)
            fake_logits = d([input_image, gen_output], training=True)
            g_total, g_gan, g_l1 = recipe._g_loss(fake_logits, gen_output, target)
            d_loss = recipe._d_loss(real_logits, fake_logits)
        g_grads = gen_tape.gradient(g_total, g.trainable_variables)
        d_grads = disc_tape.gradient(d_loss, d.trainable_variables)
        recipe.g_opt.apply_gradients(zip(g_grads, g.trainable_variables))
        recipe.d_opt.apply_gradients(zip(d_grads, d.trainable_variables))
        with writer.as_default():
            tf.summary.scalar("gen_total_loss", g_total, step=step // 1000)
            tf.summary.scalar("gen_gan_loss", g_gan, step=step // 1000)
            tf.summary.scalar("gen_l1_loss", g_l1, step=step // 1000)
            tf.summary.scalar("disc_loss", d_loss, step=step // 1000)

    example_input, example_target = next(iter(test_ds.take(1)))
    lap("build")
    images = first = 0.0
    for step, (x, y) in train_ds.repeat().take(args.steps).enumerate():
        if step % 1000 == 0:
            t_img = time.perf_counter()
            generate_images(g, example_input, example_target, args.out / f"step_{int(step):06d}.png")
            images += time.perf_counter() - t_img
        t_step = time.perf_counter()
        train_step(x, y, step)
        if step == 0:
            first = time.perf_counter() - t_step
        if (step + 1) % 10 == 0:
            print(".", end="", flush=True)
        if (step + 1) % 5000 == 0:
            checkpoint.save(file_prefix=str(args.out / "checkpoints" / "ckpt"))
    lap("loop")
    phases["first_step"] = first
    phases["images_in_loop"] = images
    phases["steps"] = phases.pop("loop") - first - images
    for i, (x, y) in enumerate(test_ds.take(5)):
        generate_images(g, x, y, args.out / f"test_{i}.png")
    lap("test_images")
    phases["time_to_first_step"] = phases["startup"] + phases["build"] + first
    phases["total"] = phases["startup"] + sum(v for k, v in phases.items()
                                              if k in ("build", "first_step", "images_in_loop",
                                                       "steps", "test_images"))
    result = {"steps": args.steps, "seconds_per_step": phases["steps"] / max(1, args.steps - 1),
              "timings": {k: round(v, 2) for k, v in phases.items()}}
    return result


if __name__ == "__main__":
    _jsonout.emit(main())
