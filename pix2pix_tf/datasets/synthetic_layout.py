"""The synthetic facades' classes and geometry: the label colours, one random layout drawn
from a seed, and its label map.

A layout is a sky band, an optional roof, a cornice line under the roof, a wall with a
regular grid of windows, some balconies, cornices between floors and one or two doors on
the ground floor (:func:`_sample_layout`); :func:`_class_map` rasterises it into class
indices, which :data:`LABEL_COLORS` paints as the label map ``A``. The photo ``B`` is the
same layout rendered by :mod:`pix2pix_tf.datasets.synthetic_photo`; the public functions
that put the two together and write a dataset are in :mod:`pix2pix_tf.datasets.synthetic`.
Kept apart because the labels are the facts the photo must agree with, and the palette is
read on its own (the drawing widget's ``facades`` palette, :mod:`pix2pix_tf.web.draw`).

Example:
    >>> LABEL_COLORS["wall"], CLASS_NAMES[:3]
    ((0, 60, 255), ('sky', 'roof', 'wall'))
"""

from __future__ import annotations

import numpy as np

__all__ = ["LABEL_COLORS", "CLASS_NAMES"]

#: Class name -> RGB colour of that class in the label map ``A``. The palette
#: follows the spirit of the CMP facades labels (blue wall, light-blue windows,
#: orange doors, ...). ``roof`` and ``ground`` appear in some samples only.
LABEL_COLORS: dict[str, tuple[int, int, int]] = {
    "sky": (20, 20, 80),
    "roof": (150, 0, 40),
    "wall": (0, 60, 255),
    "cornice": (255, 230, 0),
    "window": (0, 200, 255),
    "door": (255, 140, 0),
    "balcony": (90, 220, 60),
    "ground": (120, 120, 120),
}

#: Class names in label-index order (index ``i`` is ``CLASS_NAMES[i]``).
CLASS_NAMES: tuple[str, ...] = tuple(LABEL_COLORS)
_ID = {name: i for i, name in enumerate(CLASS_NAMES)}
_PALETTE = np.array([LABEL_COLORS[n] for n in CLASS_NAMES], dtype=np.uint8)


# --------------------------------------------------------------------------
# layout
# --------------------------------------------------------------------------
def _sample_layout(rng: np.random.Generator, size: int) -> dict:
    """Draw the geometry of one facade.

    Args:
        rng: random generator (consumed in a fixed order, hence deterministic).
        size: side of the square image in pixels.

    Returns:
        dict with band heights and lists of ``(y0, y1, x0, x1)`` rectangles for
        windows, doors, balconies and cornices (half-open pixel ranges).
    """
    s = size
    sky_h = int(round(s * rng.uniform(0.05, 0.2)))
    roof_h = int(round(s * rng.uniform(0.04, 0.08))) if rng.random() < 0.5 else 0
    top_cornice_h = max(2, int(round(s * rng.uniform(0.015, 0.03))))
    ground_h = int(round(s * rng.uniform(0.025, 0.05))) if rng.random() < 0.5 else 0

    body_y0 = sky_h + roof_h + top_cornice_h
    body_y1 = s - ground_h
    body_h = body_y1 - body_y0

    n_floors = int(rng.integers(3, 7))
    n_floors = max(2, min(n_floors, body_h // 6))
    ground_factor = rng.uniform(1.1, 1.4)
    floor_h = body_h / (n_floors - 1 + ground_factor)
    ground_top = body_y1 - ground_factor * floor_h
    # floor k = 0 is the ground floor; (top, bottom) of each floor
    floors = [(ground_top, float(body_y1))]
    for k in range(1, n_floors):
        floors.append((ground_top - k * floor_h, ground_top - (k - 1) * floor_h))

    n_cols = int(rng.integers(3, 8))
    n_cols = max(2, min(n_cols, s // 8))
    margin = s * rng.uniform(0.03, 0.09)
    pitch = (s - 2 * margin) / n_cols
    win_w = pitch * rng.uniform(0.4, 0.62)
    win_h = floor_h * rng.uniform(0.45, 0.68)
    win_off = rng.uniform(0.35, 0.6)  # where the window sits between floor top and sill
    jitter = max(1, int(round(s * 0.004)))

    cornice_h = max(1, int(round(floor_h * rng.uniform(0.05, 0.1))))
    floor_cornice_p = rng.choice([0.0, 0.5, 1.0], p=[0.25, 0.35, 0.4])
    balcony_mode = rng.choice(["none", "windows", "floors"], p=[0.25, 0.45, 0.3])
    balcony_p = rng.uniform(0.2, 0.5)
    balcony_ext = pitch * rng.uniform(0.03, 0.15)
    balcony_frac = rng.uniform(0.25, 0.4)

    def col_center(c: int) -> float:
        return margin + (c + 0.5) * pitch

    def rect(y0: float, y1: float, x0: float, x1: float) -> tuple[int, int, int, int]:
        y0, y1 = int(round(y0)), int(round(y1))
        x0, x1 = int(round(x0)), int(round(x1))
        y0, x0 = max(0, y0), max(0, x0)
        return (y0, max(y0 + 1, min(s, y1)), x0, max(x0 + 1, min(s, x1)))

    windows, balconies, cornices, doors = [], [], [], []

    # cornices between floors (and always-likely one above the ground floor)
    for k in range(n_floors):
        top = floors[k][0]
        if (k == 0 and rng.random() < 0.8) or (k > 0 and rng.random() < floor_cornice_p):
            cornices.append(rect(top, top + cornice_h, 0, s))

    # upper-floor windows with optional balconies
    for k in range(1, n_floors):
        top, _ = floors[k]
        floor_balcony = balcony_mode == "floors" and rng.random() < 0.6
        for c in range(n_cols):
            dy, dx = rng.integers(-jitter, jitter + 1, size=2)
            y0 = top + (floor_h - win_h) * win_off + dy
            x0 = col_center(c) - win_w / 2 + dx
            windows.append(rect(y0, y0 + win_h, x0, x0 + win_w))
            if balcony_mode == "windows" and rng.random() < balcony_p:
                bh = win_h * balcony_frac
                yb = y0 + win_h
                balconies.append(rect(yb - bh, yb + 1, x0 - balcony_ext, x0 + win_w + balcony_ext))
        if floor_balcony:
            bh = win_h * balcony_frac
            yb = top + (floor_h - win_h) * win_off + win_h
            balconies.append(rect(yb - bh, yb + 1, margin * 0.5, s - margin * 0.5))

    # ground floor: 1-2 doors, windows elsewhere
    g_top, g_bot = floors[0]
    g_h = g_bot - g_top
    n_doors = 1 if (n_cols < 4 or rng.random() < 0.6) else 2
    door_cols = rng.choice(n_cols, size=n_doors, replace=False)
    door_w = pitch * rng.uniform(0.5, 0.72)
    door_h = g_h * rng.uniform(0.68, 0.85)
    gwin_h = g_h * rng.uniform(0.4, 0.55)
    gwin_w = pitch * rng.uniform(0.45, 0.7)
    for c in range(n_cols):
        cx = col_center(c)
        if c in door_cols:
            doors.append(rect(g_bot - door_h, g_bot, cx - door_w / 2, cx + door_w / 2))
        else:
            y0 = g_top + (g_h - gwin_h) * 0.45
            windows.append(rect(y0, y0 + gwin_h, cx - gwin_w / 2, cx + gwin_w / 2))

    return {
        "size": s,
        "sky_h": sky_h,
        "roof_h": roof_h,
        "top_cornice": rect(sky_h + roof_h, body_y0, 0, s),
        "ground_h": ground_h,
        "windows": windows,
        "doors": doors,
        "balconies": balconies,
        "cornices": cornices,
    }


def _class_map(layout: dict) -> np.ndarray:
    """Rasterise a layout into an integer class map (indices into CLASS_NAMES).

    Args:
        layout: output of :func:`_sample_layout`.

    Returns:
        uint8 array (size, size); later classes in the painting order win.
    """
    s = layout["size"]
    cls = np.full((s, s), _ID["wall"], dtype=np.uint8)
    cls[: layout["sky_h"]] = _ID["sky"]
    cls[layout["sky_h"] : layout["sky_h"] + layout["roof_h"]] = _ID["roof"]
    if layout["ground_h"]:
        cls[s - layout["ground_h"] :] = _ID["ground"]
    for name, rects in (
        ("cornice", [layout["top_cornice"]] + layout["cornices"]),
        ("window", layout["windows"]),
        ("door", layout["doors"]),
        ("balcony", layout["balconies"]),
    ):
        for y0, y1, x0, x1 in rects:
            cls[y0:y1, x0:x1] = _ID[name]
    return cls

