"""`fer-ros eval`: the recurrent model and the frame-wise baseline on a held-out set, side by side.

Every video is run through the STREAMING engine frame by frame, exactly as the ROS node
runs a camera: ``Engine.process(frame, stamp)`` with ``stamp = index / fps``, then
``Engine.close()`` at the end of the video (it closes open intervals). One engine per
model, reused across videos (``close()`` forgets every face between videos). The two
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
mini-Xception's softmax per frame, its intensity and activity 1 - P(neutral), spotted
by the same online spotter.

Streaming == batch: the engine exposes what it fed the models (``Engine.last_features``).
For the recurrent model the evaluation re-runs ``ExpressionModel.forward`` over each
face's whole feature sequence at once (``batch_outputs``) and reports the largest
difference from the streamed class probabilities (``streaming_vs_batch`` in the report).

Held-out generated set (``--dataset generated``): ``synth`` sequences of the HELD-OUT
identities only (``synth.IDENTITY_SOURCES["heldout"]``: people never used in training),
sequence i drawn with ``np.random.default_rng([seed, EVAL_STREAM, i])`` from the base
``i % len(bases)``. ``fer_ros.learn.sequences`` draws training sequences with stream 0 and the
validation (model selection) sequences with stream 1, so these are neither.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from fer_ros.engine.config import EngineConfig
from fer_ros.model.classes import CLASS_NAMES, NEUTRAL, NUM_CLASSES

from . import metrics

log = logging.getLogger("fer_ros.learn.evaluate")

EVAL_STREAM = 2  # rng stream of evaluation sequences (dataset.py: 0 train, 1 validation)
GENERATED_SYNTH = {"min_len": 40, "max_len": 120}  # sequence lengths as config/train_default.yaml
CACHE_DIR = Path(__file__).resolve().parents[2] / ".cache" / "eval"  # held-out bases, found once
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
    truth: np.ndarray             # (T,) class per frame for frame accuracy / confusion; -1 not scored
    intensity: np.ndarray         # (T,) 0..1
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
    return [(int(iv.onset), int(iv.offset), int(iv.label), bool(getattr(iv, "micro", False)),
             int(getattr(iv, "apex", iv.offset))) for iv in intervals]


def from_sequence(seq, name: str) -> EvalVideo:
    """A generated ``synth.Sequence`` (frames in memory)."""
    frames = seq.frames
    return EvalVideo(
        name=name, subject=seq.person, fps=30.0, frames=lambda: iter(frames),
        intervals=_interval_rows(seq.intervals), truth=dominant_truth(seq.label, seq.intensity, seq.rest_label),
        intensity=np.asarray(seq.intensity, np.float32), intensity_scored=np.ones(len(seq.label), bool),
        face_center=np.asarray(seq.face_center, np.float32),
        meta={"identity": seq.identity, "rest_label": int(seq.rest_label), **seq.meta})


def from_labelled(video) -> EvalVideo:
    """A dataset ``LabelledVideo`` (frames read lazily from disk)."""
    return EvalVideo(
        name=f"{video.dataset}:{video.name}", subject=str(video.subject), fps=float(video.fps),
        frames=video.frames, intervals=_interval_rows(video.intervals),
        truth=dominant_truth(video.label, video.intensity, NEUTRAL),
        intensity=np.asarray(video.intensity, np.float32), intensity_scored=np.asarray(video.scored, bool) & bool(video.intensity_known),
        aligned=bool(video.aligned), meta={"source": video.source})


def as_eval_video(v, k: int = 0) -> EvalVideo:
    if isinstance(v, EvalVideo):
        return v
    if hasattr(v, "face_center") and hasattr(v, "rest_label"):
        return from_sequence(v, f"generated:{k:04d}:{v.identity}")
    if hasattr(v, "scored") and hasattr(v, "dataset"):
        return from_labelled(v)
    raise TypeError(f"cannot evaluate a {type(v).__name__}")


# ----------------------------------------------------------------------------- generated set

def _file_key(paths) -> list:
    out = []
    for p in paths:
        p = Path(p)
        out.append([p.name, p.stat().st_size, int(p.stat().st_mtime)] if p.exists() else [p.name, None])
    return out


def heldout_identities(media=None, cache_dir: str | Path | None = CACHE_DIR):
    """The held-out base faces (``synth.load_identities(splits=("heldout",))``), cached on disk.

    Finding the bases runs MediaPipe over the held-out clip (tens of seconds on 2 cores);
    the result is kept in ``cache_dir`` as an .npz (no pickle) keyed by the source files
    and the code that shapes it. ``cache_dir=None``: no cache.
    """
    from fer_ros.io.media import media_dir
    from fer_ros.model.mini_xception import DEFAULT_WEIGHTS

    from . import synth

    media = Path(media) if media else media_dir()
    import fer_ros.engine.align
    import fer_ros.engine.features
    import fer_ros.engine.landmarks
    import fer_ros.model.mini_xception
    sources = [media / f for f, _ in synth.IDENTITY_SOURCES["heldout"]]
    key_doc = json.dumps({
        "sources": _file_key(sources),
        "code": [hashlib.sha1(Path(m.__file__).read_bytes()).hexdigest()
                 for m in (synth, fer_ros.engine.align, fer_ros.engine.landmarks, fer_ros.engine.features,
                           fer_ros.model.mini_xception)],
        "cnn": _file_key([DEFAULT_WEIGHTS]), "media": str(media.resolve())}, sort_keys=True)
    key = hashlib.sha1(key_doc.encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"heldout_identities_{key}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path, allow_pickle=False) as z:
            info = json.loads(str(z["info"]))
            return [synth.Identity(name=d["name"], person=d["person"], split=d["split"], image=z[f"image{k}"],
                                   landmarks=z[f"landmarks{k}"], rest_probs=z[f"rest_probs{k}"],
                                   rest_label=int(d["rest_label"]), note=d["note"])
                    for k, d in enumerate(info)]
    if not any(p.exists() for p in sources):
        raise FileNotFoundError(f"held-out sample media not found in {media}; run `make media` "
                                f"(or `python -m fer_ros.io.media fetch`)")
    idents = synth.load_identities(media, splits=("heldout",))
    if not idents:
        raise RuntimeError(f"no held-out identity found in {media}")
    if path is not None:
        arrays = {}
        for k, x in enumerate(idents):
            arrays.update({f"image{k}": x.image, f"landmarks{k}": x.landmarks, f"rest_probs{k}": x.rest_probs})
        info = [{"name": x.name, "person": x.person, "split": x.split, "rest_label": int(x.rest_label),
                 "note": x.note} for x in idents]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez_compressed(tmp, info=np.array(json.dumps(info)), **arrays)
            tmp.replace(path)
        except OSError as e:
            log.warning("held-out bases not cached (%s)", e)
    return idents


def generated_videos(n: int, seed: int = 0, identities=None, media=None, synth_overrides: dict | None = None,
                     cache_dir: str | Path | None = CACHE_DIR) -> Iterator[EvalVideo]:
    """``n`` generated held-out sequences, made one at a time (see the module docstring)."""
    from . import synth

    idents = identities if identities is not None else heldout_identities(media, cache_dir)
    bad = [x.name for x in idents if x.split != "heldout"]
    if bad:
        raise ValueError(f"evaluation identities must be held-out ones; got training bases {bad}")
    cfg = synth.SynthConfig(**{**GENERATED_SYNTH, **(synth_overrides or {})})
    tools: dict[int, tuple] = {}
    for i in range(n):
        k = i % len(idents)
        with single_thread_blas():
            if k not in tools:
                tools[k] = (synth.FaceGeometry(idents[k].landmarks),
                            synth.Warper(idents[k].image, idents[k].landmarks))
            geo, warper = tools[k]
            seq = synth.generate_sequence(idents[k], np.random.default_rng([seed, EVAL_STREAM, i]), cfg=cfg,
                                          warper=warper, geometry=geo)
        yield from_sequence(seq, f"generated:{i:04d}:{seq.identity}")


def single_thread_blas():
    """Context: OpenBLAS (numpy's and scipy's) on one thread.

    The generator's warps run ~1000 tiny LAPACK calls per frame (scipy's Delaunay
    barycentric transforms). With OpenBLAS threads on a busy 2-core machine beside
    torch and MediaPipe, each call can wait for a time slice: measured 1.2 s per warp
    instead of 6 ms (a 2-sequence evaluation took 156 s instead of 14 s).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is in requirements.txt
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def generated_description(n: int, seed: int, identities, synth_overrides: dict | None = None) -> dict:
    from . import synth

    return {
        "name": "generated", "videos": n, "seed": seed, "rng": f"np.random.default_rng([{seed}, {EVAL_STREAM}, i])",
        "synth_config": dataclasses.asdict(synth.SynthConfig(**{**GENERATED_SYNTH, **(synth_overrides or {})})),
        "identities": [{"name": x.name, "person": x.person, "rest_label": int(x.rest_label)} for x in identities],
        "persons": sorted({x.person for x in identities}),
        "split": "heldout (people never used in training)", "sources": synth.IDENTITY_SOURCES["heldout"],
    }


# ----------------------------------------------------------------------------- batch path

def batch_outputs(model, appearance, geometry) -> dict[str, np.ndarray]:
    """``ExpressionModel.forward`` over one whole sequence at once.

    appearance (T, 135), geometry (T, G) (numpy or tensors: what the engine fed the model
    for one face, frame after frame) -> per-frame ``probs`` (T, 7), ``intensity`` (T,),
    ``activity`` (T,) as numpy.
    """
    import torch

    device = next(model.parameters()).device
    app = torch.as_tensor(np.asarray(appearance, np.float32) if not torch.is_tensor(appearance) else appearance,
                          dtype=torch.float32, device=device)[None]
    geo = torch.as_tensor(np.asarray(geometry, np.float32) if not torch.is_tensor(geometry) else geometry,
                          dtype=torch.float32, device=device)[None]
    with torch.inference_mode():
        out = model.eval()(app, geo)
    return {"probs": torch.softmax(out["logits"][0], -1).float().cpu().numpy(),
            "intensity": out["intensity"][0].float().cpu().numpy(),
            "activity": out["activity"][0].float().cpu().numpy()}


# ----------------------------------------------------------------------------- one model

def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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

    labels: np.ndarray     # (T,) predicted class of the subject (neutral without a face)
    probs: np.ndarray      # (T, 7)
    intensity: np.ndarray  # (T,)
    activity: np.ndarray   # (T,)
    found: np.ndarray      # (T,) bool: the subject had a face
    spotted: list[tuple[int, int, int]]  # (onset, offset, class) of the subject's ended intervals
    other_intervals: int   # ended intervals of faces that never were the subject (not scored)
    faces_seen: int        # distinct face ids in the video
    batch_diff: dict | None  # streaming vs batch, recurrent only
    seconds: float


class ModelRunner:
    """One streaming engine, reused over videos (closed between them, as a camera that restarts)."""

    def __init__(self, cfg: EngineConfig, check_batch: bool = True):
        from fer_ros.engine.engine import Engine

        self.cfg = cfg
        self.engine = Engine(cfg)
        self.check_batch = check_batch and cfg.model == "recurrent"

    def describe(self) -> dict:
        from fer_ros.model.mini_xception import DEFAULT_WEIGHTS

        cfg = dataclasses.asdict(self.cfg)
        out = {"engine": cfg, "cnn_weights": {"path": str(DEFAULT_WEIGHTS), "sha256": _sha256(DEFAULT_WEIGHTS)}}
        if self.cfg.model == "recurrent":
            path = self.engine.predictor.path
            out["weights"] = {"path": str(path), "sha256": _sha256(path),
                              "metadata": getattr(self.engine.predictor.model, "metadata", {})}
        else:
            out["weights"] = {"path": None, "note": "frame-wise baseline: the mini-Xception alone (cnn_weights)"}
        return out

    def close(self) -> None:
        self.engine.release()

    def start(self, video: EvalVideo) -> None:
        T = len(video)
        self.video = video
        self.base = self.engine.frame_index + 1  # engine frame index of this video's frame 0
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
        if self.check_batch and self.engine.last_features is not None:
            ids, app, geo = self.engine.last_features
            app = app.detach().float().cpu().numpy()
            for j, f in enumerate(result.faces):
                assert f.id == ids[j]
                self.features[f.id].append((app[j], geo[j], f.scores, f.intensity, f.activity))

    def finish(self) -> VideoRun:
        t0 = time.perf_counter()
        self.ended += [ev for ev in self.engine.close() if ev.status == "ended"]
        self.seconds += time.perf_counter() - t0
        spotted, others = [], 0
        for ev in self.ended:
            if ev.face_id in self.subject_ids:
                spotted.append((ev.onset - self.base, ev.offset - self.base, CLASS_NAMES.index(ev.label)))
            else:
                others += 1
        return VideoRun(self.labels, self.probs, self.intensity, self.activity, self.found, sorted(spotted), others,
                        len(self.all_ids), self._batch_diff(), self.seconds)

    def _batch_diff(self) -> dict | None:
        if not self.check_batch:
            return None
        model = self.engine.predictor.model
        diff = {"probs": 0.0, "intensity": 0.0, "activity": 0.0, "faces": 0, "frames": 0}
        for rows in self.features.values():
            app, geo, probs, inten, act = (np.stack([np.asarray(r[i]) for r in rows]) for i in range(5))
            out = batch_outputs(model, app, geo)
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
    _, to_apex = metrics.concat_timelines([r.labels for r in runs], [[(iv[0], iv[4], iv[2]) for iv in v.intervals]
                                                                      for v in videos])
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
    out = {
        "accuracy_at": {str(p): _num(a) for p, a in acc.items()},
        "accuracy_at_onset_to_apex": {str(p): _num(a) for p, a in acc_apex.items()},
        "spotting": {"precision": spot["precision"], "recall": spot["recall"], "f1": spot["f1"],
                     "tp": spot["tp"], "n_pred": spot["n_pred"], "n_true": spot["n_true"], "iou": iou,
                     "label_accuracy_of_matched": _num(cls_ok / cls_n if cls_n else float("nan"))},
        "intensity_mae": _num(metrics.intensity_mae(inten_pred, inten_true, inten_scored)),
        "frame_accuracy": _num(metrics.frame_accuracy(truth, labels)),
        # Frames whose truth is the expression (intensity >= 0.5) vs the rest class. On generated
        # sequences the rest class of a non-neutral base IS the frame-wise CNN's answer on it
        # (synth.REST_RULE), so frame_accuracy_rest favours the baseline by construction.
        "frame_accuracy_expression": _num(metrics.frame_accuracy(np.where(expressive, truth, -1), labels)),
        "frame_accuracy_rest": _num(metrics.frame_accuracy(np.where(expressive, -1, truth), labels)),
        "confusion_matrix": cm.tolist(),
        "intervals_scored": int(sum(1 for iv in ivs if iv[2] >= 0)),
        "videos": len(videos), "frames": frames, "frames_scored": int((truth >= 0).sum()),
        "intensity_frames_scored": int(inten_scored.sum()),
        "frames_without_face": int((~found).sum()),
        "other_faces_intervals": int(sum(r.other_intervals for r in runs)),
        "engine_seconds": round(seconds, 2), "ms_per_frame": round(1000 * seconds / max(frames, 1), 2),
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
            "faces": sum(d["faces"] for d in diffs), "frames": sum(d["frames"] for d in diffs),
            "rule": "ExpressionModel.forward over each face's whole feature sequence vs the engine's streamed "
                    "per-frame class probabilities"}
    return out


# ----------------------------------------------------------------------------- evaluate

def evaluate(videos: Iterable, engine_cfg: EngineConfig | None, out_dir, dataset: dict | None = None,
             total: int | None = None, progress: bool = True, check_batch: bool = True, plots: bool = True,
             quiet: bool = False) -> dict:
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
        raise ValueError("evaluation compares the recurrent model with the frame-wise baseline; "
                         f"engine model must be 'recurrent' (got {cfg.model!r})")
    cfg.validate()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if total is None and hasattr(videos, "__len__"):
        total = len(videos)
    runners = {"model": ModelRunner(cfg, check_batch),
               "baseline": ModelRunner(dataclasses.replace(cfg, model="baseline"), False)}
    evs: list[EvalVideo] = []
    runs = {key: [] for key in MODEL_KEYS}
    t0 = time.perf_counter()
    bar = tqdm(total=total, unit="video", desc="eval", disable=not progress, dynamic_ncols=True)
    try:
        with open(out_dir / "videos.jsonl", "w") as rows:
            for k, raw in enumerate(videos):
                video = as_eval_video(raw, k)
                for key, runner in runners.items():
                    runner.engine.cfg.aligned = video.aligned or cfg.aligned
                    runner.start(video)
                n = 0
                for n, image in enumerate(video.frames(), start=1):
                    for runner in runners.values():
                        runner.frame(n - 1, image)
                    if progress and n % 25 == 0:
                        bar.set_postfix_str(f"{video.name[:40]} frame {n}/{len(video)}")
                if n != len(video):
                    log.warning("%s: %d frames read, %d labelled; missing frames count as no face",
                                video.name, n, len(video))
                for key, runner in runners.items():
                    runs[key].append(runner.finish())
                evs.append(dataclasses.replace(video, frames=lambda: iter(())))  # frames released
                rows.write(json.dumps({
                    "video": video.name, "subject": video.subject, "frames": len(video),
                    "true_intervals": [list(iv[:3]) for iv in video.intervals],
                    **{key: {"spotted": [list(s) for s in runs[key][-1].spotted],
                             "counts": list(metrics.spotting_counts(runs[key][-1].spotted,
                                                                    [iv[:3] for iv in video.intervals], IOU)),
                             "frames_without_face": int((~runs[key][-1].found).sum()),
                             "faces_seen": runs[key][-1].faces_seen} for key in MODEL_KEYS}}) + "\n")
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
        report[key] = {**score(evs, runs[key]), **runners[key].describe(), "dataset": dataset or {},
                       "class_names": list(CLASS_NAMES), "rules": RULES}
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


# ----------------------------------------------------------------------------- output

def _fmt(x, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}" if pct else f"{x:.3f}"


def format_table(report: dict) -> str:
    m, b = report["model"], report["baseline"]
    rows = [(f"accuracy @ {int(round(float(p) * 100))}% seen (%)", m["accuracy_at"][p], b["accuracy_at"][p], True)
            for p in m["accuracy_at"]]
    rows += [(f"  onset->apex @ {int(round(float(p) * 100))}% (%)", m["accuracy_at_onset_to_apex"][p],
              b["accuracy_at_onset_to_apex"][p], True) for p in m["accuracy_at_onset_to_apex"]]
    rows += [("spotting precision (IoU>=0.5)", m["spotting"]["precision"], b["spotting"]["precision"], False),
             ("spotting recall", m["spotting"]["recall"], b["spotting"]["recall"], False),
             ("spotting F1", m["spotting"]["f1"], b["spotting"]["f1"], False),
             ("intensity MAE", m["intensity_mae"], b["intensity_mae"], False),
             ("frame accuracy (%)", m["frame_accuracy"], b["frame_accuracy"], True),
             ("  on expression frames (%)", m["frame_accuracy_expression"], b["frame_accuracy_expression"], True),
             ("  on rest frames (%)", m["frame_accuracy_rest"], b["frame_accuracy_rest"], True)]
    ds = m.get("dataset", {})
    head = (f"{ds.get('name', 'dataset')}: {m['videos']} videos, {m['frames']} frames, "
            f"{m['intervals_scored']} expressions scored, {m['frames_without_face']} frames without a face")
    lines = [head, f"{'':34s}{'model':>10s}{'baseline':>10s}"]
    lines += [f"{name:34s}{_fmt(a, pct):>10s}{_fmt(c, pct):>10s}" for name, a, c, pct in rows]
    counts = [f"{sp['n_pred']}/{sp['tp']}/{sp['n_true']}" for sp in (m["spotting"], b["spotting"])]
    lines.append(f"{'spotted / TP / true intervals':34s}{counts[0]:>10s}{counts[1]:>10s}")
    if "streaming_vs_batch" in m:
        lines.append(f"streaming vs batch forward: max |diff| of class probabilities "
                     f"{m['streaming_vs_batch']['max_abs_diff_probs']:.2e} over {m['streaming_vs_batch']['frames']} "
                     f"face-frames")
    return "\n".join(lines)


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_on_the_fly(report: dict, path) -> Path:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, marker, color, name in (("model", "o", "C0", "recurrent (MV-LSTM)"),
                                     ("baseline", "s", "C1", "frame-wise baseline")):
        for field_, line, width, suffix in (("accuracy_at", "-", 2.0, "onset -> offset"),
                                            ("accuracy_at_onset_to_apex", ":", 1.2, "onset -> apex")):
            acc = report[key][field_]
            xs = [100 * float(p) for p in acc]
            ys = [np.nan if a is None else 100 * a for a in acc.values()]
            ax.plot(xs, ys, marker=marker, linestyle=line, lw=width, color=color, label=f"{name}, {suffix}",
                    alpha=1.0 if line == "-" else 0.7)
    ds = report["model"].get("dataset", {})
    ax.set_title(f"On-the-fly accuracy: {ds.get('name', '')} ({report['model']['intervals_scored']} expressions)")
    ax.set_xlabel("share of the expression seen (%)")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xlim(0, 105)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(plt, fig, path)


def plot_confusion(report: dict, path) -> Path:
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5.2))
    for ax, (key, title) in zip(axes, (("model", "recurrent (MV-LSTM)"), ("baseline", "frame-wise baseline"))):
        cm = np.array(report[key]["confusion_matrix"], float)
        rows = cm.sum(1, keepdims=True)
        norm = np.divide(cm, rows, out=np.zeros_like(cm), where=rows > 0)
        ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(cm)):
            for j in range(len(cm)):
                if cm[i, j]:
                    ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=7,
                            color="white" if norm[i, j] > 0.6 else "black")
        ax.set_xticks(range(NUM_CLASSES), CLASS_NAMES, rotation=45, ha="right")
        ax.set_yticks(range(NUM_CLASSES), CLASS_NAMES)
        acc = report[key]["frame_accuracy"]
        ax.set_title(f"{title}: frame accuracy {_fmt(acc, True)}%")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true (dominant class per frame)")
    return _save(plt, fig, path)
