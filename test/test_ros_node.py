"""fer_node on real rclpy over real DDS (loopback, a domain id of the test's own).

The node runs as its own process, started the way a user starts it:
``python -m fer_ros.ros --ros-args --params-file config/fer.yaml --params-file
config/fer_node.yaml -p model:=baseline -p image_qos:=reliable``; this process publishes real
frames of a real clip and decodes what the node publishes. Tests in this module share one
node and pass in any order: each continues the one stream of stamps (``Stream``), sets up
what it needs (e.g. ends the faces of earlier tests first) and compares counters before and
after; the test that stops the node with SIGINT starts its own.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
import torch
from ros_harness import (
    CONFIG,
    DDS_PROFILE,
    NODE_CONFIG,
    Client,
    NodeProcess,
    compressed_msg,
    image_msg,
    new_domain_id,
    read_clip,
    require_ros,
    stamp_of,
)

require_ros()

from fer_ros.engine.engine import Engine, EngineConfig  # noqa: E402
from fer_ros.io.media import SHORT_FACE_CLIP  # noqa: E402
from fer_ros.model.classes import CLASS_NAMES, PHASES  # noqa: E402
from fer_ros.ros.messages import StampBook  # noqa: E402
from fer_ros.ros.outputs import engine_stamp  # noqa: E402

TOPIC = "/image_raw"


def test_every_parameter_of_the_yamls_is_declared_with_its_default():
    from fer_ros.cli.common import load_params
    from fer_ros.ros.params import ENGINE_PARAMS, NODE_PARAMS, engine_defaults, node_defaults

    flat = {}
    for k, v in load_params(CONFIG).items():
        flat.update({f"{k}.{kk}": vv for kk, vv in v.items()} if isinstance(v, dict) else {k: v})
    assert set(flat) == set(ENGINE_PARAMS) == set(engine_defaults())
    assert dict(engine_defaults().items()) == {**flat, "weights": flat["weights"] or ""}
    node = load_params(NODE_CONFIG)
    assert set(node) | {"output_namespaces"} == set(NODE_PARAMS)  # output_namespaces: a commented example
    assert node == {k: v for k, v in node_defaults().items() if k in node}


# silence_timeout: long, so the pauses between the tests of this module close nothing (test_ros_cameras
# tests the silence timer)
NODE_PARAMS = {"model": "baseline", "image_qos": "reliable", "diagnostics_period": 0.5, "silence_timeout": 60.0}
STARTED, APEX, ENDED = 0, 1, 2


def t_ns(t) -> int:
    return t.sec * 1_000_000_000 + t.nanosec


class Stream:
    """The frames this module has published so far: stamps increase, except where a test jumps back
    on purpose (``jump_back``); the stream then goes on from there."""

    def __init__(self):
        self.ns = stamp_ns(stamp_of(0))
        self.published: list = []  # stamps of frames published (good, bad, out of order)

    def next_stamp(self, fps: float = 30.0):
        self.ns += round(1e9 / fps)
        return _time(self.ns)

    def jump_back(self, seconds: float):
        self.ns -= round(seconds * 1e9)
        return _time(self.ns)


def stamp_ns(t) -> int:
    return t.sec * 1_000_000_000 + t.nanosec


def _time(ns: int):
    from builtin_interfaces.msg import Time

    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def forget_faces(client, proc, stream, clip):
    """Blank frames over more than lost_timeout: every face of earlier tests ends; the next face starts fresh."""
    send_lockstep(client, proc, stream, [np.zeros_like(clip[0])] * 2, fps=0.8)


@pytest.fixture(scope="module")
def clip():
    return read_clip(SHORT_FACE_CLIP)  # 72 real frames, 640x360, one face (a smile comes and goes)


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    domain = new_domain_id()
    proc = NodeProcess(domain, NODE_PARAMS, tmp_path_factory.mktemp("fer_node"))
    client = Client(domain)
    try:
        client.wait_ready(proc)
        yield proc, client, Stream()
    finally:
        client.close()
        proc.close()


def send_lockstep(client, proc, stream, frames, fps=30.0):
    """Publish each frame and wait for its FrameExpressions: every frame is processed, none dropped."""
    out = []
    for frame in frames:
        stamp = stream.next_stamp(fps)
        client.publish(image_msg(frame, stamp))
        stream.published.append(stamp)
        out.append(
            client.wait_for(lambda stamp=stamp: client.frame_for(stamp), 60, f"the result of frame {stamp}", proc)
        )
    return out


def test_expressions_and_intervals_on_a_real_clip(ros, clip):
    proc, client, stream = ros
    forget_faces(client, proc, stream, clip)  # the node's engine as fresh as the one run here below
    blank = np.zeros_like(clip[0])
    # the clip, then 1.5 s of stream time without a face: the track is lost (lost_timeout 1 s)
    # and its open interval is closed with "ended"
    sent = list(clip) + [blank] * 10
    n_frames_before = len(client.snapshot(client.frames))
    stamps0 = len(stream.published)
    results = send_lockstep(client, proc, stream, clip) + send_lockstep(client, proc, stream, [blank] * 10, fps=5.0)
    stamps = stream.published[stamps0:]

    # one message per processed frame, header copied from the image
    frames = client.snapshot(client.frames)[n_frames_before:]
    assert len(frames) == len(sent)
    assert [t_ns(m.header.stamp) for m in frames] == [t_ns(s) for s in stamps]
    assert all(m.header.frame_id == "camera_optical" for m in frames)
    assert all(list(m.class_names) == list(CLASS_NAMES) for m in frames)

    with_face = [m for m in results[: len(clip)] if m.faces]
    assert len(with_face) >= 0.9 * len(clip), "the face is found in (nearly) every frame of the clip"
    assert all(len(m.faces) <= 1 for m in results)
    assert {f.face_id for m in with_face for f in m.faces} == {with_face[0].faces[0].face_id}, "one stable id"
    assert all(not m.faces for m in results[len(clip) :]), "blank frames: an empty faces list"
    for m in with_face:
        f = m.faces[0]
        scores = np.array(f.scores)
        assert scores.shape == (len(CLASS_NAMES),) and abs(scores.sum() - 1.0) < 1e-3
        assert f.label == CLASS_NAMES[int(np.argmax(scores))] and f.confidence == pytest.approx(scores.max())
        assert 0 <= f.phase < len(PHASES) and 0.0 <= f.intensity <= 1.0 and 0.0 <= f.activity <= 1.0
        assert 0 <= f.x < 640 and 0 <= f.y < 360 and 20 < f.width < 640 and 20 < f.height < 360

    # intervals: started -> apex -> ended per face, times exactly those of published frames
    fid = with_face[0].faces[0].face_id
    events = [e for e in client.snapshot(client.intervals) if e.face_id == fid]
    assert events, "the smile in the clip is spotted"
    statuses = [e.status for e in events]
    assert statuses == [STARTED, APEX, ENDED] * (len(statuses) // 3), statuses
    assert [e.end_reason for e in events if e.status == ENDED][-1] == "face lost", "the blank frames end the face"
    assert all(e.end_reason in ("offset", "class change", "face lost") for e in events if e.status == ENDED)
    assert not any(e.end_reason for e in events if e.status != ENDED)
    sent_ns = {t_ns(s) for s in stamps}
    for started, apex, ended in zip(events[0::3], events[1::3], events[2::3]):
        assert t_ns(started.onset) in sent_ns and t_ns(apex.apex) in sent_ns and t_ns(ended.offset) in sent_ns
        assert t_ns(started.onset) <= t_ns(apex.apex) <= t_ns(ended.offset)
        assert t_ns(started.apex) == 0 and t_ns(started.offset) == 0 and t_ns(apex.offset) == 0
        assert t_ns(started.header.stamp) <= t_ns(apex.header.stamp) <= t_ns(ended.header.stamp)
        assert all(e.header.frame_id == "camera_optical" for e in (started, apex, ended))
        assert ended.label in CLASS_NAMES and ended.label != "neutral"
        assert abs(sum(ended.scores) - 1.0) < 1e-3 and list(ended.class_names) == list(CLASS_NAMES)
        assert 0.0 < ended.peak_intensity <= 1.0

    # the node is a thin shell: the engine run here on the same frames and stamps gives the same
    engine, book = Engine(EngineConfig.from_params({"model": "baseline"})), StampBook()
    offline = [engine.process(f, engine_stamp(book, s)) for f, s in zip(sent, stamps)]
    for m, r in zip(results, offline):
        assert [f.label for f in m.faces] == [f.label for f in r.faces]
        for f, g in zip(m.faces, r.faces):
            np.testing.assert_allclose(f.scores, g.scores, atol=1e-4)
            np.testing.assert_allclose([f.x, f.y, f.width, f.height], g.box, atol=0.05)
    offline_events = [(e.status, e.label) for r in offline for e in r.events]
    names = {STARTED: "started", APEX: "apex", ENDED: "ended"}
    assert [(names[e.status], e.label) for e in events] == offline_events


@pytest.mark.parametrize("rate", [30.0, None], ids=["30Hz", "flood"])
def test_newest_frame_only_drops_are_counted(ros, clip, rate):
    """A burst at 30 Hz, then one as fast as we can publish: whatever the worker cannot keep up
    with is dropped (only the newest frame of a camera waits), and the books balance."""
    proc, client, stream = ros

    def settled(total):
        """Every published frame accounted for: received (then processed, dropped or bad) or lost on the way."""
        d = client.latest_diagnostics(TOPIC)
        if (
            d
            and int(d["frames_received"]) + int(d["frames_lost_in_transport"]) == total
            and int(d["frames_processed"])
            + int(d["frames_dropped"])
            + int(d["frames_bad"])
            + int(d["frames_out_of_order"])
            == int(d["frames_received"])
        ):
            return d
        return None

    # one frame first: losses are counted from gaps after the first frame the node sees
    send_lockstep(client, proc, stream, clip[:1])
    before = client.wait_for(lambda: settled(len(stream.published)), 30, "diagnostics of the frames so far", proc)
    n_before = len(client.snapshot(client.frames))
    burst = []
    t0 = time.monotonic()
    for k, frame in enumerate(clip[:60]):
        stamp = stream.next_stamp()
        client.publish(image_msg(frame, stamp))
        stream.published.append(stamp)
        burst.append(stamp)
        if rate:
            time.sleep(max(0.0, t0 + (k + 1) / rate - time.monotonic()))
    diag = client.wait_for(lambda: settled(len(stream.published)), 60, "the node to account for every frame", proc)
    time.sleep(0.3)
    out = client.snapshot(client.frames)[n_before:]
    processed_now = int(diag["frames_processed"]) - int(before["frames_processed"])
    assert len(out) == processed_now, "one FrameExpressions per processed frame"
    assert 0 < len(out) <= len(burst)
    burst_ns = [t_ns(s) for s in burst]
    got = [t_ns(m.header.stamp) for m in out]
    assert got == sorted(got) and set(got) <= set(burst_ns), "results of published frames, in order"
    assert got[-1] == burst_ns[-1], "the newest frame is always processed"
    dropped = int(diag["frames_dropped"]) - int(before["frames_dropped"])
    lost = int(diag["frames_lost_in_transport"]) - int(before["frames_lost_in_transport"])
    assert dropped + lost == len(burst) - len(out)
    if rate is None:
        assert dropped > 0, "60 frames in a fraction of a second cannot all be processed"
    else:
        assert lost == 0, "reliable QoS at 30 Hz over loopback loses nothing"
    print(
        f"\nburst of {len(burst)} frames {f'at {rate:.0f} Hz' if rate else 'flooded'}: {len(out)} processed, "
        f"{dropped} dropped, {lost} lost before the node; last period: latency mean {diag['latency_ms_mean']} ms "
        f"(p95 {diag['latency_ms_p95']}), processing {diag['processing_ms_mean']} ms, "
        f"input {diag['input_rate_hz']} Hz, processed {diag['processing_rate_hz']} Hz"
    )


def test_diagnostics_report_rates_latency_drops_device_model(ros, clip):
    proc, client, stream = ros
    t0 = time.monotonic()
    for k in range(20):  # 30 Hz for 2/3 s
        stamp = stream.next_stamp()
        client.publish(image_msg(clip[k], stamp))
        stream.published.append(stamp)
        time.sleep(max(0.0, t0 + (k + 1) / 30 - time.monotonic()))
    d = client.wait_for(lambda: client.latest_diagnostics(TOPIC), 10, "diagnostics", proc)
    for key in (
        "input_rate_hz",
        "processing_rate_hz",
        "latency_ms_mean",
        "latency_ms_p95",
        "latency_ms_max",
        "processing_ms_mean",
        "frames_received",
        "frames_processed",
        "frames_dropped",
        "frames_bad",
        "frames_lost_in_transport",
        "frames_out_of_order",
        "time_jumps",
        "usual_input_rate_hz",
        "device",
        "model",
        "topic",
    ):
        assert key in d, key
    expected_device = "cuda" if torch.cuda.is_available() else "cpu"  # device: auto
    assert d["device"] == expected_device == d["_hardware_id"] and d["model"] == "baseline" and d["topic"] == TOPIC
    arrays = client.snapshot(client.diagnostics)
    assert len(arrays) >= 2 and all(a.status[0].name == f"fer_node: {TOPIC}" for a in arrays)
    rates = [float(kv.value) for a in arrays for kv in a.status[0].values if kv.key == "input_rate_hz"]
    assert max(rates) > 5.0, "the 30 Hz burst shows up as an input rate"
    # nothing arrives now: the rate falls to zero and the status says so
    idle = client.wait_for(
        lambda: (lambda x: x if x and x["input_rate_hz"] == "0.00" else None)(client.latest_diagnostics(TOPIC)),
        10,
        "an idle diagnostics period",
        proc,
    )
    from diagnostic_msgs.msg import DiagnosticStatus

    assert idle["_level"] == DiagnosticStatus.WARN and "no images" in idle["_message"]


def test_bad_parameters_are_refused_naming_them(ros):
    proc, client, _ = ros
    names = ["spotter.off_threshold", "model", "device", "detect_every", "weights"]
    before = client.get_parameters(names)
    (r,) = client.set_parameters({"spotter.off_threshold": 0.9})  # above on_threshold 0.5
    assert not r.successful and "off_threshold" in r.reason
    (r,) = client.set_parameters({"model": "lstm"})
    assert not r.successful and "model" in r.reason and "lstm" in r.reason
    (r,) = client.set_parameters({"device": "cuda:7"})
    assert not r.successful and "cuda:7" in r.reason
    (r,) = client.set_parameters({"detect_every": 0})  # outside the declared IntegerRange
    assert not r.successful and "detect_every" in r.reason
    (r,) = client.set_parameters({"lost_timeout": "soon"})  # the wrong type
    assert not r.successful and "lost_timeout" in r.reason
    (r,) = client.set_parameters({"model": "recurrent", "weights": "/nonexistent/model.safetensors"}, atomic=True)
    assert not r.successful and "weights" in r.reason and "/nonexistent/model.safetensors" in r.reason
    (r,) = client.set_parameters({"image_topics": ["other"]})  # read at configure only
    assert not r.successful and "image_topics" in r.reason and "configure" in r.reason
    (r,) = client.set_parameters({"lost_timeout": 2})  # an int for a double: taken as 2.0
    assert r.successful and client.get_parameters(["lost_timeout"]) == {"lost_timeout": 2.0}
    (r,) = client.set_parameters({"lost_timeout": 1.0})
    assert r.successful
    assert client.get_parameters(names) == before, "nothing refused was applied"
    assert before["spotter.off_threshold"] == 0.3 and before["model"] == "baseline" and before["weights"] == ""
    assert "parameter change refused" in proc.output()


def test_parameter_changes_are_applied(ros, clip):
    proc, client, stream = ros
    restore = client.get_parameters(["detect_every", "spotter.on_threshold", "max_faces"])
    before = send_lockstep(client, proc, stream, clip[:5])
    old_id = before[-1].faces[0].face_id
    # applied to the running engine: the face keeps its id
    (r,) = client.set_parameters({"detect_every": 2, "spotter.on_threshold": 0.6}, atomic=True)
    assert r.successful, r.reason
    assert client.get_parameters(["detect_every"]) == {"detect_every": 2}
    same = send_lockstep(client, proc, stream, clip[5:10])
    assert {m.faces[0].face_id for m in same if m.faces} == {old_id}
    # needs a new engine (between frames): the node keeps answering, ids are never reused
    (r,) = client.set_parameters({"max_faces": 4})
    assert r.successful, r.reason
    after = send_lockstep(client, proc, stream, clip[10:20])
    new_ids = {m.faces[0].face_id for m in after if m.faces}
    assert new_ids and old_id not in new_ids and min(new_ids) > old_id
    (r,) = client.set_parameters(restore, atomic=True)
    assert r.successful, r.reason


def test_bad_frames_are_survived(ros, clip):
    proc, client, stream = ros
    n = len(client.snapshot(client.frames))
    bad_before = int(client.wait_for(lambda: client.latest_diagnostics(TOPIC), 10, "diagnostics", proc)["frames_bad"])
    yuv = image_msg(clip[0][:, :, :2].copy(), stream.next_stamp(), encoding="yuv422")  # 2 bytes a pixel
    short = image_msg(clip[0], stream.next_stamp())
    short.data = bytes(short.data)[:1000]
    empty = image_msg(np.zeros((0, 0, 3), np.uint8), stream.next_stamp())
    for i, msg in enumerate((yuv, short, empty), 1):  # one at a time, so none is dropped for a newer one
        client.publish(msg)
        stream.published.append(msg.header.stamp)
        client.wait_for(
            lambda i=i: int(client.latest_diagnostics(TOPIC)["frames_bad"]) == bad_before + i,
            30,
            f"frames_bad to count bad frame {i}",
            proc,
        )
    good = send_lockstep(client, proc, stream, clip[:1])
    assert good[0].faces, "the node still answers after bad frames"
    assert len(client.snapshot(client.frames)) == n + 1, "no message for a frame that was not processed"
    log = proc.output()
    assert "unsupported image encoding 'yuv422'" in log
    assert "Traceback" not in log


def test_a_stamp_1ms_back_is_dropped_and_resets_nothing(ros, clip):
    """Driver jitter: one frame stamped 1 ms before the newest one. No result for it, the face keeps its
    id and its state, the frame is counted out of order and one warning says so."""
    proc, client, stream = ros
    before = send_lockstep(client, proc, stream, clip[20:24])
    fid = before[-1].faces[0].face_id
    d = client.wait_for(lambda: client.latest_diagnostics(TOPIC), 10, "diagnostics", proc)
    ooo, jumps = int(d["frames_out_of_order"]), int(d["time_jumps"])
    jitter = _time(stamp_ns(stream.published[-1]) - 1_000_000)  # 1 ms before the newest frame
    client.publish(image_msg(clip[24], jitter))
    stream.published.append(jitter)
    client.wait_for(
        lambda: int(client.latest_diagnostics(TOPIC)["frames_out_of_order"]) == ooo + 1,
        30,
        "the node to count the frame out of order",
        proc,
    )
    assert client.frame_for(jitter) is None, "no result for a dropped frame"
    after = send_lockstep(client, proc, stream, clip[24:26])
    assert [f.face_id for m in after for f in m.faces] == [fid, fid], "same id: nothing was reset"
    assert int(client.latest_diagnostics(TOPIC)["time_jumps"]) == jumps
    assert "1.0 ms before the newest one" in proc.output()
    assert not [e for e in client.snapshot(client.intervals) if e.face_id == fid and e.end_reason == "time jump"]


def test_a_bag_loop_closes_open_intervals_with_time_jump(ros, clip):
    """Time jumps back (a looped bag): the open interval ends with reason "time jump", stamped with the
    last frame before the jump (so onset <= offset <= header stamp), then the face gets a new id."""
    proc, client, stream = ros
    forget_faces(client, proc, stream, clip)
    res = send_lockstep(client, proc, stream, clip[25:40])  # the smile: an interval opens
    fid = res[-1].faces[0].face_id
    d = client.wait_for(lambda: client.latest_diagnostics(TOPIC), 10, "diagnostics", proc)
    events = [e for e in client.snapshot(client.intervals) if e.face_id == fid]
    assert events and events[-1].status != ENDED, f"an interval is open on face {fid}"
    last = stream.published[-1]
    back = stream.jump_back(100.0)  # a new timeline, as a looped bag starts again
    client.publish(image_msg(clip[40], back))
    stream.published.append(back)
    m = client.wait_for(lambda: client.frame_for(back), 60, "the result of the earlier frame", proc)
    assert m.faces and m.faces[0].face_id != fid, "tracks reset: a new id"
    ended = client.wait_for(
        lambda: [e for e in client.snapshot(client.intervals) if e.face_id == fid and e.status == ENDED],
        10,
        "the interval closed by the jump",
    )
    (e,) = ended
    assert e.end_reason == "time jump"
    assert t_ns(e.header.stamp) == t_ns(last), "stamped with the last frame of the old timeline"
    assert t_ns(e.onset) <= t_ns(e.offset) <= t_ns(e.header.stamp)
    client.wait_for(
        lambda: int(client.latest_diagnostics(TOPIC)["time_jumps"]) == int(d["time_jumps"]) + 1,
        10,
        "the jump counted",
        proc,
    )
    assert "open intervals closed ('time jump')" in proc.output()


# -- separate nodes ---------------------------------------------------------------------------
def test_sigint_stops_cleanly_closing_open_intervals(tmp_path, clip):
    """Ctrl-C mid-expression: the open interval is closed ("ended", reason "stream stopped") before the
    node exits with code 0 and no traceback."""
    domain = new_domain_id()
    proc = NodeProcess(domain, NODE_PARAMS, tmp_path)
    client = Client(domain)
    try:
        client.wait_ready(proc)
        for k in range(1, 16):  # the smile
            stamp = stamp_of(k)
            client.publish(image_msg(clip[24 + k], stamp))
            fid = client.wait_for(lambda stamp=stamp: client.frame_for(stamp), 60, "a result", proc).faces[0].face_id
        events = [e.status for e in client.snapshot(client.intervals) if e.face_id == fid]
        assert events and events[-1] != ENDED, f"an interval is open on face {fid}: {events}"
        rc = proc.signal(signal.SIGINT, timeout=30)
        err = proc.stderr()
        assert rc == 0, err[-3000:]
        assert "Traceback" not in err
        ended = client.wait_for(
            lambda: [e for e in client.snapshot(client.intervals) if e.face_id == fid and e.status == ENDED],
            5,
            "the closing 'ended' event",
        )
        assert t_ns(ended[0].offset) == t_ns(stamp_of(15))
        assert ended[0].end_reason == "stream stopped"
    finally:
        client.close()
        proc.close()


def test_two_compressed_cameras_with_separate_outputs_sim_time_and_sigterm(tmp_path, clip):
    """Two cameras on CompressedImage, each answered under its own namespace (/cam_a/fer_node/...),
    use_sim_time with no /clock, a corrupt JPEG, then SIGTERM."""
    domain = new_domain_id()
    topics = ["/cam_a/image_raw", "/cam_b/image_raw"]
    outputs = ["/cam_a/fer_node", "/cam_b/fer_node"]
    proc = NodeProcess(
        domain,
        {**NODE_PARAMS, "compressed": True, "use_sim_time": True, "image_topics": [t.lstrip("/") for t in topics]},
        tmp_path,
    )
    client, ok = Client(domain, image_topics=topics, compressed=True, outputs=outputs), False
    try:
        client.wait_ready(proc)
        results = {t: [] for t in topics}
        for k in range(8):
            for j, topic in enumerate(topics):
                stamp = stamp_of(k, base_sec=1_800_000_000 + j)
                client.publish(compressed_msg(clip[k + 30 * j], stamp, frame_id=topic), topic)
                results[topic].append(
                    client.wait_for(lambda stamp=stamp: client.frame_for(stamp), 60, f"{topic} frame", proc)
                )
        for j, topic in enumerate(topics):
            assert all(m.header.frame_id == topic for m in results[topic])
            assert [t_ns(m.header.stamp) for m in results[topic]] == [
                t_ns(stamp_of(k, base_sec=1_800_000_000 + j)) for k in range(8)
            ], "image stamps under sim time"
        ids = [{f.face_id for m in results[t] for f in m.faces} for t in topics]
        assert all(len(i) == 1 for i in ids) and ids[0] != ids[1], "one id per camera, distinct across cameras"
        for topic, ns in zip(topics, outputs):  # separate outputs: each namespace has its camera's frames only
            assert {m.header.frame_id for m in client.snapshot(client.by_ns[ns]["frames"])} == {topic}

        corrupt = compressed_msg(clip[0], stamp_of(9, base_sec=1_800_000_000), frame_id=topics[0])
        corrupt.data = bytes(range(256)) * 4
        client.publish(corrupt, topics[0])
        client.wait_for(
            lambda: "could not decode the compressed image" in proc.output(),
            30,
            "the warning about the corrupt JPEG",
            proc,
        )
        stamp = stamp_of(10, base_sec=1_800_000_000)
        client.publish(compressed_msg(clip[10], stamp, frame_id=topics[0]), topics[0])
        assert client.wait_for(lambda: client.frame_for(stamp), 60, "a frame after the corrupt one", proc).faces

        def diag_of(topic, received):
            d = client.latest_diagnostics(f"{topic}/compressed")
            return d if d and d["frames_received"] == str(received) else None

        diag = {
            t: client.wait_for(lambda t=t, n=n: diag_of(t, n), 10, f"diagnostics of {t}", proc)
            for t, n in zip(topics, (10, 8))
        }
        assert diag[topics[0]]["frames_bad"] == "1" and diag[topics[1]]["frames_bad"] == "0"
        assert diag[topics[1]]["topic"] == f"{topics[1]}/compressed"
        arr = client.snapshot(client.diagnostics)[-1]
        assert t_ns(arr.header.stamp) == 0, "diagnostics stamped with the (not yet started) sim clock"
        ok = True
    finally:
        client.close()
        if not ok:
            proc.close()
    rc = proc.signal(signal.SIGTERM, timeout=30)
    err = proc.stderr()
    assert rc == 0, err[-3000:]
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "params, name",
    [({"spotter.off_threshold": 0.9}, "off_threshold"), ({"spotter.on_treshold": 0.6}, "spotter.on_treshold")],
    ids=["bad-value", "typo"],
)
def test_bad_start_up_parameter_exits_with_a_reason(tmp_path, params, name):
    with NodeProcess(new_domain_id(), {**NODE_PARAMS, **params}, tmp_path) as proc:
        rc = proc.proc.wait(120)
        out = proc.output()
    assert rc == 2 and "cannot start" in out and name in out and "Traceback" not in out


def test_default_config_as_shipped(tmp_path, clip, profile=DDS_PROFILE):
    """config/fer.yaml unchanged (the recurrent model with the shipped weights), in a process that
    runs Fast DDS with the shipped profile for image publishers (config/fastdds_large_images.xml):
    Fast DDS takes it without a complaint and the node serves through it."""
    domain = new_domain_id()
    env = {"FASTRTPS_DEFAULT_PROFILES_FILE": str(profile)}
    proc = NodeProcess(domain, {"image_qos": "reliable"}, tmp_path, config=CONFIG, env=env)
    client, ok = Client(domain), False
    try:
        client.wait_ready(proc)
        stream = Stream()
        res = send_lockstep(client, proc, stream, clip[:10])
        assert sum(1 for m in res if m.faces) >= 9
        d = client.wait_for(lambda: client.latest_diagnostics(TOPIC), 10, "diagnostics", proc)
        assert d["model"] == "recurrent"
        assert "XMLPARSER" not in proc.output() and "XMLPROFILES" not in proc.output(), proc.output()[-2000:]
        ok = True
    finally:
        client.close()
        if not ok:
            proc.close()
    assert proc.signal(signal.SIGTERM) == 0
