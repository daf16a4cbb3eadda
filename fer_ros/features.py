"""Per-face features for the temporal model: the one place that turns faces into vectors.

appearance (N, 135) = mini-Xception features (128) ++ its logits (7), one batched CNN call
geometry   (N, G)   = normalised expressive landmarks ++ offset from the face's running
                      neutral (geometry.RunningNeutral, one per tracked face)

Used by the streaming engine and by dataset building for training, so training and
inference see the same numbers.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .align import aligned_crop
from .appearance import load_mini_xception, preprocess
from .geometry import GEOMETRY_DIM, RunningNeutral, normalised_shape
from .landmarks import Face


def to_gray(bgr: np.ndarray) -> np.ndarray:
    return bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


class AppearanceEncoder:
    """Aligned crops -> (features ++ logits) with the mini-Xception, batched on one device.

    cnn: the network to use instead of the shipped FER2013 one (weights): a recurrent model
    trained with ``finetune_cnn`` carries its own fine-tuned CNN (``ExpressionModel.cnn``), and
    streaming must feed it the features of THAT network, as in its training
    (``ExpressionModel.encode``: the same scaling and the same module).
    """

    def __init__(self, device: str | torch.device = "cpu", weights=None, cnn: torch.nn.Module | None = None):
        self.device = torch.device(device)
        self.cnn = (load_mini_xception(weights, device=self.device) if cnn is None
                    else cnn.to(self.device).eval())

    @torch.inference_mode()
    def __call__(self, crops: np.ndarray) -> torch.Tensor:
        """uint8 (N, 64, 64) -> float32 (N, 135) on the encoder's device."""
        if len(crops) == 0:
            return torch.zeros((0, 135), device=self.device)
        x = preprocess(crops).to(self.device, non_blocking=True)
        return self.cnn.appearance(x)


def face_crops(gray: np.ndarray, faces: list[Face]) -> np.ndarray:
    """Aligned grey 64x64 crops of the faces, stacked (N, 64, 64)."""
    if not faces:
        return np.zeros((0, 64, 64), np.uint8)
    return np.stack([aligned_crop(gray, f.landmarks) for f in faces])


def geometry_of(face: Face, neutral: RunningNeutral) -> np.ndarray:
    """Geometry feature of one face; zeros when it has no landmarks (aligned input without mesh)."""
    if face.landmarks is None:
        return np.zeros(GEOMETRY_DIM, np.float32)
    return neutral.update(normalised_shape(face.landmarks))
