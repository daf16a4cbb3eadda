"""Fuzzed inputs, generated here: damaged video packets, images of every odd shape, dtype and
encoding, NaN and infinite parameters. For each: the run ends as it should (no exception, or
one clear error), every decodable frame is processed, and the outputs agree with each other
(one frames.jsonl line per input frame, one annotated video frame per line, unique stills).

The random cases come from ``random``, which pytest-randomly seeds per test: a failure
replays with the seed it prints (``-p randomly --randomly-seed=N``).
"""

from __future__ import annotations

import dataclasses
import json
import math
import random

import cv2
import numpy as np
import pytest
from fault_helpers import (
    assert_one_line_error,
    damage_video,
    decodable_frames,
    fer_ros,
    read_jsonl,
    video_frame_count,
)

from fer_ros.cli.video import run_video
from fer_ros.engine import Engine, EngineConfig, SpotterConfig
from fer_ros.io.media import SHORT_FACE_CLIP, media_path
from fer_ros.io.writers import ResultWriter
from fer_ros.model.errors import UserError

SHORT_FRAMES = 72


@pytest.fixture(scope="module")
def engine():
    with Engine(EngineConfig(model="baseline")) as eng:
        yield eng


@pytest.fixture(scope="module")
def face(clip_frames):
    return clip_frames(SHORT_FACE_CLIP)[0][10]


# -- damaged video packets --------------------------------------------------------------------------
@pytest.mark.parametrize("hits", [1, 3])
def test_damaged_packets_every_decodable_frame_is_processed(hits, engine, tmp_path):
    video = damage_video(media_path(SHORT_FACE_CLIP), tmp_path / "damaged.mp4", random.Random(random.random()), hits)
    decodable = decodable_frames(video)
    outputs = run_video(str(video), tmp_path / "out", engine=engine, progress=False)
    rows = read_jsonl(outputs["frames"])
    first = rows[0]["frame"]  # the engine's counter: it goes on over the runs of one engine
    assert [r["frame"] for r in rows] == list(range(first, first + len(rows)))
    decoded = [r for r in rows if "error" not in r]
    assert len(decoded) == decodable, f"{len(decoded)} frames processed of {decodable} decodable"
    assert decodable <= len(rows) <= SHORT_FRAMES  # each lost frame keeps its place, none is invented
    assert all(r["error"] == "damaged packet: the frame could not be decoded" for r in rows if "error" in r)
    stamps = [r["stamp"] for r in rows]
    assert stamps == sorted(stamps)
    assert video_frame_count(outputs["annotated"]) == len(rows), "one video frame per frames.jsonl line"


def test_damaged_packet_mid_video_goes_on_and_says_how_many(tmp_path):
    """The issue's case through the command line: damage half-way used to end the run with exit 0."""
    data = bytearray(media_path(SHORT_FACE_CLIP).read_bytes())
    mid = len(data) // 2
    data[mid : mid + 8192] = bytes(8192)  # the index is at the end of this clip: the middle is media data
    video = tmp_path / "damaged.mp4"
    video.write_bytes(bytes(data))
    decodable = decodable_frames(video)
    in_order = 0
    cap = cv2.VideoCapture(str(video))
    while cap.read()[0]:
        in_order += 1
    cap.release()
    assert in_order < decodable < SHORT_FRAMES, "the damage stops read() and loses frames"
    proc = fer_ros("video", video, "--out", tmp_path / "out", "--model", "baseline", "-q")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    rows = read_jsonl(tmp_path / "out" / "frames.jsonl")
    lost = sum("error" in r for r in rows)
    assert len(rows) - lost == decodable and lost >= 1
    assert f"{lost} damaged frame(s) could not be decoded and were skipped" in proc.stderr
    assert video_frame_count(tmp_path / "out" / "annotated.mp4") == len(rows)


# -- odd arrays -------------------------------------------------------------------------------------
DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, ">u2", np.int32, np.uint32, np.int64, np.float16]
DTYPES += [np.float32, np.float64, np.complex64, object, "U3"]
SHAPES = [(), (0,), (5,), (0, 0), (1, 1), (15, 15), (16, 16), (90, 160), (90, 160, 1), (90, 160, 2)]
SHAPES += [(90, 160, 3), (90, 160, 4), (90, 160, 5), (2, 90, 160, 3), (90, 160, 3, 1), (0, 160, 3)]
SPECIALS = [
    None,
    "not an image",
    b"\x89PNG\r\n",
    42,
    [[1, 2, 3], [4, 5]],  # ragged
    [[0] * 64] * 64,  # a nested list that is an image
    np.broadcast_to(np.uint8(7), (120, 160, 3)),  # zero strides
    np.zeros((200, 300, 3), np.uint8)[::-2, ::3],  # negative and odd strides
    np.full((64, 64), np.inf, np.float32),
    np.full((64, 64, 3), -np.inf),
    np.full((64, 64, 3), np.nan, np.float32),
    np.full((64, 64), 1e300),
]


def _odd_array(rng: random.Random):
    dtype, shape = rng.choice(DTYPES), rng.choice(SHAPES)
    values = np.asarray(rng.choice([0, 1, 255, 65535, -1, 0.5, 1e9, float("nan"), float("inf")]))
    with np.errstate(all="ignore"):
        try:
            return np.full(shape, values).astype(dtype)
        except (ValueError, OverflowError, TypeError):
            return np.zeros(shape, dtype)


def test_odd_arrays_never_break_the_engine(engine, face):
    """Random shapes x dtypes x values, then the special cases: each one is a result (processed, or
    skipped with a reason), never an exception, and the face's track survives all of them."""
    engine.reset()
    (before,) = engine.process(face).faces
    rng = random.Random(random.random())
    for image in [_odd_array(rng) for _ in range(60)] + SPECIALS:
        result = engine.process(image)
        json.dumps(result.to_json(), allow_nan=False)
        assert (result.error is None) or (result.faces == [] and result.error), result
        assert all(math.isfinite(v) for f in result.faces for v in f.box + f.scores)
    engine.reset()  # the odd frames may legitimately have ended the face (no face for too long)
    (after,) = engine.process(face).faces
    assert after.label and np.allclose(after.box, before.box, atol=2)


# -- odd image files, and stills whose names would collide -------------------------------------------
def _image_files(folder, face) -> dict[str, bool]:
    """name -> decodable: every format and odd layout OpenCV reads, broken ones, colliding names."""
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(face, cv2.COLOR_BGR2BGRA)
    files = {
        "a/face.png": (face, ".png"),
        "b/face.png": (face, ".png"),  # same name in another folder
        "face.pgm": (grey, ".pgm"),  # OpenCV reads PGM but cannot write colour to it: face.pgm.png
        "face.pgm.png": (face, ".png"),  # ...which is also an input's name
        "face16.png": ((face.astype(np.uint16) * 257), ".png"),
        "alpha.png": (bgra, ".png"),
        "grey.jpg": (grey, ".jpg"),
        "face.bmp": (face, ".bmp"),
        "face.tif": (face, ".tif"),
        "face.webp": (face, ".webp"),
        "face.ppm": (face, ".ppm"),
        "tiny.png": (face[:8, :8], ".png"),
    }
    decodable = {}
    for name, (image, ext) in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        ok, data = cv2.imencode(ext, image)
        assert ok, name
        path.write_bytes(data.tobytes())
        decodable[name] = True
    good = (folder / "a" / "face.png").read_bytes()
    broken = {"empty.jpg": b"", "noise.png": bytes(random.Random(1).randbytes(900)), "cut.png": good[:60]}
    for name, data in broken.items():
        (folder / name).write_bytes(data)
        decodable[name] = False
    return decodable


def test_odd_image_files_as_stills_one_line_each_and_no_overwrite(engine, face, tmp_path):
    folder = tmp_path / "stills"
    decodable = _image_files(folder, face)
    outputs = run_video(str(folder), tmp_path / "out", engine=engine, stills=True, progress=False)
    rows = read_jsonl(outputs["frames"])
    assert sorted(r["file"] for r in rows) == sorted(decodable)
    for row in rows:
        if decodable[row["file"]] and row["file"] != "tiny.png":
            assert "error" not in row, row
        elif not decodable[row["file"]]:
            assert row["file"].rsplit("/", 1)[-1] in row["error"] and "decode" in row["error"], row
    assert next(r for r in rows if r["file"] == "tiny.png")["error"].startswith("image too small")
    annotated = sorted(p.relative_to(outputs["annotated"]).as_posix() for p in outputs["annotated"].rglob("*.*"))
    usable = [r for r in rows if "error" not in r]
    assert len(annotated) == len(usable), "one annotated image per usable still, none overwritten"
    assert {"a/face.png", "b/face.png", "face.pgm.png", "face.pgm~2.png"} <= set(annotated)
    assert not [p for p in annotated if p.endswith(".part")]
    for name in annotated:  # every one a whole image
        assert cv2.imread(str(outputs["annotated"] / name)) is not None, name


def test_unusable_frames_keep_the_video_in_step(engine, face, tmp_path):
    """Bad frames first (before the video has a size), in the middle, and odd sizes and depths:
    one annotated video frame per frames.jsonl line, a placeholder for each bad one."""
    folder = tmp_path / "frames"
    folder.mkdir()
    frames = [b"", b"garbage", face, cv2.resize(face, (320, 180)), face.astype(np.uint16) * 257, b"", face]
    for k, item in enumerate(frames):
        ext = ".png"
        data = item if isinstance(item, bytes) else cv2.imencode(ext, item)[1].tobytes()
        (folder / f"{k:03d}{ext}").write_bytes(data)
    outputs = run_video(str(folder), tmp_path / "out", engine=engine, progress=False)
    rows = read_jsonl(outputs["frames"])
    assert [("error" in r) for r in rows] == [True, True, False, False, False, True, False]
    assert video_frame_count(outputs["annotated"]) == len(rows)


def test_a_stream_of_only_bad_frames_still_has_its_video(engine, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for k in range(4):
        (folder / f"{k}.jpg").write_bytes(b"not a jpeg")
    outputs = run_video(str(folder), tmp_path / "out", engine=engine, progress=False)
    assert len(read_jsonl(outputs["frames"])) == 4
    assert video_frame_count(outputs["annotated"]) == 4
    assert "timeline" not in outputs  # no face: nothing to plot


# -- NaN and infinite parameters ----------------------------------------------------------------------
def _numeric_params() -> list[str]:
    names = [f.name for f in dataclasses.fields(EngineConfig) if isinstance(getattr(EngineConfig(), f.name), float)]
    names += [f.name for f in dataclasses.fields(EngineConfig) if type(getattr(EngineConfig(), f.name)) is int]
    spotter = SpotterConfig()
    names += [
        f"spotter.{f.name}" for f in dataclasses.fields(spotter) if type(getattr(spotter, f.name)) in (int, float)
    ]
    return names


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinite_parameters_are_refused_or_harmless(value, face):
    """Every numeric engine parameter set to NaN or +-inf: refused naming the parameter, or an
    engine that runs and writes only finite numbers."""
    accepted = []
    for name in _numeric_params():
        try:
            cfg = EngineConfig.from_params({name: value, "model": "baseline"})
        except ValueError as e:
            assert name.split(".")[-1] in str(e), (name, str(e))
            continue
        accepted.append(name)
        with Engine(cfg) as eng:
            for _ in range(3):
                json.dumps(eng.process(face).to_json(), allow_nan=False)
            eng.finish()
    assert set(accepted) <= {"lost_timeout", "default_fps"}, accepted  # "forever" and "no stamps needed"


@pytest.mark.parametrize("fps", [math.nan, math.inf, -math.inf, 0.0, -1.0, 1e300, "30"])
def test_writer_refuses_unusable_frame_rates(fps, tmp_path):
    if fps == "30":
        ResultWriter(tmp_path / "ok", fps).close()  # a number in text is a number
        return
    with pytest.raises(UserError, match="frame rate"):
        ResultWriter(tmp_path / "out", fps)
    assert not (tmp_path / "out").exists()


def test_fps_flag_through_the_entry_point(tmp_path):
    proc = fer_ros("video", media_path(SHORT_FACE_CLIP), "--out", tmp_path / "out", "--fps", "inf")
    assert_one_line_error(proc, "--fps", "frame rate")
