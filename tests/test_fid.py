"""FID maths on known answers, and the Inception feature path with random weights (offline)."""

import numpy as np
import pytest

from pix2pix_tf.metrics import fid_from_features, frechet_distance, inception_feature_extractor


def test_identical_sets_give_zero():
    f = np.random.default_rng(0).normal(size=(500, 16))
    assert abs(fid_from_features(f, f)) < 1e-8


def test_frechet_distance_closed_forms():
    rng = np.random.default_rng(1)
    mu1, mu2 = rng.normal(size=8), rng.normal(size=8)
    eye = np.eye(8)
    # equal covariances: only the means count
    assert frechet_distance(mu1, eye, mu2, eye) == pytest.approx(np.sum((mu1 - mu2) ** 2))
    # diagonal covariances: sum (sqrt(a) - sqrt(b))^2 on top of the mean term
    a, b = rng.uniform(0.5, 3, 8), rng.uniform(0.5, 3, 8)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected)
    # a full covariance against itself, rotated means
    q, _ = np.linalg.qr(rng.normal(size=(8, 8)))
    s = q @ np.diag(a) @ q.T
    assert frechet_distance(mu1, s, mu1, s) == pytest.approx(0.0, abs=1e-9)


def test_shifted_gaussian_samples_match_the_closed_form():
    rng = np.random.default_rng(2)
    shift = np.full(4, 0.5)
    f1 = rng.normal(size=(40_000, 4))
    f2 = rng.normal(size=(40_000, 4)) * 2.0 + shift  # N(shift, 4 I)
    expected = np.sum(shift ** 2) + 4 * (1.0 - 2.0) ** 2  # |dmu|^2 + sum (1 - 2)^2
    assert fid_from_features(f1, f2) == pytest.approx(expected, rel=0.03)


def test_inception_features_with_random_weights():
    extract = inception_feature_extractor(weights=None)
    images = np.random.default_rng(3).uniform(-1, 1, (3, 32, 32, 3)).astype(np.float32)
    features = extract(images)
    assert features.shape == (3, 2048) and np.isfinite(features).all()
    assert abs(fid_from_features(features, features)) < 1e-6
    gray = extract(images[..., :1])
    assert gray.shape == (3, 2048)
    with pytest.raises(ValueError, match="at least 2"):
        fid_from_features(features[:1], features)
