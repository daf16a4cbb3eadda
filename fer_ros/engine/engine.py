"""The streaming engine: one frame in, per-face expressions and interval events out.

Every front end (video/stills CLI, ROS node, bag runner, evaluation) is a thin shell
around ``Engine.process``; none of them re-implements a step of this flow:

  frame -> checks/convert (images) -> detection + 478 landmarks (landmarks)
        -> tracker ids (tracker) -> aligned crops + geometry (features)
        -> ONE batched CNN call and ONE batched recurrent step for all live faces (predictors;
           the CNN is the recurrent model's own when it was trained with finetune_cnn)
        -> per-face online spotter (spotter) -> FrameResult
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass

import cv2
import numpy as np
import torch

from fer_ros.model.classes import CLASS_NAMES

from .config import MODELS, EngineConfig  # noqa: F401  (re-exported: the engine's settings)
from .features import AppearanceEncoder, face_crops, geometry_of, to_gray
from .geometry import RunningNeutral
from .images import BadFrame, as_bgr, fit_max_side
from .landmarks import Face, FaceLandmarker
from .predictors import FramewisePredictor, RecurrentPredictor, resolve_device
from .spotter import IntervalEvent, Spotter
from .tracker import Tracker

log = logging.getLogger("fer_ros.engine.engine")

STAGES = ("decode", "detect", "align", "cnn", "recurrent", "spotter")


@dataclass
class FaceResult:
    id: int
    box: np.ndarray  # x, y, w, h in pixels of the input frame
    scores: np.ndarray  # (7,) CLASS_NAMES order, sums to 1
    label: str
    confidence: float
    intensity: float
    activity: float
    phase: str  # one of PHASES

    def to_json(self) -> dict:
        return {
            "id": self.id, "box": [round(float(v), 1) for v in self.box], "label": self.label,
            "confidence": round(self.confidence, 4),
            "scores": {c: round(float(p), 4) for c, p in zip(CLASS_NAMES, self.scores)},
            "intensity": round(self.intensity, 4), "activity": round(self.activity, 4), "phase": self.phase,
        }


@dataclass
class FrameResult:
    frame: int
    stamp: float
    faces: list[FaceResult]
    events: list[IntervalEvent]
    error: str | None = None  # why the frame was skipped, when it was

    def to_json(self) -> dict:
        out = {"frame": self.frame, "stamp": round(self.stamp, 6), "faces": [f.to_json() for f in self.faces]}
        if self.error:
            out["error"] = self.error
        return out


class Engine:
    def __init__(self, cfg: EngineConfig | None = None):
        self.cfg = cfg or EngineConfig()
        self.cfg.validate()
        self.device = resolve_device(self.cfg.device)
        if self.device.type == "cpu":
            torch.set_num_threads(self.cfg.cpu_threads)  # process-wide: see EngineConfig.cpu_threads
        self.landmarker = FaceLandmarker(self.cfg.max_faces, self.cfg.min_detection_confidence)
        self.predictor = (RecurrentPredictor(self.cfg.weights, self.device) if self.cfg.model == "recurrent"
                          else FramewisePredictor(self.device))
        # A recurrent model trained with finetune_cnn carries its own CNN: encode faces with it,
        # so streaming features are the ones it trained on; otherwise the stock FER2013 CNN.
        self.encoder = AppearanceEncoder(self.device, cnn=self.predictor.cnn)
        self.tracker = Tracker(self.cfg.iou_threshold, self.cfg.lost_timeout)
        self.spotters: dict[int, Spotter] = {}
        self.neutrals: dict[int, RunningNeutral] = {}
        self.frame_index = -1
        self.last_stamp: float | None = None
        self.timings: dict[str, float] = defaultdict(float)  # seconds per stage, summed
        self._seen_last: list[int] = []  # ids matched in the previous frame
        # What the models were fed for the last frame: (face ids, appearance (N, 135) tensor,
        # geometry (N, G) array); None for a skipped frame. Read by evaluation (streaming == batch).
        self.last_features: tuple[list[int], torch.Tensor, np.ndarray] | None = None

    @property
    def model_name(self) -> str:
        return self.predictor.name

    # -- face lifetime ---------------------------------------------------------------
    def _end(self, fid: int) -> list[IntervalEvent]:
        spotter = self.spotters.pop(fid, None)
        self.neutrals.pop(fid, None)
        self.predictor.drop(fid)
        return spotter.close() if spotter else []

    def reset(self) -> list[IntervalEvent]:
        """End every face (closing open intervals) and forget all state; stamps may restart."""
        events = []
        for track in self.tracker.end_all():
            events += self._end(track.id)
        self.predictor.reset()
        self.last_stamp = None
        self._seen_last = []
        return events

    def close(self) -> list[IntervalEvent]:
        """End of stream: close open intervals (the engine stays usable for the next stream)."""
        return self.reset()

    def release(self) -> None:
        """Free MediaPipe's graphs now rather than at garbage collection; the engine is done."""
        self.landmarker.close()

    # -- one frame -------------------------------------------------------------------
    def _find_faces(self, rgb: np.ndarray) -> list[Face]:
        if self.cfg.aligned:
            return [self.landmarker.process_aligned(rgb)]
        boxes = None
        if self._seen_last and self.frame_index % self.cfg.detect_every:
            boxes = [self.tracker.tracks[i].box for i in self._seen_last if i in self.tracker.tracks]
        return self.landmarker.process(rgb, boxes)

    def process(self, frame, stamp: float | None = None) -> FrameResult:
        """Process one frame (grey, BGR or BGRA array). ``stamp`` in seconds; None: index / default_fps."""
        self.frame_index += 1
        self.last_features = None
        if stamp is None:
            stamp = self.frame_index / self.cfg.default_fps
        events: list[IntervalEvent] = []
        if self.last_stamp is not None and stamp < self.last_stamp:
            log.warning("stamp went backwards (%.3f s -> %.3f s, e.g. a bag loop): ending all faces",
                        self.last_stamp, stamp)
            events += self.reset()
        t0 = time.perf_counter()
        try:
            bgr, scale = fit_max_side(as_bgr(frame), self.cfg.max_side)
        except BadFrame as e:
            log.warning("frame %d skipped: %s", self.frame_index, e)
            return FrameResult(self.frame_index, stamp, [], events, error=str(e))
        self.last_stamp = stamp
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        t1 = time.perf_counter()
        faces = self._find_faces(rgb)[: self.cfg.max_faces]
        t2 = time.perf_counter()

        ids, ended = self.tracker.update([f.box for f in faces], stamp)
        for track in ended:
            events += self._end(track.id)
        self._seen_last = ids
        crops = face_crops(to_gray(bgr), faces)
        geometry = np.stack([geometry_of(f, self.neutrals.setdefault(i, RunningNeutral()))
                             for f, i in zip(faces, ids)]) if faces else np.zeros((0, 1), np.float32)
        t3 = time.perf_counter()
        appearance = self.encoder(crops)
        self.last_features = (ids, appearance, geometry)
        t4 = time.perf_counter()
        pred = self.predictor(ids, appearance, geometry)
        t5 = time.perf_counter()

        results = []
        for k, (face, fid) in enumerate(zip(faces, ids)):
            spotter = self.spotters.setdefault(fid, Spotter(fid, self.cfg.spotter))
            events += spotter.update(self.frame_index, stamp, float(pred.activity[k]),
                                     float(pred.intensity[k]), pred.probs[k])
            top = int(np.argmax(pred.probs[k]))
            results.append(FaceResult(
                id=fid, box=face.box / scale, scores=pred.probs[k], label=CLASS_NAMES[top],
                confidence=float(pred.probs[k, top]), intensity=float(pred.intensity[k]),
                activity=float(pred.activity[k]), phase=spotter.phase))
        t6 = time.perf_counter()
        for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
            self.timings[stage] += dt
        return FrameResult(self.frame_index, stamp, results, events)

