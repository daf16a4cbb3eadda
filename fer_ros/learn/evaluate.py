"""`fer-ros eval`: the recurrent model and the frame-wise baseline on a held-out set, side by side.

Every video is run through the STREAMING engine frame by frame, exactly as the ROS node
runs a camera: ``Engine.process(frame, stamp)`` with ``stamp = index / fps``, then
``Engine.finish()`` at the end of the video (it closes open intervals). One engine per
model, reused across videos (``finish()`` forgets every face between videos). The two
models see the same decoded frames.

Per frame, the prediction for the video's subject is the face the engine returned for
it: the face whose box centre is nearest to the animated face's known centre (generated
sequences, within 0.3 of the box side), otherwise the largest box. A frame where the
subject has no face counts as predicted "neutral" with intensity 0 (and is counted in
``frames_without_face``). Spotted intervals are the engine's "ended" events (onset /
offset frame indices, inclusive) of the face ids that were the subject in some frame;
faces of other people in the frame are not scored.

Ground truth (both models scored against the same arrays):
- intervals (onset, offset, class) of the dataset / generator: spotting and the
  on-the-fly accuracy (``metrics``: MEGC IoU >= 0.5 pooled over videos; accuracy at
  10/25/50/75/100 % of each expression seen);
- per-frame class for frame accuracy and the confusion matrix, the rule of training
  (``train.frame_truth``): the expression's class where its intensity >= 0.5, else the
  rest class: the base face's own ``rest_label`` for generated sequences (-1, unknown:
  not scored), neutral for real datasets; frames of an expression outside CLASS_NAMES
  (OTHER) are not scored;
- per-frame intensity (0..1) for the intensity MAE: every frame of a generated sequence;
  the ``scored`` frames of a real dataset.

The baseline is ``EngineConfig(model="baseline")`` with every other setting equal: the
appearance CNN's softmax per frame, its intensity and activity 1 - P(neutral), spotted
by the same online spotter.

Streaming == batch: an ``Engine(keep_features=True)`` returns what it fed the models.
For the recurrent model the evaluation re-runs ``ExpressionModel.forward`` over each
face's whole feature sequence at once (``Engine.batch_outputs``) and reports the largest
difference from the streamed class probabilities (``streaming_vs_batch`` in the report).

The generated test set (``--dataset generated``) is learn.generated.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_ros.engine import Engine, EngineConfig
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, NUM_CLASSES

from . import metrics
from .report import format_table, plot_confusion, plot_on_the_fly

log = logging.getLogger("fer_ros.learn.evaluate")

IOU = 0.5
MODEL_KEYS = ("model", "baseline")
SUBJECT_TOLERANCE = 0.3  # generated: the subject's box centre within this share of its side of the known centre


# ----------------------------------------------------------------------------- videos


@dataclass
class EvalVideo:
    """One video with ground truth, frames produced on demand."""

    name: str
    subject: str
    fps: float
    frames: Callable[[], Iterable[np.ndarray]]
    intervals: list[tuple[int, int, int, bool, int]]  # onset, offset (inclusive), class (-1 OTHER), micro, apex
    truth: np.ndarray  # (T,) class per frame for frame accuracy / confusion; -1 not scored
    intensity: np.ndarray  # (T,) 0..1
    intensity_scored: np.ndarray  # (T,) bool
    face_center: np.ndarray | None = None  # (T, 2) pixels: where the subject's face is (generated)
    aligned: bool = False
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.truth)


def dominant_truth(label: np.ndarray, intensity: np.ndarray, rest: int = NEUTRAL) -> np.ndarray:
    """Per-frame class truth: the expression's class where intensity >= 0.5, else ``rest``.

    Frames labelled OTHER (< 0) stay -1 (not scored) whatever their intensity.
    """
    label = np.asarray(label, np.int64)
    out = np.where(np.asarray(intensity) >= 0.5, label, rest).astype(np.int64)
    out[label < 0] = -1
    return out


def _interval_rows(intervals) -> list[tuple[int, int, int, bool, int]]:
    return [
        (
            int(iv.onset),
            int(iv.offset),
            int(iv.label),
            bool(getattr(iv, "micro", False)),
            int(getattr(iv, "apex", iv.offset)),
        )
        for iv in intervals
    ]


def from_sequence(seq, name: str) -> EvalVideo:
    """A generated ``synth.Sequence`` (frames in memory)."""
    frames = seq.frames
    return EvalVideo(
        name=name,
        subject=seq.person,
        fps=30.0,
        frames=lambda: iter(frames),
        intervals=_interval_rows(seq.intervals),
        truth=dominant_truth(seq.label, seq.intensity, seq.rest_label),
        intensity=np.asarray(seq.intensity, np.float32),
        intensity_scored=np.ones(len(seq.label), bool),
        face_center=np.asarray(seq.face_center, np.float32),
        meta={"identity": seq.identity, "rest_label": int(seq.rest_label), **seq.meta},
    )


def from_labelled(video) -> EvalVideo:
    """A dataset ``LabelledVideo`` (frames read lazily from disk)."""
    return EvalVideo(
        name=f"{video.dataset}:{video.name}",
        subject=str(video.subject),
        fps=float(video.fps),
        frames=video.frames,
        intervals=_interval_rows(video.intervals),
        truth=dominant_truth(video.label, video.intensity, NEUTRAL),
        intensity=np.asarray(video.intensity, np.float32),
        intensity_scored=np.asarray(video.scored, bool) & bool(video.intensity_known),
        aligned=bool(video.aligned),
        meta={"source": video.source},
    )


def as_eval_video(v, k: int = 0) -> EvalVideo:
    if isinstance(v, EvalVideo):
        return v
    if hasattr(v, "face_center") and hasattr(v, "rest_label"):
        return from_sequence(v, f"generated:{k:04d}:{v.identity}")
    if hasattr(v, "scored") and hasattr(v, "dataset"):
        return from_labelled(v)
    raise TypeError(f"cannot evaluate a {type(v).__name__}")


def subject_face(faces, centre=None):
    """The face scored for the video's subject (see the module docstring); None when none."""
    if not faces:
        return None
    if centre is None:
        return max(faces, key=lambda f: float(f.box[2] * f.box[3]))

    def dist(f):
        return float(np.hypot(f.box[0] + f.box[2] / 2 - centre[0], f.box[1] + f.box[3] / 2 - centre[1]))

    best = min(faces, key=dist)
    return best if dist(best) <= SUBJECT_TOLERANCE * float(max(best.box[2], best.box[3])) else None


@dataclass
class VideoRun:
    """One model on one video."""

    labels: np.ndarray  # (T,) predicted class of the subject (neutral without a face)
    probs: np.ndarray  # (T, 7)
    intensity: np.ndarray  # (T,)
    activity: np.ndarray  # (T,)
    found: np.ndarray  # (T,) bool: the subject had a face
    spotted: list[tuple[int, int, int]]  # (onset, offset, class) of the subject's ended intervals
    other_intervals: int  # ended intervals of faces that never were the subject (not scored)
    faces_seen: int  # distinct face ids in the video
    batch_diff: dict | None  # streaming vs batch, recurrent only
    seconds: float


class ModelRunner:
    """One model's streaming engines, reused over videos (finished between them, as a camera that
    restarts): one engine for full frames and one for aligned crops, made when first needed."""

    def __init__(self, cfg: EngineConfig, check_batch: bool = True):
        self.cfg = cfg
        self.check_batch = check_batch and cfg.model == "recurrent"
        self._engines: dict[bool, Engine] = {}
        self.engine = self._engine(cfg.aligned)

    def _engine(self, aligned: bool) -> Engine:
        if aligned not in self._engines:
            self._engines[aligned] = Engine(
                dataclasses.replace(self.cfg, aligned=aligned), keep_features=self.check_batch
            )
        return self._engines[aligned]

    def describe(self) -> dict:
        return {"engine": dataclasses.asdict(self.cfg), **self.engine.describe()}

    def close(self) -> None:
        for engine in self._engines.values():
            engine.close()

    def start(self, video: EvalVideo) -> None:
        T = len(video)
        self.video = video
        self.engine = self._engine(video.aligned or self.cfg.aligned)
        self.base: int | None = None  # engine frame number of this video's frame 0
        self.labels = np.full(T, NEUTRAL, np.int64)
        self.probs = np.zeros((T, NUM_CLASSES), np.float32)
        self.probs[:, NEUTRAL] = 1.0
        self.intensity = np.zeros(T, np.float32)
        self.activity = np.zeros(T, np.float32)
        self.found = np.zeros(T, bool)
        self.subject_ids: set[int] = set()
        self.all_ids: set[int] = set()
        self.ended = []
        self.features = defaultdict(list)  # face id -> [(appearance row, geometry row, streamed probs, inten, act)]
        self.seconds = 0.0

    def frame(self, k: int, image: np.ndarray) -> None:
        t0 = time.perf_counter()
        result = self.engine.process(image, k / self.video.fps)
        self.seconds += time.perf_counter() - t0
        if self.base is None:
            self.base = result.frame - k
        self.ended += [ev for ev in result.events if ev.status == "ended"]
        if k >= len(self.labels):
            return  # more frames than labels: a reader's count was short (logged by the caller)
        self.all_ids.update(f.id for f in result.faces)
        centre = self.video.face_center[k] if self.video.face_center is not None else None
        face = subject_face(result.faces, centre)
        if face is not None:
            self.subject_ids.add(face.id)
            self.labels[k] = CLASS_NAMES.index(face.label)
            self.probs[k] = face.scores
            self.intensity[k] = face.intensity
            self.activity[k] = face.activity
            self.found[k] = True
        if self.check_batch and result.features is not None:
            for j, f in enumerate(result.faces):
                self.features[f.id].append(
                    (result.features.appearance[j], result.features.geometry[j], f.scores, f.intensity, f.activity)
                )

    def finish(self) -> VideoRun:
        t0 = time.perf_counter()
        self.ended += [ev for ev in self.engine.finish() if ev.status == "ended"]
        self.seconds += time.perf_counter() - t0
        spotted, others = [], 0
        base = self.base or 0
        for ev in self.ended:
            if ev.face_id in self.subject_ids:
                spotted.append((ev.onset - base, ev.offset - base, CLASS_NAMES.index(ev.label)))
            else:
                others += 1
        return VideoRun(
            self.labels,
            self.probs,
            self.intensity,
            self.activity,
            self.found,
            sorted(spotted),
            others,
            len(self.all_ids),
            self._batch_diff(),
            self.seconds,
        )

    def _batch_diff(self) -> dict | None:
        if not self.check_batch:
            return None
        diff = {"probs": 0.0, "intensity": 0.0, "activity": 0.0, "faces": 0, "frames": 0}
        for rows in self.features.values():
            app, geo, probs, inten, act = (np.stack([np.asarray(r[i]) for r in rows]) for i in range(5))
            out = self.engine.batch_outputs(app, geo)
            diff["probs"] = max(diff["probs"], float(np.abs(out["probs"] - probs).max()))
            diff["intensity"] = max(diff["intensity"], float(np.abs(out["intensity"] - inten).max()))
            diff["activity"] = max(diff["activity"], float(np.abs(out["activity"] - act).max()))
            diff["faces"] += 1
            diff["frames"] += len(rows)
        return diff


# ----------------------------------------------------------------------------- scoring


def _num(x):
    """JSON number: NaN (undefined) -> null."""
    if x is None:
        return None
    x = float(x)
    return None if math.isnan(x) else x


def score(videos: list[EvalVideo], runs: list[VideoRun], fractions=metrics.FRACTIONS, iou: float = IOU) -> dict:
    """Every metric of one model over all videos (pooled)."""
    labels, ivs = metrics.concat_timelines([r.labels for r in runs], [v.intervals for v in videos])
    flat = [iv for v in videos for iv in v.intervals]  # same order as ivs, with the micro flag
    micro = [iv for iv, orig in zip(ivs, flat) if orig[3]]
    macro = [iv for iv, orig in zip(ivs, flat) if not orig[3]]
    acc = metrics.accuracy_at(labels, ivs, fractions)
    # The same curve over onset -> apex (the protocol of seed 000's posed sequences, which end
    # at the apex; on CK+ / Oulu-CASIA apex == offset and both curves are the same).
    _, to_apex = metrics.concat_timelines(
        [r.labels for r in runs], [[(iv[0], iv[4], iv[2]) for iv in v.intervals] for v in videos]
    )
    acc_apex = metrics.accuracy_at(labels, to_apex, fractions)
    counts = [metrics.spotting_counts(r.spotted, [iv[:3] for iv in v.intervals], iou) for v, r in zip(videos, runs)]
    spot = metrics.pooled_prf(counts)
    # Class of the spotted intervals that matched a true one.
    cls_ok = cls_n = 0
    for v, r in zip(videos, runs):
        for i, j in metrics.match_intervals(r.spotted, [iv[:3] for iv in v.intervals], iou):
            if v.intervals[j][2] >= 0:
                cls_n += 1
                cls_ok += int(r.spotted[i][2] == v.intervals[j][2])
    truth = np.concatenate([v.truth for v in videos])
    expressive = np.concatenate([v.intensity for v in videos]) >= 0.5
    inten_true = np.concatenate([v.intensity for v in videos])
    inten_scored = np.concatenate([v.intensity_scored for v in videos])
    found = np.concatenate([r.found for r in runs])
    inten_pred = np.concatenate([r.intensity for r in runs])
    cm = metrics.confusion_matrix(truth, labels, NUM_CLASSES)
    seconds = sum(r.seconds for r in runs)
    frames = int(len(truth))
    flips = [metrics.label_flips(r.labels, r.found) for r in runs]
    out = {
        "accuracy_at": {str(p): _num(a) for p, a in acc.items()},
        "accuracy_at_onset_to_apex": {str(p): _num(a) for p, a in acc_apex.items()},
        "spotting": {
            "precision": spot["precision"],
            "recall": spot["recall"],
            "f1": spot["f1"],
            "tp": spot["tp"],
            "n_pred": spot["n_pred"],
            "n_true": spot["n_true"],
            "iou": iou,
            "label_accuracy_of_matched": _num(cls_ok / cls_n if cls_n else float("nan")),
        },
        "intensity_mae": _num(metrics.intensity_mae(inten_pred, inten_true, inten_scored)),
        "frame_accuracy": _num(metrics.frame_accuracy(truth, labels)),
        # How often the subject's label changes between consecutive frames, per second of face seen.
        "label_flips_per_s": _num(metrics.flips_per_second(flips, [v.fps for v in videos])),
        "label_flips": int(sum(f for f, _ in flips)),
        # Frames whose truth is the expression (intensity >= 0.5) vs the rest class. On generated
        # sequences the rest class of a non-neutral base IS the frame-wise CNN's answer on it
        # (synth.REST_RULE), so frame_accuracy_rest favours the baseline by construction.
        "frame_accuracy_expression": _num(metrics.frame_accuracy(np.where(expressive, truth, -1), labels)),
        "frame_accuracy_rest": _num(metrics.frame_accuracy(np.where(expressive, -1, truth), labels)),
        "confusion_matrix": cm.tolist(),
        "intervals_scored": int(sum(1 for iv in ivs if iv[2] >= 0)),
        "videos": len(videos),
        "frames": frames,
        "frames_scored": int((truth >= 0).sum()),
        "intensity_frames_scored": int(inten_scored.sum()),
        "frames_without_face": int((~found).sum()),
        "other_faces_intervals": int(sum(r.other_intervals for r in runs)),
        "engine_seconds": round(seconds, 2),
        "ms_per_frame": round(1000 * seconds / max(frames, 1), 2),
    }
    if micro:
        out["accuracy_at_micro"] = {str(p): _num(a) for p, a in metrics.accuracy_at(labels, micro, fractions).items()}
        out["accuracy_at_macro"] = {str(p): _num(a) for p, a in metrics.accuracy_at(labels, macro, fractions).items()}
    diffs = [r.batch_diff for r in runs if r.batch_diff is not None]
    if diffs:
        out["streaming_vs_batch"] = {
            "max_abs_diff_probs": max(d["probs"] for d in diffs),
            "max_abs_diff_intensity": max(d["intensity"] for d in diffs),
            "max_abs_diff_activity": max(d["activity"] for d in diffs),
            "faces": sum(d["faces"] for d in diffs),
            "frames": sum(d["frames"] for d in diffs),
            "rule": "ExpressionModel.forward over each face's whole feature sequence vs the engine's streamed "
            "per-frame class probabilities",
        }
    return out


# ----------------------------------------------------------------------------- evaluate


def evaluate(
    videos: Iterable,
    engine_cfg: EngineConfig | None,
    out_dir,
    dataset: dict | None = None,
    total: int | None = None,
    progress: bool = True,
    check_batch: bool = True,
    plots: bool = True,
    quiet: bool = False,
) -> dict:
    """Run both models over ``videos`` (EvalVideo, LabelledVideo or synth.Sequence) and write the report.

    ``engine_cfg`` sets the engine for both (its ``model`` must be "recurrent"; the
    baseline is the same config with model="baseline"). Writes ``out_dir/report.json``
    (``{"model": {...}, "baseline": {...}}``), ``out_dir/videos.jsonl`` (per video and
    model: spotted and true intervals, counts), ``on_the_fly.png`` and ``confusion.png``;
    prints the table unless ``quiet``. Returns the report.
    """
    from tqdm import tqdm

    cfg = dataclasses.replace(engine_cfg) if engine_cfg is not None else EngineConfig()
    if cfg.model != "recurrent":
        raise ValueError(
            "evaluation compares the recurrent model with the frame-wise baseline; "
            f"engine model must be 'recurrent' (got {cfg.model!r})"
        )
    cfg.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if total is None and hasattr(videos, "__len__"):
        total = len(videos)
    runners = {
        "model": ModelRunner(cfg, check_batch),
        "baseline": ModelRunner(dataclasses.replace(cfg, model="baseline"), False),
    }
    evs: list[EvalVideo] = []
    runs = {key: [] for key in MODEL_KEYS}
    t0 = time.perf_counter()
    bar = tqdm(total=total, unit="video", desc="eval", disable=not progress, dynamic_ncols=True)
    try:
        with open(out_dir / "videos.jsonl", "w") as rows:
            for k, raw in enumerate(videos):
                video = as_eval_video(raw, k)
                for runner in runners.values():
                    runner.start(video)
                n = 0
                for n, image in enumerate(video.frames(), start=1):
                    for runner in runners.values():
                        runner.frame(n - 1, image)
                    if progress and n % 25 == 0:
                        bar.set_postfix_str(f"{video.name[:40]} frame {n}/{len(video)}")
                if n != len(video):
                    log.warning(
                        "%s: %d frames read, %d labelled; missing frames count as no face", video.name, n, len(video)
                    )
                for key, runner in runners.items():
                    runs[key].append(runner.finish())
                evs.append(dataclasses.replace(video, frames=lambda: iter(())))  # frames released
                rows.write(
                    json.dumps(
                        {
                            "video": video.name,
                            "subject": video.subject,
                            "frames": len(video),
                            "true_intervals": [list(iv[:3]) for iv in video.intervals],
                            **{
                                key: {
                                    "spotted": [list(s) for s in runs[key][-1].spotted],
                                    "counts": list(
                                        metrics.spotting_counts(
                                            runs[key][-1].spotted, [iv[:3] for iv in video.intervals], IOU
                                        )
                                    ),
                                    "frames_without_face": int((~runs[key][-1].found).sum()),
                                    "faces_seen": runs[key][-1].faces_seen,
                                }
                                for key in MODEL_KEYS
                            },
                        }
                    )
                    + "\n"
                )
                rows.flush()
                bar.update(1)
    finally:
        bar.close()
        for runner in runners.values():
            runner.close()
    if not evs:
        raise ValueError("no video to evaluate")
    report = {}
    for key in MODEL_KEYS:
        report[key] = {
            **score(evs, runs[key]),
            **runners[key].describe(),
            "dataset": dataset or {},
            "class_names": list(CLASS_NAMES),
            "rules": RULES,
        }
    report["model"]["wall_seconds"] = report["baseline"]["wall_seconds"] = round(time.perf_counter() - t0, 1)
    with open(out_dir / "report.json", "w") as f:
        json.dump(report, f, indent=1, allow_nan=False)
    if plots:
        plot_on_the_fly(report, out_dir / "on_the_fly.png")
        plot_confusion(report, out_dir / "confusion.png")
    if not quiet:
        print(format_table(report))
    return report


RULES = {
    "spotting": "MEGC: inclusive frame indices, IoU = overlap / union in frames >= 0.5, one-to-one (largest "
    "matching), TP / predictions / truths pooled over all videos; undefined precision, recall or "
    "F1 reported as 0",
    "accuracy_at": "per true interval (onset, offset, class >= 0): predicted class at frame onset + "
    "floor(p * (offset - onset) + 0.5) == interval class; pooled over videos. p = 1 is the "
    "offset frame, where the expression has faded out (last frame with intensity > 0)",
    "accuracy_at_onset_to_apex": "the same with the apex frame in place of the offset (p = 1: the apex)",
    "frame_truth": "class where intensity >= 0.5, else the rest class (generated: the base's rest_label, -1 "
    "unknown not scored; real: neutral); OTHER not scored",
    "intensity_mae": "mean |predicted - true intensity| over scored frames (generated: all frames; real: "
    "the dataset's scored frames); no face = intensity 0",
    "subject": "generated: face nearest the animated face's known centre; real: largest box; no face = "
    "predicted neutral, intensity 0",
    "null": "a value that is undefined (no interval or frame scored) is null",
}
