"""Labelled still faces through the engine's own front end, cached.

Training crops must be the crops the engine will cut at run time (one face front end):
every still goes through what ``Engine.process`` does with an aligned input
(``fer-ros video DIR --stills --aligned``): grey -> RGB -> ``FaceLandmarker.process_aligned``
(mesh on the padded crop) -> ``features.face_crops`` (similarity alignment on the mesh,
the backbone's crop size and normalisation) and the still's geometry (its normalised
shape, offset 0: a first frame). The result is cached under ``cache_dir`` keyed by the
images and every setting that shapes a crop, so epochs cost only the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.engine import align, landmarks
from fer_ros.engine.features import face_crops, geometry_of
from fer_ros.engine.geometry import GEOMETRY_DIM, RunningNeutral

log = logging.getLogger(__name__)

CACHE_DIR = Path(".cache/stills")


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
    settings = {"size": size, "equalize": equalize, "pad": landmarks.ALIGNED_PAD,
                "canonical": align.CANONICAL.tolist(), "stable": align.STABLE_POINTS,
                "geometry": GEOMETRY_DIM}
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()[:16]


def front_end_crops(images: np.ndarray, size: int, equalize: bool, landmarker=None,
                    progress: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops, found, geometry) of grey stills (N, H, W) uint8, as the engine cuts them."""
    from tqdm import tqdm

    own = landmarker is None
    landmarker = landmarker or landmarks.FaceLandmarker(max_faces=1)
    crops = np.zeros((len(images), size, size), np.uint8)
    found = np.zeros(len(images), bool)
    geometry = np.zeros((len(images), GEOMETRY_DIM), np.float32)
    try:
        for i, gray in enumerate(tqdm(images, disable=not progress, unit="face", desc="front end")):
            face = landmarker.process_aligned(cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB))
            crops[i] = face_crops(gray, [face], size, equalize)[0]
            found[i] = face.landmarks is not None
            geometry[i] = geometry_of(face, RunningNeutral())
    finally:
        if own:
            landmarker.close()
    return crops, found, geometry


def cached_crops(images: np.ndarray, labels: np.ndarray, size: int, equalize: bool,
                 cache_dir: Path | None = CACHE_DIR, progress: bool = False) -> StillCrops:
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
        log.info("front-end crops of %d stills cached in %s (mesh found %.1f%%)", len(crops), path,
                 100 * found.mean())
    return StillCrops(crops, found, geometry, np.asarray(labels, np.int64))
