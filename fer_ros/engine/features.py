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

from fer_ros.model.mini_xception import load_mini_xception, preprocess

from .align import CROP_SIZE, aligned_crop
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


def face_crops(gray: np.ndarray, faces: list[Face], size: int = CROP_SIZE, equalize: bool = False) -> np.ndarray:
    """Aligned grey crops of the faces, stacked (N, size, size) uint8.

    ``equalize``: histogram-equalise each crop (the normalisation of backbones trained on
    FER2013 copies that were equalised, so a camera face looks like their training faces).
    """
    if not faces:
        return np.zeros((0, size, size), np.uint8)
    crops = [aligned_crop(gray, f.landmarks, size) for f in faces]
    return np.stack([cv2.equalizeHist(c) for c in crops] if equalize else crops)


def geometry_of(face: Face, neutral: RunningNeutral) -> np.ndarray:
    """Geometry feature of one face; zeros when it has no landmarks (aligned input without mesh)."""
    if face.landmarks is None:
        return np.zeros(GEOMETRY_DIM, np.float32)
    return neutral.update(normalised_shape(face.landmarks))
