"""The launch files, run as a user runs them: ``ros2 launch fer_ros ...`` over real DDS on loopback.

launch, launch_ros and ros2cli are not on PyPI; `make ros` installs their pinned, vendored
sources (vendor/ros2) into the venv, so ``ros2 launch`` is the real one. Each test starts
``ros2 launch`` as its own process on a domain of its own, talks to the node it starts, and
stops it with SIGINT as Ctrl-C would: launch passes it on, the node closes its intervals and
everything exits 0 with no traceback.
"""

from __future__ import annotations

import importlib.util
import py_compile
import signal
from pathlib import Path

import numpy as np
import pytest
from ros_harness import Client, NodeProcess, image_msg, new_domain_id, read_clip, require_ros, stamp_of

LAUNCH = Path(__file__).resolve().parent.parent / "launch"
FILES = ("fer_ros.launch.py", "fer_hri.launch.py")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name.replace(".", "_"), LAUNCH / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", FILES)
def test_launch_files_compile_and_import_without_launch(name):
    py_compile.compile(str(LAUNCH / name), doraise=True)
    assert callable(_load(name).generate_launch_description)  # launch imports live inside the functions


def test_launch_descriptions_declare_their_arguments():
    require_ros()
    from launch.actions import DeclareLaunchArgument

    names = {
        a.name for a in _load(FILES[0]).generate_launch_description().entities if isinstance(a, DeclareLaunchArgument)
    }
    assert {
        "image_topic",
        "input_mode",
        "device",
        "model",
        "config",
        "node_config",
        "use_sim_time",
        "lifecycle",
    } <= names
    hri = {
        a.name for a in _load(FILES[1]).generate_launch_description().entities if isinstance(a, DeclareLaunchArgument)
    }
    assert {"detector", "rgb_camera", "device", "model"} <= hri


@pytest.fixture(scope="module")
def clip():
    from fer_ros.io.media import SHORT_FACE_CLIP

    return read_clip(SHORT_FACE_CLIP, limit=12)


def _stop(proc: NodeProcess) -> None:
    rc = proc.signal(signal.SIGINT, timeout=60)
    out = proc.output()
    assert rc == 0, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert "process has died" not in out, out[-3000:]  # launch's words for a node that did not exit 0


@pytest.mark.parametrize("lifecycle", [False, True], ids=["plain", "lifecycle"])
def test_ros2_launch_runs_the_node(tmp_path, clip, lifecycle):
    """`ros2 launch fer_ros fer_ros.launch.py image_topic:=/launch_cam/image_raw model:=baseline ...`:
    results under the camera's namespace and on /humans/faces; lifecycle:=true is driven to active."""
    require_ros()
    domain = new_domain_id()
    topic, ns = "/launch_cam/image_raw", "/launch_cam/fer_node"
    args = ["fer_ros.launch.py", f"image_topic:={topic}", "model:=baseline", "image_qos:=reliable"]
    proc = NodeProcess(domain, {}, tmp_path, launch=args + [f"lifecycle:={str(lifecycle).lower()}"])
    client = Client(domain, image_topics=[topic], outputs=[ns], hri=True)
    try:
        client.wait_ready(proc, timeout=180)
        for k, frame in enumerate(clip[:6]):
            stamp = stamp_of(k)
            client.publish(image_msg(frame, stamp), topic)
            m = client.wait_for(lambda stamp=stamp: client.frame_for(stamp), 60, f"the result of frame {k}", proc)
        assert m.faces and m.faces[0].hri_id
        client.wait_for(
            lambda: client.last_tracked() == [m.faces[0].hri_id],
            10,
            "/humans/faces/tracked to list the face",
            proc,
        )
        if lifecycle:
            assert "active" in proc.output()
    finally:
        client.close()
    _stop(proc)


def test_ros4hri_pipeline_launch_follows_a_detectors_faces(tmp_path, clip):
    """`ros2 launch fer_ros fer_hri.launch.py detector:=false`: fer_node as the expression stage after a
    ROS4HRI detector. This test plays the detector (hri_face_detect is not on PyPI): it publishes
    /humans/faces/tracked and each face's /aligned crop; fer_node answers on /humans/faces/<id>/expression
    under the detector's id, and a face that leaves has its interval closed ("face lost")."""
    require_ros()
    from rclpy.qos import QoSProfile

    from hri_msgs.msg import Expression, IdsList

    domain = new_domain_id()
    proc = NodeProcess(domain, {}, tmp_path, launch=["fer_hri.launch.py", "detector:=false", "model:=baseline"])
    client = Client(domain, image_topics=[], outputs=["/fer_node"])
    fid = "kwzpq"  # a detector's 5-letter id
    try:
        tracked = client.node.create_publisher(IdsList, "/humans/faces/tracked", QoSProfile(depth=1))
        aligned = client.node.create_publisher(
            type(image_msg(clip[0], stamp_of(0))), f"/humans/faces/{fid}/aligned", 10
        )
        expressions: list = []
        client.node.create_subscription(
            Expression, f"/humans/faces/{fid}/expression", lambda m: expressions.append(m), client.reliable
        )
        client.wait_for(lambda: tracked.get_subscription_count() > 0, 180, "fer_node to follow the tracked list", proc)
        x, y, w, h = 176, 83, 230, 230  # around the face of the sample clip (216, 101, 150, 193), as a detector cuts it
        for k, frame in enumerate(clip):
            stamp = stamp_of(k)
            listed = IdsList(header=image_msg(frame, stamp).header, ids=[fid])
            tracked.publish(listed)
            client.wait_for(  # the list again until fer_node follows the face (a list may pass unread)
                lambda listed=listed: tracked.publish(listed) or aligned.get_subscription_count() > 0,
                30,
                "the aligned subscription",
                proc,
            )
            crop = np.ascontiguousarray(frame[y : y + h, x : x + w])
            aligned.publish(image_msg(crop, stamp))
            client.wait_for(lambda stamp=stamp: client.frame_for(stamp), 60, f"the expression of crop {k}", proc)
        got = client.wait_for(lambda: list(expressions), 10, f"/humans/faces/{fid}/expression", proc)
        e = got[-1]
        assert e.expression in ("neutral", "angry", "disgusted", "scared", "happy", "sad", "surprised")
        assert -1.0 <= e.valence <= 1.0 and -1.0 <= e.arousal <= 1.0 and 0.0 <= e.confidence <= 1.0
        frames = client.snapshot(client.frames)
        assert {f.hri_id for m in frames for f in m.faces} == {fid}, "fer_msgs say which ROS4HRI face"
        gone = IdsList(ids=[])  # the face leaves (the list again until fer_node follows)
        client.wait_for(
            lambda: tracked.publish(gone) or client.node.count_publishers(f"/humans/faces/{fid}/expression") == 0,
            30,
            "the face's expression publisher to go",
            proc,
        )
    finally:
        client.close()
    _stop(proc)
