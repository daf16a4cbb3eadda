"""The face front end: frame -> faces -> aligned, normalised crops. One implementation for all.

The engine runs it on every frame; training runs the very same object on its stills and
generated frames (learn.stills, learn.sequences), so a network never trains on crops cut
differently from the ones it sees at run time:

- detection and landmarks (landmarks.FaceLandmarker): the detectors on the whole frame,
  or, between detections, the mesh around the previous frame's boxes; an aligned input
  (a face crop) skips detection;
- alignment (align.aligned_crop): similarity transform on expression-stable landmarks to
  the canonical face, at the appearance network's crop size;
- normalisation: histogram equalisation when the network was trained on equalised faces.
"""

from __future__ import annotations

import cv2
import numpy as np

from .align import aligned_crop
from .landmarks import Face, FaceLandmarker


class FrontEnd:
    """Finds the faces of RGB frames and cuts the crops the appearance network reads."""

    def __init__(
        self,
        crop_size: int,
        equalize: bool,
        max_faces: int = 8,
        min_detection_confidence: float = 0.5,
        aligned: bool = False,
    ):
        self.crop_size = crop_size
        self.equalize = equalize
        self.max_faces = max_faces
        self.aligned = aligned
        self._landmarker = FaceLandmarker(max_faces, min_detection_confidence)

    def close(self) -> None:
        """Free MediaPipe's graphs now rather than at garbage collection."""
        self._landmarker.close()

    def faces(self, rgb: np.ndarray, track_boxes: list[np.ndarray] | None = None) -> list[Face]:
        """Faces of an RGB uint8 frame, best first, at most ``max_faces``.

        ``track_boxes``: boxes of the faces of the previous frame; given, the detectors are
        skipped and the mesh runs around them (landmark tracking). Aligned input: the whole
        frame is one face.
        """
        if self.aligned:
            return [self._landmarker.process_aligned(rgb)]
        return self._landmarker.process(rgb, track_boxes)[: self.max_faces]

    def crops(self, gray: np.ndarray, faces: list[Face]) -> np.ndarray:
        """(N, S, S) uint8 crops of the faces of a grey frame, aligned and normalised."""
        if not faces:
            return np.zeros((0, self.crop_size, self.crop_size), np.uint8)
        crops = [aligned_crop(gray, f.landmarks, self.crop_size) for f in faces]
        return np.stack([cv2.equalizeHist(c) for c in crops] if self.equalize else crops)
