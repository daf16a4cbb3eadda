"""Geometry stream: landmarks normalised for pose and scale, relative to a running neutral.

Each frame's expressive landmarks (brows, eyes, nose, mouth, chin) are mapped into the
canonical face frame (align.to_canonical), which removes in-plane rotation, scale and
translation. Expression is a *change* of shape, and face shapes differ between people,
so the feature also holds the offset from the face's own running neutral: a slow
exponential average of its shape that starts at the first frame seen. The same
``RunningNeutral`` runs in training and in streaming, so both see identical features.
"""

from __future__ import annotations

import numpy as np

from .align import to_canonical

# Expressive landmarks of the MediaPipe face mesh.
EXPRESSIVE_POINTS = (
    # brows, image-left then image-right (inner to outer)
    107,
    66,
    105,
    63,
    70,
    336,
    296,
    334,
    293,
    300,
    # eyelids (upper, lower) and corners
    159,
    145,
    33,
    133,
    386,
    374,
    362,
    263,
    # nose tip and wings
    1,
    98,
    327,
    # outer lips: corners, upper, lower
    61,
    291,
    0,
    37,
    267,
    40,
    270,
    17,
    84,
    314,
    91,
    321,
    # inner lips
    13,
    14,
    78,
    308,
    # cheeks and nasolabial region
    50,
    280,
    205,
    425,
    # chin and jaw
    152,
    148,
    377,
    172,
    397,
)
NUM_POINTS = len(EXPRESSIVE_POINTS)
SHAPE_DIM = 2 * NUM_POINTS
GEOMETRY_DIM = 2 * SHAPE_DIM  # shape + offset from running neutral
NEUTRAL_RATE = 0.02  # per frame: the neutral follows slow changes (~50 frames), not expressions


def normalised_shape(landmarks: np.ndarray) -> np.ndarray:
    """(SHAPE_DIM,) float32 canonical-frame coordinates of the expressive points, centred."""
    m = to_canonical(landmarks)
    pts = landmarks[list(EXPRESSIVE_POINTS), :2].astype(np.float64) @ m[:, :2].T + m[:, 2]
    return (pts - 0.5).astype(np.float32).ravel()


class RunningNeutral:
    """Per-face slow average of the shape; ``update`` returns the geometry feature."""

    def __init__(self, rate: float = NEUTRAL_RATE):
        self.rate = rate
        self.neutral: np.ndarray | None = None

    def update(self, shape: np.ndarray) -> np.ndarray:
        if self.neutral is None:
            self.neutral = shape.copy()
        else:
            self.neutral += self.rate * (shape - self.neutral)
        # Offsets are small (a few % of the face): scale them to unit-ish range.
        return np.concatenate([shape, 10.0 * (shape - self.neutral)]).astype(np.float32)


def geometry_sequence(shapes: np.ndarray, rate: float = NEUTRAL_RATE) -> np.ndarray:
    """Geometry features of a whole sequence (T, SHAPE_DIM) -> (T, GEOMETRY_DIM), as streamed."""
    neutral = RunningNeutral(rate)
    return np.stack([neutral.update(s) for s in shapes]) if len(shapes) else np.zeros((0, GEOMETRY_DIM), np.float32)
