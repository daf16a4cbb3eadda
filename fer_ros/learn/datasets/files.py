"""File, folder and table helpers of the dataset readers: images, videos, sheets (.xlsx / .csv)."""

from __future__ import annotations

import csv
import inspect
import logging
import re
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm"})
VIDEO_EXTS = frozenset({".avi", ".mp4", ".mov", ".mkv", ".wmv", ".mpg", ".mpeg", ".m4v"})
TABLE_EXTS = frozenset({".xlsx", ".xlsm", ".csv"})


def norm(text) -> str:
    """Lower case, letters and digits only: 'Onset Frame' and 'OnsetFrame' -> 'onsetframe'."""
    return re.sub(r"[^a-z0-9]", "", str(text).lower())


# ----------------------------------------------------------------------------- files


def read_image(path) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: cannot read as an image")
    return img


def _bgr(img: np.ndarray) -> np.ndarray:
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    return img


def number_in(name: str) -> int | None:
    """The last run of digits in a file name's stem: img46 -> 46, S005_001_00000011 -> 11."""
    found = re.findall(r"\d+", Path(name).stem)
    return int(found[-1]) if found else None


def sorted_images(folder: Path) -> tuple[list[Path], np.ndarray]:
    """Image files of ``folder`` in frame order (by the numbers in their names) and the numbers."""
    files = [
        p
        for p in Path(folder).iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_EXTS and not p.name.startswith(".")
    ]
    nums = [number_in(p.name) for p in files]
    if files and all(n is not None for n in nums) and len(set(nums)) == len(nums):
        order = sorted(range(len(files)), key=lambda i: nums[i])
        return [files[i] for i in order], np.array([nums[i] for i in order], np.int64)
    files.sort(key=lambda p: p.name)
    return files, np.arange(1, len(files) + 1, dtype=np.int64)


def position(numbers: np.ndarray, n: int) -> int:
    """Index of the dataset frame number ``n`` among ``numbers`` (nearest when absent)."""
    i = int(np.searchsorted(numbers, n))
    if i < len(numbers) and numbers[i] == n:
        return i
    if i == 0:
        return 0
    if i >= len(numbers):
        return len(numbers) - 1
    return i if numbers[i] - n < n - numbers[i - 1] else i - 1


def video_length(path: Path) -> tuple[int, float]:
    """(frame count, fps) of a video from its header; frames decoded and counted if absent."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise ValueError(f"{path}: cannot open video")
    try:
        n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        if n <= 0:
            n = 0
            while cap.grab():
                n += 1
        return n, fps
    finally:
        cap.release()


def child(folder: Path, name: str) -> Path | None:
    """The entry of ``folder`` called ``name``, case-insensitively."""
    folder = Path(folder)
    exact = folder / name
    if exact.exists():
        return exact
    if not folder.is_dir():
        return None
    for p in folder.iterdir():
        if p.name.lower() == name.lower():
            return p
    return None


def find_dir(root: Path, names: Iterable[str], depth: int = 3) -> Path | None:
    """``root`` or the shallowest folder under it (to ``depth``) whose name is one of ``names``."""
    wanted = {n.lower() for n in names}
    level = [Path(root)]
    for _ in range(depth + 1):
        hits = sorted(p for p in level if p.name.lower() in wanted)
        if hits:
            return hits[0]
        level = [
            c for p in level if p.is_dir() for c in sorted(p.iterdir()) if c.is_dir() and not c.name.startswith(".")
        ]
    return None


def find_dirs_with_children(root: Path, pattern: str, depth: int = 3) -> list[Path]:
    """Folders under ``root`` (itself included, to ``depth``) with a child folder matching ``pattern``."""
    rx = re.compile(pattern, re.I)
    out, level = [], [Path(root)]
    for _ in range(depth + 1):
        nxt = []
        for p in level:
            kids = [c for c in sorted(p.iterdir()) if c.is_dir() and not c.name.startswith(".")]
            if any(rx.fullmatch(c.name) for c in kids):
                out.append(p)
            nxt.extend(kids)
        level = nxt
    return out


def find_files(root: Path, predicate, depth: int = 2) -> list[Path]:
    out, level = [], [Path(root)]
    for _ in range(depth + 1):
        nxt = []
        for p in level:
            for c in sorted(p.iterdir()):
                if c.is_file() and predicate(c.name):
                    out.append(c)
                elif c.is_dir() and not c.name.startswith("."):
                    nxt.append(c)
        level = nxt
    return out


def check_root(root, dataset: str, expected: str) -> Path:
    root = Path(root).expanduser()
    if not root.exists():
        raise ValueError(f"{root}: no such folder (expected the {dataset} folder: {expected})")
    if not root.is_dir():
        raise ValueError(f"{root}: not a folder (expected the {dataset} folder: {expected})")
    return root


# ----------------------------------------------------------------------------- tables


def sheet_names(path: Path) -> list[str]:
    if Path(path).suffix.lower() == ".csv":
        return [Path(path).stem]
    wb = _open_workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def read_table(path: Path, sheet: str | int = 0) -> list[list]:
    """Rows of cell values of one sheet (.xlsx via openpyxl) or of a .csv file."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return [[_csv_cell(c) for c in row] for row in csv.reader(fh)]
    wb = _open_workbook(path)
    try:
        ws = wb[wb.sheetnames[sheet]] if isinstance(sheet, int) else wb[sheet]
        return [list(row) for row in ws.iter_rows(values_only=True)]
    finally:
        wb.close()


def _open_workbook(path: Path):
    try:
        import openpyxl
    except ImportError as exc:  # pragma: no cover - openpyxl is in requirements.txt
        raise ValueError(f"{path}: reading .xlsx needs openpyxl (pip install openpyxl)") from exc
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read as an .xlsx workbook ({exc})") from exc


def _csv_cell(text: str):
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d*\.\d+(e[-+]?\d+)?", text, re.I):
        return float(text)
    return text or None


def find_header(
    rows: list[list], columns: dict[str, tuple[str, ...]], optional=(), search: int = 40
) -> tuple[int, dict[str, int]] | None:
    """(header row index, {key: column}) of the first row naming every required column.

    ``columns`` maps a key to accepted header names (compared with ``norm``, so case,
    spaces and punctuation do not matter), best first; keys in ``optional`` may be absent.
    """
    for r, row in enumerate(rows[:search]):
        names = [norm(c) if c is not None else "" for c in row]
        found = {}
        for key, accepted in columns.items():
            for a in accepted:
                if norm(a) in names:
                    found[key] = names.index(norm(a))
                    break
        if all(k in found for k in columns if k not in optional):
            return r, found
    return None


def to_int(value) -> int | None:
    """A frame number cell as int; None for blanks and marks like '/' or '-'."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, float):
        return None if np.isnan(value) else int(round(value))
    m = re.fullmatch(r"\s*(-?\d+)(\.0*)?\s*", str(value))
    return int(m.group(1)) if m else None


def text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def reader_options(func) -> list[str]:
    return [p for p in inspect.signature(func).parameters if p != "root"]
