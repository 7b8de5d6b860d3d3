"""Training on the bundled sample really learns labels -> facade (300 steps at 64x64, ~25 s)."""

import numpy as np
import tensorflow as tf

from conftest import SAMPLE_DATA
from pix2pix_tf.config import Pix2PixConfig
from pix2pix_tf.data import make_dataset
from pix2pix_tf.run.train import train


def test_a_few_hundred_steps_learn_the_sample(tmp_path):
    cfg = Pix2PixConfig(image_size=64, load_size=72, ngf=32, ndf=32)
    summary = train(cfg, SAMPLE_DATA, tmp_path / "run", steps=300, verbose=0, export=False)
    history = (tmp_path / "run" / "history.csv").read_text().splitlines()
    header = history[0].split(",")
    first = dict(zip(header, map(float, history[1].split(","))))
    # baseline: predict the mean training photo for every input (what a model ignoring A gets)
    train_ds, _ = make_dataset(SAMPLE_DATA, "train", cfg, training=False)
    mean_photo = tf.reduce_mean(tf.concat([y for _, y in train_ds], 0), axis=0)
    test_ds, _ = make_dataset(SAMPLE_DATA, "test", cfg)
    baseline = float(np.mean([tf.reduce_mean(tf.abs(y - mean_photo)) for _, y in test_ds]))
    l1 = summary["test"]["l1"]
    print(f"test L1 {l1:.3f} (first epoch {first['val_l1']:.3f}, mean-photo baseline {baseline:.3f}), "
          f"PSNR {summary['test']['psnr']:.2f}, SSIM {summary['test']['ssim']:.3f}")
    assert l1 < 0.75 * baseline
    assert l1 < 0.9 * first["val_l1"]
    assert summary["test"]["ssim"] > 0.4
