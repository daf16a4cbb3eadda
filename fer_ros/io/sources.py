"""Frame sources for the ROS-free runners: video files, frame folders, cameras, stills.

Each source yields ``Frame`` items in order. A frame that cannot be read is yielded
with ``image=None`` and a reason, so the runner logs it and goes on (the engine turns
it into a skipped frame) instead of stopping the whole run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .media import DEFAULT_INPUT, media_path

log = logging.getLogger("fer_ros.io.sources")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}


@dataclass
class Frame:
    index: int
    stamp: float  # seconds from the start of the source
    image: np.ndarray | None
    name: str  # file name or "frame N"
    error: str | None = None


@dataclass
class Source:
    frames: Iterator[Frame]
    total: int | None  # frame count when known (progress bars)
    fps: float
    description: str


def _read_image(path: Path) -> tuple[np.ndarray | None, str | None]:
    # IMREAD_UNCHANGED keeps grey and alpha images as they are; the engine converts.
    data = np.fromfile(str(path), np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        return None, f"cannot decode image file {path.name} (corrupt or not an image)"
    return image, None


def image_files(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files of ``folder`` in name order (path order with ``recursive``: subfolders too)."""
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def open_video(path_or_index: str | int) -> Source:
    cap = cv2.VideoCapture(path_or_index)
    if not cap.isOpened():
        kind = "camera" if isinstance(path_or_index, int) else "video file"
        raise ValueError(f"cannot open {kind} {path_or_index!r}")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    if not 1.0 <= fps <= 1000.0:
        fps = 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    live = isinstance(path_or_index, int)

    def frames() -> Iterator[Frame]:
        index = 0
        try:
            while True:
                ok, image = cap.read()
                if not ok:
                    if not live and count - index > max(2, count // 100):  # header count is approximate
                        log.warning(
                            "%s: video ended after %d of %d frames (truncated or corrupt file?)",
                            path_or_index,
                            index,
                            count,
                        )
                    break
                msec = cap.get(cv2.CAP_PROP_POS_MSEC)
                stamp = msec / 1000.0 if (msec > 0 or index == 0) and not live else index / fps
                stamp = max(stamp, 0.0)  # some containers (edit lists) put frame 0 slightly before 0
                yield Frame(index, stamp, image, f"frame {index}")
                index += 1
        finally:
            cap.release()

    return Source(frames(), None if live or count <= 0 else count, fps, f"{path_or_index} ({fps:.2f} fps)")


def open_folder(folder: Path, fps: float, recursive: bool = False) -> Source:
    files = image_files(folder, recursive)
    if not files:
        raise ValueError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")

    def frames() -> Iterator[Frame]:
        for i, path in enumerate(files):
            image, error = _read_image(path)
            # The path below the folder names the frame: stills of one name in two subfolders stay apart.
            yield Frame(i, i / fps, image, path.relative_to(folder).as_posix(), error)

    return Source(frames(), len(files), fps, f"{folder} ({len(files)} images)")


def open_input(spec: str, fps: float = 30.0, recursive: bool = False) -> Source:
    """'default' (the sample clip), a camera index, a video file, an image, or a folder of images
    (``recursive``: with its subfolders, as for stills)."""
    if spec == "default":
        return open_video(str(media_path(DEFAULT_INPUT)))
    if spec.isdigit():
        return open_video(int(spec))
    path = Path(spec)
    if not path.exists():
        raise ValueError(f"input {spec!r} does not exist")
    if path.is_dir():
        return open_folder(path, fps, recursive)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image, error = _read_image(path)
        return Source(iter([Frame(0, 0.0, image, path.name, error)]), 1, fps, str(path))
    return open_video(str(path))
