"""Writing output files so that what is on disk never misleads.

- ``JsonLines``: a JSON-lines file written line by line, each line whole or not at all. A
  line that cannot be written (full disk, file size limit) is cut back off, so the file
  always parses, and the error says how many lines it holds.
- ``atomic_write``: a whole file (an image, a plot) written to a temporary name in the same
  folder and renamed: a reader sees the old file or the new one, never half of one.
- ``write_error``: an ``OSError`` of an output turned into one ``OutputError`` line that
  names the file and says why in words (disk full, read-only, permission, size limit).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from pathlib import Path

from fer_ros.model.errors import OutputError

# errno -> what to tell a person (the rest use the system's own words)
_REASONS = {
    errno.ENOSPC: "no space left on the device (disk full)",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (a file size limit: see ulimit -f)",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder",
}


def write_error(path: Path | str, error: OSError, holds: str = "") -> OutputError:
    """One line for an output that could not be written: the file, why, and what it holds now."""
    reason = _REASONS.get(error.errno or 0, error.strerror or str(error))
    return OutputError(f"cannot write {path}: {reason}" + (f"; {holds}" if holds else ""))


def make_dir(folder: Path) -> None:
    """Create an output folder (and its parents), or say in one line why it cannot be written to."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(f"cannot use {folder} as the output folder: a file of that name exists") from None
    except OSError as e:  # named by the folder that could not be made (a parent, perhaps)
        raise write_error(e.filename or folder, e) from None


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` as ``path`` through a temporary file and a rename (never half a file)."""
    tmp = path.with_name(f".{path.name}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):  # the folder went read-only too: nothing more to clean
            tmp.unlink(missing_ok=True)
        raise write_error(path, e) from None


_STRICT_JSON = json.JSONEncoder(allow_nan=False)  # one encoder: json.dumps with options builds one per call


class JsonLines:
    """A JSON-lines output. Lines go straight to the file (no buffer), so a run stopped at any
    moment leaves every line it wrote; a line is on disk whole or not at all."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.lines = 0
        self._size = 0  # bytes of the complete lines written
        try:
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as e:
            raise write_error(self.path, e) from None

    def write(self, row: dict) -> None:
        try:  # strict JSON: a NaN or an infinity is a bug upstream, never written as an invalid token
            data = memoryview((_STRICT_JSON.encode(row) + "\n").encode())
        except ValueError:
            raise ValueError(f"{self.path}: a value is not a finite number (NaN or infinity): {row!r:.300}") from None
        fd = self._fd
        if fd is None:
            raise ValueError(f"{self.path} is closed")
        try:
            written = 0
            while written < len(data):  # a short write (the disk filling up) is followed by an error
                written += os.write(fd, data[written:])
        except OSError as e:
            self._cut_back(fd)
            raise write_error(self.path, e, f"it holds the first {self.lines} line(s), each whole") from None
        self._size += len(data)
        self.lines += 1

    def _cut_back(self, fd: int) -> None:
        with contextlib.suppress(OSError):  # cannot even shrink it: the error still says how many are whole
            os.ftruncate(fd, self._size)

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def __enter__(self) -> JsonLines:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def read_jsonl(path: Path):
    """The rows of a JSON-lines file, one at a time (the file is never loaded whole)."""
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)
