"""Helpers for the ROS 2 tests: real rclpy over real DDS on loopback, the node as its own process.

Each harness has its own rclpy context on its own ROS_DOMAIN_ID with
ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, so no DDS traffic leaves the machine and
concurrent test runs do not hear each other.

``require_ros()`` skips a test module with the reason when the ROS build is absent (rclpy
or fer_msgs not importable), except under CI (CI=true), where it fails: there `make test`
has built it, and a skip would hide a broken build.
"""

from __future__ import annotations

import atexit
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config" / "fer.yaml"
NODE_CONFIG = ROOT / "config" / "fer_node.yaml"
DDS_PROFILE = ROOT / "config" / "fastdds_large_images.xml"  # for image publishers (README)
NODE = "fer_node"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def ros_missing() -> str | None:
    """Why the ROS build cannot be used here, or None when it can."""
    try:
        import diagnostic_msgs.msg  # noqa: F401
        import rclpy  # noqa: F401
        import sensor_msgs.msg  # noqa: F401
    except Exception as e:
        return f"rclpy (ROS 2 Jazzy wheels) not importable ({type(e).__name__}: {e}); run 'make ros'"
    try:  # the classes, not the packages: the source folders import as empty namespace packages
        from fer_msgs.msg import ExpressionInterval, FrameExpressions  # noqa: F401
        from hri_msgs.msg import Expression, IdsList  # noqa: F401
    except Exception as e:
        return (
            f"fer_msgs / hri_msgs not importable ({type(e).__name__}: {e}); build them with 'make ros' and run "
            "the tests through tools/with_ros.sh (make test does)"
        )
    return None


def require_ros() -> None:
    reason = ros_missing()
    if reason is None:
        return
    if in_ci():
        pytest.fail(f"CI: the ROS build must be present: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


_used_domains: set[int] = set()
_clients = iter(range(1, 1_000_000))


def new_domain_id() -> int:
    """A ROS_DOMAIN_ID in 1..100 of this process's own (random per process, distinct within it)."""
    rng = random.Random(os.getpid() * 1_000_003 + time.time_ns())
    while True:
        d = rng.randint(1, 100)
        if d not in _used_domains:
            _used_domains.add(d)
            return d


def ros_env(domain_id: int) -> dict:
    env = dict(os.environ)
    env.update(
        ROS_DOMAIN_ID=str(domain_id),
        ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
        RCUTILS_COLORIZED_OUTPUT="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("ROS_STATIC_PEERS", None)
    return env


_live: list[NodeProcess] = []


@atexit.register
def _kill_leftovers() -> None:
    """A test that failed half-way must not leave a node running after pytest exits."""
    for proc in _live:
        proc.close()


def _default_stop_signals() -> None:
    """In the child, before exec: SIGINT and SIGTERM at their defaults and unblocked. A shell
    starts background jobs with SIGINT ignored, an ignored signal survives exec, and `ros2 launch`
    then never hears the SIGINT the tests send (our node sets its own handlers either way)."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})


class NodeProcess:
    """The node as a user starts it, as its own process: by default
    ``python -m fer_ros.ros --ros-args --params-file config/fer.yaml --params-file config/fer_node.yaml -p ...``.

    ``command``: another command line before ``--ros-args`` (e.g. the installed ``fer_node``, or
    with ``--lifecycle``); ``launch``: ``ros2 launch fer_ros`` with these arguments instead. Use it
    as a context manager (or call close()): the process is killed if still running."""

    def __init__(
        self,
        domain_id: int,
        params: dict,
        tmp_path: Path,
        config: Path | None = CONFIG,
        node_config: Path | None = NODE_CONFIG,
        command: list[str] | None = None,
        ros_args: list[str] | None = None,
        env: dict | None = None,
        launch: list[str] | None = None,
    ):
        if launch is not None:  # `ros2 launch fer_ros <file> name:=value ...`, as a user types it
            args = ["ros2", "launch", "fer_ros", *launch]
        else:
            args = list(command or [sys.executable, "-m", "fer_ros.ros"]) + ["--ros-args"]
            for path in (config, node_config):
                if path is not None:
                    args += ["--params-file", str(path)]
            for k, v in params.items():
                args += ["-p", f"{k}:={_param_text(v)}"]
            args += list(ros_args or [])
        self.args = args
        self.stdout_path = tmp_path / "node.stdout"
        self.stderr_path = tmp_path / "node.stderr"
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env={**ros_env(domain_id), **(env or {})},
            stdout=self._out,
            stderr=self._err,
            stdin=subprocess.DEVNULL,
            preexec_fn=_default_stop_signals,
        )
        _live.append(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _flush(self) -> None:
        for f in (self._out, self._err):
            if not f.closed:
                f.flush()

    def output(self) -> str:
        self._flush()
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def stderr(self) -> str:
        self._flush()
        return self.stderr_path.read_text(errors="replace")

    def signal(self, sig=signal.SIGTERM, timeout: float = 30.0) -> int:
        if self.alive():
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.close()

    def wait(self, timeout: float) -> int:
        rc = self.proc.wait(timeout)
        self.close()
        return rc

    def close(self) -> None:
        if self.alive():
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()
        self._err.close()
        if self in _live:
            _live.remove(self)


def _param_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_param_text(x) for x in v) + "]"
    return str(v)


class Client:
    """A client node in this process on its own context: image publishers, output subscribers.

    ``outputs``: the output namespaces to follow (their ``expressions`` and ``intervals``; the
    intervals transient local, as the node offers them). ``frames``/``intervals`` hold every
    namespace's messages in arrival order, ``by_ns`` each one's. ``hri``: follow
    /humans/faces/tracked (``follow_face`` adds a face's roi and expression)."""

    def __init__(
        self,
        domain_id: int,
        image_topics=("/image_raw",),
        compressed: bool = False,
        depth: int = 100,
        outputs=(f"/{NODE}",),
        hri: bool = False,
    ):
        import rclpy
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from sensor_msgs.msg import CompressedImage, Image

        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"  # read by the rmw at node creation
        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = Node(f"fer_test_client_{os.getpid()}_{next(_clients)}", context=self.context)
        self.reliable = QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        self.lock = threading.Lock()
        self.frames: list = []
        self.intervals: list = []
        self.by_ns: dict[str, dict[str, list]] = {}
        self.diagnostics: list = []
        self.tracked: list = []
        self.faces: dict[str, dict[str, list]] = {}  # ROS4HRI id -> {"roi": [...], "expression": [...]}
        self.arrival: dict[int, float] = {}  # FrameExpressions stamp (ns) -> time.monotonic() it arrived
        self.outputs = list(outputs)
        for ns in self.outputs:
            self.follow_outputs(ns)
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._keep(self.diagnostics), 10)
        if hri:
            from hri_msgs.msg import IdsList

            self.node.create_subscription(IdsList, "/humans/faces/tracked", self._keep(self.tracked), self.reliable)
        kind = CompressedImage if compressed else Image
        self.image_pubs = {
            t: self.node.create_publisher(kind, f"{t}/compressed" if compressed else t, self.reliable)
            for t in image_topics
        }
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()
        self._param_client = None

    def intervals_qos(self, depth: int = 100):
        from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

        return QoSProfile(
            depth=depth,
            reliability=ReliabilityPolicy.RELIABLE,
            history=HistoryPolicy.KEEP_LAST,
            durability=DurabilityPolicy.TRANSIENT_LOCAL,
        )

    def follow_outputs(self, ns: str) -> None:
        from fer_msgs.msg import ExpressionInterval, FrameExpressions

        store = self.by_ns.setdefault(ns, {"frames": [], "intervals": []})

        def on_frame(msg):
            now = time.monotonic()
            with self.lock:
                self.frames.append(msg)
                store["frames"].append(msg)
                self.arrival[msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec] = now

        def on_interval(msg):
            with self.lock:
                self.intervals.append(msg)
                store["intervals"].append(msg)

        self.node.create_subscription(FrameExpressions, f"{ns}/expressions", on_frame, self.reliable)
        self.node.create_subscription(ExpressionInterval, f"{ns}/intervals", on_interval, self.intervals_qos())

    def follow_face(self, hri_id: str, topics=("roi", "expression")) -> None:
        """Subscribe to /humans/faces/<hri_id>/{roi, expression, aligned}."""
        from sensor_msgs.msg import Image

        from hri_msgs.msg import Expression, NormalizedRegionOfInterest2D

        kinds = {"roi": NormalizedRegionOfInterest2D, "expression": Expression, "aligned": Image}
        with self.lock:
            if hri_id in self.faces:
                return
            self.faces[hri_id] = {t: [] for t in topics}
        for t in topics:
            self.node.create_subscription(
                kinds[t], f"/humans/faces/{hri_id}/{t}", self._keep(self.faces[hri_id][t]), self.reliable
            )

    def _keep(self, store):
        def cb(msg):
            with self.lock:
                store.append(msg)

        return cb

    def latency_of(self, sent: dict[int, float]) -> list[float]:
        """Seconds from publishing (``sent``: stamp ns -> monotonic time) to the result's arrival here."""
        with self.lock:
            return [self.arrival[k] - t for k, t in sent.items() if k in self.arrival]

    def _spin(self):
        from rclpy.executors import ExternalShutdownException

        try:
            while self.context.ok():
                self.executor.spin_once(timeout_sec=0.05)
        except (ExternalShutdownException, Exception):
            pass

    def publish(self, msg, topic: str | None = None) -> None:
        pub = self.image_pubs[topic] if topic else next(iter(self.image_pubs.values()))
        pub.publish(msg)

    def wait_ready(self, proc: NodeProcess, timeout: float = 120.0) -> None:
        """Until the node's subscriptions and publishers have matched ours (it builds its engines first)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not proc.alive():
                raise AssertionError(f"fer_node exited with {proc.proc.returncode} during start-up:\n{proc.output()}")
            ok = all(p.get_subscription_count() >= 1 for p in self.image_pubs.values())
            ok = ok and all(
                self.node.count_publishers(f"{ns}/{t}") >= 1
                for ns in self.outputs
                for t in ("expressions", "intervals")
            )
            if ok:
                time.sleep(0.5)  # both sides discovered; let the reliable readers and writers match
                return
            time.sleep(0.1)
        raise AssertionError(f"fer_node not ready after {timeout} s:\n{proc.output()}")

    def last_tracked(self) -> list[str] | None:
        """The ids of the newest /humans/faces/tracked message (None before the first)."""
        with self.lock:
            return list(self.tracked[-1].ids) if self.tracked else None

    def snapshot(self, store) -> list:
        with self.lock:
            return list(store)

    def wait_for(self, predicate, timeout: float = 30.0, what: str = "condition", proc: NodeProcess | None = None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if proc is not None and not proc.alive():
                raise AssertionError(f"fer_node died while waiting for {what}:\n{proc.output()}")
            time.sleep(0.02)
        raise AssertionError(
            f"timed out after {timeout} s waiting for {what}" + (f"\n{proc.output()[-4000:]}" if proc else "")
        )

    def frame_for(self, stamp) -> object | None:
        with self.lock:
            for m in reversed(self.frames):
                if m.header.stamp.sec == stamp.sec and m.header.stamp.nanosec == stamp.nanosec:
                    return m
        return None

    def set_parameters(self, params: dict, timeout: float = 30.0, atomic: bool = False):
        """Through the node's real set_parameters(_atomically) service; returns the SetParametersResult list."""
        from rclpy.parameter import Parameter
        from rclpy.parameter_client import AsyncParameterClient

        if self._param_client is None:
            self._param_client = AsyncParameterClient(self.node, NODE)
            assert self._param_client.wait_for_services(timeout_sec=timeout), "fer_node parameter services missing"
        values = [Parameter(k, value=v) for k, v in params.items()]
        call = self._param_client.set_parameters_atomically if atomic else self._param_client.set_parameters
        future = call(values)
        self.wait_for(future.done, timeout, "set_parameters response")
        result = future.result()
        return [result.result] if atomic else result.results

    def get_parameters(self, names, timeout: float = 30.0) -> dict:
        from rclpy.parameter import parameter_value_to_python

        if self._param_client is None:
            from rclpy.parameter_client import AsyncParameterClient

            self._param_client = AsyncParameterClient(self.node, NODE)
            assert self._param_client.wait_for_services(timeout_sec=timeout)
        future = self._param_client.get_parameters(list(names))
        self.wait_for(future.done, timeout, "get_parameters response")
        return {n: parameter_value_to_python(v) for n, v in zip(names, future.result().values)}

    def latest_diagnostics(self, topic: str) -> dict | None:
        """key -> value of the newest /diagnostics status for the camera topic."""
        for arr in reversed(self.snapshot(self.diagnostics)):
            for st in arr.status:
                if st.name.endswith(topic):
                    out = {kv.key: kv.value for kv in st.values}
                    out["_level"], out["_message"], out["_hardware_id"] = st.level, st.message, st.hardware_id
                    return out
        return None

    def close(self) -> None:
        import rclpy

        try:
            self.executor.shutdown(timeout_sec=1.0)
            self.node.destroy_node()
        finally:
            rclpy.try_shutdown(context=self.context)
            self._thread.join(5)


def stamp_of(k: int, base_sec: int = 1_700_000_000, fps: float = 30.0, offset_ns: int = 123_456):
    """A builtin_interfaces/Time for frame k (non-round nanoseconds, as real cameras give)."""
    from builtin_interfaces.msg import Time

    ns = base_sec * 1_000_000_000 + offset_ns + round(k * 1e9 / fps)
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


def image_msg(bgr, stamp, frame_id: str = "camera_optical", encoding: str = "bgr8"):
    from sensor_msgs.msg import Image

    msg = Image(
        height=bgr.shape[0],
        width=bgr.shape[1],
        encoding=encoding,
        is_bigendian=0,
        step=bgr.shape[1] * (bgr.shape[2] if bgr.ndim == 3 else 1) * bgr.dtype.itemsize,
        data=bgr.tobytes(),
    )
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    return msg


def compressed_msg(bgr, stamp, frame_id: str = "camera_optical", quality: int = 90):
    import cv2
    from sensor_msgs.msg import CompressedImage

    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    msg = CompressedImage(format="bgr8; jpeg compressed bgr8", data=buf.tobytes())
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    return msg


def read_clip(name: str, step: int = 1, limit: int | None = None) -> list:
    from fer_ros.io.media import media_path
    from fer_ros.io.sources import read_frames

    frames = read_frames(media_path(name), None if limit is None else limit * step)
    assert frames, f"could not read {name}"
    return frames[::step]
