"""Bad input: odd frames, corrupt files, truncated video, broken weights. Clear errors; the engine goes on."""

from __future__ import annotations

import json
import logging

import cv2
import numpy as np
import pytest
from fault_helpers import decodable_frames

from fer_ros.cli.video import run_video
from fer_ros.engine.engine import Engine, EngineConfig
from fer_ros.engine.images import MAX_PIXELS, MIN_SIDE, BadFrame, as_bgr
from fer_ros.engine.landmarks import box_iou
from fer_ros.io.media import SHORT_FACE_CLIP, SINGLE_FACE_CLIP, media_path

MODELS = ["baseline", "recurrent"]


@pytest.fixture(scope="module")
def face_frame(clip_frames):
    return clip_frames(SHORT_FACE_CLIP)[0][10]


def read_jsonl(path):
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines]


# ------------------------------------------------------------------ images.as_bgr

BAD_FRAMES = {
    "none": (None, "None"),
    "empty": (np.zeros((0, 0, 3), np.uint8), "empty"),
    "empty-rows": (np.zeros((0, 640, 3), np.uint8), "empty"),
    "one-pixel": (np.zeros((1, 1, 3), np.uint8), "too small"),
    "one-pixel-grey": (np.zeros((1, 1), np.uint8), "too small"),
    "thin": (np.zeros((MIN_SIDE - 1, 640, 3), np.uint8), "too small"),
    "five-channels": (np.zeros((360, 640, 5), np.uint8), "shape"),
    "two-channels": (np.zeros((360, 640, 2), np.uint8), "shape"),
    "one-d": (np.zeros(640, np.uint8), "shape"),
    "four-d": (np.zeros((2, 360, 640, 3), np.uint8), "shape"),
    "int32": (np.zeros((360, 640, 3), np.int32), "pixel type"),
    "complex": (np.zeros((360, 640, 3), np.complex64), "pixel type"),
    "too-large": (np.broadcast_to(np.uint8(0), (10_001, 10_001, 3)), "too large"),  # no allocation
}


@pytest.mark.parametrize("name", BAD_FRAMES)
def test_as_bgr_refuses_unusable_frames_with_a_clear_message(name):
    image, words = BAD_FRAMES[name]
    with pytest.raises(BadFrame, match=words):
        as_bgr(image)


def test_bad_frame_is_a_value_error():
    assert issubclass(BadFrame, ValueError)  # front ends that catch ValueError keep working
    assert MAX_PIXELS < 10_001 * 10_001


def test_as_bgr_converts_every_supported_layout(face_frame):
    bgr = face_frame
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA)
    bgra[:, :, 3] = 7  # alpha must not leak into the colours
    for image in (
        bgr,
        grey,
        grey[:, :, None],
        bgra,
        bgr.astype(np.uint16) * 257,
        bgr / 255.0,
        (bgr / 255.0).astype(np.float32),
        bgr[:, ::-1],
    ):
        out = as_bgr(image)
        assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
        assert out.shape[:2] == bgr.shape[:2] and out.flags.c_contiguous
    np.testing.assert_array_equal(as_bgr(bgra), bgr)
    np.testing.assert_array_equal(as_bgr(bgr.astype(np.uint16) * 257), bgr)
    assert np.abs(as_bgr(bgr / 255.0).astype(int) - bgr).max() <= 1
    np.testing.assert_array_equal(as_bgr(grey), as_bgr(grey[:, :, None]))
    assert np.all(as_bgr(grey)[:, :, 0] == grey) and np.all(as_bgr(grey)[:, :, 2] == grey)
    nan = np.full((64, 64), np.nan, np.float32)
    assert as_bgr(nan).max() == 0  # NaN pixels do not crash or wrap around


# ------------------------------------------------------------------ Engine.process


@pytest.fixture(scope="module", params=MODELS)
def engine(request):
    eng = Engine(EngineConfig(model=request.param))
    yield eng
    eng.close()


@pytest.mark.parametrize("name", ["none", "empty", "one-pixel", "five-channels", "int32", "too-large"])
def test_engine_skips_bad_frame_and_keeps_the_face_id(engine, face_frame, name, caplog):
    before = engine.process(face_frame)
    assert len(before.faces) == 1
    fid = before.faces[0].id
    with caplog.at_level(logging.WARNING, logger="fer_ros.engine.engine"):
        bad = engine.process(BAD_FRAMES[name][0])
    assert bad.error and BAD_FRAMES[name][1] in bad.error
    assert bad.faces == [] and bad.frame == before.frame + 1
    assert "error" in bad.to_json() and json.dumps(bad.to_json())
    assert any("skipped" in r.getMessage() and BAD_FRAMES[name][1] in r.getMessage() for r in caplog.records)
    after = engine.process(face_frame)
    assert after.error is None and [f.id for f in after.faces] == [fid]


@pytest.mark.parametrize("layout", ["grey", "grey-hw1", "bgra", "uint16", "float64", "float32", "float32-255"])
def test_engine_finds_the_face_in_every_supported_layout(engine, face_frame, layout):
    ref = engine.process(face_frame)
    (face,) = ref.faces
    bgr = face_frame
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    image = {
        "grey": grey,
        "grey-hw1": grey[:, :, None],
        "bgra": cv2.cvtColor(bgr, cv2.COLOR_BGR2BGRA),
        "uint16": bgr.astype(np.uint16) * 257,
        "float64": bgr / 255.0,
        "float32": (bgr / 255.0).astype(np.float32),
        "float32-255": bgr.astype(np.float32),
    }[layout]
    out = engine.process(image)
    assert out.error is None
    assert [f.id for f in out.faces] == [face.id]
    assert box_iou(out.faces[0].box, face.box)[0, 0] > 0.85
    assert sum(out.faces[0].scores) == pytest.approx(1.0, abs=1e-4)


def test_huge_image_face_found_with_box_in_original_pixels(face_frame):
    engine = Engine(EngineConfig(model="baseline"))
    try:
        (ref,) = engine.process(face_frame).faces
        engine.reset()
        huge = np.full((6000, 8000, 3), 90, np.uint8)
        scale, x0, y0 = 4, 3000, 2000
        h, w = face_frame.shape[:2]
        huge[y0 : y0 + scale * h, x0 : x0 + scale * w] = cv2.resize(face_frame, (scale * w, scale * h))
        out = engine.process(huge)
        assert out.error is None and len(out.faces) == 1
        expected = np.asarray(ref.box) * scale + np.array([x0, y0, 0, 0], np.float32)
        assert box_iou(out.faces[0].box, expected)[0, 0] > 0.85, (out.faces[0].box, expected)
        # Beyond the pixel limit: refused with a message, and the next frame still works.
        too_big = engine.process(np.broadcast_to(np.uint8(0), (10_001, 10_001, 3)))
        assert too_big.error and "too large" in too_big.error
        assert len(engine.process(huge).faces) == 1
    finally:
        engine.close()


# ------------------------------------------------------------------ corrupt weights


def test_missing_or_corrupt_weights_give_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        Engine(EngineConfig(model="recurrent", weights=str(tmp_path / "missing.safetensors")))
    corrupt = tmp_path / "corrupt.safetensors"
    corrupt.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all")
    with pytest.raises(ValueError, match="safetensors"):
        Engine(EngineConfig(model="recurrent", weights=str(corrupt)))


# ------------------------------------------------------------------ files through run_video


@pytest.mark.parametrize("model", MODELS)
def test_folder_with_corrupt_jpegs_completes_with_an_error_line(clip_frames, tmp_path, model, caplog):
    frames = clip_frames(SHORT_FACE_CLIP)[0][:12]
    folder = tmp_path / "frames"
    folder.mkdir()
    for k, image in enumerate(frames):
        cv2.imwrite(str(folder / f"frame_{k:03d}.jpg"), image)
    (folder / "frame_004.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg at all")
    (folder / "frame_009.jpg").write_bytes(b"")
    good = (folder / "frame_007.jpg").read_bytes()
    (folder / "frame_007.jpg").write_bytes(good[: len(good) // 3])  # truncated mid-scan
    with caplog.at_level(logging.WARNING):
        outputs = run_video(str(folder), tmp_path / "out", EngineConfig(model=model), progress=False)

    rows = read_jsonl(outputs["frames"])
    assert [r["frame"] for r in rows] == list(range(12))
    for k in (4, 9):
        assert f"frame_{k:03d}.jpg" in rows[k]["error"] and "decode" in rows[k]["error"]
        assert rows[k]["faces"] == []
    assert any("skipped" in r.getMessage() for r in caplog.records)
    ids = {f["id"] for k, r in enumerate(rows) if k not in (4, 7, 9) for f in r["faces"]}
    assert len(ids) == 1, "one bad frame does not end the face's track"
    assert all(len(r["faces"]) == 1 for k, r in enumerate(rows) if k not in (4, 7, 9))
    assert "error" in rows[7] or len(rows[7]["faces"]) <= 1  # a partial JPEG decodes or is refused
    read_jsonl(outputs["intervals"])
    assert _frames_cv2_reads(outputs["annotated"]) == 12, "skipped frames keep the video in step"


def _frames_cv2_reads(path) -> int:
    cap, n = cv2.VideoCapture(str(path)), 0
    while cap.read()[0]:
        n += 1
    cap.release()
    return n


@pytest.mark.parametrize("model", MODELS)
def test_truncated_video_runs_to_where_it_breaks(tmp_path, model, caplog):
    data = media_path(SINGLE_FACE_CLIP).read_bytes()  # index at the front: a cut keeps it readable
    video = tmp_path / "truncated.mp4"
    video.write_bytes(data[: len(data) // 10])
    in_order = _frames_cv2_reads(video)  # what read() alone gets before its first failure
    decodable = decodable_frames(video)  # every frame that decodes, trying each packet
    assert 10 < in_order <= decodable < 472
    outputs = run_video(str(video), tmp_path / "out", EngineConfig(model=model), progress=False)
    rows = read_jsonl(outputs["frames"])
    assert [r["frame"] for r in rows] == list(range(len(rows)))
    decoded = [r for r in rows if "error" not in r]
    assert len(decoded) == decodable, "every decodable frame is processed"
    assert all("damaged packet" in r["error"] for r in rows if "error" in r)
    assert sum(len(r["faces"]) == 1 for r in decoded) >= 0.95 * decodable
    stamps = [r["stamp"] for r in rows]
    assert stamps == sorted(stamps) and stamps[0] >= 0
    for iv in read_jsonl(outputs["intervals"]):
        assert 0 <= iv["onset"] <= iv["apex"] <= iv["offset"] < len(rows)
    assert _frames_cv2_reads(outputs["annotated"]) == len(rows)
    assert f"video ended after {len(rows)} of 472 frames" in caplog.text


def test_truncated_video_without_its_index_is_refused_clearly(tmp_path):
    data = media_path(SHORT_FACE_CLIP).read_bytes()  # index at the end: a cut loses it
    video = tmp_path / "cut.mp4"
    video.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cannot open video file"):
        run_video(str(video), tmp_path / "out", EngineConfig(model="baseline"), progress=False)


class _StopAt(Engine):
    """A real engine that is interrupted (Ctrl-C) at a given frame."""

    stop_at = 5
    seen = 0

    def complete(self, prepared):  # the main thread's stage (the reader thread prepares)
        if self.seen == self.stop_at:
            raise KeyboardInterrupt
        self.seen += 1
        return super().complete(prepared)


def test_interrupted_run_keeps_what_it_wrote(tmp_path):
    engine = _StopAt(EngineConfig(model="baseline"))
    try:
        with pytest.raises(KeyboardInterrupt):
            run_video(str(media_path(SHORT_FACE_CLIP)), tmp_path / "out", engine=engine, progress=False)
    finally:
        engine.close()
    rows = read_jsonl(tmp_path / "out" / "frames.jsonl")
    assert [r["frame"] for r in rows] == list(range(_StopAt.stop_at))
    assert all(len(r["faces"]) == 1 for r in rows)
    read_jsonl(tmp_path / "out" / "intervals.jsonl")
    assert _frames_cv2_reads(tmp_path / "out" / "annotated.mp4") == _StopAt.stop_at


def test_big_endian_pixels_are_read_as_their_values(face_frame):
    wide = face_frame.astype(np.uint16) * 257
    np.testing.assert_array_equal(as_bgr(wide.astype(">u2")), as_bgr(wide))
    np.testing.assert_array_equal(as_bgr(wide.astype(">u2")), face_frame)


def test_ragged_lists_and_odd_objects_are_bad_frames():
    for thing in ([[1, 2, 3], [4, 5]], object(), "text", 3.5):
        with pytest.raises(BadFrame):
            as_bgr(thing)
