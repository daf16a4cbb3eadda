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

  active --another class dominates for switch_frames--->  active   ("ended" with reason
                                                            "class change", then "started":
                                                            the new interval's onset is the
                                                            first frame of that run)

A face that is lost mid-expression is closed with ``close(reason)`` (offset = last frame it
was seen). The label of an interval is the class with the most non-neutral evidence
(neutral-renormalised scores summed over its frames); "started" carries the label of
the onset run, "ended" the label over the whole interval. Every "ended" event says why
(END_REASONS).

Class change: a face can go from one expression into another without resting between
them (crying into laughter). A frame "votes" for a class when that class holds at least
``switch_share`` of its non-neutral score; ``switch_frames`` votes in a row for one class
other than the interval's label split the interval there.
"""

from __future__ import annotations

import copy
import numbers
from dataclasses import dataclass, field

import numpy as np

from fer_ros.model.classes import CLASS_NAMES, NEUTRAL

STATUS_STARTED, STATUS_APEX, STATUS_ENDED = "started", "apex", "ended"
# Why an interval ended: its activity fell (offset), another class took over under sustained
# activity, the face left the view, the stream stopped, or time jumped back (a bag loop).
END_OFFSET, END_CLASS_CHANGE, END_FACE_LOST, END_STREAM_STOPPED, END_TIME_JUMP = (
    "offset",
    "class change",
    "face lost",
    "stream stopped",
    "time jump",
)
END_REASONS = (END_OFFSET, END_CLASS_CHANGE, END_FACE_LOST, END_STREAM_STOPPED, END_TIME_JUMP)


@dataclass
class SpotterConfig:
    on_threshold: float = 0.5
    off_threshold: float = 0.3
    confirm_frames: int = 3
    release_frames: int = 3
    apex_drop: float = 0.1  # intensity below peak (absolute) that confirms the apex
    # Split an interval when another class dominates this many active frames in a row (0: never).
    # 12 frames is 0.4 s at 30 Hz: longer than a blink or a label flicker, shorter than an expression.
    switch_frames: int = 12
    switch_share: float = 0.5  # share of the non-neutral score that makes a frame vote for its class

    def validate(self) -> None:
        if not 0.0 <= self.off_threshold <= self.on_threshold <= 1.0:
            raise ValueError(
                "spotter thresholds need 0 <= off_threshold <= on_threshold <= 1, got "
                f"off_threshold={self.off_threshold}, on_threshold={self.on_threshold}"
            )
        for name in ("confirm_frames", "release_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"spotter {name} must be an integer >= 1, got {value!r}")
        if not 0.0 < self.apex_drop < 1.0:
            raise ValueError(f"spotter apex_drop must be in (0, 1), got {self.apex_drop}")
        if (
            isinstance(self.switch_frames, bool)
            or not isinstance(self.switch_frames, numbers.Integral)
            or self.switch_frames < 0
        ):
            raise ValueError(f"spotter switch_frames must be an integer >= 0, got {self.switch_frames!r}")
        if not 0.0 < self.switch_share <= 1.0:
            raise ValueError(f"spotter switch_share must be in (0, 1], got {self.switch_share}")


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
    end_reason: str = ""  # one of END_REASONS for "ended", else ""


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
        # Class-change candidate: its class, its frames, and the open interval as it was before
        # them (what "ended" reports if the run completes).
        self._switch: tuple[int, list[tuple[int, float, np.ndarray, float]], _Interval] | None = None

    @property
    def active(self) -> bool:
        return self._open is not None

    @property
    def _iv(self) -> _Interval:
        assert self._open is not None, "no open interval"
        return self._open

    def _event(self, status: str, reason: str = "") -> IntervalEvent:
        iv = self._iv
        label = int(np.argmax(iv.evidence)) if iv.evidence.any() else NEUTRAL
        confidence = float(iv.evidence[label] / max(iv.frames, 1))
        ended = status == STATUS_ENDED
        return IntervalEvent(
            face_id=self.face_id,
            status=status,
            label=CLASS_NAMES[label],
            confidence=confidence,
            scores=(iv.score_sum / max(iv.frames, 1)).astype(np.float32),
            onset=iv.onset,
            apex=iv.peak_frame if iv.apex_sent or ended else -1,
            offset=iv.last_active if ended else -1,
            onset_stamp=iv.onset_stamp,
            apex_stamp=iv.peak_stamp if iv.apex_sent or ended else float("nan"),
            offset_stamp=iv.last_active_stamp if ended else float("nan"),
            peak_intensity=float(max(iv.peak, 0.0)),
            end_reason=reason if ended else "",
        )

    def _add(self, frame: int, stamp: float, scores: np.ndarray, intensity: float) -> None:
        iv = self._iv
        iv.frames += 1
        iv.score_sum += scores
        iv.evidence += _non_neutral(scores)
        iv.last_active, iv.last_active_stamp = frame, stamp
        # Once "apex" is published its frame and peak stay fixed, so "ended" never
        # contradicts it (a second rise within one interval does not move the apex).
        if intensity > iv.peak and not iv.apex_sent:
            iv.peak, iv.peak_frame, iv.peak_stamp = intensity, frame, stamp

    def _start(self, run: list[tuple[int, float, np.ndarray, float]]) -> IntervalEvent:
        f0, s0 = run[0][:2]
        n = len(run[0][2])
        self._open = _Interval(onset=f0, onset_stamp=s0, score_sum=np.zeros(n), evidence=np.zeros(n))
        for f, s, sc, it in run:
            self._add(f, s, sc, it)
        self._below = 0
        return self._event(STATUS_STARTED)

    def update(
        self, frame: int, stamp: float, activity: float, intensity: float, scores: np.ndarray
    ) -> list[IntervalEvent]:
        """Feed one frame; returns the events it triggers (in order)."""
        cfg, events = self.cfg, []
        self._last = (frame, stamp)
        if self._open is None:
            if activity >= cfg.on_threshold:
                self._run.append((frame, stamp, scores, intensity))
            else:
                self._run.clear()
            if len(self._run) >= cfg.confirm_frames:
                events.append(self._start(self._run))
                self._run = []
            self.phase = "onset" if self._open else "neutral"
            return events

        if activity < cfg.off_threshold:
            self._switch = None
            self._below += 1
            self.phase = "offset"
            if self._below >= cfg.release_frames:
                events += self._finish(END_OFFSET)
            return events
        self._below = 0
        switched = self._class_change(frame, stamp, scores, intensity)
        events += switched
        iv = self._iv
        if not switched:  # a split already put this frame into the new interval
            self._add(frame, stamp, scores, intensity)
        # No apex while another class's run is under way: if the run splits the interval, the
        # interval closes as it was before the run (its own apex, sent once, in _finish).
        if not iv.apex_sent and self._switch is None and iv.peak - intensity >= cfg.apex_drop:
            iv.apex_sent = True
            events.append(self._event(STATUS_APEX))
        near_peak = intensity >= iv.peak - cfg.apex_drop / 2
        self.phase = "apex" if near_peak else ("offset" if iv.apex_sent else "onset")
        return events

    def _class_change(self, frame: int, stamp: float, scores: np.ndarray, intensity: float) -> list[IntervalEvent]:
        """Track a run of active frames voting for another class than the interval's; when it is
        switch_frames long, end the interval before the run and start one at its first frame."""
        cfg, iv = self.cfg, self._iv
        if not cfg.switch_frames:
            return []
        share = _non_neutral(scores)
        vote = int(np.argmax(share)) if share.max() >= cfg.switch_share else None
        before = self._switch[2] if self._switch else iv  # the run's own frames do not move the label
        label = int(np.argmax(before.evidence)) if before.evidence.any() else None
        if vote is None or vote == label:
            self._switch = None
            return []
        if self._switch is None or self._switch[0] != vote:
            self._switch = (vote, [], copy.deepcopy(iv))
        run = self._switch[1]
        run.append((frame, stamp, scores, intensity))
        if len(run) < cfg.switch_frames:
            return []
        self._switch = None
        self._open = before
        events = self._finish(END_CLASS_CHANGE)
        events.append(self._start(run))
        return events

    def _finish(self, reason: str) -> list[IntervalEvent]:
        events = []
        if not self._iv.apex_sent:
            self._iv.apex_sent = True
            events.append(self._event(STATUS_APEX))
        events.append(self._event(STATUS_ENDED, reason))
        self._open = None
        self._switch = None
        self._below = 0
        self.phase = "neutral"
        return events

    def close(self, reason: str = END_FACE_LOST) -> list[IntervalEvent]:
        """The face is gone (lost, stream stopped, time jump): close an open interval with ``reason``."""
        self._run.clear()
        return self._finish(reason) if self._open is not None else []
