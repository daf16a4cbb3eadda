"""The streaming engine: one frame in, per-face expressions and interval events out.

Every front end (video/stills CLI, ROS node, bag runner, evaluation, dataset building) is a
thin shell around ``Engine.process``; none of them re-implements a step of this flow:

  frame -> checks/convert (images) -> faces + aligned crops (front_end: detection or
        landmark tracking, alignment, normalisation) -> tracker ids (tracker) -> geometry
        (features) -> ONE batched CNN call and ONE batched recurrent step for all live faces
        (features, predictors) -> per-face online spotter (spotter) -> FrameResult

Use it as a context manager, or call ``close()``, to free MediaPipe's graphs::

    with Engine(EngineConfig(model="recurrent")) as engine:
        for image, stamp in frames:
            result = engine.process(image, stamp)
        final_events = engine.finish()
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import torch

from fer_ros.model.backbone import DEFAULT_BACKBONE
from fer_ros.model.classes import CLASS_NAMES

from .config import REBUILD, EngineConfig
from .features import AppearanceEncoder, geometry_of, to_gray
from .front_end import DetectionSchedule, FrontEnd
from .geometry import GEOMETRY_DIM, RunningNeutral
from .images import BadFrame, as_bgr, fit_max_side
from .predictors import FramewisePredictor, RecurrentPredictor, resolve_device
from .results import FaceResult, Features, FrameResult
from .spotter import END_FACE_LOST, END_STREAM_STOPPED, END_TIME_JUMP, IntervalEvent, Spotter
from .throttle import Throttle
from .tracker import Tracker

log = logging.getLogger("fer_ros.engine")

STAGES = ("decode", "detect", "align", "cnn", "recurrent", "spotter")
BACKWARD_WARN_PERIOD = 5.0  # s between two "stamp went backwards" warnings (a looping bag warns once per period)


class Engine:
    """Streams frames of one camera through the models; one instance per camera.

    cfg: the settings (validated here). ids: where new face ids come from; pass one shared
    iterator (``itertools.count(1)``) to the engines of several cameras for ids unique across
    them. keep_features: attach what the models were fed to every result (evaluation checks
    that streaming equals a batch forward; dataset building stores it).
    """

    def __init__(
        self, cfg: EngineConfig | None = None, *, ids: Iterator[int] | None = None, keep_features: bool = False
    ):
        self.cfg = cfg or EngineConfig()
        self.cfg.validate()
        self.device = resolve_device(self.cfg.device)
        if self.device.type == "cpu":
            torch.set_num_threads(self.cfg.cpu_threads)  # process-wide: see EngineConfig.cpu_threads
        self._predictor = (
            RecurrentPredictor(self.cfg.weights, self.device)
            if self.cfg.model == "recurrent"
            else FramewisePredictor(self.cfg.weights, self.device)
        )
        # Faces are encoded with the predictor's own backbone: for a recurrent model, the one it
        # was trained on (stored in its file).
        self._encoder = AppearanceEncoder(self.device, cnn=self._predictor.cnn)
        self._front = FrontEnd(
            self._encoder.crop_size,
            self._encoder.equalize,
            self.cfg.max_faces,
            self.cfg.min_detection_confidence,
            self.cfg.aligned,
            self.cfg.front_threads,
        )
        self._tracker = Tracker(
            self.cfg.iou_threshold, self.cfg.lost_timeout, ids=ids if ids is not None else itertools.count(1)
        )
        self._keep_features = keep_features
        self._spotters: dict[int, Spotter] = {}
        self._neutrals: dict[int, RunningNeutral] = {}
        self._frame_index = -1
        self._last_stamp: float | None = None
        self._seen_last: list[int] = []  # ids matched in the previous frame
        self._schedule = DetectionSchedule(self.cfg.detect_every)
        self._backward_warnings = Throttle(BACKWARD_WARN_PERIOD)
        self._timings: dict[str, float] = defaultdict(float)  # seconds per stage, summed

    # -- what a front end may read ------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self._predictor.name

    def describe(self) -> dict:
        """The model, its weights (path, SHA-256, training metadata) and the device, for reports."""
        out: dict = {"model": self.model_name, "device": str(self.device)}
        path = self._predictor.path or DEFAULT_BACKBONE
        out["weights"] = {
            "path": str(path),
            "sha256": _sha256(path),
            "metadata": getattr(getattr(self._predictor, "model", self._predictor.cnn), "metadata", {}),
        }
        return out

    @property
    def appearance_dim(self) -> int:
        """Width of the appearance vectors (backbone features ++ 7 logits)."""
        return self._encoder.dim

    @property
    def crop_spec(self) -> dict:
        """The crops the front end cuts for the appearance network: side and normalisation."""
        return {"size": self._encoder.crop_size, "equalize": self._encoder.equalize}

    @property
    def detection_runs(self) -> int:
        """How many times the face detectors ran (landmark following covers the other frames)."""
        return self._schedule.runs

    @property
    def tracked_ids(self) -> set[int]:
        """Ids of the faces the tracker still follows (seen within ``lost_timeout``)."""
        return set(self._tracker.tracks)

    def stage_seconds(self) -> dict[str, float]:
        """Seconds spent in each of STAGES since the last ``reset_timings``, summed over frames."""
        return {s: self._timings[s] for s in STAGES}

    def reset_timings(self) -> None:
        self._timings.clear()

    def batch_outputs(self, appearance: np.ndarray, geometry: np.ndarray) -> dict[str, np.ndarray] | None:
        """The recurrent model's forward over one face's whole sequence of features (None for the
        baseline): streaming must give the same numbers frame by frame."""
        return self._predictor.batch(appearance, geometry) if hasattr(self._predictor, "batch") else None

    def reconfigure(self, cfg: EngineConfig) -> None:
        """Take new settings between two frames (live faces keep their state). Settings in
        ``config.REBUILD`` cannot change this way: ValueError names them; build a new Engine."""
        cfg.validate()
        fixed = [k for k in REBUILD if getattr(cfg, k) != getattr(self.cfg, k)]
        if fixed:
            raise ValueError(f"{', '.join(fixed)} cannot change in a running engine; build a new one")
        self.cfg = cfg
        self._front.aligned = cfg.aligned
        self._schedule.max_interval = cfg.detect_every
        self._tracker.iou_threshold, self._tracker.lost_timeout = cfg.iou_threshold, cfg.lost_timeout
        for spotter in self._spotters.values():
            spotter.cfg = cfg.spotter

    # -- stream lifetime ------------------------------------------------------------------
    def reset(self, reason: str = END_STREAM_STOPPED) -> list[IntervalEvent]:
        """End every face (closing open intervals with ``reason``) and forget all state; stamps may
        restart."""
        events = []
        for track in self._tracker.end_all():
            events += self._end(track.id, reason)
        self._predictor.reset()
        self._last_stamp = None
        self._seen_last = []
        self._schedule.reset()
        return events

    def finish(self) -> list[IntervalEvent]:
        """End of stream: close open intervals (the engine stays usable for the next stream)."""
        return self.reset()

    def close(self) -> None:
        """Free MediaPipe's graphs now rather than at garbage collection; the engine is done."""
        self._front.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _end(self, fid: int, reason: str) -> list[IntervalEvent]:
        spotter = self._spotters.pop(fid, None)
        self._neutrals.pop(fid, None)
        self._predictor.drop(fid)
        self._front.release(fid)
        return spotter.close(reason) if spotter else []

    # -- one frame --------------------------------------------------------------------------
    def process(self, frame, stamp: float | None = None) -> FrameResult:
        """Process one frame (grey, BGR or BGRA array). ``stamp`` in seconds; None: index / default_fps."""
        self._frame_index += 1
        if stamp is None:
            stamp = self._frame_index / self.cfg.default_fps
        events: list[IntervalEvent] = []
        if self._last_stamp is not None and stamp < self._last_stamp:
            held = self._backward_warnings.due()
            if held is not None:
                log.warning(
                    "stamp went backwards (%.3f s -> %.3f s, e.g. a bag loop): ending all faces%s",
                    self._last_stamp,
                    stamp,
                    f" ({held} more time(s) since the last warning)" if held else "",
                )
            events += self.reset(END_TIME_JUMP)
        t0 = time.perf_counter()
        try:
            bgr, scale = fit_max_side(as_bgr(frame), self.cfg.max_side)
        except BadFrame as e:
            log.warning("frame %d skipped: %s", self._frame_index, e)
            return FrameResult(self._frame_index, stamp, [], events, error=str(e))
        self._last_stamp = stamp
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        t1 = time.perf_counter()
        followed = {i: self._tracker.tracks[i].box for i in self._seen_last if i in self._tracker.tracks}
        faces, known = self._front.follow(rgb, followed, self._schedule)
        t2 = time.perf_counter()

        ids, ended = self._tracker.update([f.box for f in faces], stamp, known)
        for track in ended:
            events += self._end(track.id, END_FACE_LOST)
        self._seen_last = ids
        crops = self._front.crops(to_gray(bgr), faces)
        geometry = (
            np.stack([geometry_of(f, self._neutrals.setdefault(i, RunningNeutral())) for f, i in zip(faces, ids)])
            if faces
            else np.zeros((0, GEOMETRY_DIM), np.float32)
        )
        t3 = time.perf_counter()
        appearance = self._encoder(crops)
        t4 = time.perf_counter()
        pred = self._predictor(ids, appearance, geometry)
        t5 = time.perf_counter()

        results = []
        for k, (face, fid) in enumerate(zip(faces, ids)):
            spotter = self._spotters.setdefault(fid, Spotter(fid, self.cfg.spotter))
            events += spotter.update(
                self._frame_index, stamp, float(pred.activity[k]), float(pred.intensity[k]), pred.probs[k]
            )
            top = int(np.argmax(pred.probs[k]))
            results.append(
                FaceResult(
                    id=fid,
                    box=tuple(float(v) for v in face.box / scale),
                    scores=tuple(float(p) for p in pred.probs[k]),
                    label=CLASS_NAMES[top],
                    confidence=float(pred.probs[k, top]),
                    intensity=float(pred.intensity[k]),
                    activity=float(pred.activity[k]),
                    phase=spotter.phase,
                )
            )
        t6 = time.perf_counter()
        for stage, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)):
            self._timings[stage] += dt
        features = Features(crops, appearance.detach().float().cpu().numpy(), geometry) if self._keep_features else None
        return FrameResult(self._frame_index, stamp, results, events, features=features)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(Path(path), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
