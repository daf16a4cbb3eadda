"""Outputs under a full disk or a read-only folder: one clear error, and what is on disk never
misleads (JSON lines whole or absent, no half image or plot, no annotated.mp4 unless complete).

A full disk is a small tmpfs where this process may mount one (root), and a file size limit
(RLIMIT_FSIZE, EFBIG) in a child process everywhere: both stop writes the way a full disk does.
A read-only folder is a read-only tmpfs (root) or a folder without write permission (others).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fault_helpers import (
    assert_one_line_error,
    fer_ros,
    file_size_limit,
    mount_works,
    read_jsonl,
    tmpfs,
    video_frame_count,
)

from fer_ros.cli import main
from fer_ros.io.media import SHORT_FACE_CLIP, media_path
from fer_ros.io.outputs import JsonLines, atomic_write
from fer_ros.model.errors import OutputError

ROW = {"frame": 0, "stamp": 0.0, "faces": [{"id": 1, "label": "happy", "scores": [0.1] * 7}]}

# Writes JSON lines, then a whole file, into argv[1] until the file size limit stops them.
CHILD = """
import sys
from pathlib import Path
from fer_ros.io.outputs import JsonLines, atomic_write
from fer_ros.model.errors import OutputError
folder = Path(sys.argv[1])
(folder / "plot.png").write_bytes(b"old plot")
lines = JsonLines(folder / "frames.jsonl")
try:
    for k in range(100000):
        lines.write({"frame": k, "stamp": k / 30, "faces": [], "pad": "x" * (k % 97)})
except OutputError as e:
    print(e)
lines.close()
try:
    atomic_write(folder / "plot.png", b"new plot " * 100000)
except OutputError as e:
    print(e)
"""


@pytest.fixture(scope="module")
def can_mount(tmp_path_factory) -> bool:
    return mount_works(tmp_path_factory.mktemp("mount"))


def check_whole_lines(path: Path) -> int:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "no half line at the end"
    return len([json.loads(line) for line in data.splitlines()])


def test_size_limit_cuts_no_line_in_half_and_keeps_the_old_file(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        preexec_fn=file_size_limit(20_000),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    jsonl_error, plot_error = proc.stdout.splitlines()
    lines = check_whole_lines(tmp_path / "frames.jsonl")
    assert lines > 0 and (tmp_path / "frames.jsonl").stat().st_size <= 20_000
    assert jsonl_error.startswith(f"cannot write {tmp_path / 'frames.jsonl'}: file too large")
    assert f"holds the first {lines} line(s), each whole" in jsonl_error
    assert "plot.png" in plot_error and "file too large" in plot_error
    assert (tmp_path / "plot.png").read_bytes() == b"old plot", "a failed write leaves the old file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames.jsonl", "plot.png"], "no temporary left"


def test_full_tmpfs_cuts_no_line_in_half(can_mount, tmp_path):
    if not can_mount:
        pytest.skip("mounting a tmpfs needs root (the file size limit test covers the same code)")
    with tmpfs(tmp_path / "small", 64) as disk:
        lines = JsonLines(disk / "frames.jsonl")
        with pytest.raises(OutputError, match="no space left on the device") as error:
            for k in range(100_000):
                lines.write({**ROW, "frame": k})
        lines.close()
        n = check_whole_lines(disk / "frames.jsonl")
        assert f"holds the first {n} line(s)" in str(error.value) and n > 100
        (disk / "frames.jsonl").unlink()
        atomic_write(disk / "plot.png", b"old")
        (disk / "filler").write_bytes(b"x" * (60 * 1024 - 4096))
        with pytest.raises(OutputError, match="no space left"):
            atomic_write(disk / "plot.png", b"new" * 10_000)
        assert (disk / "plot.png").read_bytes() == b"old"
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "plot.png"]


def _check_full_disk_run(proc, out: Path, words: str) -> None:
    line = assert_one_line_error(proc, "frames.jsonl", words)
    n = check_whole_lines(out / "frames.jsonl")
    assert f"holds the first {n} line(s)" in line
    assert not (out / "annotated.mp4").exists() or video_frame_count(out / "annotated.mp4") == n
    assert not (out / "timeline.png").exists() or (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temporary file left"


def test_video_run_into_a_file_size_limit(tmp_path):
    out = tmp_path / "out"
    proc = fer_ros(
        "video", media_path(SHORT_FACE_CLIP), "--out", out, "--model", "baseline", "-q",
        preexec_fn=file_size_limit(16_000),
    )  # fmt: skip
    _check_full_disk_run(proc, out, "file too large")


def test_video_run_onto_a_full_disk(can_mount, tmp_path):
    if not can_mount:
        pytest.skip("mounting a tmpfs needs root (the file size limit test covers the same code)")
    with tmpfs(tmp_path / "small", 96) as disk:
        proc = fer_ros("video", media_path(SHORT_FACE_CLIP), "--out", disk / "out", "--model", "baseline", "-q")
        _check_full_disk_run(proc, disk / "out", "no space left on the device")
        assert video_frame_count(disk / "out" / "annotated.part.mp4") < len(read_jsonl(disk / "out" / "frames.jsonl"))


def _read_only_folder(can_mount: bool, tmp_path: Path):
    if can_mount:
        return tmpfs(tmp_path / "ro", 64, readonly=True), "the file system is read-only"
    if os.geteuid() == 0:
        pytest.skip("root without mount: no way to make a folder read-only for root")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    return _Nothing(folder), "permission denied"


class _Nothing:
    def __init__(self, value):
        self.value = value

    def __enter__(self):
        return self.value

    def __exit__(self, *exc):
        self.value.chmod(0o700)


@pytest.mark.parametrize("where", ["out", "out/inside"])
def test_read_only_output_folder_is_one_line(can_mount, where, tmp_path, caplog):
    context, words = _read_only_folder(can_mount, tmp_path)
    with context as folder:
        rc = main(["video", str(media_path(SHORT_FACE_CLIP)), "--out", str(folder / where), "--model", "baseline"])
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert rc == 2 and len(errors) == 1, caplog.text
        assert errors[0] == f"cannot write {folder / 'out'}: {words}"


def test_output_folder_that_is_a_file_is_one_line(tmp_path, caplog):
    (tmp_path / "out").write_text("a file")
    rc = main(["video", str(media_path(SHORT_FACE_CLIP)), "--out", str(tmp_path / "out"), "--model", "baseline"])
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert rc == 2 and errors == [f"cannot use {tmp_path / 'out'} as the output folder: a file of that name exists"]
