"""The synthetic facades' photos: one layout (:mod:`pix2pix_tf.datasets.synthetic_layout`)
rendered photo-like as the ``B`` image.

A sky gradient, brick or stucco wall texture with lighting, framed dark glass windows with
reflections and mullions, wooden doors, railings with shadows, lighter cornices with a
shadow line, and a little sensor noise (:func:`_render_photo`), with the small numeric
helpers they share. Kept apart from the layout because this is where the look is tuned
(textures, colours, lighting) without touching what the label map says; numpy only.
"""

from __future__ import annotations

import numpy as np

from .synthetic_layout import _ID

# Wall colour families (RGB, 0..255) and the chance that each uses bricks.
_WALL_FAMILIES = {
    "brick_red": ((170, 84, 62), 1.0),
    "beige": ((205, 188, 158), 0.15),
    "grey": ((150, 150, 146), 0.2),
    "white": ((226, 224, 216), 0.0),
    "ochre": ((196, 150, 78), 0.35),
}


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
        layout: output of :func:`~pix2pix_tf.datasets.synthetic_layout._sample_layout`.
        cls: class map from :func:`~pix2pix_tf.datasets.synthetic_layout._class_map`.

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

