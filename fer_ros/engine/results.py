"""What the engine returns for one frame: per-face readings and interval events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_ros.model.classes import CLASS_NAMES

from .spotter import IntervalEvent


@dataclass
class FaceResult:
    """One face of one frame, in plain Python numbers: a result that leaves the engine holds no numpy
    buffer and no tensor, so whoever keeps results (writers, evaluation, a node's queue) keeps only these."""

    id: int
    box: tuple[float, ...]  # x, y, w, h in pixels of the input frame
    scores: tuple[float, ...]  # 7 values in CLASS_NAMES order, summing to 1
    label: str
    confidence: float
    intensity: float
    activity: float
    phase: str  # one of PHASES

    def __post_init__(self) -> None:
        self.id = int(self.id)
        self.box = tuple(float(v) for v in self.box)
        self.scores = tuple(float(p) for p in self.scores)
        self.confidence, self.intensity, self.activity = (
            float(self.confidence),
            float(self.intensity),
            float(self.activity),
        )

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "box": [round(v, 1) for v in self.box],
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "scores": {c: round(p, 4) for c, p in zip(CLASS_NAMES, self.scores)},
            "intensity": round(self.intensity, 4),
            "activity": round(self.activity, 4),
            "phase": self.phase,
        }


@dataclass
class Features:
    """What the models were fed for the faces of one frame, in ``FrameResult.faces`` order."""

    crops: np.ndarray  # (N, S, S) uint8: the aligned, normalised crops the appearance network read
    appearance: np.ndarray  # (N, D + 7) appearance network features ++ logits
    geometry: np.ndarray  # (N, G)


@dataclass
class FrameResult:
    frame: int  # the engine's frame counter (0 for its first frame; events use the same numbering)
    stamp: float
    faces: list[FaceResult]
    events: list[IntervalEvent]
    error: str | None = None  # why the frame was skipped, when it was
    features: Features | None = None  # only from an Engine(keep_features=True)

    def __post_init__(self) -> None:
        self.frame, self.stamp = int(self.frame), float(self.stamp)

    def to_json(self) -> dict:
        out = {"frame": self.frame, "stamp": round(self.stamp, 6), "faces": [f.to_json() for f in self.faces]}
        if self.error:
            out["error"] = self.error
        return out
