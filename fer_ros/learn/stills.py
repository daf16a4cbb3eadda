"""Labelled still faces through the engine's own front end, cached.

Training crops must be the crops the engine will cut at run time (one face front end):
every still goes through what ``Engine.process`` does with an aligned input
(``fer-ros video DIR --stills --aligned``): ``images.as_bgr`` -> ``FrontEnd.faces`` (the mesh
on the padded crop) -> ``FrontEnd.crops`` (similarity alignment on the mesh, the backbone's
crop size and normalisation) and the still's geometry (its normalised shape, offset 0: a
first frame). The result is cached under ``cache_dir`` keyed by the
images and every setting that shapes a crop, so epochs cost only the network.
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


def front_end_crops(
    images: np.ndarray, size: int, equalize: bool, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops, found, geometry) of grey stills (N, H, W) uint8, cut as ``Engine.process`` cuts an
    aligned still: the same conversions, the same FrontEnd calls, a fresh running neutral."""
    from tqdm import tqdm

    crops = np.zeros((len(images), size, size), np.uint8)
    found = np.zeros(len(images), bool)
    geometry = np.zeros((len(images), GEOMETRY_DIM), np.float32)
    with contextlib.closing(FrontEnd(size, equalize, max_faces=1, aligned=True)) as front:
        for i, image in enumerate(tqdm(images, disable=not progress, unit="face", desc="front end")):
            bgr = as_bgr(image)
            faces = front.faces(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
            crops[i] = front.crops(to_gray(bgr), faces)[0]
            found[i] = faces[0].landmarks is not None
            geometry[i] = geometry_of(faces[0], RunningNeutral())
    return crops, found, geometry


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
