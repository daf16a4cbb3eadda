"""Which face detectors the front end needs: faces found and time, on the shipped sample media.

Every 4th frame of the sample clips and every sample photo is searched with the full-range
detector alone, the short-range one alone, both (the engine's choice), and the same on a
frame downscaled to 320 px. A detection counts when the face mesh confirms it. Reference:
both detectors at full size. Prints faces found / reference faces and detection ms/frame.

    python tools/detector_choice.py
"""

from __future__ import annotations

import time
from collections import defaultdict

import cv2
import numpy as np

from fer_ros.engine.landmarks import FaceLandmarker
from fer_ros.io.media import (
    FACE_ENTERS_CLIP,
    FACE_LEAVES_CLIP,
    MULTI_FACE_PHOTO,
    SHORT_FACE_CLIP,
    SINGLE_FACE_CLIP,
    media_path,
)
from fer_ros.io.sources import open_input

CLIPS = (SINGLE_FACE_CLIP, SHORT_FACE_CLIP, FACE_LEAVES_CLIP, FACE_ENTERS_CLIP)
EVERY = 4
DOWNSCALED = 320


def confirmed_faces(landmarker: FaceLandmarker, detectors, rgb: np.ndarray, side: int | None) -> tuple[int, float]:
    h, w = rgb.shape[:2]
    s = min(1.0, side / max(h, w)) if side else 1.0
    small = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA) if s < 1 else rgb
    landmarker._detectors = detectors
    t = time.perf_counter()
    boxes = landmarker.detect(small)
    seconds = time.perf_counter() - t
    return sum(landmarker.mesh_in_box(rgb, box / s) is not None for box, _ in boxes), seconds


def main() -> None:
    images = [f.image for clip in CLIPS for f in list(open_input(str(media_path(clip))).frames)[::EVERY]]
    folder = media_path(MULTI_FACE_PHOTO).parent
    images += [im for p in sorted(folder.glob("*.jpg")) if (im := cv2.imread(str(p))) is not None]
    landmarker = FaceLandmarker()
    full, short = landmarker._detectors
    variants = {
        "full range": ([full], None),
        "short range": ([short], None),
        "both (engine)": ([full, short], None),
        f"full @{DOWNSCALED}px": ([full], DOWNSCALED),
        f"both @{DOWNSCALED}px": ([full, short], DOWNSCALED),
    }
    found: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    total = 0
    for bgr in images:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        reference, _ = confirmed_faces(landmarker, [full, short], rgb, None)
        total += reference
        for name, (detectors, side) in variants.items():
            n, dt = confirmed_faces(landmarker, detectors, rgb, side)
            found[name] += min(n, reference)
            seconds[name] += dt
    landmarker._detectors = [full, short]
    landmarker.close()
    print(f"{len(images)} images, {total} faces (both detectors, full size)")
    for name in variants:
        print(
            f"{name:>16}: {found[name]:4d}/{total} faces, detection {1000 * seconds[name] / len(images):5.2f} ms/image"
        )


if __name__ == "__main__":
    main()
