"""Feature datasets of generated sequences, built through exactly the streaming path.

Every generated frame goes through what the engine does to a live frame:
FaceLandmarker.process on the full frame (detectors every ``detect_every`` frames,
landmark tracking from the previous box in between, as Engine) -> the largest face ->
face_crops + AppearanceEncoder (mini-Xception features ++ logits, (T, 135)) ->
geometry with one RunningNeutral per sequence. So the model trains on the numbers it
will see when streaming.

A frame where no face was found, or where the largest face found is not the animated
one (a neighbour in a group photo), keeps zero features and ``detected = False``; the
trainer masks it out of the loss.

One compressed .npz per split (``<out_dir>/<name>_<split>.npz``), sequences
concatenated along the frame axis:

    offsets     (S+1,)      frame offset of each sequence
    appearance  (F, 135)    float32
    crops       (F, 64, 64) uint8 the aligned grey face crops the CNN saw (zeros: no face), for
                            training with model.finetune_cnn (the CNN recomputes appearance);
                            absent from files built before it existed (SequenceData.crops None)
    geometry    (F, G)      float32
    label       (F,)        int64 class (NEUTRAL outside expressions)
    intensity   (F,)        float32 0..1
    phase       (F,)        int64 PHASES index
    detected    (F,)        bool
    rest_label  (S,)        int64 what the unanimated base shows (-1 unknown)
    intervals   (K, 8)      float64 rows: sequence, onset, apex, apex_end, offset, label, peak, micro
    identity    (S,)        str
    person      (S,)        str
    info        ()          str JSON: configs, rules, identities, timings

Each sequence is also kept as a shard under ``<out_dir>/parts/`` (keyed by seed, split,
index and a hash of everything that shapes it), so an interrupted or resized build
reuses finished sequences: sequence i of a split does not depend on how many are built.

Data are never committed (.cache/ is ignored).
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np

from fer_ros.engine.align import CROP_SIZE
from fer_ros.engine.geometry import GEOMETRY_DIM, RunningNeutral, normalised_shape
from fer_ros.model.classes import CLASS_NAMES

from . import synth

log = logging.getLogger(__name__)

APPEARANCE_DIM = 135
SPLITS = ("train", "heldout")


@dataclass
class DatasetConfig:
    media_dir: str = ""           # "" = fer_ros.io.media.media_dir() (the fetched sample media)
    out_dir: str = ".cache/datasets"
    name: str = "synth"
    train_sequences: int = 200
    heldout_sequences: int = 48
    seed: int = 0
    workers: int = 2              # processes; 1 = in this process
    detect_every: int = 1         # as the engine's default: detectors on every frame
    mirror: bool = True           # every base also flipped left-right
    synth: dict = field(default_factory=dict)  # SynthConfig overrides (min_len, max_len, ...)

    def path(self, split: str) -> Path:
        return Path(self.out_dir) / f"{self.name}_{split}.npz"


# ----------------------------------------------------------------------------- features

class FeatureExtractor:
    """The streaming feature path for one face per sequence (the largest)."""

    def __init__(self, detect_every: int = 1, landmarker=None, encoder=None):
        from fer_ros.engine.features import AppearanceEncoder
        from fer_ros.engine.landmarks import FaceLandmarker

        self.detect_every = detect_every
        self.landmarker = landmarker or FaceLandmarker()
        self.encoder = encoder or AppearanceEncoder()

    def __call__(self, frames: np.ndarray, face_center: np.ndarray | None = None):
        """BGR frames (T, H, W, 3) -> appearance (T, 135), geometry (T, G), detected (T,),
        crops (T, 64, 64) uint8 (the CNN's input; zeros where no face)."""
        from fer_ros.engine.features import face_crops

        T = len(frames)
        app = np.zeros((T, APPEARANCE_DIM), np.float32)
        crop_out = np.zeros((T, CROP_SIZE, CROP_SIZE), np.uint8)
        geo = np.zeros((T, GEOMETRY_DIM), np.float32)
        detected = np.zeros(T, bool)
        neutral = RunningNeutral()
        crops, rows = [], []
        prev_box = None
        for t, bgr in enumerate(frames):
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            boxes = [prev_box] if (prev_box is not None and t % self.detect_every) else None
            faces = self.landmarker.process(rgb, boxes)
            if not faces:
                prev_box = None
                continue
            face = max(faces, key=lambda f: f.box[2] * f.box[3])
            prev_box = face.box
            if face_center is not None:
                centre = face.landmarks[:, :2].mean(0)
                if np.linalg.norm(centre - face_center[t]) > 0.3 * max(face.box[2], face.box[3]):
                    continue  # the largest face is another person: no truth for it
            gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
            crops.append(face_crops(gray, [face])[0])
            rows.append(t)
            geo[t] = neutral.update(normalised_shape(face.landmarks))
            detected[t] = True
        if rows:
            app[rows] = self.encoder(np.stack(crops)).cpu().numpy()
            crop_out[rows] = np.stack(crops)
        return app, geo, detected, crop_out


# ----------------------------------------------------------------------------- workers

_W: dict = {}


def _init_worker(identities, detect_every, synth_cfg, shard_dir=None):
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # one thread per worker process: no oversubscription of the cores
    logging.getLogger("absl").setLevel(logging.ERROR)
    _W["identities"] = identities
    _W["detect_every"] = detect_every
    _W["extract"] = None  # built on first use (a fully cached build needs no MediaPipe)
    _W["cfg"] = synth_cfg
    _W["cache"] = {}
    _W["shards"] = shard_dir


_ARRAYS = ("appearance", "geometry", "detected", "label", "intensity", "phase", "crops")


def _one(task):
    split_id, i, seed = task
    shard = None
    if _W["shards"] is not None:
        shard = Path(_W["shards"]) / f"{SPLITS[split_id]}_s{seed}_{i:05d}.npz"
        if shard.is_file():
            with np.load(shard, allow_pickle=False) as z:
                if set(_ARRAYS) <= set(z.files):  # a shard from before crops were kept: recompute
                    r = {k: z[k] for k in _ARRAYS}
                    meta = json.loads(str(z["meta"]))
                    return {**r, **meta}
    r = _compute(split_id, i, seed)
    if shard is not None:
        shard.parent.mkdir(parents=True, exist_ok=True)
        tmp = shard.with_suffix(".tmp.npz")
        meta = {k: v for k, v in r.items() if k not in _ARRAYS}
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta)), **{k: r[k] for k in _ARRAYS})
        os.replace(tmp, shard)
    return r


def _compute(split_id, i, seed):
    if _W["extract"] is None:
        _W["extract"] = FeatureExtractor(_W["detect_every"])
    idents = _W["identities"]
    rng = np.random.default_rng([seed, split_id, i])
    k = i % len(idents)  # round robin over bases, so every identity gets its share
    ident = idents[k]
    if k not in _W["cache"]:
        _W["cache"][k] = (synth.FaceGeometry(ident.landmarks), synth.Warper(ident.image, ident.landmarks))
    geo, warper = _W["cache"][k]
    t0 = time.perf_counter()
    seq = synth.generate_sequence(ident, rng, cfg=_W["cfg"], warper=warper, geometry=geo)
    t1 = time.perf_counter()
    app, g, det, crops = _W["extract"](seq.frames, seq.face_center)
    t2 = time.perf_counter()
    return dict(appearance=app, geometry=g, detected=det, crops=crops, label=seq.label, intensity=seq.intensity,
                phase=seq.phase, intervals=[iv.as_row() for iv in seq.intervals],
                rest_label=seq.rest_label, identity=seq.identity, person=seq.person,
                t_synth=t1 - t0, t_features=t2 - t1)


def shard_dir(cfg: DatasetConfig, synth_cfg, identities) -> Path:
    """Folder of per-sequence shards for everything that shapes a sequence."""
    key = json.dumps({"synth": asdict(synth_cfg), "detect_every": cfg.detect_every,
                      "identities": [(x.name, x.split, int(x.rest_label)) for x in identities],
                      "frame": synth.FRAME_SIZE}, sort_keys=True)
    return Path(cfg.out_dir) / "parts" / f"{cfg.name}_{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def _run(tasks, identities, cfg: DatasetConfig, synth_cfg, desc, shards=None):
    from tqdm import tqdm

    args = (identities, cfg.detect_every, synth_cfg, None if shards is None else str(shards))
    if cfg.workers <= 1:
        _init_worker(*args)
        return [r for r in tqdm(map(_one, tasks), total=len(tasks), desc=desc)]
    ctx = mp.get_context("spawn")  # mediapipe / torch are not fork-safe
    with ctx.Pool(cfg.workers, _init_worker, args) as pool:
        return list(tqdm(pool.imap(_one, tasks, chunksize=1), total=len(tasks), desc=desc))


def _save(path: Path, results: list[dict], info: dict) -> None:
    lengths = [len(r["label"]) for r in results]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    cat = lambda k: np.concatenate([r[k] for r in results])  # noqa: E731
    rows = [[s, *iv] for s, r in enumerate(results) for iv in r["intervals"]]
    # crops: only when every sequence has them (results without them write a pre-crops file)
    crops = {"crops": cat("crops").astype(np.uint8)} if all("crops" in r for r in results) else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp, **crops, offsets=offsets, appearance=cat("appearance").astype(np.float32),
        geometry=cat("geometry").astype(np.float32), label=cat("label").astype(np.int64),
        intensity=cat("intensity").astype(np.float32), phase=cat("phase").astype(np.int64),
        detected=cat("detected"), rest_label=np.array([r["rest_label"] for r in results], np.int64),
        intervals=np.array(rows, np.float64).reshape(-1, 8),
        identity=np.array([r["identity"] for r in results]), person=np.array([r["person"] for r in results]),
        info=np.array(json.dumps(info)))
    os.replace(tmp, path)


def build(cfg: DatasetConfig, splits=SPLITS, identities=None) -> dict[str, Path]:
    """Generate and featurise every split; returns {split: npz path}."""
    t0 = time.perf_counter()
    if identities is None:
        from fer_ros.io.media import media_dir
        identities = synth.load_identities(cfg.media_dir or media_dir(), splits, mirror=cfg.mirror)
    t_ident = time.perf_counter() - t0
    synth_cfg = synth.SynthConfig(**cfg.synth)
    out = {}
    for split_id, split in enumerate(SPLITS):
        if split not in splits:
            continue
        idents = [x for x in identities if x.split == split]
        if not idents:
            raise RuntimeError(f"no identities for split {split!r} (media in {cfg.media_dir}?)")
        n = cfg.train_sequences if split == "train" else cfg.heldout_sequences
        t1 = time.perf_counter()
        shards = shard_dir(cfg, synth_cfg, idents)
        results = _run([(split_id, i, cfg.seed) for i in range(n)], idents, cfg, synth_cfg, split, shards)
        wall = time.perf_counter() - t1
        frames = sum(len(r["label"]) for r in results)
        det = sum(int(r["detected"].sum()) for r in results)
        info = {
            "split": split, "config": asdict(cfg), "synth_config": asdict(synth_cfg),
            "class_names": CLASS_NAMES, "sequences": n, "frames": frames, "detected_frames": det,
            "identities": [{"name": x.name, "person": x.person, "rest_label": x.rest_label,
                            "rest_probs": np.round(x.rest_probs, 3).tolist(), "note": x.note} for x in idents],
            "persons": sorted({x.person for x in idents}),
            "sources": synth.IDENTITY_SOURCES[split], "excluded": synth.EXCLUDED_SOURCES,
            "base_frame_rule": synth.BASE_FRAME_RULE, "rest_rule": synth.REST_RULE,
            "wall_s": round(wall, 1), "identity_wall_s": round(t_ident, 1),
            "synth_s": round(sum(r["t_synth"] for r in results), 1),
            "features_s": round(sum(r["t_features"] for r in results), 1),
            "shards": str(shards),
        }
        path = cfg.path(split)
        _save(path, results, info)
        log.info("%s: %d sequences, %d frames (%.1f%% with the face), %.0f s -> %s",
                 split, n, frames, 100.0 * det / max(frames, 1), wall, path)
        out[split] = path
    return out


# ----------------------------------------------------------------------------- reading

@dataclass
class SequenceData:
    appearance: np.ndarray
    geometry: np.ndarray
    label: np.ndarray
    intensity: np.ndarray
    phase: np.ndarray
    detected: np.ndarray
    rest_label: int
    intervals: np.ndarray  # (K, 7): onset, apex, apex_end, offset, label, peak, micro
    identity: str
    person: str
    crops: np.ndarray | None = None  # (T, 64, 64) uint8 CNN input; None: a file built before crops were kept

    def __len__(self) -> int:
        return len(self.label)


def load(path) -> tuple[list[SequenceData], dict]:
    """Sequences of one split file and its info dict."""
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    off = d["offsets"]
    iv = d["intervals"]
    seqs = []
    for s in range(len(off) - 1):
        sl = slice(off[s], off[s + 1])
        seqs.append(SequenceData(
            d["appearance"][sl], d["geometry"][sl], d["label"][sl], d["intensity"][sl], d["phase"][sl],
            d["detected"][sl], int(d["rest_label"][s]), iv[iv[:, 0] == s, 1:], str(d["identity"][s]),
            str(d["person"][s]), d["crops"][sl] if "crops" in d else None))
    return seqs, json.loads(str(d["info"]))
