"""Datasets of generated sequences, measured through exactly the streaming path.

Every generated frame goes through a frame-wise ``Engine`` (``FeatureExtractor``): the
detectors every ``detect_every`` frames and landmark tracking in between, tracker ids, the
front end's aligned and normalised crop, the geometry with a running neutral per track.
The largest face is the animated one; a frame where no face was found, or where the
largest face is not the animated one, keeps zeros and ``detected = False`` (the trainer
masks it out). The datasets store the CROPS, not the CNN's features: the trainer encodes
them with the backbone of the model it trains, so a new backbone needs no new dataset
(only the same crop size and normalisation, checked).

Splits by person (learn.identities): train and val from FER2013 neutral faces (Training,
PublicTest), test from the sample media people. One compressed .npz per split
(``<out_dir>/<name>_<split>.npz``), sequences concatenated along the frame axis:

    offsets     (S+1,)      frame offset of each sequence
    crops       (F, S, S)   uint8 front-end crops (zeros: no face)
    geometry    (F, G)      float32
    label       (F,)        int64 class (NEUTRAL outside expressions)
    intensity   (F,)        float32 0..1
    phase       (F,)        int64 PHASES index
    detected    (F,)        bool
    rest_label  (S,)        int64 what the unanimated base shows (-1 unknown)
    intervals   (K, 8)      float64 rows: sequence, onset, apex, apex_end, offset, label, peak, micro
    identity    (S,)        str
    person      (S,)        str
    info        ()          str JSON: configs, crop spec, rules, identities, timings

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

from fer_ros.engine.geometry import GEOMETRY_DIM
from fer_ros.model.classes import CLASS_NAMES

from . import identities as ids
from . import synth

log = logging.getLogger(__name__)

SPLITS = ids.SPLITS


@dataclass
class DatasetConfig:
    fer2013: str = ""  # FER2013 copy: the train and val bases (learn.identities)
    media_dir: str = ""  # "" = fer_ros.io.media.media_dir(): the test bases
    out_dir: str = ".cache/datasets"
    name: str = "synth"
    sequences: dict = field(default_factory=lambda: {"train": 400, "val": 48, "test": 40})
    bases: dict = field(default_factory=lambda: {"train": 200, "val": 24})  # FER2013 faces (x2 mirrored)
    seed: int = 0
    workers: int = 2  # processes; 1 = in this process
    detect_every: int = 1  # as the engine's default: detectors on every frame
    mirror: bool = True  # every base also flipped left-right
    synth: dict = field(default_factory=dict)  # SynthConfig overrides (min_len, max_len, ...)

    def path(self, split: str) -> Path:
        return Path(self.out_dir) / f"{self.name}_{split}.npz"


def load_identities(cfg: DatasetConfig, split: str) -> list[ids.Identity]:
    if split == "test":
        from fer_ros.io.media import media_dir

        return ids.media_identities(cfg.media_dir or media_dir(), mirror=cfg.mirror)
    if not cfg.fer2013:
        raise ValueError(f"the {split} split is drawn from FER2013 faces: give the FER2013 copy (--data PATH)")
    return ids.fer2013_identities(cfg.fer2013, split, cfg.bases[split], cfg.seed, cfg.mirror)


# ----------------------------------------------------------------------------- measuring


class FeatureExtractor:
    """The engine's own streaming path, for the animated face of each sequence (the largest).

    A frame-wise ``Engine`` (baseline model) with ``keep_features``: detection every
    ``detect_every`` frames and landmark tracking in between, tracker ids and a running
    neutral per track, exactly as streaming.
    """

    def __init__(self, detect_every: int = 1):
        from fer_ros.engine import Engine, EngineConfig

        self.engine = Engine(
            EngineConfig(model="baseline", device="cpu", detect_every=detect_every), keep_features=True
        )
        self.crop_spec = self.engine.crop_spec

    def close(self) -> None:
        self.engine.close()

    def __call__(self, frames: np.ndarray, face_center: np.ndarray | None = None, fps: float = 30.0):
        """BGR frames (T, H, W, 3) -> crops (T, S, S) uint8, geometry (T, G), detected (T,)."""
        T, size = len(frames), self.crop_spec["size"]
        crops = np.zeros((T, size, size), np.uint8)
        geo = np.zeros((T, GEOMETRY_DIM), np.float32)
        detected = np.zeros(T, bool)
        self.engine.finish()  # a new sequence: no face carries over
        for t, bgr in enumerate(frames):
            result = self.engine.process(bgr, t / fps)
            if not result.faces:
                continue
            k = max(range(len(result.faces)), key=lambda j: result.faces[j].box[2] * result.faces[j].box[3])
            box = np.asarray(result.faces[k].box)
            if face_center is not None:
                centre = box[:2] + box[2:] / 2
                if np.linalg.norm(centre - face_center[t]) > 0.3 * max(box[2], box[3]):
                    continue  # the largest face is another person: no truth for it
            crops[t] = result.features.crops[k]
            geo[t] = result.features.geometry[k]
            detected[t] = True
        self.engine.finish()
        return crops, geo, detected


# ----------------------------------------------------------------------------- workers

_W: dict = {}
_ARRAYS = ("crops", "geometry", "detected", "label", "intensity", "phase")


def _init_worker(identities, detect_every, synth_cfg, shard_dir=None):
    import torch

    torch.set_num_threads(1)
    cv2.setNumThreads(1)  # one thread per worker process: no oversubscription of the cores
    logging.getLogger("absl").setLevel(logging.ERROR)
    _W.update(
        identities=identities, detect_every=detect_every, extract=None, cfg=synth_cfg, cache={}, shards=shard_dir
    )  # the extractor is built on first use (a cached build needs no MediaPipe)


def _one(task):
    split_id, i, seed = task
    shard = None
    if _W["shards"] is not None:
        shard = Path(_W["shards"]) / f"{SPLITS[split_id]}_s{seed}_{i:05d}.npz"
        if shard.is_file():
            with np.load(shard, allow_pickle=False) as z:
                return {**{k: z[k] for k in _ARRAYS}, **json.loads(str(z["meta"]))}
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
    crops, g, det = _W["extract"](seq.frames, seq.face_center)
    t2 = time.perf_counter()
    return dict(
        crops=crops,
        geometry=g,
        detected=det,
        label=seq.label,
        intensity=seq.intensity,
        phase=seq.phase,
        intervals=[iv.as_row() for iv in seq.intervals],
        rest_label=seq.rest_label,
        identity=seq.identity,
        person=seq.person,
        t_synth=t1 - t0,
        t_features=t2 - t1,
    )


def shard_dir(cfg: DatasetConfig, synth_cfg, identities, crop_spec: dict) -> Path:
    """Folder of per-sequence shards for everything that shapes a sequence."""
    key = json.dumps(
        {
            "synth": asdict(synth_cfg),
            "detect_every": cfg.detect_every,
            "crops": crop_spec,
            "identities": [(x.name, x.split, int(x.rest_label)) for x in identities],
            "frame": synth.FRAME_SIZE,
        },
        sort_keys=True,
    )
    return Path(cfg.out_dir) / "parts" / f"{cfg.name}_{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def _run(tasks, identities, cfg: DatasetConfig, synth_cfg, desc, shards=None):
    from tqdm import tqdm

    args = (identities, cfg.detect_every, synth_cfg, None if shards is None else str(shards))
    if cfg.workers <= 1:
        _init_worker(*args)
        return list(tqdm(map(_one, tasks), total=len(tasks), desc=desc))
    ctx = mp.get_context("spawn")  # mediapipe / torch are not fork-safe
    with ctx.Pool(cfg.workers, _init_worker, args) as pool:
        return list(tqdm(pool.imap(_one, tasks, chunksize=1), total=len(tasks), desc=desc))


def _save(path: Path, results: list[dict], info: dict) -> None:
    lengths = [len(r["label"]) for r in results]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    cat = lambda k: np.concatenate([r[k] for r in results])  # noqa: E731
    rows = [[s, *iv] for s, r in enumerate(results) for iv in r["intervals"]]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        offsets=offsets,
        crops=cat("crops").astype(np.uint8),
        geometry=cat("geometry").astype(np.float32),
        label=cat("label").astype(np.int64),
        intensity=cat("intensity").astype(np.float32),
        phase=cat("phase").astype(np.int64),
        detected=cat("detected"),
        rest_label=np.array([r["rest_label"] for r in results], np.int64),
        intervals=np.array(rows, np.float64).reshape(-1, 8),
        identity=np.array([r["identity"] for r in results]),
        person=np.array([r["person"] for r in results]),
        info=np.array(json.dumps(info)),
    )
    os.replace(tmp, path)


def crop_spec() -> dict:
    """Crop size and normalisation of the shipped backbone: what the datasets store."""
    from fer_ros.model.backbone import DEFAULT_BACKBONE, read_backbone

    cfg = read_backbone(DEFAULT_BACKBONE)[0]
    return {"size": cfg.input_size, "equalize": cfg.equalize}


def build(cfg: DatasetConfig, splits=SPLITS, identities: dict | None = None) -> dict[str, Path]:
    """Generate and measure every split in ``splits``; returns {split: npz path}.

    ``identities``: {split: [Identity]} to use instead of loading them (tests)."""
    synth_cfg = synth.SynthConfig(**cfg.synth)
    spec = crop_spec()
    out = {}
    loaded = {}
    for split in splits:
        t0 = time.perf_counter()
        loaded[split] = (identities or {}).get(split) or load_identities(cfg, split)
        if not loaded[split]:
            raise RuntimeError(f"no identities for split {split!r}")
        loaded[split + "_s"] = time.perf_counter() - t0
    ids.check_disjoint([x for s in splits for x in loaded[s]])
    for split in splits:
        idents, n = loaded[split], cfg.sequences[split]
        t1 = time.perf_counter()
        shards = shard_dir(cfg, synth_cfg, idents, spec)
        results = _run([(SPLITS.index(split), i, cfg.seed) for i in range(n)], idents, cfg, synth_cfg, split, shards)
        wall = time.perf_counter() - t1
        frames = sum(len(r["label"]) for r in results)
        det = sum(int(r["detected"].sum()) for r in results)
        info = {
            "split": split,
            "config": asdict(cfg),
            "synth_config": asdict(synth_cfg),
            "crop_spec": spec,
            "class_names": CLASS_NAMES,
            "sequences": n,
            "frames": frames,
            "detected_frames": det,
            "identities": [
                {
                    "name": x.name,
                    "person": x.person,
                    "rest_label": x.rest_label,
                    "rest_probs": np.round(x.rest_probs, 3).tolist(),
                    "note": x.note,
                }
                for x in idents
            ],
            "persons": sorted({x.person for x in idents}),
            "rules": {"base_frames": ids.BASE_FRAME_RULE, "fer2013": ids.FER2013_RULE, "rest": ids.REST_RULE},
            "wall_s": round(wall, 1),
            "identity_wall_s": round(loaded[split + "_s"], 1),
            "synth_s": round(sum(r["t_synth"] for r in results), 1),
            "features_s": round(sum(r["t_features"] for r in results), 1),
            "shards": str(shards),
        }
        path = cfg.path(split)
        _save(path, results, info)
        log.info(
            "%s: %d sequences, %d frames (%.1f%% with the face), %.0f s -> %s",
            split,
            n,
            frames,
            100.0 * det / max(frames, 1),
            wall,
            path,
        )
        out[split] = path
    return out


# ----------------------------------------------------------------------------- reading


@dataclass
class SequenceData:
    crops: np.ndarray  # (T, S, S) uint8
    geometry: np.ndarray
    label: np.ndarray
    intensity: np.ndarray
    phase: np.ndarray
    detected: np.ndarray
    rest_label: int
    intervals: np.ndarray  # (K, 7): onset, apex, apex_end, offset, label, peak, micro
    identity: str
    person: str
    kind: str = "generated"  # or "still" / "jitter": a labelled real face, held still or jittered (learn.batches)
    appearance: np.ndarray | None = None  # (T, A): the crops encoded by the backbone being trained on

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
        seqs.append(
            SequenceData(
                d["crops"][sl],
                d["geometry"][sl],
                d["label"][sl],
                d["intensity"][sl],
                d["phase"][sl],
                d["detected"][sl],
                int(d["rest_label"][s]),
                iv[iv[:, 0] == s, 1:],
                str(d["identity"][s]),
                str(d["person"][s]),
            )
        )
    return seqs, json.loads(str(d["info"]))
