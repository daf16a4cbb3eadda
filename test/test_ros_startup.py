"""Starting and stopping fer_node as a user does: signals at every start-up stage, the lifecycle
transitions through ``ros2 lifecycle``, and one clear line with exit code 2 for every bad parameter or
params file. Real processes over real DDS on loopback, each on a domain of its own.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from ros_harness import (
    NODE,
    Client,
    NodeProcess,
    image_msg,
    new_domain_id,
    read_clip,
    require_ros,
    ros_env,
    stamp_of,
)

require_ros()

PARAMS = {"model": "baseline", "image_qos": "reliable"}
# The stages main.py reports with FER_ROS_STARTUP_TRACE=1, in order; a signal is sent the moment one shows.
STAGES = ("signals handled", "imported", "rclpy initialised", "node created", "configured", "active")


def _wait_for_line(proc: NodeProcess, text: str, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in proc.stderr():
            return
        if not proc.alive():
            raise AssertionError(f"the node exited before {text!r}:\n{proc.output()[-3000:]}")
        time.sleep(0.005)
    raise AssertionError(f"no {text!r} within {timeout} s:\n{proc.output()[-3000:]}")


@pytest.mark.parametrize(
    "stage, sig",
    [(stage, (signal.SIGINT, signal.SIGTERM)[i % 2]) for i, stage in enumerate(STAGES)],
    ids=[f"{s.replace(' ', '-')}-{('INT', 'TERM')[i % 2]}" for i, s in enumerate(STAGES)],
)
def test_a_signal_at_any_start_up_stage_exits_0_without_a_traceback(tmp_path, stage, sig):
    proc = NodeProcess(new_domain_id(), PARAMS, tmp_path, env={"FER_ROS_STARTUP_TRACE": "1"})
    try:
        _wait_for_line(proc, f"fer_node startup: {stage}")
        proc.proc.send_signal(sig)
        rc = proc.proc.wait(120)
    finally:
        proc.close()
    out = proc.output()
    assert rc == 0, out[-3000:]
    assert "Traceback" not in out and "cannot start" not in out, out[-3000:]


def _one_line_exit_2(proc: NodeProcess, *words: str) -> str:
    rc = proc.wait(120)
    out = proc.output()
    lines = [line for line in out.splitlines() if "cannot start" in line]
    assert rc == 2, out[-3000:]
    assert len(lines) == 1 and "Traceback" not in out, out[-3000:]
    for w in words:
        assert w in lines[0], (w, lines[0])
    return lines[0]


def test_a_missing_params_file_is_named(tmp_path):
    missing = tmp_path / "nope.yaml"
    proc = NodeProcess(new_domain_id(), {}, tmp_path, config=missing)
    _one_line_exit_2(proc, str(missing), "no such file")


def test_a_params_file_that_is_not_yaml_is_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("fer_node:\n  ros__parameters:\n    model: [baseline\n")
    proc = NodeProcess(new_domain_id(), {}, tmp_path, config=bad)
    _one_line_exit_2(proc, str(bad), "not valid YAML")


def test_a_params_file_rcl_cannot_read_is_named(tmp_path):
    mixed = tmp_path / "mixed.yaml"
    mixed.write_text("fer_node:\n  ros__parameters:\n    image_topics: [1, a]\n")
    proc = NodeProcess(new_domain_id(), {}, tmp_path, config=mixed)
    line = _one_line_exit_2(proc, str(mixed))
    assert "/project/src" not in line, "rcl's source locations are left out"


@pytest.mark.parametrize(
    "params, words",
    [
        ({"image_topics": "[]"}, ("image_topics", "at least one camera topic")),
        ({"max_faces": "many"}, ("max_faces", "integer")),
        ({"lost_timeout": "soon"}, ("lost_timeout", "number")),
        ({"image_qos": "fast"}, ("image_qos", "fast")),
        ({"spotter.off_threshold": 0.9}, ("off_threshold",)),
        ({"spotter.on_treshold": 0.6}, ("unknown parameter", "spotter.on_treshold")),
        ({"image_topics": "[/a/image_raw, /b/image_raw]", "output_namespaces": "[/x]"}, ("output_namespaces",)),
        ({"image_topics": "[/a_cam, /b_cam]"}, ("output_namespaces", "/a_cam", "/b_cam")),
        ({"weights": "/nonexistent/model.safetensors"}, ("weights", "/nonexistent/model.safetensors")),
    ],
    ids=["no-topics", "int-typed", "double-typed", "qos", "bad-value", "typo", "namespaces", "shared-ns", "weights"],
)
def test_a_bad_parameter_exits_2_naming_it(tmp_path, params, words):
    proc = NodeProcess(new_domain_id(), {**PARAMS, **params}, tmp_path)
    _one_line_exit_2(proc, *words)


def _lifecycle(domain: int, *args: str, check: bool = True) -> str:
    """`ros2 lifecycle <args>` (the vendored ros2cli), as a user types it. --no-daemon leaves nothing
    running; without the daemon's graph cache each call discovers the graph afresh (--spin-time), which
    on this loaded machine now and then misses the node: "Node not found" is retried."""
    for _ in range(RETRIES):
        proc = subprocess.run(
            ["ros2", "lifecycle", *args[:1], "--no-daemon", "--spin-time", "1.5", *args[1:]],
            env=ros_env(domain),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if "Node not found" not in proc.stderr + proc.stdout:
            break
    if check:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


RETRIES = 3


def _state(domain: int) -> str:
    """`ros2 lifecycle get /fer_node`: the state, or "" while the node is not there yet."""
    return _lifecycle(domain, "get", f"/{NODE}", check=False).strip()


def test_lifecycle_transitions_through_ros2_lifecycle(tmp_path):
    """`fer_node --lifecycle` waits unconfigured; `ros2 lifecycle set` configures (the model loads),
    activates (frames are answered), deactivates (open intervals end: "stream stopped"; frames are no longer
    taken), cleans up, configures again with a changed start-up parameter, and shuts down. An int given for a
    double parameter is taken."""
    domain = new_domain_id()
    from fer_ros.io.media import SHORT_FACE_CLIP

    clip = read_clip(SHORT_FACE_CLIP)
    proc = NodeProcess(domain, {**PARAMS, "lost_timeout": 2}, tmp_path, command=["fer_node", "--lifecycle"])
    client = Client(domain)
    try:
        client.wait_for(lambda: _state(domain).startswith("unconfigured"), 120, "the node", proc)
        assert client.get_parameters(["lost_timeout"]) == {"lost_timeout": 2.0}, "an int for a double is taken"
        assert client.node.count_publishers(f"/{NODE}/expressions") == 0, "nothing before configure"
        (r,) = client.set_parameters({"image_qos": "reliable"})
        assert r.successful, "start-up parameters may change while unconfigured"
        _lifecycle(domain, "set", f"/{NODE}", "configure")
        assert _state(domain).startswith("inactive")
        (r,) = client.set_parameters({"image_qos": "sensor_data"})
        assert not r.successful and "image_qos" in r.reason and "configure" in r.reason
        (r,) = client.set_parameters({"silence_timeout": 3})  # live, and an int for a double
        assert r.successful and client.get_parameters(["silence_timeout"]) == {"silence_timeout": 3.0}
        _lifecycle(domain, "set", f"/{NODE}", "activate")
        client.wait_ready(proc)
        for k in range(1, 16):  # the smile: an interval opens
            stamp = stamp_of(k)
            client.publish(image_msg(clip[24 + k], stamp))
            m = client.wait_for(lambda stamp=stamp: client.frame_for(stamp), 60, "a result", proc)
        fid = m.faces[0].face_id
        assert [e for e in client.snapshot(client.intervals) if e.face_id == fid], "an interval started"
        _lifecycle(domain, "set", f"/{NODE}", "deactivate")
        ended = client.wait_for(
            lambda: [e for e in client.snapshot(client.intervals) if e.face_id == fid and e.status == 2], 10, "ended"
        )
        assert ended[0].end_reason == "stream stopped"
        n = len(client.snapshot(client.frames))
        client.publish(image_msg(clip[40], stamp_of(40)))
        time.sleep(1.0)
        assert len(client.snapshot(client.frames)) == n, "an inactive node takes no frames"
        _lifecycle(domain, "set", f"/{NODE}", "cleanup")
        assert _state(domain).startswith("unconfigured")
        client.wait_for(lambda: client.node.count_publishers(f"/{NODE}/expressions") == 0, 10, "publishers gone")
        (r,) = client.set_parameters({"image_qos": "sensor_data", "ros4hri": False}, atomic=True)
        assert r.successful, r.reason
        _lifecycle(domain, "set", f"/{NODE}", "configure")
        _lifecycle(domain, "set", f"/{NODE}", "activate")
        assert _state(domain).startswith("active")
        assert client.node.count_publishers("/humans/faces/tracked") == 0, "ros4hri:=false: no ROS4HRI topics"
        _lifecycle(domain, "set", f"/{NODE}", "shutdown")
        assert _state(domain).startswith("finalized")
    finally:
        client.close()
    rc = proc.signal(signal.SIGINT)
    out = proc.output()
    assert rc == 0 and "Traceback" not in out, out[-3000:]


def test_a_failed_configure_is_reported_and_can_be_retried(tmp_path):
    """Managed: a bad value makes configure fail with one line naming it; fixed, configure succeeds."""
    domain = new_domain_id()
    proc = NodeProcess(
        domain, {**PARAMS, "image_topics": "[/a_cam, /b_cam]"}, tmp_path, command=["fer_node", "--lifecycle"]
    )
    client = Client(domain, image_topics=[])
    try:
        client.wait_for(lambda: _state(domain).startswith("unconfigured"), 120, "the node", proc)
        _lifecycle(domain, "set", f"/{NODE}", "configure", check=False)  # fails: the node says why
        client.wait_for(
            lambda: "configure failed: image_topics /a_cam, /b_cam share the output namespace" in proc.output(),
            10,
            "the one line naming the problem",
            proc,
        )
        assert _state(domain).startswith("unconfigured")
        (r,) = client.set_parameters({"output_namespaces": ["/a_out", "/b_out"]})
        assert r.successful, r.reason
        _lifecycle(domain, "set", f"/{NODE}", "configure")
        assert _state(domain).startswith("inactive")
    finally:
        client.close()
    rc = proc.signal(signal.SIGTERM)
    assert rc == 0 and "Traceback" not in proc.output()
