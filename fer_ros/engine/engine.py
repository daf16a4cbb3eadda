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
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_ros.model.backbone import DEFAULT_BACKBONE
from fer_ros.model.classes import CLASS_NAMES

from .config import REBUILD, EngineConfig
from .features import geometry_of, to_gray
from .front_end import DetectionSchedule, FrontEnd
from .geometry import GEOMETRY_DIM, RunningNeutral
from .images import BadFrame, as_bgr, fit_max_side
from .models import Models
from .results import FaceResult, Features, FrameResult
from .spotter import END_FACE_LOST, END_STREAM_STOPPED, END_TIME_JUMP, IntervalEvent, Spotter
from .throttle import Throttle
from .tracker import Tracker

log = logging.getLogger("fer_ros.engine")

STAGES = ("decode", "detect", "align", "cnn", "recurrent", "spotter")
WARM_UP_ID = -1  # the face id of warm_up's blank face: real ids count up from 1
BACKWARD_WARN_PERIOD = 5.0  # s between two "stamp went backwards" warnings (a looping bag warns once per period)


class Engine:
    """Streams frames of one camera through the models; one instance per camera.

    cfg: the settings (validated here). ids: where new face ids come from; pass one shared
    iterator (``itertools.count(1)``) to the engines of several cameras for ids unique across
    them. keep_features: attach what the models were fed to every result (evaluation checks
    that streaming equals a batch forward; dataset building stores it). models: networks
    shared with other engines (``group.EngineGroup`` batches several cameras through them).
    """

    def __init__(
        self,
        cfg: EngineConfig | None = None,
        *,
        ids: Iterator[int] | None = None,
        keep_features: bool = False,
        models: Models | None = None,
    ):
        self.cfg = cfg or EngineConfig()
        self.cfg.validate()
        self._models = models or Models(self.cfg)
        if self._models.key[:2] != (self.cfg.model, self.cfg.weights):
            raise ValueError(
                f"shared models are {self._models.key[:2]}, this engine's config asks for "
                f"{(self.cfg.model, self.cfg.weights)}"
            )
        self.device = self._models.device
        self._predictor, self._encoder = self._models.predictor, self._models.encoder
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
    def models(self) -> Models:
        """The networks this engine runs (shared with the engines built with the same ``models``)."""
        return self._models

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
        self._last_stamp = None
        self._seen_last = []
        self._schedule.reset()
        return events

    def finish(self) -> list[IntervalEvent]:
        """End of stream: close open intervals (the engine stays usable for the next stream)."""
        return self.reset()

    def warm_up(self, side: int = 64) -> None:
        """Pay the first-use costs now, not on the first real frame: MediaPipe's graphs (a blank
        frame; the meshes' first runs), then one blank face through the CNN and the recurrent
        step (ONNX Runtime's first run allocates). Leaves the engine as new (frame indices start
        again at 0)."""
        index = self._frame_index
        self.process(np.zeros((side, side, 3), np.uint8), None)
        self._front.warm_up()
        crops = np.zeros((1, self._encoder.crop_size, self._encoder.crop_size), np.uint8)
        self._predictor([WARM_UP_ID], self._encoder(crops), np.zeros((1, GEOMETRY_DIM), np.float32))
        self._predictor.drop(WARM_UP_ID)
        self.reset()
        self._frame_index = index
        self.reset_timings()

    def close(self) -> None:
        """Free MediaPipe's graphs now rather than at garbage collection; the engine is done."""
        self._front.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _end(self, fid: int, reason: str) -> list[IntervalEvent]:
        """Both stages' state of an ended face; only when no frame is between the stages."""
        self._release_front(fid)
        return self._end_models(fid, reason)

    def _release_front(self, fid: int) -> None:
        self._neutrals.pop(fid, None)
        self._front.release(fid)

    def _end_models(self, fid: int, reason: str) -> list[IntervalEvent]:
        spotter = self._spotters.pop(fid, None)
        self._predictor.drop(fid)
        return spotter.close(reason) if spotter else []

    # -- one frame --------------------------------------------------------------------------
    def process(self, frame, stamp: float | None = None) -> FrameResult:
        """Process one frame (grey, BGR or BGRA array). ``stamp`` in seconds; None: index / default_fps."""
        return self.complete(self.prepare(frame, stamp))

    def prepare(self, frame, stamp: float | None = None) -> PreparedFrame:
        """The front stage of ``process``: checks, faces, ids, crops, geometry (no network).

        ``prepare`` and ``complete`` split ``process`` so that a pipeline overlaps them: one
        thread prepares frame k+1 (MediaPipe, OpenCV) while another completes frame k (the
        networks); both release the GIL, so the two stages use two cores. Each stage must see
        the frames in order, and each stage's calls must come from one thread at a time.
        Faces that end are only listed here; ``complete`` closes their intervals."""
        self._frame_index += 1
        if stamp is None:
            stamp = self._frame_index / self.cfg.default_fps
        fr = PreparedFrame(self._frame_index, stamp)
        if self._last_stamp is not None and stamp < self._last_stamp:
            held = self._backward_warnings.due()
            if held is not None:
                log.warning(
                    "stamp went backwards (%.3f s -> %.3f s, e.g. a bag loop): ending all faces%s",
                    self._last_stamp,
                    stamp,
                    f" ({held} more time(s) since the last warning)" if held else "",
                )
            fr.ended += [(t.id, END_TIME_JUMP) for t in self._tracker.end_all()]
            for fid, _ in fr.ended:  # now: a bad frame below returns before the release of lost faces
                self._release_front(fid)
            self._last_stamp = None
            self._seen_last = []
            self._schedule.reset()
        t0 = time.perf_counter()
        try:
            bgr, fr.scale = fit_max_side(as_bgr(frame), self.cfg.max_side)
        except BadFrame as e:
            log.warning("frame %d skipped: %s", self._frame_index, e)
            fr.error = str(e)
            return fr
        self._last_stamp = stamp
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        t1 = time.perf_counter()
        followed = {i: self._tracker.tracks[i].box for i in self._seen_last if i in self._tracker.tracks}
        fr.faces, known = self._front.follow(rgb, followed, self._schedule)
        t2 = time.perf_counter()
        fr.ids, ended = self._tracker.update([f.box for f in fr.faces], stamp, known)
        for track in ended:
            self._release_front(track.id)
        fr.ended += [(t.id, END_FACE_LOST) for t in ended]
        self._seen_last = fr.ids
        fr.crops = self._front.crops(to_gray(bgr), fr.faces)
        if fr.faces:
            fr.geometry = np.stack(
                [geometry_of(f, self._neutrals.setdefault(i, RunningNeutral())) for f, i in zip(fr.faces, fr.ids)]
            )
        fr.seconds = [t1 - t0, t2 - t1, time.perf_counter() - t2]
        return fr

    def complete(self, prepared: PreparedFrame) -> FrameResult:
        """The model stage of ``process`` for a frame ``prepare`` returned: the networks, the
        spotters, the result. (``group.EngineGroup`` completes several engines' frames in one
        batch.)"""
        return run_models(self._models, [(self, prepared)])[0]

    def _close_ended(self, fr: PreparedFrame) -> list[IntervalEvent]:
        events: list[IntervalEvent] = []
        for fid, reason in fr.ended:
            events += self._end_models(fid, reason)
        return events

    def _results(
        self, fr: PreparedFrame, pred, appearance, events: list[IntervalEvent], seconds: list[float]
    ) -> FrameResult:
        """The model stage's per-engine end: spotters, face results, timings."""
        t0 = time.perf_counter()
        results = []
        for k, (face, fid) in enumerate(zip(fr.faces, fr.ids)):
            spotter = self._spotters.setdefault(fid, Spotter(fid, self.cfg.spotter))
            events += spotter.update(
                fr.index, fr.stamp, float(pred.activity[k]), float(pred.intensity[k]), pred.probs[k]
            )
            top = int(np.argmax(pred.probs[k]))
            results.append(
                FaceResult(
                    id=fid,
                    box=tuple(float(v) for v in face.box / fr.scale),
                    scores=tuple(float(p) for p in pred.probs[k]),
                    label=CLASS_NAMES[top],
                    confidence=float(pred.probs[k, top]),
                    intensity=float(pred.intensity[k]),
                    activity=float(pred.activity[k]),
                    phase=spotter.phase,
                )
            )
        for stage, dt in zip(STAGES, [*fr.seconds, *seconds, time.perf_counter() - t0]):
            self._timings[stage] += dt
        features = None
        if self._keep_features and fr.error is None:
            features = Features(fr.crops, appearance.detach().float().cpu().numpy(), fr.geometry)
        return FrameResult(fr.index, fr.stamp, results, events, error=fr.error, features=features)


@dataclass
class PreparedFrame:
    """One frame after the front stage (``Engine.prepare``), waiting for the model stage."""

    index: int
    stamp: float
    scale: float = 1.0
    faces: list = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    crops: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1), np.uint8))
    geometry: np.ndarray = field(default_factory=lambda: np.zeros((0, GEOMETRY_DIM), np.float32))
    ended: list[tuple[int, str]] = field(default_factory=list)  # (face id, end reason): close first
    error: str | None = None  # why the frame was skipped
    seconds: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # decode, detect, align


def run_models(models: Models, items: list[tuple[Engine, PreparedFrame]]) -> list[FrameResult]:
    """The model stage of frames of one or several engines sharing ``models``: faces that ended are
    closed, then ONE CNN call and ONE recurrent step for every face of every frame, then each
    engine's spotters. The networks' time is shared out by faces."""
    events = [engine._close_ended(fr) for engine, fr in items]
    crops = [fr.crops for _, fr in items if len(fr.ids)]
    ids = [i for _, fr in items for i in fr.ids]
    t0 = time.perf_counter()
    appearance = models.encoder(np.concatenate(crops) if crops else np.zeros((0, 1, 1), np.uint8))
    t1 = time.perf_counter()
    geometry = np.concatenate([fr.geometry for _, fr in items]) if items else np.zeros((0, GEOMETRY_DIM))
    pred = models.predictor(ids, appearance, geometry)
    t2 = time.perf_counter()
    out, start = [], 0
    share = 1.0 / max(len(ids), 1)
    for (engine, fr), ev in zip(items, events):
        n = len(fr.ids)
        part = slice(start, start + n)
        weight = n * share if ids else 1.0 / len(items)
        out.append(engine._results(fr, pred.rows(part), appearance[part], ev, [(t1 - t0) * weight, (t2 - t1) * weight]))
        start += n
    return out


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(Path(path), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
