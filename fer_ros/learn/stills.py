"""Labelled still faces through the engine's own front end, cached.

Training crops must be the crops the engine will cut at run time (one face front end):
every still goes through what ``Engine.process`` does with an aligned input
(``fer-ros video DIR --stills --aligned``): ``images.as_bgr`` -> ``FrontEnd.faces`` (the mesh
on the padded crop) -> ``FrontEnd.crops`` (similarity alignment on the mesh, the backbone's
crop size and normalisation) and the still's geometry (its normalised shape, offset 0: a
first frame). The result is cached under ``cache_dir`` keyed by the
images and every setting that shapes a crop, so epochs cost only the network.

``cached_jittered`` makes short videos of stills: each still held by a face that sways a
little before a noisy camera (``Jitter``), every frame through the same front end with one
running neutral per sequence, as the engine streams a face. They teach the recurrent model
what real video adds to a held expression: a CNN reading and landmarks that jitter while
the expression does not change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.engine import align, landmarks
from fer_ros.engine.features import geometry_of, to_gray
from fer_ros.engine.front_end import FrontEnd
from fer_ros.engine.geometry import GEOMETRY_DIM, RunningNeutral
from fer_ros.engine.images import as_bgr

log = logging.getLogger(__name__)

CACHE_DIR = Path(".cache/stills")


@dataclass(frozen=True)
class Jitter:
    """How a held face moves before the camera, per frame: a bounded random walk of the head's
    roll, position and distance, with sensor noise. The steps are about what a person sitting
    still shows at 30 Hz (a fraction of a degree, a fraction of a percent of the face); the
    bounds keep a sequence within the small poses FER2013 faces have."""

    rotate_step: float = 0.7  # degrees
    rotate_max: float = 6.0
    shift_step: float = 0.006  # of the image side
    shift_max: float = 0.04
    scale_step: float = 0.006
    scale_max: float = 0.05
    noise: float = 3.0  # grey levels, per pixel and frame
    gain_step: float = 0.01  # brightness, as auto-exposure drifts
    gain_max: float = 0.08


def jitter_frames(image: np.ndarray, frames: int, rng: np.random.Generator, jitter: Jitter = Jitter()) -> np.ndarray:
    """(frames, H, W) uint8: a grey still (H, W) as a camera sees it held for ``frames`` frames."""
    h, w = image.shape[:2]
    out = np.empty((frames, h, w), np.uint8)
    pose = np.zeros(5)  # rotation, shift x, shift y, log scale, log gain
    step = np.array([jitter.rotate_step, jitter.shift_step, jitter.shift_step, jitter.scale_step, jitter.gain_step])
    bound = np.array([jitter.rotate_max, jitter.shift_max, jitter.shift_max, jitter.scale_max, jitter.gain_max])
    for t in range(frames):
        if t:
            pose = np.clip(pose + rng.normal(0.0, step), -bound, bound)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), pose[0], float(np.exp(pose[3])))
        m[:, 2] += pose[1:3] * (w, h)
        moved = cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        noisy = moved.astype(np.float32) * float(np.exp(pose[4])) + rng.normal(0.0, jitter.noise, (h, w))
        out[t] = np.clip(noisy + 0.5, 0, 255).astype(np.uint8)
    return out


@dataclass
class StillCrops:
    crops: np.ndarray  # (N, S, S) uint8: what the CNN reads
    found: np.ndarray  # (N,) bool: the mesh found the face (else the whole image was resized)
    geometry: np.ndarray  # (N, GEOMETRY_DIM) float32 (zeros where not found)
    labels: np.ndarray  # (N,) int64

    def __len__(self) -> int:
        return len(self.labels)


def _key(images: np.ndarray, size: int, equalize: bool) -> str:
    h = hashlib.sha256(images.tobytes())
    settings = {
        "size": size,
        "equalize": equalize,
        "pad": landmarks.ALIGNED_PAD,
        "canonical": align.CANONICAL.tolist(),
        "stable": align.STABLE_POINTS,
        "geometry": GEOMETRY_DIM,
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()[:16]


def front_end_sequences(
    videos: np.ndarray, size: int, equalize: bool, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops (N, T, S, S), found (N, T), geometry (N, T, G)) of grey clips (N, T, H, W) uint8 of
    aligned faces, cut as ``Engine.process`` cuts an aligned video: the same conversions, the
    same FrontEnd calls, each clip one face with one running neutral."""
    from tqdm import tqdm

    n, t = videos.shape[:2]
    crops = np.zeros((n, t, size, size), np.uint8)
    found = np.zeros((n, t), bool)
    geometry = np.zeros((n, t, GEOMETRY_DIM), np.float32)
    with contextlib.closing(FrontEnd(size, equalize, max_faces=1, aligned=True)) as front:
        for i in tqdm(range(n), disable=not progress, unit="face", desc="front end"):
            neutral = RunningNeutral()
            for k, image in enumerate(videos[i]):
                bgr = as_bgr(image)
                faces = front.faces(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                crops[i, k] = front.crops(to_gray(bgr), faces)[0]
                found[i, k] = faces[0].landmarks is not None
                geometry[i, k] = geometry_of(faces[0], neutral)
    return crops, found, geometry


def front_end_crops(
    images: np.ndarray, size: int, equalize: bool, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops, found, geometry) of grey stills (N, H, W) uint8, cut as ``Engine.process`` cuts an
    aligned still: each a one-frame clip of front_end_sequences (a fresh running neutral)."""
    crops, found, geometry = front_end_sequences(images[:, None], size, equalize, progress)
    return crops[:, 0], found[:, 0], geometry[:, 0]


def cached_jittered(
    images: np.ndarray,
    labels: np.ndarray,
    size: int,
    equalize: bool,
    count: int,
    frames: int,
    seed: int,
    cache_dir: Path | None = CACHE_DIR,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(crops (N, T, S, S), geometry (N, T, G), labels (N,), still index (N,)) of ``count`` stills
    drawn with ``seed``, each held for ``frames`` frames (jitter_frames), through the front end;
    cached under ``cache_dir`` like cached_crops."""
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(len(images), min(count, len(images)), replace=False))
    key = (
        _key(images[pick], size, equalize)
        + f"-{frames}-{seed}-"
        + hashlib.sha256(repr(Jitter()).encode()).hexdigest()[:6]
    )
    path = Path(cache_dir) / f"jitter-{key}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            return z["crops"], z["geometry"], np.asarray(labels, np.int64)[pick], pick
    videos = np.stack([jitter_frames(images[i], frames, rng) for i in pick])
    crops, _, geometry = front_end_sequences(videos, size, equalize, progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, crops=crops, geometry=geometry)
        tmp.replace(path)
        log.info("front-end crops of %d jittered stills (%d frames) cached in %s", len(pick), frames, path)
    return crops, geometry, np.asarray(labels, np.int64)[pick], pick


def cached_crops(
    images: np.ndarray,
    labels: np.ndarray,
    size: int,
    equalize: bool,
    cache_dir: Path | None = CACHE_DIR,
    progress: bool = False,
) -> StillCrops:
    """front_end_crops, read from / written to ``cache_dir`` (None: no cache)."""
    path = Path(cache_dir) / f"crops-{_key(images, size, equalize)}.npz" if cache_dir else None
    if path is not None and path.is_file():
        with np.load(path) as z:
            if len(z["crops"]) == len(labels):
                return StillCrops(z["crops"], z["found"], z["geometry"], np.asarray(labels, np.int64))
    crops, found, geometry = front_end_crops(images, size, equalize, progress=progress)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.stem + ".tmp.npz")
        np.savez(tmp, crops=crops, found=found, geometry=geometry)
        tmp.replace(path)
        log.info("front-end crops of %d stills cached in %s (mesh found %.1f%%)", len(crops), path, 100 * found.mean())
    return StillCrops(crops, found, geometry, np.asarray(labels, np.int64))
