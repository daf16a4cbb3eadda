"""`fer-ros` command line through the installed entry point, on real frames, clips and photos."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import skimage.data
from fault_helpers import assert_one_line_error

from fer_ros.cli import build_parser, main
from fer_ros.io.media import MULTI_FACE_PHOTO, SHORT_FACE_CLIP, media_path
from fer_ros.model.classes import CLASS_NAMES, PHASES

MODELS = ["baseline", "recurrent"]

FRAME_KEYS = {"frame", "stamp", "faces"}
FACE_KEYS = {"id", "box", "label", "confidence", "scores", "intensity", "activity", "phase"}
INTERVAL_KEYS = {
    "id",
    "label",
    "confidence",
    "onset",
    "apex",
    "offset",
    "onset_stamp",
    "apex_stamp",
    "offset_stamp",
    "peak_intensity",
    "end_reason",
}
ENTRY_POINT = Path(sys.executable).parent / "fer-ros"
SHORT_FRAMES = 72


def fer_ros(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    cmd = [str(ENTRY_POINT)] if ENTRY_POINT.exists() else [sys.executable, "-m", "fer_ros.cli"]
    return subprocess.run(cmd + [str(a) for a in args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr
    return proc


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_frame_rows(rows: list[dict]) -> None:
    for k, row in enumerate(rows):
        assert set(row) == FRAME_KEYS, row.keys()
        assert row["frame"] == k
        for face in row["faces"]:
            assert set(face) == FACE_KEYS, face.keys()
            assert isinstance(face["id"], int) and len(face["box"]) == 4
            assert list(face["scores"]) == list(CLASS_NAMES)
            assert sum(face["scores"].values()) == pytest.approx(1.0, abs=1e-3)
            assert face["label"] == max(face["scores"], key=face["scores"].get)
            assert 0 <= face["confidence"] <= 1 and 0 <= face["intensity"] <= 1 and 0 <= face["activity"] <= 1
            assert face["phase"] in PHASES
    stamps = [r["stamp"] for r in rows]
    assert stamps[0] >= 0 and all(b > a for a, b in zip(stamps, stamps[1:]))


def check_interval_rows(intervals: list[dict], rows: list[dict]) -> None:
    for iv in intervals:
        assert set(iv) == INTERVAL_KEYS, iv.keys()
        assert 0 <= iv["onset"] <= iv["apex"] <= iv["offset"] < len(rows)
        assert iv["label"] in CLASS_NAMES and 0 <= iv["confidence"] <= 1
        for key in ("onset", "apex", "offset"):
            assert iv[f"{key}_stamp"] == pytest.approx(rows[iv[key]]["stamp"], abs=1e-5)
            assert iv["id"] in {f["id"] for f in rows[iv[key]]["faces"]}


def video_frames(path: Path) -> tuple[int, tuple[int, int] | None]:
    cap, n, size = cv2.VideoCapture(str(path)), 0, None
    assert cap.isOpened(), f"cannot open {path}"
    while True:
        good, image = cap.read()
        if not good:
            break
        n, size = n + 1, (image.shape[1], image.shape[0])
    cap.release()
    return n, size


def check_png(path: Path) -> None:
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = cv2.imread(str(path))
    assert image is not None and image.shape[0] > 50 and image.shape[1] > 50


@pytest.fixture(scope="module")
def frame_folder(clip_frames, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("short_frames")
    for k, image in enumerate(clip_frames(SHORT_FACE_CLIP)[0]):
        cv2.imwrite(str(folder / f"{k:04d}.png"), image)
    return folder


# ------------------------------------------------------------------ fer-ros video


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("source", ["folder", "clip"])
def test_video_writes_every_output(source, model, frame_folder, tmp_path):
    spec = frame_folder if source == "folder" else media_path(SHORT_FACE_CLIP)
    out = tmp_path / "out"
    proc = ok(fer_ros("video", spec, "--out", out, "--model", model, "-q", cwd=tmp_path))
    assert "frames.jsonl" in proc.stdout

    rows = read_jsonl(out / "frames.jsonl")
    assert len(rows) == SHORT_FRAMES
    check_frame_rows(rows)
    assert sum(len(r["faces"]) == 1 for r in rows) >= 0.95 * SHORT_FRAMES
    assert len({f["id"] for r in rows for f in r["faces"]}) == 1
    if source == "folder":  # a folder of frames is stamped at --fps (30 by default)
        assert [r["stamp"] for r in rows] == pytest.approx([k / 30 for k in range(SHORT_FRAMES)], abs=1e-5)

    intervals = read_jsonl(out / "intervals.jsonl")
    check_interval_rows(intervals, rows)
    if model == "baseline":
        assert intervals, "the clip holds an expression; the frame-wise baseline spots it"

    assert video_frames(out / "annotated.mp4") == (SHORT_FRAMES, (640, 360))
    check_png(out / "timeline.png")


@pytest.fixture(scope="module")
def stills_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("stills")
    astronaut = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    cv2.imwrite(str(folder / "astronaut.png"), astronaut)
    cv2.imwrite(str(folder / "astronaut_again.png"), astronaut)  # same photo: a reset gives a new id
    (folder / "multi_face.jpg").write_bytes(media_path(MULTI_FACE_PHOTO).read_bytes())
    return folder


@pytest.mark.parametrize("model", MODELS)
def test_stills_one_line_per_image_with_state_reset(model, stills_folder, tmp_path):
    out = tmp_path / "out"
    ok(fer_ros("video", stills_folder, "--stills", "--out", out, "--model", model, "-q"))
    rows = read_jsonl(out / "frames.jsonl")
    assert [r["file"] for r in rows] == ["astronaut.png", "astronaut_again.png", "multi_face.jpg"]
    for row in rows:
        del row["file"]
    check_frame_rows_stills(rows)
    astronaut, again, group = rows
    assert len(astronaut["faces"]) == 1 and astronaut["faces"][0]["label"] == "happy"
    assert len(again["faces"]) == 1
    assert len(group["faces"]) == 5
    group_ids = {f["id"] for f in group["faces"]}
    assert len(group_ids) == 5
    # State is reset between photos: the same photo twice gets a new id (ids are never
    # reused within a run), from a fresh state (the same scores), and no id carries over.
    assert again["faces"][0]["id"] != astronaut["faces"][0]["id"]
    for key in ("scores", "intensity", "activity", "box"):
        assert again["faces"][0][key] == astronaut["faces"][0][key]
    assert not group_ids & {astronaut["faces"][0]["id"], again["faces"][0]["id"]}
    assert read_jsonl(out / "intervals.jsonl") == []  # a single photo never confirms an interval
    # Annotated stills keep their input's name and format.
    for name in ("astronaut.png", "astronaut_again.png"):
        check_png(out / "annotated" / name)
    assert (
        cv2.imread(str(out / "annotated" / "multi_face.jpg")).shape
        == cv2.imread(str(media_path(MULTI_FACE_PHOTO))).shape
    )


def check_frame_rows_stills(rows):
    """As check_frame_rows, but every still is stamped 0 (independent photos)."""
    for k, row in enumerate(rows):
        assert set(row) == FRAME_KEYS and row["frame"] == k and row["stamp"] == 0
        for face in row["faces"]:
            assert set(face) == FACE_KEYS
            assert sum(face["scores"].values()) == pytest.approx(1.0, abs=1e-3)


@pytest.fixture(scope="module")
def aligned_folder(clip_frames, run_clip, tmp_path_factory) -> Path:
    """Square face crops of the short clip, cut around the faces the engine found in it."""
    frames = clip_frames(SHORT_FACE_CLIP)[0]
    run = run_clip(SHORT_FACE_CLIP, "baseline")
    folder = tmp_path_factory.mktemp("aligned")
    n = 0
    for image, result in zip(frames[:30], run.results):
        if not result.faces:
            continue
        x, y, w, h = result.faces[0].box
        side, cx, cy = 1.2 * max(w, h), x + w / 2, y + h / 2
        m = np.array([[160 / side, 0, 80 - 160 / side * cx], [0, 160 / side, 80 - 160 / side * cy]])
        cv2.imwrite(str(folder / f"{n:04d}.png"), cv2.warpAffine(image, m, (160, 160), flags=cv2.INTER_AREA))
        n += 1
    assert n >= 25
    return folder


@pytest.mark.parametrize("model", MODELS)
def test_aligned_crops_one_face_per_frame(model, aligned_folder, tmp_path):
    out = tmp_path / "out"
    ok(fer_ros("video", aligned_folder, "--aligned", "--out", out, "--model", model, "-q"))
    rows = read_jsonl(out / "frames.jsonl")
    assert len(rows) == len(list(aligned_folder.glob("*.png")))
    check_frame_rows(rows)
    assert all(len(r["faces"]) == 1 for r in rows)
    assert all(r["faces"][0]["box"] == [0, 0, 160, 160] for r in rows)  # the crop is the face
    assert len({r["faces"][0]["id"] for r in rows}) == 1
    check_interval_rows(read_jsonl(out / "intervals.jsonl"), rows)
    assert video_frames(out / "annotated.mp4") == (len(rows), (160, 160))


# ------------------------------------------------------------------ help and errors


def _subcommands() -> list[str]:
    parser = build_parser()
    (sub,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


def test_help_through_the_entry_point():
    proc = ok(fer_ros("--help"))
    assert proc.stdout.startswith("usage: fer-ros")
    for command in _subcommands():
        assert command in proc.stdout
    assert {"video", "bench"} <= set(_subcommands())


@pytest.mark.parametrize("command", _subcommands())
def test_help_of_every_subcommand(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: fer-ros {command}")
    words = {
        "video": ["--out", "--stills", "--aligned", "--model", "--detect-every", "--lost-timeout"],
        "bench": ["--frames", "--device", "--streams", "--faces"],
        "train": ["--out", "config"],
    }.get(command, ["--model"])
    for word in words:
        assert word in out


@pytest.mark.parametrize("case", ["missing-input", "missing-weights", "bad-parameter", "unreadable-video"])
def test_errors_exit_2_with_a_clear_message(case, tmp_path):
    cut = tmp_path / "cut.mp4"
    data = media_path(SHORT_FACE_CLIP).read_bytes()
    cut.write_bytes(data[: len(data) // 2])  # its index is at the end: unreadable
    short = media_path(SHORT_FACE_CLIP)
    args, words = {
        "missing-input": (["video", tmp_path / "nope.mp4", "--model", "baseline"], "does not exist"),
        "missing-weights": (["video", short, "--weights", tmp_path / "none.safetensors"], "not found"),
        "bad-parameter": (["video", short, "--model", "baseline", "--detect-every", "0"], "--detect-every"),
        "unreadable-video": (["video", cut, "--model", "baseline"], "cannot open"),
    }[case]
    proc = fer_ros(*args, "--out", tmp_path / "out", "-q")
    assert_one_line_error(proc, words)


@pytest.mark.parametrize("args", [[], ["video"], ["video", "default"], ["nonsense"]])
def test_usage_errors_exit_2_in_one_line(args, capsys):  # no command, no input, no --out, unknown command
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and ": error:" in err and "--help" in err, err


# The list of inputs that gave a traceback (exit 1), a hang or a silent NaN: each is one
# line and exit status 2 now, before any model loads (a flag) or as soon as the input is looked at.
BAD_FLAGS = {
    "fps-inf": (["--fps", "inf"], "--fps"),
    "fps-zero": (["--fps", "0"], "--fps"),
    "fps-nan": (["--fps", "nan"], "--fps"),
    "fps-negative": (["--fps", "-1"], "--fps"),
    "fps-huge": (["--fps", "1e300"], "--fps"),
    "fps-text": (["--fps", "fast"], "--fps"),
    "device-tpu": (["--device", "tpu"], "--device"),
    "max-faces-zero": (["--max-faces", "0"], "--max-faces"),
    "lost-timeout-nan": (["--lost-timeout", "nan"], "--lost-timeout"),
    "lost-timeout-inf": (["--lost-timeout", "inf"], "--lost-timeout"),
}


@pytest.mark.parametrize("case", BAD_FLAGS)
def test_bad_numeric_and_device_flags_are_refused_at_parse_time(case, capsys, tmp_path):
    flags, words = BAD_FLAGS[case]
    with pytest.raises(SystemExit) as exit_:
        main(["video", str(media_path(SHORT_FACE_CLIP)), "--out", str(tmp_path / "out"), *flags])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"argument {words}" in err, err
    assert not (tmp_path / "out").exists(), "nothing is written for a refused command line"


def test_bench_frames_zero_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "--frames", "0"])
    assert exit_.value.code == 2
    assert "argument --frames: must be an integer >= 1" in capsys.readouterr().err


CONFIGS = {
    "missing": (None, "no such file"),
    "not-yaml": ("fer_node:\n  ros__parameters: [1, 2\n", "not valid YAML at line"),
    "a-list": ("- 1\n- 2\n", "ros__parameters"),
    "no-section": ("fer_node:\n  model: baseline\n", "ros__parameters"),
    "wrong-type": ("fer_node:\n  ros__parameters:\n    lost_timeout: abc\n", "lost_timeout must be a number"),
    "flag-not-number": ("n:\n  ros__parameters:\n    spotter:\n      on_threshold: yes\n", "spotter.on_threshold"),
    "out-of-range": ("fer_node:\n  ros__parameters:\n    max_faces: 0\n", "max_faces"),
    "unknown": ("fer_node:\n  ros__parameters:\n    max_fcaes: 3\n", "unknown engine parameter"),
    "device": ("fer_node:\n  ros__parameters:\n    device: tpu\n", "device must be"),
    "binary": (b"\xff\xfe\x00garbage", "config"),
}


@pytest.mark.parametrize("case", CONFIGS)
def test_bad_config_files_are_one_line(case, tmp_path, caplog):
    text, words = CONFIGS[case]
    path = tmp_path / "params.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    elif text is not None:
        path.write_text(text)
    rc = main(["video", str(media_path(SHORT_FACE_CLIP)), "--out", str(tmp_path / "out"), "--config", str(path)])
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert rc == 2 and len(errors) == 1, caplog.text
    message = errors[0].getMessage()
    assert "\n" not in message and words in message, message
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("index", ["7", "99", "100", "99999999999999999999"])
def test_camera_that_does_not_exist_is_one_line(index, tmp_path):
    proc = fer_ros("video", index, "--out", tmp_path / "out", "--model", "baseline", "-q", cwd=tmp_path)
    assert_one_line_error(proc, "camera" if int(index) <= 99 else "not a camera index")
