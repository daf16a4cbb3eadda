"""Frame sources for the ROS-free runners: video files, frame folders, cameras, stills, FIFOs.

Each source yields ``Frame`` items in order. A frame that cannot be read is yielded
with ``image=None`` and a reason, so the runner logs it and goes on (the engine turns
it into a skipped frame) instead of stopping the whole run:

- a damaged packet in a video: decoding goes on with the next packet; the frames lost are
  yielded as unreadable (stamped between their neighbours) and counted in a warning;
- a corrupt image file in a folder: yielded as unreadable, named.

Nothing here blocks the caller for good: a FIFO is waited on for at most ``FIFO_WAIT``
seconds, a video or camera is opened in a helper thread (``OPEN_TIMEOUT``), and
``Prefetch`` reads frames in a thread so the main thread, which handles Ctrl-C and
SIGTERM, never sits inside a decoder.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import select
import stat
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from fer_ros.model.errors import UserError

from .media import DEFAULT_INPUT, media_path

log = logging.getLogger("fer_ros.io.sources")

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm"}
# Frame rates a run accepts (stamps of a folder of frames, the annotated video): OpenCV's mp4v
# writer takes 0.01 fps (a frame every 100 s) to 65535 fps; past 1000 fps it is a typo, not a camera.
MIN_FPS, MAX_FPS = 0.01, 1000.0
DEFAULT_FPS = 30.0  # a video whose header has no usable rate
# OpenCV reads index + 100 * k as "camera index with API preference k": 0-99 are plain cameras.
MAX_CAMERA_INDEX = 99
# Undecodable packets in a row after which a video is taken to have ended (10 s at 30 fps; a
# header's frame count, when it has one, ends it sooner, and a wrong huge count never holds it).
MAX_BAD_IN_ROW = 300
FIFO_WAIT = 60.0  # s to wait for a writer to send the first bytes into a FIFO
OPEN_TIMEOUT = 60.0  # s for OpenCV to open a video or camera (it probes the stream)
PREFETCH_DEPTH = 2  # frames decoded ahead: enough to overlap decoding with the engine, bounded memory
DAMAGED = "damaged packet: the frame could not be decoded"


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


def check_fps(fps, what: str = "fps") -> float:
    """``fps`` as a float when it is a usable frame rate; UserError otherwise (NaN, inf, 0, < 0, huge).
    ``what`` names the value in the message ("" when the caller names it, as argparse does)."""
    try:
        value = float(fps)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and MIN_FPS <= value <= MAX_FPS):
        raise UserError(
            f"{what + ' ' if what else ''}must be a frame rate from {MIN_FPS:g} to {MAX_FPS:g} frames per second, "
            f"got {fps!r}"
        )
    return value


@contextlib.contextmanager
def quiet_opencv():
    """OpenCV's own log lines off for a call whose failure we report ourselves, in one line."""
    previous = cv2.getLogLevel()
    cv2.setLogLevel(0)  # LOG_LEVEL_SILENT
    try:
        yield
    finally:
        cv2.setLogLevel(previous)


def _read_image(path: Path) -> tuple[np.ndarray | None, str | None]:
    # IMREAD_UNCHANGED keeps grey and alpha images as they are; the engine converts.
    try:
        data = np.fromfile(str(path), np.uint8)
    except OSError as e:
        return None, f"cannot read image file {path.name} ({e.strerror})"
    with quiet_opencv():
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        return None, f"cannot decode image file {path.name} (corrupt or not an image)"
    return image, None


def image_files(folder: Path, recursive: bool = False) -> list[Path]:
    """Image files of ``folder`` in name order (path order with ``recursive``: subfolders too)."""
    files = folder.rglob("*") if recursive else folder.iterdir()
    return sorted(p for p in files if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())


def _in_thread(fn: Callable, timeout: float, what: str):
    """``fn()`` in a helper thread, waited on for ``timeout`` s; the wait is interruptible (signals)."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    thread = threading.Thread(target=run, name="fer-ros-open", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # stuck inside OpenCV: left behind (daemon), the run does not wait for it
        raise UserError(f"{what}: nothing could be read within {timeout:.0f} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _capture(path_or_index: str | int) -> cv2.VideoCapture:
    with quiet_opencv():  # a camera that is not there makes several backends log; we say it once
        return cv2.VideoCapture(path_or_index)


def open_video(path_or_index: str | int) -> Source:
    live = isinstance(path_or_index, int)
    kind = "camera" if live else "video file"
    cap = _in_thread(lambda: _capture(path_or_index), OPEN_TIMEOUT, f"{kind} {path_or_index!r}")
    if not cap.isOpened():
        cap.release()
        why = " (no such camera, or it is in use)" if live else " (not a video, or damaged beyond reading)"
        raise UserError(f"cannot open {kind} {path_or_index!r}{why}")
    fps = cap.get(cv2.CAP_PROP_FPS) or DEFAULT_FPS
    if not 1.0 <= fps <= MAX_FPS:
        fps = DEFAULT_FPS
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = _video_frames(cap, path_or_index, fps, count if count > 0 and not live else None, live)
    return Source(frames, None if live or count <= 0 else count, fps, f"{path_or_index} ({fps:.2f} fps)")


def _read(cap: cv2.VideoCapture) -> np.ndarray | None:
    """The next frame, or None when its packet could not be decoded (or the stream ended)."""
    if not cap.grab():
        return None
    ok, image = cap.retrieve()
    return image if ok else None


def _video_frames(cap, name, fps: float, count: int | None, live: bool) -> Iterator[Frame]:
    """Frames of an open capture, decoding on past damaged packets.

    A packet that does not decode makes ``grab`` fail once; OpenCV then goes on with the next
    packet (measured on the sample clip with 20 kB zeroed mid-file: 466 of 472 frames decoded,
    where ``read`` alone stopped at 226). Because the decoder reorders frames, the failures
    happen before the frames they lost come due; each lost frame is placed where its stamp is
    missing (a gap between two decoded stamps), so every decoded frame keeps its index in the
    file. Failures past the header's frame count, or MAX_BAD_IN_ROW of them in a row, are the
    end of the stream."""
    index = 0  # frames yielded, decoded or lost
    lost, in_row, skipped = 0, 0, 0  # failures not yet placed, failures in a row, lost frames yielded
    last: float | None = None  # stamp of the last decoded frame
    ended = False  # the stream ended (rather than the reader being closed early)
    try:
        while True:
            image = _read(cap)
            if image is None:
                lost, in_row = lost + 1, in_row + 1
                ended = live or in_row >= MAX_BAD_IN_ROW or (count is not None and index + lost > count)
                if ended:
                    break
                continue
            in_row = 0
            msec = cap.get(cv2.CAP_PROP_POS_MSEC)
            stamp = msec / 1000.0 if (msec > 0 or index == 0) and not live else (index + lost) / fps
            stamp = max(stamp, 0.0)  # some containers (edit lists) put frame 0 slightly before 0
            if lost:
                gap = min(lost, _missing(last, stamp, fps))
                for k in range(gap):
                    yield Frame(index, _between(last, stamp, k, gap, fps), None, f"frame {index}", DAMAGED)
                    index += 1
                lost, skipped = lost - gap, skipped + gap
            yield Frame(index, stamp, image, f"frame {index}")
            last = stamp
            index += 1
    finally:
        cap.release()
        if skipped:
            log.warning("%s: %d damaged frame(s) could not be decoded and were skipped", name, skipped)
        if ended and live:
            log.warning("camera %s stopped delivering frames after %d frames", name, index)
        elif ended and count is not None and count - index > max(2, count // 100):  # the count is approximate
            log.warning("%s: video ended after %d of %d frames (truncated or corrupt file?)", name, index, count)


def _missing(before: float | None, after: float, fps: float) -> int:
    """Frames missing between two decoded stamps (before: None at the start of the stream)."""
    span = after if before is None else after - before - 1.0 / fps
    return max(0, round(span * fps))


def _between(before: float | None, after: float, k: int, n: int, fps: float) -> float:
    """Stamp of the k-th of n lost frames between two decoded ones (before: None at the start)."""
    if before is None:
        return max(0.0, after - (n - k) / fps)
    return before + (after - before) * (k + 1) / (n + 1)


def read_frames(path, limit: int | None = None) -> list[np.ndarray]:
    """The first ``limit`` frames of a video (all of them: None) as BGR arrays, in memory: for
    benchmarks and soaks that must not time the decoder."""
    cap = cv2.VideoCapture(str(path))
    frames: list[np.ndarray] = []
    while limit is None or len(frames) < limit:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def open_folder(folder: Path, fps: float, recursive: bool = False) -> Source:
    fps = check_fps(fps)
    files = image_files(folder, recursive)
    if not files:
        raise UserError(f"no image files ({', '.join(sorted(IMAGE_SUFFIXES))}) in {folder}")

    def frames() -> Iterator[Frame]:
        for i, path in enumerate(files):
            image, error = _read_image(path)
            # The path below the folder names the frame: stills of one name in two subfolders stay apart.
            yield Frame(i, i / fps, image, path.relative_to(folder).as_posix(), error)

    return Source(frames(), len(files), fps, f"{folder} ({len(files)} images)")


@contextlib.contextmanager
def fifo_with_data(path: Path, timeout: float = FIFO_WAIT) -> Iterator[None]:
    """Until a writer has put bytes into the FIFO ``path`` (UserError after ``timeout`` s), then
    holds a reader end open for the block, so that a writer still writing is not cut off
    (EPIPE) in the moment before OpenCV opens its own. The wait is a poll in Python: Ctrl-C and
    SIGTERM are handled during it. (A writer that sends less than a pipe buffer and closes before
    OpenCV opens the FIFO leaves OpenCV waiting for a writer: OPEN_TIMEOUT ends that.)"""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # never blocks, with or without a writer
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        log.info("%s is a FIFO: waiting up to %.0f s for a writer", path, timeout)
        while not _readable(poller, path):
            if time.monotonic() >= deadline:
                raise UserError(f"FIFO {path}: nothing was written into it within {timeout:.0f} s")
        yield
    finally:
        os.close(fd)


def _readable(poller, path: Path) -> bool:
    for _, events in poller.poll(200):
        if events & select.POLLIN:
            return True
        if events & select.POLLHUP:  # a writer came and went without a byte
            raise UserError(f"FIFO {path}: its writer closed it without sending anything")
    return False


def open_input(spec: str, fps: float = DEFAULT_FPS, recursive: bool = False) -> Source:
    """'default' (the sample clip), a camera index, a video file, a FIFO carrying a video stream,
    an image, or a folder of images (``recursive``: with its subfolders, as for stills)."""
    if spec == "default":
        return open_video(str(media_path(DEFAULT_INPUT)))
    path = Path(spec)
    if not path.exists():
        if spec.isdigit():
            if int(spec) > MAX_CAMERA_INDEX:
                raise UserError(f"input {spec!r}: no such file, and not a camera index (0-{MAX_CAMERA_INDEX})")
            return open_video(int(spec))
        raise UserError(f"input {spec!r} does not exist")
    if path.is_dir():
        return open_folder(path, fps, recursive)
    if stat.S_ISFIFO(path.stat().st_mode):
        with fifo_with_data(path):
            return open_video(str(path))
    if path.suffix.lower() in IMAGE_SUFFIXES:
        image, error = _read_image(path)
        return Source(iter([Frame(0, 0.0, image, path.name, error)]), 1, check_fps(fps), str(path))
    return open_video(str(path))


_END = object()


class Prefetch:
    """A source's frames read in a thread, ``depth`` ahead, handed over in order.

    The main thread then waits on a queue (which a signal interrupts) rather than inside a
    decoder (which no signal interrupts): Ctrl-C and SIGTERM stop a run even when its input
    stalls. Use it as a context manager; closing it stops the thread.

    ``prepare``: work done on each frame in the reader thread, in order (the engine's front
    stage), so that it overlaps the consumer's work; the consumer gets ``(frame, prepare(frame))``.
    Once ``close`` returns, ``prepare`` is never called again."""

    def __init__(
        self, frames: Iterator[Frame], depth: int = PREFETCH_DEPTH, prepare: Callable[[Frame], Any] | None = None
    ):
        self._queue: queue.Queue = queue.Queue(depth)
        self._stop = threading.Event()
        self._prepare = prepare
        self._preparing = threading.Lock()  # held while prepare runs; close waits on it
        self._thread = threading.Thread(target=self._run, args=(frames,), name="fer-ros-reader", daemon=True)
        self._thread.start()

    def _run(self, frames: Iterator[Frame]) -> None:
        try:
            for frame in frames:
                item = frame
                if self._prepare is not None:
                    with self._preparing:
                        if self._stop.is_set():
                            break
                        item = (frame, self._prepare(frame))
                if not self._put(item):
                    break
            else:
                self._put(_END)
        except BaseException as e:  # handed to the consumer, which raises it
            self._put(e)
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()  # a generator's finally releases its capture, in this thread

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[Frame]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self, timeout: float = 2.0) -> None:
        """Stop the reader; waits ``timeout`` s for it (a reader stuck in a decoder is left, a daemon)."""
        self._stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()
        self._thread.join(timeout)
        with self._preparing:  # a reader stuck in its decoder is left; one inside prepare is awaited
            pass

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
