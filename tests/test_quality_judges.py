"""The quality judges of benchmarks/quality_judges.py on real renders, edge maps and tensors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import quality_judges as qj  # noqa: E402
from pix2pix_tf.datasets.synthetic import render_facade  # noqa: E402


def _renders(n: int, size: int, first_seed: int = 0):
    pairs = [render_facade(first_seed + i, size) for i in range(n)]
    return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])


def _blur(images_uint8: np.ndarray, k: int = 7) -> np.ndarray:
    """Box blur (k x k) of uint8 images, edges repeated."""
    x = np.pad(images_uint8.astype(np.float32), ((0, 0), (k // 2, k // 2), (k // 2, k // 2), (0, 0)), "edge")
    h, w = images_uint8.shape[1:3]
    out = sum(x[:, i:i + h, j:j + w] for i in range(k) for j in range(k)) / (k * k)
    return np.round(out).astype(np.uint8)


def test_label_maps_decode_and_samples_render_their_exact_truth(tmp_path):
    from PIL import Image

    from pix2pix_tf.datasets.synthetic import write_sample

    labels, _ = render_facade(3, 64)  # exact palette colours
    pal = qj.palette()
    truth = np.argmax((labels[..., None, :] == pal).all(-1), axis=-1)
    assert (qj.classes_from_label_map(labels[None])[0] == truth).all()
    assert (qj.classes_from_label_map(labels[None].astype(np.float32) / 127.5 - 1.0)[0] == truth).all()
    # a JPEG'd map loses small regions' colours: the sample's truth is drawn again from its seed
    write_sample(tmp_path / "s", n_train=1, n_test=3, size=64, seed=5)
    files = sorted((tmp_path / "s" / "test").glob("*.jpg"))
    maps = np.stack([np.asarray(Image.open(f))[:, :64] for f in files])
    exact = qj.sample_class_maps(files, "test", 5, maps.astype(np.float32) / 127.5 - 1.0)
    decoded = qj.classes_from_label_map(maps)
    assert exact.shape == (3, 64, 64) and 0.7 < (decoded == exact).mean() < 1.0
    with pytest.raises(SystemExit, match="0000.jpg: not drawn by make-sample --seed 6"):
        qj.sample_class_maps(files, "test", 6, maps)


def test_segmentation_scores_perfect_and_majority():
    labels_rgb, photos = _renders(4, 32)
    truth = qj.classes_from_label_map(labels_rgb)
    k = len(qj.palette())

    def perfect(x, training=False):
        return np.eye(k)[truth[: len(x)]]

    wall = int(np.bincount(truth.ravel()).argmax())

    def majority(x, training=False):
        return np.broadcast_to(np.eye(k)[wall], truth[: len(x)].shape + (k,))

    assert qj.segmentation_scores(perfect, photos, truth) == {"pixel_acc": 1.0, "class_acc": 1.0, "mean_iou": 1.0}
    scores = qj.segmentation_scores(majority, photos, truth)
    present = len(np.unique(truth))
    assert scores["pixel_acc"] == pytest.approx((truth == wall).mean())
    assert scores["class_acc"] == pytest.approx(1 / present)
    assert scores["mean_iou"] == pytest.approx((truth == wall).mean() / present)


def test_segmenter_learns_and_is_kept_fixed(tmp_path):
    labels_rgb, photos = _renders(48, 32)
    test_rgb, test_photos = _renders(8, 32, first_seed=1000)
    truth, test_truth = qj.classes_from_label_map(labels_rgb), qj.classes_from_label_map(test_rgb)
    model, info = qj.load_or_train_segmenter(tmp_path, photos, truth, test_photos, test_truth, epochs=8)
    majority = (test_truth == np.bincount(truth.ravel()).argmax()).mean()
    ceiling = info["ceiling_on_real_test_photos"]
    assert ceiling["pixel_acc"] > majority + 0.1, (ceiling, majority)
    assert qj.segmentation_scores(model, test_photos, test_truth) == ceiling
    # its features also give a distance between sets of photos: 0 for the same photos
    same = qj.segmenter_distance(model, test_photos, test_photos)
    assert abs(same) < 1e-3
    assert qj.segmenter_distance(model, test_photos, _blur(test_photos)) > 100 * abs(same) + 1e-3
    # a second call loads the same weights instead of training again
    again, info2 = qj.load_or_train_segmenter(tmp_path, photos, truth, test_photos, test_truth, epochs=8)
    assert info2 == info
    assert qj.segmentation_scores(again, test_photos, test_truth) == ceiling
    # a judge trained on other photos is refused, naming its file
    with pytest.raises(SystemExit, match="segmenter.json: this judge was trained on other photos or labels"):
        qj.load_or_train_segmenter(tmp_path, photos[::-1], truth[::-1], test_photos, test_truth)


def test_auc_counts_pairs():
    assert qj.auc([2, 3], [0, 1]) == 1.0
    assert qj.auc([0, 1], [2, 3]) == 0.0
    assert qj.auc([1, 1], [1, 1]) == 0.5
    assert qj.auc([0, 3], [1, 2]) == 0.5


def test_two_sample_test_tells_blur_and_not_more_renders():
    _, real = _renders(40, 32)
    _, other_real = _renders(40, 32, first_seed=500)
    blurred = qj.two_sample_test(real, _blur(real, 5), epochs=12)
    same = qj.two_sample_test(real, other_real, epochs=12)
    assert blurred["auc"] > 0.9, blurred
    assert abs(same["auc"] - 0.5) < 0.25, same
    assert len(blurred["fold_auc"]) == 2
    assert blurred["log_loss"] < same["log_loss"]  # ln 2 when it cannot tell


def test_edges_of_a_step_are_one_pixel_thin():
    img = np.zeros((1, 24, 24, 3), np.uint8)
    img[:, :, 12:] = 255
    edges = qj.photo_edges(img)[0]
    columns = np.unique(np.nonzero(edges)[1])
    assert len(columns) == 1 and columns[0] in (11, 12)
    assert edges[:, columns[0]].sum() == 24
    assert not qj.photo_edges(np.full((1, 24, 24, 3), 128, np.uint8)).any()  # flat: no edge


def test_edge_f1_tolerance():
    ref = np.zeros((1, 20, 20), bool)
    ref[0, 5:15, 10] = True
    shifted = np.roll(ref, 1, axis=2)
    assert qj.edge_f1(ref, ref, tolerance=0)["f1"] == 1.0
    assert qj.edge_f1(shifted, ref, tolerance=1)["f1"] == 1.0
    assert qj.edge_f1(shifted, ref, tolerance=0)["f1"] == 0.0
    nothing = qj.edge_f1(np.zeros_like(ref), ref)
    assert nothing["recall"] == 0.0 and nothing["f1"] == 0.0
    half = ref.copy()
    half[0, 10:15, 10] = False
    assert qj.edge_f1(half, ref, tolerance=0) == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "tolerance": 0})


def test_judge_scores_real_targets_perfectly_and_blur_lower():
    labels_rgb, photos = _renders(8, 32)
    k = len(qj.palette())
    truth = qj.classes_from_label_map(labels_rgb)

    def oracle(x, training=False):  # labels the photos of these 8 renders correctly
        return np.eye(k)[truth[: len(x)]]

    to_float = lambda a: a.astype(np.float32) / 127.5 - 1.0  # noqa: E731
    x, y = to_float(labels_rgb), to_float(photos)
    same = qj.judge(x, y, y, segmenter=oracle, realism=False, edges=True)
    blurred = qj.judge(x, y, to_float(_blur(photos)), segmenter=oracle, realism=False, edges=True)
    assert same["l1"] < 0.02 and same["psnr"] > 35  # only the JPEG round trip in between
    assert same["sharpness_ratio"] == pytest.approx(1.0)
    assert same["segmentation"]["mean_iou"] == 1.0
    assert blurred["sharpness_ratio"] < 0.7 < same["sharpness_ratio"]
    assert blurred["l1"] > same["l1"] and blurred["ssim"] < same["ssim"]
    assert blurred["edges"]["f1"] != same["edges"]["f1"]
    assert same["edges_real_targets"] == blurred["edges_real_targets"]


@pytest.mark.slow
def test_quality_per_minute_smoke(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "quality_per_minute.py"), "--smoke",
                           "--out", str(tmp_path / "qpm")], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert set(out["timing"]) == {"paper", "paper_bf16"}
    assert out["timing"]["paper"]["step_time_vs_paper"] == 1.0
    comparison = out["comparison"]
    assert comparison["recipes"]["paper"]["reaches_reference_at_step"] <= 4
    assert set(comparison["recipes"]["paper"]["curves"]["mean_iou"]) == {"2", "4"}  # JSON keys; --window 1
    assert (tmp_path / "qpm" / "curves.png").stat().st_size > 1000
    assert 0 <= out["segmenter"]["ceiling_on_real_test_photos"]["mean_iou"] <= 1
