"""Synthetic facades: a procedural, deterministic paired dataset for Pix2Pix.

Pix2Pix (Isola et al. 2017) is usually demonstrated on the CMP "facades"
dataset: ``A`` is a colour-coded semantic label map of a building front and
``B`` is the matching photograph. Downloading that dataset is not always
possible (offline machines, CI, licensing questions in teaching material), so
this module draws an imitation of it from scratch with numpy.

Every sample is generated from an integer seed. The seed fixes a random
layout -- a sky band, an optional roof, a cornice line under the roof, a wall
with a regular grid of windows, some balconies, cornices between floors and
one or two doors on the ground floor -- and that single layout is rendered
twice:

* the **label map** ``A`` paints every class in one flat colour taken from
  :data:`LABEL_COLORS`;
* the **photo** ``B`` renders the same geometry photo-like: a sky gradient,
  brick or stucco wall texture with lighting, framed dark glass windows with
  reflections and mullions, wooden doors, railings with shadows, lighter
  cornices with a shadow line, and a little sensor noise.

The photo is a function of the labels up to per-building texture and colour
choices, which is exactly the one-to-many "labels -> photo" mapping Pix2Pix
learns. Files are written in the aligned pix2pix layout (``A`` on the left,
``B`` on the right in one image) by :func:`write_sample`, so any loader that
reads the original ``facades`` folders can read these too.

No third-party images, no PIL/cv2/scipy: numpy does the drawing and
TensorFlow is only used (lazily) to encode JPEG/PNG files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..config import Pix2PixError

__all__ = ["LABEL_COLORS", "CLASS_NAMES", "render_facade", "make_pair", "write_sample",
           "SampleError", "MIN_SIZE", "OUTPUT_KIND"]

MIN_SIZE = 16  # smallest side write_sample draws (and the step of its sizes)
OUTPUT_KIND = "sample-dataset"  # the manifest kind of a folder written by write_sample


class SampleError(Pix2PixError):
    """An argument of :func:`write_sample` is out of range (a ValueError; the CLI exits 2)."""

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

# Wall colour families (RGB, 0..255) and the chance that each uses bricks.
_WALL_FAMILIES = {
    "brick_red": ((170, 84, 62), 1.0),
    "beige": ((205, 188, 158), 0.15),
    "grey": ((150, 150, 146), 0.2),
    "white": ((226, 224, 216), 0.0),
    "ochre": ((196, 150, 78), 0.35),
}

_IMAGE_FORMATS = {"jpg": "jpg", "jpeg": "jpg", "png": "png"}


# --------------------------------------------------------------------------
# small numeric helpers
# --------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Return smooth value noise in roughly [-1, 1] of shape (h, w).

    Args:
        rng: random generator.
        h, w: output shape.
        cells: number of noise cells along each axis (larger = finer).

    Returns:
        float32 array of shape (h, w).
    """
    grid = rng.uniform(-1.0, 1.0, size=(cells + 1, cells + 1)).astype(np.float32)
    ys = np.linspace(0.0, cells, h, endpoint=False, dtype=np.float32)
    xs = np.linspace(0.0, cells, w, endpoint=False, dtype=np.float32)
    y0, x0 = ys.astype(np.int64), xs.astype(np.int64)
    fy, fx = ys - y0, xs - x0
    fy, fx = fy * fy * (3 - 2 * fy), fx * fx * (3 - 2 * fx)  # smoothstep
    top = grid[y0][:, x0] * (1 - fx) + grid[y0][:, x0 + 1] * fx
    bot = grid[y0 + 1][:, x0] * (1 - fx) + grid[y0 + 1][:, x0 + 1] * fx
    return top * (1 - fy)[:, None] + bot * fy[:, None]


def _vary(rng: np.random.Generator, rgb, amount: float) -> np.ndarray:
    """Return ``rgb`` as float32 with a random brightness/tint change of about ``amount``."""
    base = np.asarray(rgb, dtype=np.float32)
    scale = rng.uniform(1 - amount, 1 + amount)
    tint = rng.uniform(-amount, amount, size=3) * 60.0
    return np.clip(base * scale + tint, 0, 255).astype(np.float32)


def _ramp(n: int) -> np.ndarray:
    """Return ``n`` evenly spaced values in [0, 1] (a single 0.5 if n == 1)."""
    return np.linspace(0.0, 1.0, n, dtype=np.float32) if n > 1 else np.full(1, 0.5, np.float32)


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


# --------------------------------------------------------------------------
# photo rendering
# --------------------------------------------------------------------------
def _wall_texture(rng: np.random.Generator, s: int, base: np.ndarray, bricks: bool) -> np.ndarray:
    """Render a full-frame wall texture (bricks with mortar, or stucco).

    Args:
        rng: random generator.
        s: image side.
        base: wall colour, float32 (3,).
        bricks: draw bricks and mortar lines instead of stucco.

    Returns:
        float32 (s, s, 3) image.
    """
    yy, xx = np.mgrid[0:s, 0:s]
    if bricks:
        bh = max(2, int(round(s / rng.uniform(50, 70))))
        bw = max(4, int(round(bh * rng.uniform(2.2, 3.0))))
        row = yy // bh
        shifted = xx + (row % 2) * (bw // 2)
        col = shifted // bw
        n_rows, n_cols = s // bh + 2, s // bw + 3
        per_brick = rng.normal(0.0, 0.07, size=(n_rows, n_cols)).astype(np.float32)
        shade = 1.0 + per_brick[row, col]
        img = base[None, None, :] * shade[..., None]
        mortar = ((yy % bh) == 0) | ((shifted % bw) == 0)
        mortar_col = np.array([185, 178, 168], np.float32) * rng.uniform(0.85, 1.0)
        img = np.where(mortar[..., None], mortar_col, img)
    else:
        blotch = _smooth_noise(rng, s, s, max(2, s // 16)) * 7.0
        grain = rng.normal(0.0, 3.0, size=(s, s)).astype(np.float32)
        img = base[None, None, :] + (blotch + grain)[..., None]
    return img.astype(np.float32)


def _window_patch(h: int, w: int, style: dict) -> np.ndarray:
    """Render one framed glass window of size (h, w).

    Args:
        h, w: window size in pixels.
        style: per-building window style (``glass``, ``frame``, ``refl``, ``streak``).

    Returns:
        float32 (h, w, 3) patch.
    """
    v = _ramp(h)[:, None]
    u = _ramp(w)[None, :]
    # dark glass: lighter towards the top (sky reflection) plus a diagonal streak
    light = style["refl"] * (1.0 - v) + 25.0 * np.exp(-(((u + 0.7 * v) - style["streak"]) / 0.12) ** 2)
    patch = style["glass"][None, None, :] + light[..., None] * np.array([0.8, 0.9, 1.0], np.float32)
    # recess shadow just under the top frame
    fw = max(1, int(round(min(h, w) * 0.08)))
    if h > 2 * fw + 2:
        patch[fw : fw + max(1, fw), :] *= 0.6
    frame = np.zeros((h, w), dtype=bool)
    frame[:fw], frame[-fw:], frame[:, :fw], frame[:, -fw:] = True, True, True, True
    if w >= 14:  # central mullion
        c = w // 2
        frame[:, c - fw // 2 : c - fw // 2 + fw] = True
    if h >= 22:  # transom
        r = int(h * style["transom"])
        frame[r : r + fw, :] = True
    patch = np.where(frame[..., None], style["frame"], patch)
    return patch


def _door_patch(h: int, w: int, style: dict) -> np.ndarray:
    """Render one wooden door of size (h, w) with a frame and panels.

    Args:
        h, w: door size in pixels.
        style: per-building door style (``wood``, ``frame``).

    Returns:
        float32 (h, w, 3) patch.
    """
    v = _ramp(h)[:, None]
    u = _ramp(w)[None, :]
    grain = 1.0 + 0.06 * np.sin(u * 40.0 + 3.0 * np.sin(v * 7.0)) - 0.1 * v
    patch = style["wood"][None, None, :] * grain[..., None]
    fw = max(1, int(round(min(h, w) * 0.08)))
    frame = np.zeros((h, w), dtype=bool)
    frame[:fw], frame[:, :fw], frame[:, -fw:] = True, True, True
    if w >= 6:  # split into two leaves
        frame[:, w // 2 : w // 2 + 1] = True
    # panel outlines (darker grooves) in each leaf
    if h >= 12 and w >= 8:
        groove = np.zeros((h, w), dtype=bool)
        for (r0, r1) in ((0.12, 0.45), (0.55, 0.9)):
            a, b = int(h * r0), int(h * r1)
            for (c0, c1) in ((0.15, 0.4), (0.6, 0.85)):
                l, r = int(w * c0), int(w * c1)
                groove[a, l:r] = groove[b, l:r] = True
                groove[a:b, l] = groove[a:b, r] = True
        patch = np.where(groove[..., None], patch * 0.6, patch)
    patch = np.where(frame[..., None], style["frame"], patch)
    return patch


def _shade_below(photo: np.ndarray, cls: np.ndarray, y: int, x0: int, x1: int, depth: int, strength: float) -> None:
    """Darken wall pixels in the ``depth`` rows below row ``y`` (a cast shadow), in place."""
    s = photo.shape[0]
    y1 = min(s, y + depth)
    if y >= y1 or x0 >= x1:
        return
    fade = 1.0 - strength * (1.0 - _ramp(y1 - y + 1)[1:])  # strongest right under the edge
    on_wall = cls[y:y1, x0:x1] == _ID["wall"]
    factor = np.where(on_wall, fade[:, None], 1.0)
    photo[y:y1, x0:x1] *= factor[..., None]


def _render_photo(rng: np.random.Generator, layout: dict, cls: np.ndarray) -> np.ndarray:
    """Render the photo-like image for a layout.

    Args:
        rng: random generator (after the layout was drawn).
        layout: output of :func:`_sample_layout`.
        cls: class map from :func:`_class_map`.

    Returns:
        uint8 (size, size, 3) image.
    """
    s = layout["size"]
    fam = list(_WALL_FAMILIES)[int(rng.integers(len(_WALL_FAMILIES)))]
    fam_rgb, brick_p = _WALL_FAMILIES[fam]
    wall_rgb = _vary(rng, fam_rgb, 0.08)
    bricks = rng.random() < brick_p

    photo = _wall_texture(rng, s, wall_rgb, bricks)

    # sky: vertical gradient from a deeper top colour to a pale horizon
    sky_h = layout["sky_h"]
    if sky_h:
        top = _vary(rng, (95, 140, 200), 0.12)
        horizon = _vary(rng, (200, 215, 230), 0.05)
        t = _ramp(sky_h)[:, None, None]
        photo[:sky_h] = top * (1 - t) + horizon * t

    # roof: slate or terracotta tiles
    roof_h = layout["roof_h"]
    if roof_h:
        roof_rgb = _vary(rng, (70, 72, 80) if rng.random() < 0.6 else (150, 75, 55), 0.1)
        yy = np.arange(roof_h)[:, None]
        th = max(2, s // 64)
        tile = 1.0 - 0.25 * ((yy % th) == th - 1) - 0.15 * _ramp(roof_h)[:, None]
        photo[sky_h : sky_h + roof_h] = roof_rgb * tile[..., None]

    # ground: pavement with slab joints
    g = layout["ground_h"]
    if g:
        pave = _vary(rng, (140, 138, 132), 0.1)
        xx = np.arange(s)[None, :]
        joint = ((xx % max(4, s // 10)) == 0).astype(np.float32)
        photo[s - g :] = pave * (1.0 - 0.25 * joint)[..., None] * np.ones((g, 1, 1), np.float32)

    # cornices: lighter stone with a highlight on top and a shadow below
    stone = np.clip(wall_rgb * 0.4 + np.array([235, 230, 218], np.float32) * 0.6, 0, 255)
    stone = _vary(rng, stone, 0.03)
    for y0, y1, x0, x1 in [layout["top_cornice"]] + layout["cornices"]:
        h = y1 - y0
        prof = 1.0 - 0.25 * _ramp(h)  # lit from above
        photo[y0:y1, x0:x1] = stone * prof[:, None, None]
        photo[y0, x0:x1] = np.minimum(stone * 1.08, 255)
    for y0, y1, x0, x1 in [layout["top_cornice"]] + layout["cornices"]:
        _shade_below(photo, cls, y1, x0, x1, max(1, (y1 - y0) // 2 + 1), 0.35)

    # windows
    wstyle = {
        "glass": _vary(rng, (22, 29, 40), 0.15),
        "frame": _vary(rng, (212, 208, 198) if rng.random() < 0.55 else (90, 68, 50), 0.08),
        "refl": rng.uniform(12.0, 32.0),
        "streak": rng.uniform(0.3, 1.2),
        "transom": rng.uniform(0.25, 0.35),
    }
    for y0, y1, x0, x1 in layout["windows"]:
        photo[y0:y1, x0:x1] = _window_patch(y1 - y0, x1 - x0, wstyle)
        _shade_below(photo, cls, y1, x0, x1, 2 if s >= 128 else 1, 0.15)

    # doors
    dstyle = {
        "wood": _vary(rng, (92, 58, 34) if rng.random() < 0.7 else (45, 60, 50), 0.15),
        "frame": wstyle["frame"] * 0.8,
    }
    for y0, y1, x0, x1 in layout["doors"]:
        photo[y0:y1, x0:x1] = _door_patch(y1 - y0, x1 - x0, dstyle)

    # balconies: rails + balusters composited over what is behind, shadow below
    metal = _vary(rng, (40, 40, 44) if rng.random() < 0.6 else (200, 196, 186), 0.1)
    b_pitch = max(2, int(round(s / rng.uniform(60, 90))))
    for y0, y1, x0, x1 in layout["balconies"]:
        h, w = y1 - y0, x1 - x0
        rail = max(1, h // 6)
        solid = np.zeros((h, w), dtype=bool)
        solid[:rail], solid[-rail:] = True, True
        solid[:, (np.arange(w) % b_pitch) == 0] = True
        solid[:, 0], solid[:, -1] = True, True
        behind = photo[y0:y1, x0:x1] * 0.8
        photo[y0:y1, x0:x1] = np.where(solid[..., None], metal, behind)
        _shade_below(photo, cls, y1, x0, x1, max(2, h // 2), 0.5)

    # global lighting: brighter top, low-frequency shading (not on the sky)
    a = rng.uniform(0.0, 0.18)
    vert = 1.0 + a * (0.5 - _ramp(s))[:, None]
    shading = 1.0 + 0.07 * _smooth_noise(rng, s, s, 3)
    light = np.where(cls == _ID["sky"], 1.0, vert * shading)
    photo *= light[..., None]

    photo += rng.normal(0.0, 2.0, size=photo.shape).astype(np.float32)
    return np.clip(np.rint(photo), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------
def render_facade(seed: int, size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Render one random facade as a (label map, photo) pair.

    Args:
        seed: integer seed; the same seed always gives the same pair.
        size: side of the square images in pixels (at least 16).

    Returns:
        ``(labels, photo)``, both uint8 arrays of shape (size, size, 3). The
        label map only contains colours from :data:`LABEL_COLORS`.
    """
    size = int(size)
    if size < 16:
        raise ValueError(f"size must be at least 16 pixels, got {size}")
    rng = np.random.default_rng(seed)
    layout = _sample_layout(rng, size)
    cls = _class_map(layout)
    labels = _PALETTE[cls]
    photo = _render_photo(rng, layout, cls)
    return labels, photo


def make_pair(seed: int, size: int = 256) -> np.ndarray:
    """Render one facade in the aligned pix2pix format (A | B side by side).

    Args:
        seed: integer seed.
        size: side of each half in pixels.

    Returns:
        uint8 array (size, 2 * size, 3): label map A on the left, photo B on the right.
    """
    labels, photo = render_facade(seed, size)
    return np.concatenate([labels, photo], axis=1)


def _image_seed(seed: int, split: str, index: int) -> int:
    """Derive a per-image seed from the dataset seed, the split and the index."""
    split_id = {"train": 0, "test": 1}[split]
    state = np.random.SeedSequence([int(seed), split_id, int(index)]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 32 | int(state[1])


def _encode(image: np.ndarray, fmt: str, quality: int) -> bytes:
    """Encode a uint8 RGB image to JPEG or PNG bytes with TensorFlow."""
    import tensorflow as tf  # lazy: rendering alone does not need TensorFlow

    if fmt == "png":
        return tf.io.encode_png(image).numpy()
    return tf.io.encode_jpeg(image, quality=quality, format="rgb").numpy()


def write_sample(
    out_dir,
    n_train: int = 40,
    n_test: int = 10,
    size: int = 256,
    seed: int = 0,
    image_format: str = "jpg",
    quality: int = 95,
    overwrite: bool = False,
) -> dict:
    """Write a small synthetic facades dataset in the aligned pix2pix layout.

    Files are ``out_dir/train/0000.jpg ...`` and ``out_dir/test/0000.jpg ...``,
    each an A|B image of shape (size, 2 * size, 3); with ``n_test=0`` no ``test/`` folder
    is written (nor kept from an earlier sample replaced with ``overwrite``), so the folder
    trains without a test split. Per-image seeds are derived
    from ``seed``, the split and the index, so train and test never share a
    seed and the same arguments always give byte-identical files.

    Every file is written to a temporary name and renamed into place; each folder gets
    a ``.pix2pix-tf.json`` manifest listing what was written (see
    :class:`pix2pix_tf.host.output_folder.OutputFolder`). On a failure (a full disk) the files and
    folders this call created are removed again.

    Args:
        out_dir: destination folder: missing, empty, or (with ``overwrite``) one written
            by an earlier ``write_sample``.
        n_train: number of training images (>= 1).
        n_test: number of test images (>= 0).
        size: side of each half in pixels; a multiple of 16, at least 16.
        seed: dataset seed, in 0..2**32 - 1.
        image_format: ``"jpg"``/``"jpeg"`` or ``"png"``.
        quality: JPEG quality in [1, 100] (ignored for PNG).
        overwrite: replace the files an earlier ``write_sample`` wrote in ``out_dir``
            (stale ones are removed; files it did not write are never touched).

    Returns:
        ``{"train": n_train, "test": n_test, "size": size, "seed": seed, "out_dir": str(out_dir)}``.

    Raises:
        SampleError: on invalid counts, size, seed, format or quality (a ValueError).
        WriteError: ``out_dir`` is unusable, holds files pix2pix-tf did not write, holds
            an earlier sample without ``overwrite``, or a file cannot be written.
    """
    from ..host.output_folder import OutputFolder

    def integer(value) -> bool:
        return isinstance(value, (int, np.integer)) and not isinstance(value, bool)

    if not integer(n_train) or n_train < 1:
        raise SampleError(f"n_train must be an integer >= 1, got {n_train!r}")
    if not integer(n_test) or n_test < 0:
        raise SampleError(f"n_test must be an integer >= 0, got {n_test!r}")
    if not integer(size) or size < MIN_SIZE or size % MIN_SIZE != 0:
        raise SampleError(f"size must be a multiple of {MIN_SIZE} and at least {MIN_SIZE}, got {size!r}")
    if not integer(seed) or not 0 <= seed < 2 ** 32:
        raise SampleError(f"seed must be an integer in 0..{2 ** 32 - 1}, got {seed!r}")
    fmt = _IMAGE_FORMATS.get(str(image_format).lower())
    if fmt is None:
        raise SampleError(f"unknown image_format {image_format!r}; use one of {sorted(_IMAGE_FORMATS)}")
    if not integer(quality) or not 1 <= quality <= 100:
        raise SampleError(f"quality must be in [1, 100], got {quality!r}")

    counts = {"train": int(n_train), "test": int(n_test)}
    files = {f"{split}/{i:04d}.{fmt}": f"{split} image {i}"
             for split, count in counts.items() for i in range(count)}
    out = OutputFolder(out_dir, OUTPUT_KIND, overwrite=overwrite).check()
    # no test/ at all when n_test = 0: an empty split folder is one ``train`` refuses, while
    # a dataset without one trains without a test split
    out.plan(files, folders=tuple(split for split, count in counts.items() if count)).open()
    try:
        for split, count in counts.items():
            for i in range(count):
                pair = make_pair(_image_seed(seed, split, i), int(size))
                out.write(f"{split}/{i:04d}.{fmt}", _encode(pair, fmt, int(quality)))
        out.finish()
    except BaseException:
        out.abort()
        raise
    return {"train": int(n_train), "test": int(n_test), "size": int(size), "seed": seed, "out_dir": str(out_dir)}
