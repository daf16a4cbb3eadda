"""Frame checks and conversion to the engine's input: BGR uint8, bounded size.

Every front end (video, stills, ROS, bags) hands frames through ``as_bgr``; a frame
that cannot be used raises ``BadFrame`` with a message a person can act on.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_SIDE = 16  # smaller than any face the detector can find
MAX_SIDE = 1920  # larger frames are scaled down before detection (boxes scaled back)
MAX_PIXELS = 100_000_000  # refuse absurd allocations outright


class BadFrame(ValueError):
    """A frame that cannot be processed; the message says why."""


def as_bgr(image) -> np.ndarray:
    """Grey, BGR or BGRA array of any common dtype -> contiguous BGR uint8 (H, W, 3)."""
    if image is None:
        raise BadFrame("no image (None): the frame could not be read or decoded")
    try:
        img = np.asarray(image)
    except (ValueError, TypeError) as e:  # a ragged nested list, an object numpy cannot make an array of
        raise BadFrame(f"not an image array ({type(image).__name__}: {e})") from None
    if img.dtype.byteorder == ">":  # big-endian pixels (a 16-bit PNG read raw, a mono16 message): native order
        img = img.astype(img.dtype.newbyteorder("="))
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[2] not in (3, 4)):
        raise BadFrame(f"unsupported image shape {img.shape}: expected (H, W), (H, W, 3) or (H, W, 4)")
    h, w = img.shape[:2]
    if h == 0 or w == 0:
        raise BadFrame(f"empty image ({w}x{h})")
    if h < MIN_SIDE or w < MIN_SIDE:
        raise BadFrame(f"image too small ({w}x{h}); at least {MIN_SIDE} pixels a side")
    if h * w > MAX_PIXELS:
        raise BadFrame(f"image too large ({w}x{h}); at most {MAX_PIXELS} pixels")
    if img.dtype != np.uint8:
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.floating):
            img = np.nan_to_num(img)
            # OpenCV's float convention is 0..1; a float frame with values above 1 is one of
            # 0..255 (e.g. a uint8 image cast to float), not a white one.
            top = 255.0 if img.max(initial=0.0) > 1.0 + 1e-3 else 1.0
            img = (np.clip(img / top, 0.0, 1.0) * 255).astype(np.uint8)
        else:
            raise BadFrame(f"unsupported pixel type {img.dtype}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(img)


def fit_max_side(bgr: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, float]:
    """Scale a frame down so its longer side is at most ``max_side``; returns (image, scale)."""
    side = max(bgr.shape[:2])
    if side <= max_side:
        return bgr, 1.0
    scale = max_side / side
    size = (max(1, round(bgr.shape[1] * scale)), max(1, round(bgr.shape[0] * scale)))
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), scale
