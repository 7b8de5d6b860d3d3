"""The recipe tasks and their options (no TensorFlow import, so the CLI can list them fast).

See :mod:`pix2pix_tf.datasets.recipes` for what each task does.
"""

from __future__ import annotations

from typing import Any

TASKS = ("colorize", "inpaint", "superres", "edges", "denoise")

#: task -> {option: default}. Every option of :func:`degrade` is listed here.
DEFAULT_OPTIONS: dict[str, dict[str, Any]] = {
    "colorize": {"gray_channels": 3},
    "inpaint": {"mask": "rect", "hole_value": 255, "max_holes": 3, "min_size": 0.1,
                "max_size": 0.4, "stroke_width": 0.05},
    "superres": {"factor": 4, "upsample": "bicubic"},
    "edges": {"sigma": 1.5, "low": 0.1, "high": 0.25, "thickness": 1},
    "denoise": {"noise": "gaussian", "sigma": 25.0, "quality": 10},
}

#: task -> {option: one-line help}, for CLIs and docs.
OPTION_HELP: dict[str, dict[str, str]] = {
    "colorize": {"gray_channels": "1 or 3; files always hold a 3-channel gray A, with 1 the "
                                  "on-the-fly map returns (H, W, 1) -- train with --input-channels 1"},
    "inpaint": {"mask": "'rect' (random rectangles) or 'strokes' (free-form brush strokes)",
                "hole_value": "pixel value 0..255 written into the holes (255 = white)",
                "max_holes": "each image gets 1..max_holes rectangles or strokes",
                "min_size": "smallest rectangle side / stroke segment, as a fraction of the image side",
                "max_size": "largest rectangle side / stroke segment, as a fraction of the image side",
                "stroke_width": "brush width of 'strokes' as a fraction of the image side"},
    "superres": {"factor": "downsampling factor: 2, 4 or 8",
                 "upsample": "'nearest' (blocky), 'bilinear' or 'bicubic' (smooth); all are made "
                             "consistent so that degrading A again leaves it unchanged"},
    "edges": {"sigma": "Gaussian blur before the gradient, in pixels (0..5); larger = fewer, smoother lines",
              "low": "hysteresis low threshold, fraction of the image's strongest gradient",
              "high": "hysteresis high threshold (lines must reach it somewhere), fraction of the strongest gradient",
              "thickness": "line width in pixels (1..5)"},
    "denoise": {"noise": "'gaussian' (additive noise) or 'jpeg' (compression artifacts)",
                "sigma": "standard deviation of the Gaussian noise in gray levels (0..255)",
                "quality": "JPEG quality 1..100 of the 'jpeg' noise (lower = stronger artifacts)"},
}
