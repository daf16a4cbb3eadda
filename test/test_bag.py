"""`fer-ros bag`: rosbag simulation without ROS, on bags generated here from real frames.

Every bag is written in the test with rosbags from the frames of the real sample clip
(never committed), run through the real engine (real MediaPipe), and the output bag is
read back with rosbags and decoded: format version, storage, kept topics, one
FrameExpressions per decodable frame stamped like its image, faces, ids, scores,
interval order, bad messages counted, a looped bag resetting tracks, and the same
results as `fer-ros video` on the same frames.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("rosbags")

from rosbags.highlevel import AnyReader  # noqa: E402
from rosbags.interfaces import (  # noqa: E402
    Qos,
    QosDurability,
    QosHistory,
    QosLiveliness,
    QosReliability,
    QosTime,
)
from rosbags.rosbag2 import Reader, StoragePlugin, Writer  # noqa: E402
from rosbags.typesys import Stores, get_typestore  # noqa: E402

from fer_ros.engine.engine import EngineConfig  # noqa: E402
from fer_ros.engine.images import BadFrame  # noqa: E402
from fer_ros.io.media import SHORT_FACE_CLIP, media_path  # noqa: E402
from fer_ros.io.sources import open_input  # noqa: E402
from fer_ros.model.classes import CLASS_NAMES, PHASES  # noqa: E402
from fer_ros.ros import bag_messages as bagmod  # noqa: E402
from fer_ros.ros.bag import BAG_VERSION, output_typestore, run_bag  # noqa: E402
from fer_ros.ros.images import COMPRESSED_IMAGE  # noqa: E402
from fer_ros.ros.messages import (  # noqa: E402
    END_REASON_NAMES,
    PHASE_CODES,
    STATUS_CODES,
    StampBook,
    seconds_to_time,
)

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000  # header stamps at a present-day epoch: float seconds lose nanoseconds there
STORE = get_typestore(Stores.ROS2_JAZZY)
Header = STORE.types["std_msgs/msg/Header"]
Time = STORE.types["builtin_interfaces/msg/Time"]
Image = STORE.types["sensor_msgs/msg/Image"]
CompressedImage = STORE.types["sensor_msgs/msg/CompressedImage"]
String = STORE.types["std_msgs/msg/String"]

BGR, RGB, JPEG, NOTES = "/cam_bgr/image_raw", "/cam_rgb/image_raw", "/cam_jpeg/image_raw/compressed", "/notes"
EXPR, IVAL = "/fer_node/expressions", "/fer_node/intervals"
SENSOR_QOS = Qos(
    QosHistory.KEEP_LAST,
    5,
    QosReliability.BEST_EFFORT,
    QosDurability.VOLATILE,
    QosTime(0, 0),
    QosTime(0, 0),
    QosLiveliness.AUTOMATIC,
    QosTime(0, 0),
    False,
)
CFG = dict(model="baseline")  # the recurrent weights may not be trained yet; the bag path is the same


# -- building input bags from real frames -------------------------------------------------------
def ns_of(stamp: float) -> int:
    return T0 * 1_000_000_000 + round(stamp * 1e9)


def time_of(ns: int):
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def image_msg(bgr: np.ndarray, ns: int, frame_id: str, encoding: str = "bgr8", pad: int = 0):
    h, w = bgr.shape[:2]
    pixels = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) if encoding == "rgb8" else bgr
    rows = np.zeros((h, w * 3 + pad), np.uint8)
    rows[:, : w * 3] = pixels.reshape(h, w * 3)
    return Image(
        header=Header(stamp=time_of(ns), frame_id=frame_id),
        height=h,
        width=w,
        encoding=encoding,
        is_bigendian=0,
        step=w * 3 + pad,
        data=rows.reshape(-1),
    )


def jpeg_msg(data: bytes, ns: int, frame_id: str):
    return CompressedImage(
        header=Header(stamp=time_of(ns), frame_id=frame_id), format="jpeg", data=np.frombuffer(data, np.uint8)
    )


class BagBuilder:
    """A rosbags Writer collecting (topic, ns, msg); messages are written in time order on close."""

    def __init__(self, path: Path, storage: str = "sqlite3", version: int = 9):
        self.path, self.storage, self.version = path, storage, version
        self.rows: list[tuple[int, str, str, object]] = []
        self.qos: dict[str, list] = {}

    def add(self, topic: str, ns: int, msg, qos=None) -> None:
        self.rows.append((ns, topic, msg.__msgtype__, msg))
        if qos is not None:
            self.qos[topic] = [qos]

    def write(self) -> Path:
        plugin = StoragePlugin.MCAP if self.storage == "mcap" else StoragePlugin.SQLITE3
        with Writer(self.path, version=self.version, storage_plugin=plugin) as w:
            conns = {}
            for ns, topic, msgtype, msg in sorted(self.rows, key=lambda r: r[0]):
                if topic not in conns:
                    conns[topic] = w.add_connection(
                        topic, msgtype, typestore=STORE, offered_qos_profiles=self.qos.get(topic, [])
                    )
                w.write(conns[topic], ns, STORE.serialize_cdr(msg, msgtype))
        return self.path


@pytest.fixture(scope="module")
def frames():
    """(BGR frames, stamps) of the short real clip, read exactly as `fer-ros video` reads it."""
    items = list(open_input(str(media_path(SHORT_FACE_CLIP))).frames)
    assert len(items) == 72
    return [f.image for f in items], [f.stamp for f in items]


BAD_BETWEEN = {RGB: 10, JPEG: 20, BGR: 30}  # a bad message on each camera half-way after this frame


@pytest.fixture(scope="module")
def main_bag(tmp_path_factory, frames):
    """sqlite3 input: bgr8, rgb8 (padded rows) and JPEG cameras of the clip, a String topic, 3 bad messages."""
    images, stamps = frames
    b = BagBuilder(tmp_path_factory.mktemp("in") / "main", "sqlite3", version=9)
    for k, (img, s) in enumerate(zip(images, stamps)):
        ns = ns_of(s)
        b.add(BGR, ns, image_msg(img, ns, "cam_bgr"), SENSOR_QOS)
        b.add(RGB, ns + 1000, image_msg(img, ns + 1000, "cam_rgb", "rgb8", pad=12), SENSOR_QOS)
        ok, jpg = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        b.add(JPEG, ns + 2000, jpeg_msg(jpg.tobytes(), ns + 2000, "cam_jpeg"))
        if k % 10 == 0:
            b.add(NOTES, ns, String(data=f"note {k}"))
    mid = lambda k: ns_of((stamps[k] + stamps[k + 1]) / 2)  # noqa: E731
    h, w = images[0].shape[:2]
    yuv = Image(
        header=Header(stamp=time_of(mid(BAD_BETWEEN[RGB])), frame_id="cam_rgb"),
        height=h,
        width=w,
        encoding="yuv422_yuy2",
        is_bigendian=0,
        step=w * 2,
        data=np.zeros(h * w * 2, np.uint8),
    )
    b.add(RGB, mid(BAD_BETWEEN[RGB]), yuv)
    b.add(
        JPEG,
        mid(BAD_BETWEEN[JPEG]),
        jpeg_msg(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8, mid(BAD_BETWEEN[JPEG]), "cam_jpeg"),
    )
    short = image_msg(images[0], mid(BAD_BETWEEN[BGR]), "cam_bgr")
    short.data = short.data[: len(short.data) // 2]  # truncated: half the rows missing
    b.add(BGR, mid(BAD_BETWEEN[BGR]), short)
    return b.write()


@pytest.fixture(scope="module")
def main_run(main_bag, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "fer"
    summary = run_bag(main_bag, out, EngineConfig(**CFG), keep=[BGR, NOTES], progress=False)
    return summary, out


def read_bag(path: Path) -> dict[str, list[tuple[int, object]]]:
    """topic -> [(bag timestamp, decoded message)] in bag order, decoded with the definitions in the bag."""
    out = defaultdict(list)
    with AnyReader([path]) as reader:
        for conn, t, raw in reader.messages():
            out[conn.topic].append((t, reader.deserialize(raw, conn.msgtype)))
    return out


def metadata(path: Path) -> dict:
    return yaml.safe_load((path / "metadata.yaml").read_text())["rosbag2_bagfile_information"]


def t_ns(t) -> int:
    return t.sec * 1_000_000_000 + t.nanosec


def by_camera(msgs) -> dict[str, list]:
    out = defaultdict(list)
    for _, m in msgs:
        out[m.header.frame_id].append(m)
    return out


@pytest.fixture(scope="module")
def main_out(main_run):
    return read_bag(main_run[1])


# -- the main run ---------------------------------------------------------------------------
def test_output_bag_is_version_8_sqlite3_with_kept_topics_and_their_qos(main_run, main_bag):
    summary, out = main_run
    meta = metadata(out)
    assert meta["version"] == BAG_VERSION == 8
    assert meta["storage_identifier"] == "sqlite3"
    topics = {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}
    assert set(topics) == {BGR, NOTES, EXPR, IVAL}
    assert topics[EXPR]["topic_metadata"]["type"] == "fer_msgs/msg/FrameExpressions"
    assert topics[IVAL]["topic_metadata"]["type"] == "fer_msgs/msg/ExpressionInterval"
    with Reader(main_bag) as rin, Reader(out) as rout:
        qin = {c.topic: c.ext.offered_qos_profiles for c in rin.connections}
        qout = {c.topic: c.ext.offered_qos_profiles for c in rout.connections}
        assert qout[BGR] == qin[BGR] == [SENSOR_QOS]
        assert qout[NOTES] == qin[NOTES]
        assert qout[EXPR][0].reliability == QosReliability.RELIABLE
        # the type hashes written are the ones rosbags derives from the .msg text (and rosidl's, see below)
        store = output_typestore()
        digests = {c.topic: c.digest for c in rout.connections}
        assert digests[EXPR] == store.hash_rihs01("fer_msgs/msg/FrameExpressions")
        assert digests[BGR] == {c.topic: c.digest for c in rin.connections}[BGR]


def test_kept_topics_are_identical(main_bag, main_out):
    inp = read_bag(main_bag)
    for topic in (BGR, NOTES):
        a, b = inp[topic], main_out[topic]
        assert [t for t, _ in a] == [t for t, _ in b]
        for (_, x), (_, y) in zip(a, b):
            if topic == NOTES:
                assert x.data == y.data
            else:
                assert (x.header.stamp, x.header.frame_id, x.encoding, x.height, x.width, x.step) == (
                    y.header.stamp,
                    y.header.frame_id,
                    y.encoding,
                    y.height,
                    y.width,
                    y.step,
                )
                assert np.array_equal(x.data, y.data)
    assert RGB not in main_out and JPEG not in main_out


def test_one_frame_expressions_per_decodable_frame_stamped_like_its_image(frames, main_out):
    _, stamps = frames
    cams = by_camera(main_out[EXPR])
    assert set(cams) == {"cam_bgr", "cam_rgb", "cam_jpeg"}
    for cam, offset in (("cam_bgr", 0), ("cam_rgb", 1000), ("cam_jpeg", 2000)):
        expected = [ns_of(s) + offset for s in stamps]  # every good frame, none of the bad ones
        assert [t_ns(m.header.stamp) for m in cams[cam]] == expected, cam
        # bag timestamps of the outputs are those of their images (equal to the header stamps here)
        assert [t for t, m in main_out[EXPR] if m.header.frame_id == cam] == expected


def test_bad_messages_are_counted_not_fatal(main_run):
    summary, _ = main_run
    assert {t: s.bad for t, s in summary.topics.items()} == {BGR: 1, RGB: 1, JPEG: 1}
    assert {t: s.processed for t, s in summary.topics.items()} == {BGR: 72, RGB: 72, JPEG: 72}
    assert summary.expressions == 216 and summary.bad == 3
    assert "yuv422_yuy2" in " ".join(summary.topics[RGB].reasons)
    assert "decode" in " ".join(summary.topics[JPEG].reasons)
    assert "bytes" in " ".join(summary.topics[BGR].reasons)  # truncated data: the sizes that do not add up
    text = "\n".join(summary.lines())
    assert "3 bad message(s) skipped" in text


def test_faces_ids_and_scores(main_out):
    ids_of = {cam: {f.face_id for m in msgs for f in m.faces} for cam, msgs in by_camera(main_out[EXPR]).items()}
    assert (
        not ids_of["cam_bgr"] & ids_of["cam_rgb"]
        and not ids_of["cam_bgr"] & ids_of["cam_jpeg"]
        and not ids_of["cam_rgb"] & ids_of["cam_jpeg"]
    ), f"face ids shared between cameras: {ids_of}"
    for cam, msgs in by_camera(main_out[EXPR]).items():
        assert all(list(m.class_names) == list(CLASS_NAMES) for m in msgs)
        with_face = [m for m in msgs if m.faces]
        assert len(with_face) >= 0.95 * len(msgs), cam
        ids = [f.face_id for m in msgs for f in m.faces]
        top_id = max(set(ids), key=ids.count)
        assert ids.count(top_id) >= 0.95 * len(msgs), f"{cam}: ids not stable: {sorted(set(ids))}"
        for m in with_face:
            for f in m.faces:
                assert abs(float(np.sum(f.scores)) - 1.0) < 1e-4
                assert f.label == CLASS_NAMES[int(np.argmax(f.scores))]
                assert f.confidence == pytest.approx(float(np.max(f.scores)), abs=1e-6)
                assert f.phase in PHASE_CODES.values()
                assert 0 <= f.intensity <= 1 and 0 <= f.activity <= 1
                assert f.width > 20 and f.height > 20
                assert -f.width / 2 < f.x < 640 and -f.height / 2 < f.y < 360


def test_interval_events_are_ordered_per_face(main_out, main_bag):
    inp = read_bag(main_bag)
    frame_stamps = {t_ns(m.header.stamp) for msgs in inp.values() for _, m in msgs if hasattr(m, "header")}
    per_face = defaultdict(list)
    for _, ev in main_out[IVAL]:
        per_face[(ev.header.frame_id, ev.face_id)].append(ev)
        assert list(ev.class_names) == list(CLASS_NAMES)
        assert abs(float(np.sum(ev.scores)) - 1.0) < 1e-4
        assert t_ns(ev.header.stamp) in frame_stamps
    assert main_out[IVAL], "the baseline model spots no interval on the clip: nothing checked"
    order = [STATUS_CODES["started"], STATUS_CODES["apex"], STATUS_CODES["ended"]]
    for key, evs in per_face.items():
        statuses = [e.status for e in evs]
        assert statuses == order * (len(evs) // 3), f"{key}: {statuses}"
        for e in evs:
            onset, apex, offset = t_ns(e.onset), t_ns(e.apex), t_ns(e.offset)
            assert onset in frame_stamps  # exact header stamps, not float round trips
            if e.status == STATUS_CODES["started"]:
                assert apex == 0 and offset == 0
            elif e.status == STATUS_CODES["apex"]:
                assert offset == 0 and onset <= apex
            else:
                assert onset <= apex <= offset and apex in frame_stamps and offset in frame_stamps
                assert e.peak_intensity >= 0


@pytest.fixture(scope="module")
def video_run(tmp_path_factory):
    """`fer-ros video` on the same clip with the same engine settings."""
    from fer_ros.cli.video import run_video

    out = tmp_path_factory.mktemp("video")
    outputs = run_video(str(media_path(SHORT_FACE_CLIP)), out, EngineConfig(**CFG), progress=False)
    frames = [json.loads(line) for line in outputs["frames"].read_text().splitlines()]
    intervals = [json.loads(line) for line in outputs["intervals"].read_text().splitlines()]
    return frames, intervals


@pytest.mark.parametrize("cam", ["cam_bgr", "cam_rgb"])
def test_same_results_as_fer_ros_video(main_out, video_run, cam):
    vframes, vintervals = video_run
    msgs = by_camera(main_out[EXPR])[cam]
    assert len(msgs) == len(vframes)
    id_map = {}  # published ids are unique across the bag's cameras: the same faces, other numbers
    for m, v in zip(msgs, vframes):
        assert (t_ns(m.header.stamp) - T0 * 1_000_000_000) / 1e9 == pytest.approx(v["stamp"], abs=2e-6)
        assert len(m.faces) == len(v["faces"])
        for f, g in zip(m.faces, v["faces"]):
            assert id_map.setdefault(f.face_id, g["id"]) == g["id"]
        assert [f.label for f in m.faces] == [f["label"] for f in v["faces"]]
        for f, g in zip(m.faces, v["faces"]):
            assert [f.x, f.y, f.width, f.height] == pytest.approx(g["box"], abs=0.06)
            assert list(f.scores) == pytest.approx([g["scores"][c] for c in CLASS_NAMES], abs=6e-5)
            assert PHASES[f.phase] == g["phase"]
    ended = [e for _, e in main_out[IVAL] if e.header.frame_id == cam and e.status == STATUS_CODES["ended"]]
    assert [(id_map[e.face_id], e.label) for e in ended] == [(i["id"], i["label"]) for i in vintervals]
    for e, i in zip(ended, vintervals):
        assert (t_ns(e.onset) - T0 * 1_000_000_000) / 1e9 == pytest.approx(i["onset_stamp"], abs=2e-6)
        assert (t_ns(e.offset) - T0 * 1_000_000_000) / 1e9 == pytest.approx(i["offset_stamp"], abs=2e-6)


# -- mcap, the command line, a looped bag ----------------------------------------------------------
N_FIRST, N_LOOP = 24, 12


@pytest.fixture(scope="module")
def loop_bag(tmp_path_factory, frames):
    """mcap input: the first 24 frames, then the first 12 again with their stamps (a looped recording),
    and one frame in an unknown encoding."""
    images, stamps = frames
    b = BagBuilder(tmp_path_factory.mktemp("in") / "loop", "mcap", version=8)
    order = list(range(N_FIRST)) + list(range(N_LOOP))
    for j, k in enumerate(order):
        ns = ns_of(stamps[k])
        b.add(
            BGR,
            ns_of(stamps[N_FIRST - 1]) + (j + 1) * 1_000_000 if j >= N_FIRST else ns,  # bag times increase
            image_msg(images[k], ns, "cam_bgr"),
        )
    ns = ns_of(stamps[10]) + 5_000_000
    b.add(
        BGR,
        ns,
        Image(
            header=Header(stamp=time_of(ns), frame_id="cam_bgr"),
            height=32,
            width=32,
            encoding="yuv422_yuy2",
            is_bigendian=0,
            step=64,
            data=np.zeros(32 * 64, np.uint8),
        ),
    )
    return b.write()


@pytest.fixture(scope="module")
def loop_cli(loop_bag, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "loop"
    exe = Path(sys.executable).parent / "fer-ros"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "fer_ros.cli"]
    proc = subprocess.run(
        cmd + ["bag", str(loop_bag), "--out", str(out), "--storage", "mcap", "--model", "baseline", "--keep-all", "-q"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return proc, out


def test_cli_writes_mcap_version_8(loop_cli):
    proc, out = loop_cli
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "36 frames processed, 1 bad skipped" in proc.stdout and "ms/frame" in proc.stdout
    meta = metadata(out)
    assert meta["version"] == 8 and meta["storage_identifier"] == "mcap"
    assert list(out.glob("*.mcap"))
    assert {t["topic_metadata"]["name"] for t in meta["topics_with_message_count"]} == {BGR, EXPR, IVAL}


def test_mcap_results_equal_the_sqlite_run_on_the_same_frames(loop_cli, main_out):
    out = read_bag(loop_cli[1])
    a = [m for _, m in out[EXPR]][:N_FIRST]
    b = by_camera(main_out[EXPR])["cam_bgr"][:N_FIRST]
    for x, y in zip(a, b):
        assert x.header.stamp == y.header.stamp
        assert [(f.face_id, f.label, f.phase) for f in x.faces] == [(f.face_id, f.label, f.phase) for f in y.faces]
        for f, g in zip(x.faces, y.faces):
            assert np.allclose(f.scores, g.scores, atol=1e-6)


def test_stamps_going_back_reset_tracks(loop_cli, frames):
    proc, out = loop_cli
    assert "1 resets" in proc.stdout
    assert "stamp went back" in proc.stderr and "time jump" in proc.stderr
    msgs = [m for _, m in read_bag(out)[EXPR]]
    assert len(msgs) == N_FIRST + N_LOOP
    _, stamps = frames
    assert [t_ns(m.header.stamp) for m in msgs] == [
        ns_of(stamps[k]) for k in list(range(N_FIRST)) + list(range(N_LOOP))
    ]
    before = {f.face_id for m in msgs[:N_FIRST] for f in m.faces}
    after = {f.face_id for m in msgs[N_FIRST:] for f in m.faces}
    assert before and after and not before & after, (before, after)
    evs = read_bag(out)[IVAL]
    last_first_pass = max(t for t, m in read_bag(out)[EXPR][:N_FIRST])
    for fid in before:  # every interval of the first pass is closed by the jump
        statuses = [e.status for _, e in evs if e.face_id == fid]
        assert statuses.count(STATUS_CODES["started"]) == statuses.count(STATUS_CODES["ended"])
    jumped = [(t, e) for t, e in evs if e.end_reason == "time jump"]
    assert jumped, "the loop closes an open interval with reason 'time jump'"
    for t, e in jumped:  # consistent: written with the first pass's last frame, after its offset
        assert e.face_id in before and t == last_first_pass
        assert t_ns(e.onset) <= t_ns(e.offset) <= t_ns(e.header.stamp) == ns_of(stamps[N_FIRST - 1])
    assert all(e.end_reason for _, e in evs if e.status == STATUS_CODES["ended"])
    assert not any(e.end_reason for _, e in evs if e.status != STATUS_CODES["ended"])


# -- errors --------------------------------------------------------------------------------------
def run_cli(args, caplog) -> tuple[int, str]:
    from fer_ros.cli import main

    caplog.clear()
    rc = main(args)
    return rc, caplog.text


def test_unknown_topic_existing_output_and_through_node_are_clear_errors(main_bag, main_run, tmp_path, caplog):
    rc, text = run_cli(["bag", str(main_bag), "--out", str(tmp_path / "x"), "--topics", "/nope", "-q"], caplog)
    assert rc == 2 and "/nope" in text and BGR in text
    rc, text = run_cli(["bag", str(main_bag), "--out", str(tmp_path / "x"), "--topics", NOTES, "-q"], caplog)
    assert rc == 2 and "not image topics" in text
    rc, text = run_cli(["bag", str(main_bag), "--out", str(main_run[1]), "-q"], caplog)
    assert rc == 2 and "exists already" in text
    rc, text = run_cli(["bag", str(main_bag), "--out", str(tmp_path / "y"), "--keep", "/nope", "-q"], caplog)
    assert rc == 2 and "--keep" in text
    rc, text = run_cli(["bag", str(main_bag), "--out", str(tmp_path / "z"), "--namespace", "/9bad", "-q"], caplog)
    assert rc == 2 and "namespace" in text
    if _ros_missing():
        rc, text = run_cli(["bag", str(main_bag), "--out", str(tmp_path / "w"), "--through-node"], caplog)
        assert rc == 2 and "make ros" in text
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_missing_message_definitions_are_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(bagmod, "msg_dir_candidates", lambda: [tmp_path / "nowhere"])
    with pytest.raises(FileNotFoundError, match="FER_MSGS_DIR"):
        bagmod.msg_dir()


# -- the shared layers: decoding and message fields ---------------------------------------------
def roundtrip(msg):
    """Through CDR and back: the read-only arrays rosbags hands the decoder when reading a bag."""
    return STORE.deserialize_cdr(STORE.serialize_cdr(msg, msg.__msgtype__), msg.__msgtype__)


@pytest.mark.parametrize("encoding", ["bgr8", "rgb8", "bgra8", "rgba8", "mono8", "mono16"])
def test_rosbags_images_decode_with_the_node_decoder(encoding):
    """The node's field-based decoder (fer_ros.ros.images) on rosbags dataclasses, rows padded."""
    rng = np.random.default_rng(0)
    bgr = rng.integers(0, 256, (20, 24, 3), np.uint8)
    alpha = np.full((20, 24, 1), 9, np.uint8)
    pixels, expect = {
        "bgr8": (bgr, bgr),
        "rgb8": (bgr[:, :, ::-1], bgr),
        "bgra8": (np.concatenate([bgr, alpha], 2), bgr),
        "rgba8": (np.concatenate([bgr[:, :, ::-1], alpha], 2), bgr),
        "mono8": (bgr[:, :, 0], np.dstack([bgr[:, :, 0]] * 3)),
        "mono16": (((bgr[:, :, 0].astype(np.uint16) << 8) | 0x55).astype(">u2"), np.dstack([bgr[:, :, 0]] * 3)),
    }[encoding]
    flat = np.ascontiguousarray(pixels).view(np.uint8).reshape(20, -1)
    rows = np.concatenate([flat, np.full((20, 6), 77, np.uint8)], axis=1)
    msg = Image(
        header=Header(stamp=Time(sec=1, nanosec=2), frame_id="c"),
        height=20,
        width=24,
        encoding=encoding,
        is_bigendian=int(encoding == "mono16"),
        step=rows.shape[1],
        data=rows.reshape(-1),
    )
    assert np.array_equal(bagmod.decode_image(roundtrip(msg), "sensor_msgs/msg/Image"), expect)


def test_rosbags_bad_images_raise_badframe():
    ok_msg = Image(
        header=Header(stamp=Time(sec=1, nanosec=2), frame_id="c"),
        height=5,
        width=7,
        encoding="bgr8",
        is_bigendian=0,
        step=21,
        data=np.zeros(105, np.uint8),
    )
    for change, match in [
        ({"encoding": "bayer_rggb8"}, "bayer_rggb8"),
        ({"data": np.zeros(50, np.uint8)}, "bytes"),
        ({"step": 20}, "step"),
        ({"height": 0}, "empty"),
    ]:
        msg = Image(**{**ok_msg.__dict__, **change})
        with pytest.raises(BadFrame, match=match):
            bagmod.decode_image(roundtrip(msg), "sensor_msgs/msg/Image")
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (20, 30, 3), np.uint8)
    ok, png = cv2.imencode(".png", img)
    assert np.array_equal(bagmod.decode_image(roundtrip(jpeg_msg(png.tobytes(), 5, "c")), COMPRESSED_IMAGE), img)
    for bad in (b"", b"\xff\xd8\xff\xe0garbage" * 10, png.tobytes()[:40]):
        with pytest.raises(BadFrame):
            bagmod.decode_image(roundtrip(jpeg_msg(bad, 5, "c")), COMPRESSED_IMAGE)


def test_message_constants_match_the_msg_files():
    store = output_typestore()
    face = store.types["fer_msgs/msg/FaceExpression"]
    ival = store.types["fer_msgs/msg/ExpressionInterval"]
    assert {n: getattr(face, f"PHASE_{n.upper()}") for n in PHASES} == PHASE_CODES
    assert {s: getattr(ival, f"STATUS_{s.upper()}") for s in ("started", "apex", "ended")} == STATUS_CODES
    ends = {v for k, v in vars(ival).items() if k.startswith("END_")}
    assert ends == set(END_REASON_NAMES), "ExpressionInterval.END_* are the engine's end reasons"


def test_stamps_map_back_exactly():
    book = StampBook()
    sec, nanosec = T0, 123_456_789
    seconds = book.add(sec, nanosec)
    assert book.time(seconds) == {"sec": sec, "nanosec": nanosec}
    assert seconds_to_time(float("nan")) == {"sec": 0, "nanosec": 0}
    assert seconds_to_time(1.5) == {"sec": 1, "nanosec": 500_000_000}


def _rosidl_type_descriptions() -> list[Path]:
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    prefixes += [str(ROOT / "install" / "fer_msgs"), str(ROOT / "install"), sys.prefix]
    for p in prefixes:
        found = sorted((Path(p) / "share" / "fer_msgs" / "msg").glob("*.json"))
        if found:
            return found
    return []


@pytest.mark.skipif(
    not _rosidl_type_descriptions(),
    reason="fer_msgs not built with colcon here (no rosidl type descriptions to compare)",
)
def test_type_hashes_match_rosidl():
    store = output_typestore()
    for path in _rosidl_type_descriptions():
        doc = json.loads(path.read_text())
        for entry in doc.get("type_hashes", []):
            if entry["type_name"].startswith("fer_msgs/"):
                assert store.hash_rihs01(entry["type_name"]) == entry["hash_string"], entry["type_name"]


# -- --through-node: the same bag through the real ROS node ----------------------------------------
def _ros_missing() -> str | None:
    from fer_ros.ros.bag_node import ros_missing

    reason = ros_missing()
    return f"{reason}: build with 'make ros' and run the tests through tools/with_ros.sh" if reason else None


def _decoded(out: Path) -> tuple[list, list]:
    """(FrameExpressions, ExpressionInterval) of a bag as comparable tuples, bag timestamps included."""
    msgs = read_bag(out)

    def header(m):
        return m.header.frame_id, t_ns(m.header.stamp)

    frames = [
        (
            t,
            header(m),
            list(m.class_names),
            [
                (
                    f.face_id,
                    f.hri_id,
                    f.x,
                    f.y,
                    f.width,
                    f.height,
                    tuple(f.scores),
                    f.label,
                    f.confidence,
                    f.intensity,
                    f.activity,
                    f.phase,
                )
                for f in m.faces
            ],
        )
        for t, m in msgs[EXPR]
    ]
    intervals = [
        (
            t,
            header(e),
            e.face_id,
            e.hri_id,
            e.status,
            e.end_reason,
            e.label,
            e.confidence,
            list(e.class_names),
            tuple(e.scores),
            t_ns(e.onset),
            t_ns(e.apex),
            t_ns(e.offset),
            e.peak_intensity,
        )
        for t, e in msgs[IVAL]
    ]
    return frames, intervals


def test_through_node_gives_the_same_results(loop_bag, loop_cli, tmp_path, caplog):
    reason = _ros_missing()
    if reason:
        if os.environ.get("CI", "").strip().lower() in ("1", "true", "yes"):
            pytest.fail(f"CI: the ROS build must be present: {reason}", pytrace=False)
        pytest.skip(reason)
    out = tmp_path / "node"
    summary = run_bag(
        loop_bag, out, EngineConfig(**CFG), storage="mcap", keep_all=True, progress=False, through_node=True
    )
    assert summary.processed == N_FIRST + N_LOOP and summary.bad == 1
    assert summary.topics[BGR].resets == 1
    node_frames, node_intervals = _decoded(out)
    engine_frames, engine_intervals = _decoded(loop_cli[1])
    assert len(node_frames) == N_FIRST + N_LOOP
    assert node_frames == engine_frames  # same engine, same frames, same order: equal to the last bit
    assert node_intervals == engine_intervals
    assert node_intervals, "no interval events to compare"
    assert read_bag(out)[BGR] and metadata(out)["version"] == 8
