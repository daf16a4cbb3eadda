"""Annotated outputs: the frames with their faces drawn, as one video or as one image per still.

``AnnotatedVideo`` keeps one video frame per frames.jsonl line: a frame that could not be
used becomes a placeholder (black, marked with the frame number and the error). It writes
to ``annotated.part.mp4`` and renames it to ``annotated.mp4`` only once the video is
finalised and holds every frame, so a file called ``annotated.mp4`` is always complete.

``AnnotatedStills`` writes one image per still under ``annotated/``, keeping the still's
path below the input folder, its name and its format; names never collide.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from fer_ros.engine.images import BadFrame, as_bgr
from fer_ros.engine.results import FaceResult
from fer_ros.model.classes import CLASS_NAMES
from fer_ros.model.errors import OutputError

from .outputs import atomic_write, make_dir, write_error
from .plots import CLASS_COLORS
from .sources import quiet_opencv

# A stream whose first frames are all unusable: their placeholders wait for the first image to
# give the video its size, at most this many (10 s at 30 fps); past that the video starts at
# PLACEHOLDER_SIZE.
MAX_PENDING = 300
PLACEHOLDER_SIZE = (640, 360)
FOURCC = "mp4v"  # every OpenCV build writes it, no licence question


def draw_faces(image: np.ndarray, faces: list[FaceResult]) -> np.ndarray:
    """Boxes, ids, labels and a live score bar per face, drawn on a BGR copy of ``image``."""
    out = as_bgr(image).copy()
    h, w = out.shape[:2]
    thick = max(1, round(max(h, w) / 500))
    for f in faces:
        x, y, bw, bh = (int(round(v)) for v in f.box)
        color = CLASS_COLORS[f.label]
        cv2.rectangle(out, (x, y), (x + bw, y + bh), color, thick)
        text = f"#{f.id} {f.label} {f.confidence:.2f} {f.phase}"
        cv2.putText(out, text, (x, max(12, y - 6)), cv2.FONT_HERSHEY_SIMPLEX, 0.45 * thick, color, thick, cv2.LINE_AA)
        # Score bar: one row per class beside the box.
        bx = x + bw + 4 if x + bw + 90 < w else max(0, x - 90)
        for k, (name, p) in enumerate(zip(CLASS_NAMES, f.scores)):
            by = y + k * 11
            cv2.rectangle(out, (bx, by), (bx + int(60 * p), by + 8), CLASS_COLORS[name], -1)
            cv2.putText(
                out, name[:3], (bx + 62, by + 8), cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1, cv2.LINE_AA
            )
    return out


def placeholder(size: tuple[int, int], frame: int, error: str | None) -> np.ndarray:
    """A black frame saying which frame was skipped and why."""
    w, h = size
    out = np.zeros((h, w, 3), np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(out, f"frame {frame} skipped", (10, 30), font, 0.7, (0, 0, 255), 2, cv2.LINE_AA)
    cv2.putText(out, (error or "")[:80], (10, 60), font, 0.45, (200, 200, 200), 1, cv2.LINE_AA)
    return out


class AnnotatedVideo:
    """annotated.mp4, one frame per ``add`` or ``skipped`` call, finalised by ``close``."""

    def __init__(self, path: Path, fps: float):
        self.path = Path(path)
        self.part = self.path.with_name(f"{self.path.stem}.part{self.path.suffix}")  # ffmpeg needs the .mp4
        self.fps = fps
        self.frames = 0  # frames handed to the video writer
        self._writer: cv2.VideoWriter | None = None
        self._size: tuple[int, int] | None = None
        self._pending: list[tuple[int, str | None]] = []  # skipped frames before the size is known

    def add(self, image: np.ndarray, faces: list[FaceResult], frame: int) -> None:
        """The frame with its faces drawn (a frame ``as_bgr`` refuses becomes a placeholder)."""
        try:
            drawn = draw_faces(image, faces)
        except BadFrame as e:
            self.skipped(frame, str(e))
            return
        if self._writer is None:
            self._open((drawn.shape[1], drawn.shape[0]))
        if (drawn.shape[1], drawn.shape[0]) != self._size:
            drawn = cv2.resize(drawn, self._size)
        self._write(drawn)

    def skipped(self, frame: int, error: str | None) -> None:
        """A placeholder for a frame that has no usable image."""
        if self._writer is None:
            self._pending.append((frame, error))
            if len(self._pending) >= MAX_PENDING:
                self._open(PLACEHOLDER_SIZE)
            return
        self._write(placeholder(self._size, frame, error))

    def _open(self, size: tuple[int, int]) -> None:
        writer = cv2.VideoWriter(str(self.part), cv2.VideoWriter_fourcc(*FOURCC), self.fps, size)
        if not writer.isOpened():
            raise OutputError(
                f"cannot write {self.path}: OpenCV could not start a {FOURCC} video at {self.fps:g} fps, "
                f"{size[0]}x{size[1]} (is the folder writable?)"
            )
        self._writer, self._size = writer, size
        pending, self._pending = self._pending, []
        for frame, error in pending:
            self._write(placeholder(size, frame, error))

    def _write(self, image: np.ndarray) -> None:
        assert self._writer is not None
        self._writer.write(image)
        self.frames += 1

    def close(self) -> Path | None:
        """Finalise the video and give it its name; None when no frame came. OutputError when the
        file does not hold every frame (a full disk): it is then left as annotated.part.mp4."""
        if self._writer is None and self._pending:  # every frame so far was unusable
            self._open(PLACEHOLDER_SIZE)
        if self._writer is None:
            return None
        writer, self._writer = self._writer, None
        writer.release()
        held = _frame_count(self.part)
        if held != self.frames:
            raise OutputError(
                f"cannot write {self.path}: the video holds {held} of its {self.frames} frames "
                f"(disk full or a file size limit?); what was written is left in {self.part.name}"
            )
        try:
            os.replace(self.part, self.path)
        except OSError as e:
            raise write_error(self.path, e) from None
        return self.path


def _frame_count(path: Path) -> int:
    """Frames in a video's index; 0 when the file is not a complete MP4 (checked first, so that an
    unfinished file is not handed to ffmpeg, which would log about it)."""
    if not _complete_mp4(path):
        return 0
    cap = cv2.VideoCapture(str(path))
    try:
        return int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
    finally:
        cap.release()


def _complete_mp4(path: Path) -> bool:
    """Whether the top-level MP4 boxes tile the whole file and include the index (moov)."""
    try:
        with open(path, "rb") as f:
            size, offset, kinds = os.fstat(f.fileno()).st_size, 0, set()
            while offset < size:
                f.seek(offset)
                head = f.read(16)
                if len(head) < 8:
                    return False
                length, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if length == 1 and len(head) == 16:
                    length = int.from_bytes(head[8:16], "big")
                if length < 8:
                    return False
                kinds.add(kind)
                offset += length
    except OSError:
        return False
    return offset == size and b"moov" in kinds


class AnnotatedStills:
    """annotated/: one image per still, at the still's relative path, in its format when OpenCV
    writes it (PNG otherwise); a name already used in this run gets a ``~N`` before its suffix."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        make_dir(self.folder)
        self._used: set[str] = set()  # one entry per still written: the stills of one folder, never a stream

    def add(self, image: np.ndarray, faces: list[FaceResult], name: str) -> Path | None:
        """Write the still with its faces drawn; returns its path (None for an image ``as_bgr`` refuses)."""
        try:
            drawn = draw_faces(image, faces)
        except BadFrame:
            return None
        data = _encode(drawn, Path(name).suffix)
        if data is None:  # a format OpenCV reads but cannot write in colour (.pgm): PNG beside the name
            name, data = f"{name}.png", _encode(drawn, ".png")
        assert data is not None, "OpenCV always writes PNG"
        path = self.folder / self._unique(name)
        make_dir(path.parent)
        atomic_write(path, data)
        return path

    def _unique(self, name: str) -> str:
        """``name`` (a relative POSIX path), or ``stem~N.suffix`` when this run already wrote that name."""
        rel = Path(name)
        candidate, n = rel.as_posix(), 1
        while candidate.lower() in self._used:  # case-blind: two names may be one file on some file systems
            n += 1
            candidate = rel.with_name(f"{rel.stem}~{n}{rel.suffix}").as_posix()
        self._used.add(candidate.lower())
        return candidate


def _encode(image: np.ndarray, suffix: str) -> bytes | None:
    """The image encoded in the format of ``suffix``, or None when OpenCV cannot write it so."""
    with quiet_opencv():  # OpenCV logs its refusal; the PNG fallback is the answer to it
        try:
            ok, data = cv2.imencode(suffix, image)
        except cv2.error:
            return None
    return data.tobytes() if ok else None
