"""The face front end: frame -> faces -> aligned, normalised crops. One implementation for all.

The engine runs it on every frame; training runs the very same object on its stills and
generated frames (learn.stills, learn.sequences), so a network never trains on crops cut
differently from the ones it sees at run time:

- detection and landmarks (landmarks.FaceLandmarker): a face already followed is found
  again from its last landmarks by its own tracking-mode mesh (no detector); the
  detectors run on the whole frame on the ``DetectionSchedule`` (adaptively, at least every
  ``max_interval`` frames, at once when a face is lost), and only faces no tracked face
  covers are added; an aligned input (a face crop) skips detection;
- alignment (align.aligned_crop): similarity transform on expression-stable landmarks to
  the canonical face, at the appearance network's crop size;
- normalisation: histogram equalisation when the network was trained on equalised faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .align import aligned_crop
from .landmarks import Face, FaceLandmarker, box_iou

# A detection overlapping a tracked face this much is that face, not a new one.
SAME_FACE_IOU = 0.3


@dataclass
class DetectionSchedule:
    """When to run the face detectors between frames of followed faces.

    Detection runs on a frame when ``interval`` frames have passed since the last one, when a
    followed face was lost on this frame, or when no face is followed. After a detection that
    found nothing new the interval doubles, up to ``max_interval``; a new or lost face brings
    it back to 1. So a face that enters the view is found within ``max_interval`` frames.
    """

    max_interval: int
    interval: int = 1
    since: int = 0  # frames since the last detection
    runs: int = 0  # detections so far (benchmarks count them)

    def due(self, following: bool, lost: bool) -> bool:
        self.since += 1
        return not following or lost or self.since >= self.interval

    def detected(self, changed: bool) -> None:
        self.runs += 1
        self.since = 0
        self.interval = 1 if changed else min(2 * self.interval, self.max_interval)

    def reset(self) -> None:
        self.interval, self.since = 1, 0


class FrontEnd:
    """Finds the faces of RGB frames and cuts the crops the appearance network reads."""

    def __init__(
        self,
        crop_size: int,
        equalize: bool,
        max_faces: int = 8,
        min_detection_confidence: float = 0.5,
        aligned: bool = False,
        threads: int = 1,
    ):
        self.crop_size = crop_size
        self.equalize = equalize
        self.max_faces = max_faces
        self.aligned = aligned
        self._landmarker = FaceLandmarker(max_faces, min_detection_confidence)
        # threads > 1: followed faces are meshed side by side, each in its own MediaPipe graph
        # running on MediaPipe's threads (FaceLandmarker.track_all); 1: one after the other.
        self.side_by_side = threads > 1

    def warm_up(self) -> None:
        """The mesh graphs' first runs now, not on the first face (FaceLandmarker.warm_up)."""
        self._landmarker.warm_up()

    def close(self) -> None:
        """Free MediaPipe's graphs now rather than at garbage collection."""
        self._landmarker.close()

    def faces(self, rgb: np.ndarray) -> list[Face]:
        """Faces of an RGB uint8 frame found by detection, best first, at most ``max_faces``.
        Aligned input: the whole frame is one face."""
        if self.aligned:
            return [self._landmarker.process_aligned(rgb)]
        return self._landmarker.process(rgb)[: self.max_faces]

    def follow(
        self, rgb: np.ndarray, followed: dict[int, np.ndarray], schedule: DetectionSchedule
    ) -> tuple[list[Face], list[int | None]]:
        """The faces of a frame: each followed face (id -> last box) found again from its
        landmarks, plus, when the schedule says so, faces the detectors find that no
        followed face covers. Returns (faces, the id each was followed from or None)."""
        if self.aligned:
            return [self._landmarker.process_aligned(rgb)], [None]
        keys = list(followed)
        if self.side_by_side and len(keys) > 1:
            found = self._landmarker.track_all(rgb, followed)
        else:
            found = [self._landmarker.track(rgb, fid, followed[fid]) for fid in keys]
        faces = [f for f in found if f is not None]
        ids: list[int | None] = [fid for fid, f in zip(keys, found) if f is not None]
        if schedule.due(following=bool(followed), lost=len(faces) < len(followed)):
            known = np.stack([g.box for g in faces]) if faces else None

            def new_face(box: np.ndarray) -> bool:
                return known is None or box_iou(box, known).max() < SAME_FACE_IOU

            # A followed face's own detection is not meshed again (the static mesh costs most); a
            # mesh that lands on a followed face is dropped too.
            detections = [(b, score) for b, score in self._landmarker.detect(rgb) if new_face(b)]
            new = [f for f in self._landmarker.mesh_detections(rgb, detections) if new_face(f.box)]
            new = new[: max(0, self.max_faces - len(faces))]
            schedule.detected(changed=bool(new) or len(faces) < len(followed))
            faces += new
            ids += [None] * len(new)
        return faces, ids

    @property
    def live_graphs(self) -> int:
        return self._landmarker.live_graphs

    def release(self, fid: int) -> None:
        """The face ``fid`` ended: free what followed it."""
        self._landmarker.release(fid)

    def crops(self, gray: np.ndarray, faces: list[Face]) -> np.ndarray:
        """(N, S, S) uint8 crops of the faces of a grey frame, aligned and normalised."""
        if not faces:
            return np.zeros((0, self.crop_size, self.crop_size), np.uint8)
        crops = [aligned_crop(gray, f.landmarks, self.crop_size) for f in faces]
        return np.stack([cv2.equalizeHist(c) for c in crops] if self.equalize else crops)
