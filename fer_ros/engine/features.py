"""Per-face features for the temporal model: the one place that turns faces into vectors.

appearance (N, D + 7) = the appearance network's features (D) ++ its 7 logits, one batched call
geometry   (N, G)     = normalised expressive landmarks ++ offset from the face's running
                        neutral (geometry.RunningNeutral, one per tracked face)

Used by the streaming engine and, through it, by dataset building for training, so training
and inference see the same numbers.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from fer_ros.model.backbone import Backbone, load_backbone, scale

from .geometry import GEOMETRY_DIM, RunningNeutral, normalised_shape
from .landmarks import Face
from .runtime import OrtAppearance, resolve_runtime


def to_gray(bgr: np.ndarray) -> np.ndarray:
    return bgr if bgr.ndim == 2 else cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)


class AppearanceEncoder:
    """Crops -> (features ++ logits) with the appearance network, batched on one device.

    cnn: the network (a backbone: ``appearance``, ``crop_size``, ``equalize``, ``feature_dim``);
    None: the shipped FER2013 one. A recurrent model carries the backbone it was trained on,
    and streaming must feed it the features of THAT network. runtime: see ``runtime.py``.
    """

    def __init__(
        self, device: str | torch.device = "cpu", cnn: Backbone | None = None, runtime: str = "torch", threads: int = 1
    ):
        self.device = torch.device(device)
        self.cnn = load_backbone(device=self.device) if cnn is None else cnn.to(self.device).eval()
        self.crop_size: int = self.cnn.crop_size
        self.equalize: bool = self.cnn.equalize
        self.dim: int = self.cnn.feature_dim + 7
        self.runtime = resolve_runtime(runtime, self.device)
        self._run = OrtAppearance(self.cnn, threads) if self.runtime == "onnxruntime" else self.cnn.appearance

    @property
    def network(self):
        """The network alone, as the engine runs it (runtime.py): float (N, 1, S, S) in [-1, 1] -> (N, dim)."""
        return self._run

    @torch.inference_mode()
    def __call__(self, crops: np.ndarray) -> torch.Tensor:
        """uint8 (N, S, S) -> float32 (N, dim) on the encoder's device."""
        if len(crops) == 0:
            return torch.zeros((0, self.dim), device=self.device)
        x = scale(torch.from_numpy(np.ascontiguousarray(crops))).unsqueeze(1).to(self.device, non_blocking=True)
        return self._run(x)


def geometry_of(face: Face, neutral: RunningNeutral) -> np.ndarray:
    """Geometry feature of one face; zeros when it has no landmarks (aligned input without mesh)."""
    if face.landmarks is None:
        return np.zeros(GEOMETRY_DIM, np.float32)
    return neutral.update(normalised_shape(face.landmarks))
