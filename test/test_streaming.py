"""Nothing grows per frame: the writer streams (no per-frame history; the timeline is drawn from
frames.jsonl), results hold plain numbers, and a repeating warning is throttled.

Memory is measured with tracemalloc (Python and numpy allocations, deterministic), not RSS:
the soak (tools/soak.py) measures RSS over minutes.
"""

from __future__ import annotations

import gc
import logging
import tracemalloc

import cv2
import numpy as np
import pytest

import fer_ros.engine.throttle as throttle
from fer_ros.engine import Engine, EngineConfig, FaceResult, FrameResult
from fer_ros.io.media import SHORT_FACE_CLIP
from fer_ros.io.writers import MAX_POINTS, ResultWriter
from fer_ros.model.classes import CLASS_NAMES


def _result(k: int, faces: int = 2) -> FrameResult:
    scores = np.random.default_rng(k).dirichlet(np.ones(len(CLASS_NAMES))).astype(np.float32)
    return FrameResult(
        k,
        k / 30,
        [
            FaceResult(i, np.array([10.0 + k % 7, 20, 50, 60], np.float32), scores, "happy", 0.5, 0.4, 0.3, "onset")
            for i in range(1, faces + 1)
        ],
        [],
    )


def test_results_hold_plain_numbers():
    face = _result(3).faces[0]
    assert type(face.box) is tuple and type(face.scores) is tuple
    assert all(type(v) is float for v in face.box + face.scores)
    assert all(type(v) is float for v in (face.confidence, face.intensity, face.activity))


def test_the_writer_keeps_nothing_per_frame(tmp_path):
    """2000 more frames written (JSON, video, two faces each) leave less than 40 bytes per frame of
    Python memory behind; a per-frame history (the old one held scores per face per frame) does not."""
    image = np.full((120, 160, 3), 90, np.uint8)
    with ResultWriter(tmp_path / "out", 30.0) as writer:
        for k in range(200):  # warm-up: caches, the video writer's first allocations
            writer.frame(_result(k), image)
        tracemalloc.start()
        gc.collect()  # a full collection also empties Python's free lists (bounded caches of tuples and floats)
        before = tracemalloc.get_traced_memory()[0]
        for k in range(200, 2200):
            writer.frame(_result(k), image)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        outputs = writer.close()
    assert grown < 40 * 2000, f"{grown / 2000:.0f} bytes per frame kept"
    assert outputs["timeline"].read_bytes()[:4] == b"\x89PNG"


def test_timeline_of_a_long_run_reads_a_bounded_number_of_rows(tmp_path, monkeypatch):
    """The plot reads frames.jsonl back at a stride: at most MAX_POINTS points per face."""
    drawn = {}
    monkeypatch.setattr("fer_ros.io.writers.plot_timeline", lambda series, iv, out: drawn.update(series))
    image = np.zeros((64, 64, 3), np.uint8)
    with ResultWriter(tmp_path / "out", 30.0) as writer:
        for k in range(3 * MAX_POINTS + 5):
            writer.frame(_result(k, faces=1), image)
    assert MAX_POINTS // 2 < len(drawn[1]["t"]) <= MAX_POINTS
    assert drawn[1]["scores"].shape == (len(drawn[1]["t"]), len(CLASS_NAMES))


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(throttle, "monotonic", lambda: now[0])
    return now


def test_backward_stamp_warnings_are_throttled_with_a_count(clip_frames, clock, caplog):
    frame = clip_frames(SHORT_FACE_CLIP)[0][10]
    frame = cv2.resize(frame, (320, 180))
    with Engine(EngineConfig(model="baseline")) as engine, caplog.at_level(logging.WARNING, "fer_ros.engine"):
        for _ in range(10):  # a bag looping every 3 frames, faster than the warning period
            for k in range(3):
                engine.process(frame, k / 30)
        clock[0] += 6.0  # past the period: the next one is logged, with the count held back
        engine.process(frame, 0.0)
    warnings = [r.getMessage() for r in caplog.records if "backwards" in r.getMessage()]
    assert len(warnings) == 2, warnings
    assert "more time(s)" not in warnings[0]
    assert warnings[1].endswith("(8 more time(s) since the last warning)")
