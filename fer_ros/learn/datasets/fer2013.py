"""FER2013 (Goodfellow et al. 2013): 35,887 grey 48x48 faces, 7 classes, research use only.

Two layouts are read, so a user points the tools at whatever copy they hold:

- the original ``fer2013.csv`` with columns ``emotion,pixels,Usage`` (``emotion`` 0..6 in
  FER2013 order angry, disgust, fear, happy, sad, surprise, neutral; ``pixels`` 2304
  space-separated grey values; ``Usage`` Training / PublicTest / PrivateTest);
- the Kaggle folder layout ``<split>/<class>/<file>.jpg`` with split folders ``train``,
  ``validation`` (or ``val``, ``publictest``) and ``test`` (or ``privatetest``). A file
  named ``Training_*``, ``PublicTest_*`` or ``PrivateTest_*`` belongs to that split
  whichever folder holds it (some copies merge PublicTest and PrivateTest into ``test/``).

The standard protocol: train on Training, select on PublicTest, report PrivateTest once.
Some copies add augmented duplicates named ``<original>.jpgN.jpg`` (the repository
RecepTahirGunlu/Duygu-Tanima adds 8 per disgust image); they are skipped unless
``augmented_copies=True`` (Training only: a copy in a test split would count one face
nine times).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from fer_ros.model.classes import CLASS_NAMES, FER2013_TO_OURS

SIZE = 48
SPLITS = ("Training", "PublicTest", "PrivateTest")
_FOLDERS = {
    "train": "Training",
    "training": "Training",
    "validation": "PublicTest",
    "val": "PublicTest",
    "valid": "PublicTest",
    "publictest": "PublicTest",
    "test": "PrivateTest",
    "privatetest": "PrivateTest",
}
_PREFIX = re.compile(r"^(Training|PublicTest|PrivateTest)_")
_COPY = re.compile(r"\.(jpe?g|png)\d+\.(jpe?g|png)$", re.IGNORECASE)
_IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".pgm"}


class DatasetError(ValueError):
    """The data on disk are not FER2013 as described above; the message names the file (and row)."""


@dataclass
class Stills:
    """Labelled still faces of one split."""

    split: str
    images: np.ndarray  # (N, 48, 48) uint8 grey
    labels: np.ndarray  # (N,) int64, CLASS_NAMES index
    names: list[str]  # file path relative to the root, or "fer2013.csv:<row>"

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        return {c: int((self.labels == i).sum()) for i, c in enumerate(CLASS_NAMES)}


def _split_name(split: str) -> str:
    for s in SPLITS:
        if split.lower() == s.lower():
            return s
    if split.lower() in _FOLDERS:
        return _FOLDERS[split.lower()]
    raise DatasetError(f"unknown FER2013 split {split!r}; use one of {', '.join(SPLITS)}")


def read_fer2013(path, split: str, augmented_copies: bool = False, limit: int | None = None) -> Stills:
    """The faces of ``split`` (Training / PublicTest / PrivateTest, or a folder alias) under ``path``.

    ``path`` is the CSV file or the folder holding the split folders. ``limit``: the first N
    (for quick checks). Raises DatasetError naming the file (and row) when the data are not
    FER2013.
    """
    split = _split_name(split)
    path = Path(path)
    if not path.exists():
        raise DatasetError(
            f"{path}: no such file or folder (expected fer2013.csv or a folder with train/ validation/ test/)"
        )
    if path.is_file():
        return _read_csv(path, split, limit)
    return _read_folders(path, split, augmented_copies and split == "Training", limit)


def _read_csv(path: Path, split: str, limit: int | None) -> Stills:
    images, labels, names = [], [], []
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = {"emotion", "pixels", "Usage"} - set(reader.fieldnames or ())
        if missing:
            raise DatasetError(
                f"{path}: not a FER2013 CSV, missing column(s) {', '.join(sorted(missing))} "
                "(expected emotion,pixels,Usage)"
            )
        for row_no, row in enumerate(reader, start=2):  # the header is row 1
            if (row["Usage"] or "").strip() != split:
                continue
            try:
                emotion = int(row["emotion"])
                pixels = np.array(row["pixels"].split(), dtype=np.int64)
            except (TypeError, ValueError):
                raise DatasetError(f"{path}:{row_no}: emotion or pixels is not a number") from None
            if not 0 <= emotion < len(FER2013_TO_OURS):
                raise DatasetError(f"{path}:{row_no}: emotion {emotion} is not in 0..6")
            if pixels.size != SIZE * SIZE:
                raise DatasetError(f"{path}:{row_no}: {pixels.size} pixels, expected {SIZE * SIZE} (48x48)")
            if pixels.min() < 0 or pixels.max() > 255:
                raise DatasetError(f"{path}:{row_no}: pixel values outside 0..255")
            images.append(pixels.astype(np.uint8).reshape(SIZE, SIZE))
            labels.append(FER2013_TO_OURS[emotion])
            names.append(f"{path.name}:{row_no}")
            if limit and len(labels) >= limit:
                break
    return _stills(split, images, labels, names, path)


def _read_folders(root: Path, split: str, augmented_copies: bool, limit: int | None) -> Stills:
    split_dirs = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name.lower() in _FOLDERS]
    if not split_dirs:
        raise DatasetError(
            f"{root}: no split folders (expected train/, validation/ and test/, each with "
            f"one folder per class: {', '.join(CLASS_NAMES)})"
        )
    images, labels, names = [], [], []
    for split_dir in split_dirs:
        for class_dir in sorted(d for d in split_dir.iterdir() if d.is_dir()):
            label = class_dir.name.lower()
            if label not in CLASS_NAMES:
                raise DatasetError(f"{class_dir}: unknown class folder (expected {', '.join(CLASS_NAMES)})")
            for file in sorted(class_dir.iterdir()):
                if file.suffix.lower() not in _IMAGE_EXTS:
                    continue
                prefix = _PREFIX.match(file.name)
                if (prefix.group(1) if prefix else _FOLDERS[split_dir.name.lower()]) != split:
                    continue
                if _COPY.search(file.name) and not augmented_copies:
                    continue
                image = cv2.imdecode(np.fromfile(str(file), np.uint8), cv2.IMREAD_GRAYSCALE)
                if image is None:
                    raise DatasetError(f"{file}: cannot decode the image")
                if image.shape != (SIZE, SIZE):
                    image = cv2.resize(image, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
                images.append(image)
                labels.append(CLASS_NAMES.index(label))
                names.append(str(file.relative_to(root)))
                if limit and len(labels) >= limit:
                    return _stills(split, images, labels, names, root)
    return _stills(split, images, labels, names, root)


def _stills(split, images, labels, names, where) -> Stills:
    if not labels:
        raise DatasetError(f"{where}: no {split} images")
    return Stills(split, np.stack(images), np.asarray(labels, np.int64), names)
