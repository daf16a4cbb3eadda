"""`fer-ros bag --through-node`: replay a bag's images into the real ROS node, record what it publishes.

The node (``python -m fer_ros.ros``) runs as its own process on a private ROS domain
with loopback-only discovery, reliable image QoS and ``use_sim_time``. Each image is
published (its bag bytes as they are, with ``/clock`` set to its stamp first) and the
replay waits for the node's FrameExpressions of that image before sending the next, so
the node's "newest frame only" policy drops nothing and both paths see the same frames
in the same order. A frame the decoder refuses is still sent (the node must survive
it); the replay then waits until the node's /diagnostics count it as bad. What the
node publishes is written to the output bag as it arrives, with the bag timestamp of
the image it answers. Stopping the node (SIGINT) closes its open intervals; those
"ended" events are recorded too.

Needs rclpy and the built fer_msgs (``make ros``; run through ``tools/with_ros.sh``).
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, fields
from pathlib import Path

from fer_ros.engine.engine import EngineConfig

from .messages import EXPRESSION_INTERVAL, FRAME_EXPRESSIONS
from .timeline import JITTER

log = logging.getLogger("fer_ros.ros.bag")

NODE_NAME = "fer_node"
START_TIMEOUT = 180.0  # s: the node imports torch and MediaPipe and builds its engines
FRAME_TIMEOUT = 60.0  # s for one frame's answer
STOP_TIMEOUT = 30.0


class NodeReplayError(RuntimeError):
    """The node could not be started, stopped answering, or exited during the replay."""


def ros_missing() -> str | None:
    """Why the ROS path cannot run here, or None."""
    checks = (
        ("rclpy", "init"),
        ("rosgraph_msgs.msg", "Clock"),
        ("sensor_msgs.msg", "Image"),
        ("diagnostic_msgs.msg", "DiagnosticArray"),
        # the source tree's fer_msgs/msg folder imports as an empty namespace package: ask for a class
        ("fer_msgs.msg", "FrameExpressions"),
    )
    for module, name in checks:
        try:
            getattr(importlib.import_module(module), name)
        except Exception as e:  # noqa: BLE001 - ImportError, AttributeError, or a broken build raising else
            return f"{module}.{name} not importable ({type(e).__name__}: {e})"
    return None


def node_params(cfg: EngineConfig, image_topics: list[str], compressed: bool, stamp_jitter: float) -> dict:
    """The node's parameters for this replay: the engine configuration and the replay's topics and QoS.

    All cameras publish on one pair of topics (as the offline runner writes them), no ROS4HRI,
    and no silence timer: the replay's pace is not the bag's time."""
    engine = {}
    defaults = EngineConfig()
    for f in fields(EngineConfig):
        if f.name == "spotter":
            continue
        value = getattr(cfg, f.name)
        if f.name == "weights":
            value = value or ""
        elif isinstance(getattr(defaults, f.name), float):
            value = float(value)  # ROS parameters are typed: a double stays a double
        engine[f.name] = value
    engine["spotter"] = {
        k: float(v) if isinstance(getattr(defaults.spotter, k), float) else v for k, v in asdict(cfg.spotter).items()
    }
    return {
        **engine,
        "image_topics": image_topics,
        "compressed": compressed,
        "image_qos": "reliable",
        "output_namespaces": [f"/{NODE_NAME}"] * len(image_topics),
        "ros4hri": False,
        "stamp_jitter": float(stamp_jitter),
        "silence_timeout": 0.0,
        "use_sim_time": True,
        "diagnostics_period": 0.1,
    }


class NodeRunner:
    """Same interface as bag._EngineRunner: ``image(...)`` per bag image, ``close()`` at the end."""

    def __init__(
        self, cfg: EngineConfig, outputs, cameras: list, domain_id: int | None = None, stamp_jitter: float = 0.5
    ):
        import rclpy
        import yaml
        from diagnostic_msgs.msg import DiagnosticArray
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor
        from rclpy.node import Node
        from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
        from rosgraph_msgs.msg import Clock
        from sensor_msgs.msg import CompressedImage, Image

        from fer_msgs.msg import ExpressionInterval, FrameExpressions

        from .images import COMPRESSED_IMAGE

        self.out = outputs
        self.store = outputs.store
        kinds = {cam.msgtype for cam in cameras}
        if len(kinds) > 1:
            raise ValueError(
                "--through-node: the node takes either raw or compressed images, not both; "
                "choose the topics of one kind with --topics"
            )
        compressed = kinds == {COMPRESSED_IMAGE}
        # node parameter image_topics: the node subscribes to <topic> (raw) or <topic>/compressed
        self.node_topics = {
            cam.topic: (cam.topic.removesuffix("/compressed") if compressed else cam.topic) for cam in cameras
        }
        publish_topics = {t: (n + "/compressed" if compressed else n) for t, n in self.node_topics.items()}
        self.domain_id = (
            domain_id if domain_id is not None else random.Random(os.getpid() ^ time.time_ns()).randint(1, 100)
        )

        self._tmp = tempfile.TemporaryDirectory(prefix="fer_bag_node_")
        params_file = Path(self._tmp.name) / "params.yaml"
        params = node_params(cfg, list(self.node_topics.values()), compressed, stamp_jitter)
        params_file.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}))
        env = dict(
            os.environ,
            ROS_DOMAIN_ID=str(self.domain_id),
            ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
            PYTHONUNBUFFERED="1",
            RCUTILS_COLORIZED_OUTPUT="0",
        )
        env.pop("ROS_STATIC_PEERS", None)
        self._log_path = Path(self._tmp.name) / "node.log"
        self._log = open(self._log_path, "wb")
        args = [
            sys.executable,
            "-m",
            "fer_ros.ros",
            "--ros-args",
            "-r",
            f"__node:={NODE_NAME}",
            "--params-file",
            str(params_file),
        ]
        log.info("starting the node (ROS_DOMAIN_ID=%d, loopback): %s", self.domain_id, " ".join(args))
        self.proc = subprocess.Popen(
            args, env=env, stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

        # Our side: its own context on the node's domain, loopback only (read when the node is created).
        saved = os.environ.get("ROS_AUTOMATIC_DISCOVERY_RANGE")
        os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
        try:
            self.context = Context()
            rclpy.init(context=self.context, domain_id=self.domain_id)
            self.node = Node(f"fer_bag_replay_{os.getpid()}", context=self.context)
        finally:
            if saved is None:
                os.environ.pop("ROS_AUTOMATIC_DISCOVERY_RANGE", None)
            else:
                os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = saved
        reliable = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        kind = CompressedImage if compressed else Image
        self.pubs = {t: self.node.create_publisher(kind, publish_topics[t], reliable) for t in self.node_topics}
        self.clock = self.node.create_publisher(Clock, "/clock", 10)
        self._clock_cls = Clock
        self.received: queue.Queue = queue.Queue()
        self._expressions_topic = f"/{NODE_NAME}/expressions"
        self._intervals_topic = f"/{NODE_NAME}/intervals"
        self.node.create_subscription(
            FrameExpressions,
            self._expressions_topic,
            lambda data: self.received.put((FRAME_EXPRESSIONS, data)),
            reliable,
            raw=True,
        )
        self.node.create_subscription(
            ExpressionInterval,
            self._intervals_topic,
            lambda data: self.received.put((EXPRESSION_INTERVAL, data)),
            reliable,
            raw=True,
        )
        self._bad_counts: dict[str, int] = {}
        self._lock = threading.Lock()
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_diagnostics, 10)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._spinner = threading.Thread(target=self._spin, daemon=True, name="fer_bag_replay")
        self._spinner.start()

        self.bag_times: dict[tuple, tuple[int, object]] = {}  # (frame_id, sec, nanosec) -> (bag time, camera)
        self.sent_bad: dict[str, int] = {}  # node topic -> bad frames sent
        self.sent: Counter = Counter()  # (frame_id, sec, nanosec) -> images sent (a looped bag repeats stamps)
        self.answered: Counter = Counter()  # ... -> FrameExpressions received
        self.cameras = cameras
        self._last_bag_time = 0
        try:
            self._wait_ready()
        except BaseException:
            self._shutdown()
            raise

    # -- plumbing --------------------------------------------------------------------------------
    def _spin(self) -> None:
        try:
            while self.context.ok():
                self.executor.spin_once(timeout_sec=0.05)
        except Exception:  # noqa: BLE001 - the context going down under spin_once ends the thread
            pass

    def _on_diagnostics(self, msg) -> None:
        with self._lock:
            for status in msg.status:
                values = {kv.key: kv.value for kv in status.values}
                if "topic" in values and "frames_bad" in values:
                    self._bad_counts[values["topic"]] = int(values["frames_bad"])

    def _node_log(self, tail: int = 3000) -> str:
        self._log.flush()
        return self._log_path.read_text(errors="replace")[-tail:]

    def _check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise NodeReplayError(
                f"the node exited with status {self.proc.returncode}; its log ends:\n{self._node_log()}"
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            self._check_alive()
            ok = all(p.get_subscription_count() >= 1 for p in self.pubs.values())
            ok = ok and all(
                self.node.count_publishers(t) >= 1 for t in (self._expressions_topic, self._intervals_topic)
            )
            if ok:
                time.sleep(0.5)  # discovered both ways: let the reliable endpoints match
                log.info("node ready on domain %d", self.domain_id)
                return
            time.sleep(0.1)
        raise NodeReplayError(
            f"the node did not come up within {START_TIMEOUT:.0f} s; its log ends:\n{self._node_log()}"
        )

    def _drain(self, block: float = 0.0) -> None:
        """Write what the node published so far; wait up to ``block`` s for the first item."""
        try:
            item = self.received.get(timeout=block) if block > 0 else self.received.get_nowait()
        except queue.Empty:
            return
        while True:
            msgtype, data = item
            msg = self.store.deserialize_cdr(bytes(data), msgtype)
            key = (msg.header.frame_id, msg.header.stamp.sec, msg.header.stamp.nanosec)
            bag_time, cam = self.bag_times.get(key, (self._last_bag_time, None))
            if msgtype == FRAME_EXPRESSIONS:
                self.out.frame_cdr(bytes(data), bag_time)
                self.answered[key] += 1
                if cam is not None:
                    cam.stats.processed += 1
                    cam.stats.faces += len(msg.faces)
                    cam.stats.ids.update(f.face_id for f in msg.faces)
            else:
                self.out.interval_cdr(bytes(data), bag_time)
            try:
                item = self.received.get_nowait()
            except queue.Empty:
                return

    # -- the runner interface -------------------------------------------------------------------
    def image(
        self, cam, raw: bytes, image, header: dict, stamp: dict, bag_time: int, bad: str | None, order: str = "in order"
    ) -> None:
        t0 = time.perf_counter()
        key = (header["frame_id"], header["stamp"]["sec"], header["stamp"]["nanosec"])
        self.bag_times[key] = (bag_time, cam)
        self._last_bag_time = max(self._last_bag_time, bag_time)
        clock = self._clock_cls()
        clock.clock.sec, clock.clock.nanosec = stamp["sec"], stamp["nanosec"]
        self.clock.publish(clock)
        self.pubs[cam.topic].publish(bytes(raw))  # the bag's CDR bytes as they are
        node_topic = self.pubs[cam.topic].topic_name
        if bad is not None:
            cam.bad(bad, stamp)
            self.sent_bad[node_topic] = self.sent_bad.get(node_topic, 0) + 1
            self._wait(
                lambda: self._bad_counts.get(node_topic, 0) >= self.sent_bad[node_topic],
                f"the node's /diagnostics to count the bad frame on {node_topic}",
                soft=True,
            )
        elif order == JITTER:  # the node drops it without an answer (it counts it as out of order)
            pass
        else:
            self.sent[key] += 1
            self._wait(
                lambda: self.answered[key] >= self.sent[key],
                f"the node's FrameExpressions for {cam.topic} at {key[1]}.{key[2]:09d}",
            )
        cam.stats.seconds += time.perf_counter() - t0

    def _wait(self, done, what: str, soft: bool = False) -> None:
        deadline = time.monotonic() + (10.0 if soft else FRAME_TIMEOUT)
        while True:
            self._drain(block=0.02)
            with self._lock:
                if done():
                    return
            if time.monotonic() > deadline:
                if soft:
                    log.warning("no answer from %s; going on", what)
                    return
                raise NodeReplayError(f"timed out waiting for {what}; the node's log ends:\n{self._node_log()}")
            self._check_alive()

    def close(self) -> None:
        """Stop the node (it closes open intervals: 'ended' events), record the rest, shut down."""
        try:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGINT)
            deadline = time.monotonic() + STOP_TIMEOUT
            while self.proc.poll() is None and time.monotonic() < deadline:
                self._drain(block=0.05)
            if self.proc.poll() is None:
                log.warning("the node did not stop within %.0f s; killing it", STOP_TIMEOUT)
                self.proc.kill()
                self.proc.wait(10)
            elif self.proc.returncode != 0:
                log.warning("the node exited with status %d; its log ends:\n%s", self.proc.returncode, self._node_log())
            end = time.monotonic() + 1.0  # the last messages may still be in flight
            while time.monotonic() < end:
                self._drain(block=0.05)
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        try:
            self.executor.shutdown(timeout_sec=1.0)
            self.node.destroy_node()
            self.context.try_shutdown()
        except Exception:  # noqa: BLE001 - shutting down anyway
            pass
        self._spinner.join(2.0)
        self._log.close()
        self._tmp.cleanup()
