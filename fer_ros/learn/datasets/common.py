"""What every dataset reader shares: the record, dense labels from annotations, file helpers.

Ground truth has the semantics of ``fer_ros.learn.synth`` (the generator), so the trainer and
the evaluator treat generated and real sequences alike:

- ``label``     (T,) int64  CLASS_NAMES index; NEUTRAL outside expressions; ``OTHER`` (-1)
                            inside an annotated expression whose class is not one of
                            CLASS_NAMES (kept only where asked: score it for spotting,
                            never for accuracy).
- ``intensity`` (T,) float32 0..1: 0 outside expressions, > 0 on every frame of one,
                            1 on the apex frames.
- ``phase``     (T,) int64  PHASES index: neutral outside, onset on [onset, apex),
                            apex on [apex, apex_end], offset on (apex_end, offset].
- ``intervals`` list of ``intervals.Interval`` (the generator's dataclass), inclusive 0-based frame
                indices into the frames that ``frames()`` yields; ``peak`` is 1.0 (each
                expression is scaled to its own apex: the datasets code no absolute
                intensity).

Intensity between annotated key frames is *linear in the frame index* (the papers'
"estimated intensity" needs a model; the annotations only give key frames), with the
generator's end conventions so that every frame of an interval is > 0:

    onset part   k in [onset, apex):      (k - onset + 1) / (apex - onset + 1)
    apex part    k in [apex, apex_end]:   1
    offset part  k in (apex_end, offset]: 1 - (k - apex_end) / (offset - apex_end + 1)

Differences from generated sequences, on purpose:
- Posed sequences that stop at the apex (CK+, Oulu-CASIA) have ``apex_end == offset ==
  T - 1``: no offset phase is observed. Their first frame is the neutral face
  (intensity 0, label neutral), so onset = 1 and intensity[t] = t / (T - 1).
- Long-video annotations (CAS(ME)^2) may overlap (a micro expression inside a macro
  one). ``intervals`` keeps every annotated interval; in the per-frame arrays a frame
  covered by several takes the interval with the highest intensity there (the earlier
  one on a tie). ``validate`` checks this rule.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_ros.learn.intervals import Interval
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, PHASES

from .files import _bgr, norm, read_image

log = logging.getLogger(__name__)

OTHER = -1  # label of frames inside an expression whose class is not in CLASS_NAMES

ONSET, APEX, OFFSET = PHASES.index("onset"), PHASES.index("apex"), PHASES.index("offset")

# ----------------------------------------------------------------------------- labels

# Emotion words the datasets use (normalised: lower case, letters only) -> CLASS_NAMES.
EMOTION_WORDS: dict[str, str] = {
    "neutral": "neutral",
    "anger": "angry",
    "angry": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "disgusting": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "afraid": "fear",
    "happiness": "happy",
    "happy": "happy",
    "joy": "happy",
    "sadness": "sad",
    "sad": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
    "astonishment": "surprise",
}


class LabelMapper:
    """Raw dataset emotion -> CLASS_NAMES index, OTHER, or None (skip), counting skips.

    ``emotion_map`` adds or overrides entries: raw label (any case/spacing) -> a class
    name, ``"others"`` (keep as OTHER) or ``None`` (skip).
    """

    def __init__(self, keep_others: bool = False, emotion_map: dict | None = None):
        self.keep_others = keep_others
        self.extra = {norm(k): v for k, v in (emotion_map or {}).items()}
        for raw, target in self.extra.items():
            if target is not None and target != "others" and target not in CLASS_NAMES:
                raise ValueError(f"emotion_map: {raw!r} -> {target!r} is not one of {CLASS_NAMES} or 'others' or None")

    def __call__(self, raw, skipped: Counter | None = None, force_keep: bool = False):
        key = norm(raw)
        if key in self.extra:
            target = self.extra[key]
        else:
            target = EMOTION_WORDS.get(key, "others")
        if target in CLASS_NAMES:
            return CLASS_NAMES.index(target)
        if target == "others" and (self.keep_others or force_keep):
            return OTHER
        if skipped is not None:
            skipped[f"class {str(raw).strip().lower() or '(empty)'}"] += 1
        return None


# ----------------------------------------------------------------------------- record


@dataclass(eq=False)
class LabelledVideo:
    """One sequence or long video with per-frame ground truth; frames load lazily.

    Exactly one of ``frame_paths`` (sorted image files) and ``video_path`` is set.
    ``frame_numbers`` are the dataset's own numbers of the frames (from the file names,
    or 1-based positions in a video): annotations are written in them, our indices are
    positions 0..T-1.
    """

    dataset: str
    name: str
    subject: str  # person id: the unit of subject-independent splits
    fps: float
    label: np.ndarray  # (T,) int64
    intensity: np.ndarray  # (T,) float32
    phase: np.ndarray  # (T,) int64
    intervals: list[Interval]
    aligned: bool = False  # frames are already face crops
    intensity_known: bool = True  # False: the labels give no intensity (not scored)
    frame_paths: list[Path] | None = None
    video_path: Path | None = None
    frame_numbers: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        if (self.frame_paths is None) == (self.video_path is None):
            raise ValueError(f"{self.name}: give exactly one of frame_paths and video_path")
        n = len(self.label)
        if not (len(self.intensity) == len(self.phase) == n):
            raise ValueError(f"{self.name}: label/intensity/phase lengths differ")
        if self.frame_paths is not None and len(self.frame_paths) != n:
            raise ValueError(f"{self.name}: {len(self.frame_paths)} frames but {n} labels")

    def __len__(self) -> int:
        return len(self.label)

    @property
    def source(self) -> str:
        return str(self.video_path if self.video_path is not None else Path(self.frame_paths[0]).parent)

    @property
    def scored(self) -> np.ndarray:
        """(T,) bool: frames whose class counts for accuracy (not OTHER)."""
        return self.label >= 0

    def frames(self, start: int = 0, stop: int | None = None) -> Iterator[np.ndarray]:
        """BGR uint8 (H, W, 3) frames start..stop-1, read one at a time."""
        stop = len(self) if stop is None else min(int(stop), len(self))
        if self.frame_paths is not None:
            for path in self.frame_paths[start:stop]:
                yield read_image(path)
            return
        cap = cv2.VideoCapture(str(self.video_path))
        if not cap.isOpened():
            raise ValueError(f"{self.video_path}: cannot open video")
        try:
            k = 0
            while k < stop:
                ok, img = cap.read()  # decode in order (seeking is inexact for many codecs)
                if not ok:
                    log.warning("%s: video ended after %d frames, %d expected", self.video_path, k, len(self))
                    return
                if k >= start:
                    yield _bgr(img)
                k += 1
        finally:
            cap.release()


class VideoList(list):
    """A list of LabelledVideo that also says what was skipped and why."""

    def __init__(
        self,
        videos: Iterable[LabelledVideo] = (),
        dataset: str = "",
        root: str = "",
        skipped: Counter | None = None,
        notes: Counter | None = None,
    ):
        super().__init__(videos)
        self.dataset = dataset
        self.root = root
        self.skipped: Counter = skipped if skipped is not None else Counter()  # reason -> count
        self.notes: Counter = notes if notes is not None else Counter()  # kept, but worth knowing

    def summary(self) -> str:
        subjects = len({v.subject for v in self})
        frames = sum(len(v) for v in self)
        n_iv = sum(len(v.intervals) for v in self)
        text = (
            f"{self.dataset}: {len(self)} videos, {subjects} subjects, {frames} frames, "
            f"{n_iv} intervals from {self.root}"
        )
        if self.skipped:
            text += "; skipped: " + ", ".join(f"{k} x{n}" for k, n in sorted(self.skipped.items()))
        if self.notes:
            text += "; notes: " + ", ".join(f"{k} x{n}" for k, n in sorted(self.notes.items()))
        return text


# ----------------------------------------------------------------------------- dense labels


@dataclass
class Span:
    """One annotated expression in 0-based positions (before clamping)."""

    onset: int
    apex: int
    apex_end: int
    offset: int
    label: int
    micro: bool = False


def ramp(span: Span) -> np.ndarray:
    """Intensity of frames span.onset..span.offset (see the module docstring)."""
    o, a, a1, f = span.onset, span.apex, span.apex_end, span.offset
    k = np.arange(o, f + 1, dtype=np.float64)
    out = np.ones_like(k)
    rise = k < a
    out[rise] = (k[rise] - o + 1) / (a - o + 1)
    fall = k > a1
    out[fall] = 1 - (k[fall] - a1) / (f - a1 + 1)
    return out.astype(np.float32)


def clamp_span(span: Span, length: int) -> Span | None:
    """Clip to [0, length-1] and order onset <= apex <= apex_end <= offset; None if outside."""
    if length <= 0 or span.offset < 0 or span.onset > length - 1 or span.offset < span.onset:
        return None
    o = max(0, span.onset)
    f = min(length - 1, span.offset)
    a = min(max(span.apex, o), f)
    a1 = min(max(span.apex_end, a), f)
    return Span(o, a, a1, f, span.label, span.micro)


def dense_labels(length: int, spans: list[Span]):
    """(label, intensity, phase, intervals) of a video of ``length`` frames."""
    label = np.full(length, NEUTRAL, np.int64)
    inten = np.zeros(length, np.float32)
    phase = np.zeros(length, np.int64)
    intervals = []
    for span in spans:
        s = clamp_span(span, length)
        if s is None:
            continue
        idx = np.arange(s.onset, s.offset + 1)
        val = ramp(s)
        win = val > inten[idx]
        ph = np.where(idx < s.apex, ONSET, np.where(idx <= s.apex_end, APEX, OFFSET))
        label[idx[win]] = s.label
        inten[idx[win]] = val[win]
        phase[idx[win]] = ph[win]
        intervals.append(
            Interval(int(s.onset), int(s.apex), int(s.apex_end), int(s.offset), int(s.label), 1.0, bool(s.micro))
        )
    return label, inten, phase, intervals


def posed_spans(length: int, label: int, apex: int | None = None) -> list[Span]:
    """Neutral first frame -> apex (default: the last frame), held to the end."""
    if label == NEUTRAL:
        return []
    apex = length - 1 if apex is None else apex
    return [Span(1, apex, length - 1, length - 1, label, False)]


def validate(video: LabelledVideo) -> None:
    """Raise AssertionError when the per-frame arrays and the intervals disagree."""
    T = len(video)
    best = np.zeros(T, np.float32)
    owner = np.full(T, -1)
    for n, iv in enumerate(video.intervals):
        assert 0 <= iv.onset <= iv.apex <= iv.apex_end <= iv.offset < T, iv
        s = Span(iv.onset, iv.apex, iv.apex_end, iv.offset, iv.label, iv.micro)
        val = ramp(s)
        assert (val > 0).all() and np.isclose(val[iv.apex - iv.onset : iv.apex_end - iv.onset + 1], 1).all()
        idx = np.arange(iv.onset, iv.offset + 1)
        win = val > best[idx]
        best[idx[win]] = val[win]
        owner[idx[win]] = n
    inside = owner >= 0
    assert (video.intensity[~inside] == 0).all()
    assert (video.label[~inside] == NEUTRAL).all()
    assert (video.phase[~inside] == PHASES.index("neutral")).all()
    assert np.allclose(video.intensity, best, atol=1e-6)
    for t in np.flatnonzero(inside):
        iv = video.intervals[owner[t]]
        assert video.label[t] == iv.label, (t, iv)
        want = ONSET if t < iv.apex else APEX if t <= iv.apex_end else OFFSET
        assert video.phase[t] == want, (t, iv)
