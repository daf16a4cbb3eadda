"""Online (causal) expression spotter: onset, apex and offset events per face.

Fed one frame at a time with the model's expression activity (0..1), intensity (0..1)
and class scores. A hysteresis state machine, so nothing waits for the end of a video:

  idle   --activity >= on_threshold for confirm_frames-->  active   (event "started";
                                                            onset = first frame of that run)
  active --intensity fell apex_drop below its peak------>  apex      (event "apex";
                                                            apex = frame of the peak,
                                                            fixed from then on)
  active --activity < off_threshold for release_frames-> idle     (event "ended";
                                                            offset = last active frame)

A face that is lost mid-expression is closed with ``close()`` (offset = last frame it
was seen). The label of an interval is the class with the most non-neutral evidence
(neutral-renormalised scores summed over its frames); "started" carries the label of
the onset run, "ended" the label over the whole interval.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from fer_ros.model.classes import CLASS_NAMES, NEUTRAL

STATUS_STARTED, STATUS_APEX, STATUS_ENDED = "started", "apex", "ended"


@dataclass
class SpotterConfig:
    on_threshold: float = 0.5
    off_threshold: float = 0.3
    confirm_frames: int = 3
    release_frames: int = 3
    apex_drop: float = 0.1  # intensity below peak (absolute) that confirms the apex

    def validate(self) -> None:
        if not 0.0 <= self.off_threshold <= self.on_threshold <= 1.0:
            raise ValueError("spotter thresholds need 0 <= off_threshold <= on_threshold <= 1, got "
                             f"off_threshold={self.off_threshold}, on_threshold={self.on_threshold}")
        for name in ("confirm_frames", "release_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"spotter {name} must be an integer >= 1, got {value!r}")
        if not 0.0 < self.apex_drop < 1.0:
            raise ValueError(f"spotter apex_drop must be in (0, 1), got {self.apex_drop}")


@dataclass
class IntervalEvent:
    face_id: int
    status: str  # started | apex | ended
    label: str
    confidence: float
    scores: np.ndarray  # mean class scores over the interval so far (CLASS_NAMES order)
    onset: int  # frame indices, inclusive; -1 while unknown
    apex: int
    offset: int
    onset_stamp: float
    apex_stamp: float  # nan while unknown
    offset_stamp: float
    peak_intensity: float


@dataclass
class _Interval:
    onset: int
    onset_stamp: float
    score_sum: np.ndarray
    evidence: np.ndarray  # neutral-renormalised scores summed: decides the label
    frames: int = 0
    peak: float = -1.0
    peak_frame: int = -1
    peak_stamp: float = float("nan")
    apex_sent: bool = False
    last_active: int = -1
    last_active_stamp: float = float("nan")


def _non_neutral(scores: np.ndarray) -> np.ndarray:
    rest = scores.astype(np.float64).copy()
    rest[NEUTRAL] = 0.0
    total = rest.sum()
    return rest / total if total > 0 else rest


@dataclass
class Spotter:
    """Spotter state for one face."""

    face_id: int
    cfg: SpotterConfig = field(default_factory=SpotterConfig)
    phase: str = "neutral"

    def __post_init__(self):
        self._run: list[tuple[int, float, np.ndarray, float]] = []  # candidate onset run
        self._below = 0
        self._open: _Interval | None = None
        self._last: tuple[int, float] | None = None

    @property
    def active(self) -> bool:
        return self._open is not None

    def _event(self, status: str) -> IntervalEvent:
        iv = self._open
        label = int(np.argmax(iv.evidence)) if iv.evidence.any() else NEUTRAL
        confidence = float(iv.evidence[label] / max(iv.frames, 1))
        ended = status == STATUS_ENDED
        return IntervalEvent(
            face_id=self.face_id, status=status, label=CLASS_NAMES[label], confidence=confidence,
            scores=(iv.score_sum / max(iv.frames, 1)).astype(np.float32),
            onset=iv.onset, apex=iv.peak_frame if iv.apex_sent or ended else -1,
            offset=iv.last_active if ended else -1,
            onset_stamp=iv.onset_stamp, apex_stamp=iv.peak_stamp if iv.apex_sent or ended else float("nan"),
            offset_stamp=iv.last_active_stamp if ended else float("nan"),
            peak_intensity=float(max(iv.peak, 0.0)),
        )

    def _add(self, frame: int, stamp: float, scores: np.ndarray, intensity: float) -> None:
        iv = self._open
        iv.frames += 1
        iv.score_sum += scores
        iv.evidence += _non_neutral(scores)
        # Once "apex" is published its frame and peak stay fixed, so "ended" never
        # contradicts it (a second rise within one interval does not move the apex).
        if intensity > iv.peak and not iv.apex_sent:
            iv.peak, iv.peak_frame, iv.peak_stamp = intensity, frame, stamp

    def update(self, frame: int, stamp: float, activity: float, intensity: float,
               scores: np.ndarray) -> list[IntervalEvent]:
        """Feed one frame; returns the events it triggers (in order)."""
        cfg, events = self.cfg, []
        self._last = (frame, stamp)
        if self._open is None:
            if activity >= cfg.on_threshold:
                self._run.append((frame, stamp, scores, intensity))
            else:
                self._run.clear()
            if len(self._run) >= cfg.confirm_frames:
                f0, s0 = self._run[0][:2]
                self._open = _Interval(onset=f0, onset_stamp=s0, score_sum=np.zeros(len(scores)),
                                       evidence=np.zeros(len(scores)))
                for f, s, sc, it in self._run:
                    self._add(f, s, sc, it)
                self._open.last_active, self._open.last_active_stamp = frame, stamp
                self._run.clear()
                self._below = 0
                events.append(self._event(STATUS_STARTED))
            self.phase = "onset" if self._open else "neutral"
            return events

        iv = self._open
        if activity >= cfg.off_threshold:
            self._below = 0
            self._add(frame, stamp, scores, intensity)
            iv.last_active, iv.last_active_stamp = frame, stamp
            if not iv.apex_sent and iv.peak - intensity >= cfg.apex_drop:
                iv.apex_sent = True
                events.append(self._event(STATUS_APEX))
            near_peak = intensity >= iv.peak - cfg.apex_drop / 2
            self.phase = "apex" if near_peak else ("offset" if iv.apex_sent else "onset")
        else:
            self._below += 1
            self.phase = "offset"
            if self._below >= cfg.release_frames:
                events += self._finish()
        return events

    def _finish(self) -> list[IntervalEvent]:
        events = []
        if not self._open.apex_sent:
            self._open.apex_sent = True
            events.append(self._event(STATUS_APEX))
        events.append(self._event(STATUS_ENDED))
        self._open = None
        self._below = 0
        self.phase = "neutral"
        return events

    def close(self) -> list[IntervalEvent]:
        """The face is gone (lost, stream ended): close an open interval."""
        self._run.clear()
        return self._finish() if self._open is not None else []
