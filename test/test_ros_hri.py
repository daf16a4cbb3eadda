"""ROS4HRI (REP 155) output of fer_node over real DDS on loopback: /humans/faces/tracked and each face's
roi, expression and aligned crop, their contents against the node's fer_msgs of the same frame, and
per-face publishers that come and go with the faces (no leak over many faces).

One node (``python -m fer_ros.ros ... -p ros4hri_aligned:=true``) serves this module; its tests run in
file order and continue its stream.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pytest
from ros_harness import Client, NodeProcess, image_msg, new_domain_id, read_clip, require_ros, stamp_of

require_ros()

from fer_ros.io.media import SHORT_FACE_CLIP  # noqa: E402
from fer_ros.model.classes import CLASS_NAMES  # noqa: E402
from fer_ros.ros.hri import CIRCUMPLEX, EXPRESSIONS, valence_arousal  # noqa: E402

TOPIC = "/image_raw"
PARAMS = {"model": "baseline", "image_qos": "reliable", "ros4hri_aligned": True, "lost_timeout": 0.5}


def t_ns(t) -> int:
    return t.sec * 1_000_000_000 + t.nanosec


@pytest.fixture(scope="module")
def clip():
    return read_clip(SHORT_FACE_CLIP)


class Stream:
    def __init__(self):
        self.t = 0.0  # seconds after the base stamp

    def stamp(self, dt: float = 1 / 30):
        self.t += dt
        return stamp_of(0, offset_ns=round(self.t * 1e9))


@pytest.fixture(scope="module")
def ros(tmp_path_factory):
    domain = new_domain_id()
    proc = NodeProcess(domain, PARAMS, tmp_path_factory.mktemp("fer_node"))
    client = Client(domain, hri=True)
    try:
        client.wait_ready(proc)
        yield proc, client, Stream()
    finally:
        client.close()
        proc.close()


def send(client, proc, stream, frames, dt=1 / 30):
    out = []
    for frame in frames:
        stamp = stream.stamp(dt)
        client.publish(image_msg(frame, stamp))
        out.append(client.wait_for(lambda s=stamp: client.frame_for(s), 60, "a result", proc))
    return out


def test_mapping_is_documented_and_bounded():
    assert set(EXPRESSIONS) == set(CIRCUMPLEX) == set(CLASS_NAMES)
    for c, k in zip(CLASS_NAMES, np.eye(len(CLASS_NAMES))):
        assert valence_arousal(k) == pytest.approx(CIRCUMPLEX[c])
    rng = np.random.default_rng(0)
    for p in rng.dirichlet(np.ones(len(CLASS_NAMES)), 200):
        v, a = valence_arousal(p)
        assert -1.0 <= v <= 1.0 and -1.0 <= a <= 1.0
    assert valence_arousal(np.eye(len(CLASS_NAMES))[CLASS_NAMES.index("happy")])[0] > 0.5
    assert valence_arousal(np.eye(len(CLASS_NAMES))[CLASS_NAMES.index("sad")])[0] < -0.5


def test_tracked_roi_expression_and_aligned_match_the_frame(ros, clip):
    proc, client, stream = ros
    first = send(client, proc, stream, clip[:2])
    f0 = first[-1].faces[0]
    hid = f0.hri_id
    assert re.fullmatch(r"[a-z]{2}\d{3}", hid) and int(hid[2:]) == f0.face_id, hid
    client.follow_face(hid, ("roi", "expression", "aligned"))
    client.wait_for(lambda: client.node.count_subscribers(f"/humans/faces/{hid}/roi") >= 1, 10, "our subscription")
    time.sleep(0.5)  # let the per-face readers match the node's writers
    results = send(client, proc, stream, clip[2:20])
    faces = client.faces[hid]
    got = client.wait_for(
        lambda: len(client.snapshot(faces["expression"])) >= 10 and len(client.snapshot(faces["roi"])) >= 10,
        10,
        "roi and expression messages",
        proc,
    )
    assert got
    by_stamp = {t_ns(m.header.stamp): m for m in results}
    h, w = clip[0].shape[:2]
    for roi in client.snapshot(faces["roi"]):
        m = by_stamp.get(t_ns(roi.header.stamp))
        if m is None:
            continue
        (f,) = m.faces
        assert roi.header.frame_id == "camera_optical"
        assert 0.0 <= roi.xmin < roi.xmax <= 1.0 and 0.0 <= roi.ymin < roi.ymax <= 1.0
        assert roi.xmin == pytest.approx(f.x / w, abs=1e-5) and roi.ymax == pytest.approx(
            (f.y + f.height) / h, abs=1e-5
        )
        assert roi.c == 1.0
    checked = 0
    for e in client.snapshot(faces["expression"]):
        m = by_stamp.get(t_ns(e.header.stamp))
        if m is None:
            continue
        (f,) = m.faces
        assert e.expression == EXPRESSIONS[f.label]
        assert e.confidence == pytest.approx(f.confidence, abs=1e-6) and 0.0 <= e.confidence <= 1.0
        v, a = valence_arousal(f.scores)
        assert e.valence == pytest.approx(v, abs=1e-5) and e.arousal == pytest.approx(a, abs=1e-5)
        checked += 1
    assert checked >= 10
    crops = client.wait_for(lambda: client.snapshot(faces["aligned"]), 10, "an aligned crop", proc)
    assert crops[-1].encoding == "mono8" and crops[-1].width == crops[-1].height >= 32
    last = client.wait_for(  # published right after the frame's FrameExpressions
        lambda: [t for t in client.snapshot(client.tracked) if t_ns(t.header.stamp) == t_ns(results[-1].header.stamp)],
        10,
        "the tracked list of the last frame",
        proc,
    )
    assert list(last[-1].ids) == [hid], "tracked: the face in view, stamped with the image stamp"
    tracked = client.snapshot(client.tracked)
    sent = {t_ns(m.header.stamp) for m in results}
    assert all(t_ns(t.header.stamp) in sent for t in tracked if t_ns(t.header.stamp) > t_ns(first[-1].header.stamp))


def _face_topics(client) -> set[str]:
    return {
        name
        for name, _ in client.node.get_publisher_names_and_types_by_node("fer_node", "/")
        if name.startswith("/humans/faces/") and name != "/humans/faces/tracked"
    }


def test_per_face_publishers_come_and_go_without_a_leak(ros, clip):
    """Eight times: the face comes (new id: lost_timeout passed), is published, leaves (blank frames past
    lost_timeout); its publishers go and the tracked list empties. The node never holds more than one
    face's publishers."""
    proc, client, stream = ros
    blank = np.zeros_like(clip[0])
    send(client, proc, stream, [blank] * 2, dt=0.4)  # the faces of earlier tests leave first
    ids = []
    for cycle in range(8):
        res = send(client, proc, stream, clip[20 + cycle : 23 + cycle])
        hid = res[-1].faces[0].hri_id
        ids.append(hid)
        topics = client.wait_for(lambda hid=hid: _face_topics(client), 10, "the face's topics in the graph", proc)
        assert {t.split("/")[3] for t in topics} == {hid}, topics
        send(client, proc, stream, [blank] * 2, dt=0.4)  # 0.8 s unseen > lost_timeout 0.5
        client.wait_for(lambda: not _face_topics(client), 10, f"{hid}'s publishers to be destroyed", proc)
        client.wait_for(lambda: client.last_tracked() == [], 10, "the tracked list to empty", proc)
    assert len(set(ids)) == len(ids), "a new id each time"
    assert "Traceback" not in proc.output()


def test_a_face_at_the_border_gets_a_box_inside_the_image(ros, clip):
    """The landmarks of a face cut by the image border reach past it (x = -27 px in this crop, as the
    engine gives it): fer_msgs boxes and ROS4HRI regions stay inside the image."""
    from fer_ros.engine import Engine, EngineConfig

    proc, client, stream = ros
    cut = np.ascontiguousarray(clip[5][:, 240:])
    with Engine(EngineConfig(model="baseline")) as engine:
        (raw,) = engine.process(cut, None).faces
    assert raw.box[0] < -5, "the precondition: the engine's box starts left of the image"
    stream.stamp(1.0)  # past lost_timeout: a new face
    (m,) = send(client, proc, stream, [cut])
    (f,) = m.faces
    assert f.x == 0.0 and f.width == pytest.approx(raw.box[0] + raw.box[2], abs=0.5)
    assert f.x + f.width <= cut.shape[1] and f.y >= 0 and f.y + f.height <= cut.shape[0]
    client.follow_face(f.hri_id, ("roi",))
    time.sleep(0.5)
    (m,) = send(client, proc, stream, [cut])
    roi = client.wait_for(lambda: client.snapshot(client.faces[f.hri_id]["roi"]), 10, "the face's roi", proc)[-1]
    assert roi.xmin == 0.0 and 0.0 < roi.xmax <= 1.0
