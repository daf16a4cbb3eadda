"""Alignment to a canonical face: a similarity transform fitted on expression-stable landmarks.

The transform is fitted on eye corners and the nose (points that barely move with
expressions), so a smile or a jaw drop changes the aligned crop's content, not its
framing. The canonical layout mirrors FER2013's framing (eyes at ~40% height, about
a third of the crop apart), close to how FER2013's faces are cut.
"""

from __future__ import annotations

import cv2
import numpy as np

CROP_SIZE = 64

# MediaPipe face mesh indices: outer/inner corners of the image-left eye, inner/outer
# corners of the image-right eye, nose bridge, nose tip.
STABLE_POINTS = (33, 133, 362, 263, 168, 1)
# Their positions in a unit canonical face (x right, y down), FER2013-like framing.
CANONICAL = np.array(
    [
        [0.24, 0.40],
        [0.41, 0.41],
        [0.59, 0.41],
        [0.76, 0.40],
        [0.50, 0.40],
        [0.50, 0.62],
    ],
    np.float64,
)


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (Umeyama, no reflection) mapping src -> dst, 2x3."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    fix = np.diag([1.0, np.sign(np.linalg.det(u @ vt))])
    rot = u @ fix @ vt
    var = (s**2).sum() / len(src)
    scale = (sig * np.diag(fix)).sum() / max(var, 1e-12)
    t = md - scale * rot @ ms
    return np.hstack([scale * rot, t[:, None]])


def to_canonical(landmarks: np.ndarray) -> np.ndarray:
    """2x3 transform from image pixels to the unit canonical face."""
    return similarity(landmarks[list(STABLE_POINTS), :2], CANONICAL)


def aligned_crop(gray: np.ndarray, landmarks: np.ndarray | None, size: int = CROP_SIZE) -> np.ndarray:
    """Grey uint8 (size, size) crop of the face in the canonical frame.

    Without landmarks (an already aligned input) the whole image is resized.
    """
    if landmarks is None:
        return cv2.resize(gray, (size, size), interpolation=cv2.INTER_AREA)
    m: np.ndarray = to_canonical(landmarks).astype(np.float64) * size
    # Shrinking a large face in one step aliases: pre-blur by choosing INTER_AREA-like
    # behaviour through a pyramid when the scale factor is small.
    scale = np.hypot(m[0, 0], m[0, 1])
    src = gray
    while scale < 0.5 and min(src.shape[:2]) > 2 * size:
        src = cv2.pyrDown(src)
        m[:, :2] *= 2.0
        scale *= 2.0
    return cv2.warpAffine(src, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
