"""SIGTERM and SIGINT at random moments of a real `fer-ros video` run, and FIFO inputs (no writer,
a writer, a writer that stalls): the run stops with 143 (SIGTERM) or 130 (SIGINT), open
intervals end with "stream stopped", every output is closed and consistent (one annotated video
frame per frames.jsonl line), and nothing waits forever.

The moment is a random number of processed frames (``random`` is seeded per test by
pytest-randomly); waits poll the outputs, with a generous limit that only guards against a hang.
"""

from __future__ import annotations

import os
import random
import signal
import threading
from pathlib import Path

import cv2
import pytest
from fault_helpers import Run, lines_in, our_lines, read_jsonl, video_frame_count

from fer_ros.cli.video import run_video
from fer_ros.engine import Engine, EngineConfig
from fer_ros.io.media import SHORT_FACE_CLIP, media_path
from fer_ros.io.sources import fifo_with_data
from fer_ros.model.errors import UserError

SHORT_FRAMES = 72
STOPPED = "stream stopped"


def check_stopped_outputs(out: Path, sig: int, stderr: str) -> list[dict]:
    """What a stopped run must leave: whole lines, a finalised video in step, closed intervals."""
    assert "Traceback" not in stderr, stderr[-3000:]
    stops = [line for line in our_lines(stderr) if "stopped by" in line]
    assert stops == [f"WARNING fer_ros: stopped by {signal.Signals(sig).name}: every output was closed "
                     "and holds what was processed before it"], stderr[-3000:]  # fmt: skip
    rows = read_jsonl(out / "frames.jsonl")
    assert [r["frame"] for r in rows] == list(range(len(rows)))
    assert video_frame_count(out / "annotated.mp4") == len(rows), "the video is finalised and in step"
    assert not (out / "annotated.part.mp4").exists()
    intervals = read_jsonl(out / "intervals.jsonl")
    last_phase = {f["id"]: f["phase"] for r in rows for f in r["faces"]}
    open_at_stop = {fid for fid, phase in last_phase.items() if phase != "neutral"}
    assert open_at_stop <= {iv["id"] for iv in intervals if iv["end_reason"] == STOPPED}, intervals
    if last_phase:
        assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"
    return rows


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stop_signal_at_a_random_frame_closes_every_output(sig, tmp_path):
    after = random.randrange(0, 60)  # frames written before the signal
    out = tmp_path / "out"
    run = Run(tmp_path, "video", media_path(SHORT_FACE_CLIP), "--out", out, "--model", "baseline", "-q")
    try:
        run.wait_until(lambda: lines_in(out / "frames.jsonl") >= after, f"{after} frames written")
        rc = run.stop(sig)
    finally:
        run.close()
    rows = read_jsonl(out / "frames.jsonl")
    if rc == 0:  # the clip ended before the signal came (a very slow start): nothing to check
        assert len(rows) == SHORT_FRAMES
        return
    assert rc == 128 + sig, run.stderr()
    assert after <= len(check_stopped_outputs(out, sig, run.stderr())) < SHORT_FRAMES


def test_stop_signal_inside_an_expression_ends_it_with_stream_stopped(tmp_path):
    """Stopped while the clip's smile is on (frames 20-68 for the baseline): its interval is written,
    ended "stream stopped", active up to where the run stopped."""
    after = random.randrange(30, 55)
    out = tmp_path / "out"
    run = Run(tmp_path, "video", media_path(SHORT_FACE_CLIP), "--out", out, "--model", "baseline", "-q")
    try:
        run.wait_until(lambda: lines_in(out / "frames.jsonl") >= after, f"{after} frames written")
        rc = run.stop(signal.SIGTERM)
    finally:
        run.close()
    assert rc == 143, run.stderr()
    rows = check_stopped_outputs(out, signal.SIGTERM, run.stderr())
    (stopped,) = [iv for iv in read_jsonl(out / "intervals.jsonl") if iv["end_reason"] == STOPPED]
    assert stopped["label"] == "happy" and after - 1 <= stopped["offset"] <= len(rows) - 1


# -- FIFO inputs --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> bytes:
    """30 frames of the real clip as MJPEG in AVI: a container ffmpeg reads from a pipe."""
    path = tmp_path_factory.mktemp("stream") / "clip.avi"
    cap = cv2.VideoCapture(str(media_path(SHORT_FACE_CLIP)))
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 360))
    for _ in range(30):
        ok, frame = cap.read()
        assert ok
        writer.write(frame)
    writer.release()
    cap.release()
    return path.read_bytes()


def _feed(fifo: Path, data: bytes, close: threading.Event | None = None) -> threading.Thread:
    """A writer: opens the FIFO, writes ``data``, keeps it open until ``close`` is set (a stall)."""

    def write() -> None:
        fd = os.open(fifo, os.O_WRONLY)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if close is not None:
                close.wait(300)
        except BrokenPipeError:  # the reader stopped: fine
            pass
        finally:
            os.close(fd)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_fifo_with_a_writer_is_read_to_its_end(stream, tmp_path):
    fifo = tmp_path / "camera.fifo"
    os.mkfifo(fifo)
    writer = _feed(fifo, stream)
    with Engine(EngineConfig(model="baseline")) as engine:
        outputs = run_video(str(fifo), tmp_path / "out", engine=engine, progress=False)
    writer.join(60)
    rows = read_jsonl(outputs["frames"])
    assert len(rows) == 30 and all("error" not in r for r in rows)
    assert sum(len(r["faces"]) == 1 for r in rows) >= 28
    assert video_frame_count(outputs["annotated"]) == 30


def test_fifo_without_a_writer_gives_up_with_one_line(tmp_path):
    fifo = tmp_path / "nobody.fifo"
    os.mkfifo(fifo)
    with pytest.raises(UserError, match="nothing was written into it within 0 s"), fifo_with_data(fifo, timeout=0.3):
        pass


def test_sigterm_while_waiting_for_a_fifo_writer(tmp_path):
    fifo = tmp_path / "nobody.fifo"
    os.mkfifo(fifo)
    run = Run(tmp_path, "video", fifo, "--out", tmp_path / "out", "--model", "baseline", "-q")
    try:
        run.wait_until(lambda: "is a FIFO: waiting" in run.stderr(), "the FIFO wait")
        rc = run.stop(signal.SIGTERM)
    finally:
        run.close()
    assert rc == 143 and "Traceback" not in run.stderr(), run.stderr()
    assert not (tmp_path / "out").exists(), "stopped before anything was written"


def test_sigterm_while_a_fifo_writer_stalls(stream, tmp_path):
    """The writer sends part of the stream and then nothing, keeping the FIFO open: the reader
    thread waits inside ffmpeg, the main thread still takes the signal and closes the outputs."""
    fifo = tmp_path / "stalled.fifo"
    os.mkfifo(fifo)
    release = threading.Event()
    writer = _feed(fifo, stream[: len(stream) // 2], close=release)
    out = tmp_path / "out"
    run = Run(tmp_path, "video", fifo, "--out", out, "--model", "baseline", "-q")
    try:
        run.wait_until(lambda: lines_in(out / "frames.jsonl") >= 1, "the first frames")
        rc = run.stop(signal.SIGTERM)
    finally:
        release.set()
        run.close()
        writer.join(10)
    assert rc == 143, run.stderr()
    assert len(check_stopped_outputs(out, signal.SIGTERM, run.stderr())) >= 1
