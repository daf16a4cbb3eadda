"""Rosbag simulation without ROS: a ROS 2 bag in, the engine's fer_msgs outputs in a new bag.

``fer-ros bag IN --out OUT`` reads a ROS 2 bag (sqlite3 or mcap) with rosbags, runs
one Engine per camera topic over its images in the bag's timestamp order, and writes
a bag (format version 8, which Humble and Jazzy both read; sqlite3 by default, mcap
on request) holding:

- ``<ns>/expressions`` (fer_msgs/msg/FrameExpressions): one per processed frame,
- ``<ns>/intervals`` (fer_msgs/msg/ExpressionInterval): every spotter event,
- the input topics asked to keep, copied byte for byte with their QoS profiles.

``<ns>`` defaults to ``/fer_node``: the node's ``~/expressions`` and ``~/intervals``
resolve to ``/fer_node/expressions`` and ``/fer_node/intervals``. Output messages are
stamped like the node stamps them: header = the source image's header (stamp and
frame_id); bag timestamp = the bag timestamp of that image (so the outputs interleave
with the kept inputs on playback). Field values come from ``fer_ros.ros.messages``, the
layer the ROS node shares.

The engine stamp of a frame is its header stamp (the bag timestamp when the header
stamp is zero; the header is still copied as it is). Face ids are unique across the
cameras of a run and never reused, as the node publishes them (each camera's engine
tracks on its own, all drawing ids from one counter). Stamps are checked as the node
checks them (timeline.StampGuard): a frame up to ``stamp_jitter`` seconds before the
newest one is dropped and resets nothing; one further back (a looped bag) closes that
camera's open intervals ("ended", reason "time jump", written with the camera's last
frame's header and bag time), then its engine starts again with new ids. A message that cannot be decoded (unknown
encoding, corrupt JPEG, truncated data) is logged, counted and skipped: no
FrameExpressions is written for it, as the node publishes one per processed frame.

``--through-node`` (fer_ros.ros.bag_node) swaps the in-process engines for the real ROS
node: same reading, keeping and writing, the node's own messages recorded.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_ros.engine.engine import Engine, EngineConfig, FrameResult
from fer_ros.engine.images import BadFrame, as_bgr
from fer_ros.engine.spotter import END_TIME_JUMP

from .bag_io import messages, open_reader, open_writer
from .bag_messages import (
    DEFAULT_NAMESPACE,
    build_message,
    decode_image,
    output_qos,
    output_topics,
    output_typestore,
)
from .images import COMPRESSED_IMAGE, IMAGE, IMAGE_TYPES
from .messages import (
    EXPRESSION_INTERVAL,
    FRAME_EXPRESSIONS,
    INTERVALS_DEPTH,
    StampBook,
    frame_fields,
    header_fields,
    interval_fields,
)
from .timeline import DEFAULT_JITTER, IN_ORDER, JITTER, JUMP, StampGuard

log = logging.getLogger("fer_ros.ros.bag")

STORAGES = ("sqlite3", "mcap")
BAG_VERSION = 8  # Humble reads up to 8, Jazzy reads 8 and 9
LOGGED_BAD_PER_TOPIC = 5  # bad frames logged one by one per topic; the rest are counted

_NAME_TOKEN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


# -- the run --------------------------------------------------------------------------------
@dataclass
class TopicStats:
    msgtype: str
    processed: int = 0  # frames processed (one FrameExpressions each)
    bad: int = 0  # messages that could not be decoded or processed
    reasons: Counter = field(default_factory=Counter)
    faces: int = 0  # face detections over all processed frames
    ids: set = field(default_factory=set)  # published face ids
    resets: int = 0  # times the stamp jumped back (more than stamp_jitter): intervals closed, tracks reset
    out_of_order: int = 0  # frames up to stamp_jitter before the newest one: dropped
    seconds: float = 0.0  # engine wall time (through the node: publish -> its answer)


@dataclass
class BagSummary:
    out: Path
    storage: str
    topics: dict[str, TopicStats]
    expressions_topic: str
    intervals_topic: str
    expressions: int = 0
    intervals: int = 0
    kept: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def processed(self) -> int:
        return sum(t.processed for t in self.topics.values())

    @property
    def bad(self) -> int:
        return sum(t.bad for t in self.topics.values())

    def lines(self) -> list[str]:
        out = [f"wrote {self.out} (rosbag2 version {BAG_VERSION}, {self.storage})"]
        for name, t in self.topics.items():
            per = f", {1000 * t.seconds / t.processed:.1f} ms/frame" if t.processed else ""
            out.append(
                f"  {name} [{t.msgtype.rsplit('/', 1)[-1]}]: {t.processed} frames processed, "
                f"{t.bad} bad skipped, {t.out_of_order} out of order, {t.faces} faces, {len(t.ids)} ids, "
                f"{t.resets} resets{per}"
            )
            for reason, n in t.reasons.most_common(3):
                out.append(f"      {n} x {reason}")
        out.append(f"  {self.expressions_topic}: {self.expressions} FrameExpressions")
        out.append(f"  {self.intervals_topic}: {self.intervals} ExpressionInterval events")
        for name, n in self.kept.items():
            out.append(f"  {name}: {n} messages kept")
        if self.bad:
            out.append(f"{self.bad} bad message(s) skipped (see the warnings above)")
        return out


class _Camera:
    """One camera topic: its engine (engine path), stamps, published ids, what it last processed."""

    def __init__(self, topic: str, msgtype: str, stats: TopicStats):
        self.topic, self.msgtype, self.stats = topic, msgtype, stats
        self.engine: Engine | None = None
        self.book = StampBook()
        self.last_header: dict | None = None
        self.last_time = 0
        self.guard = StampGuard()  # the node's check of stamps going back (jitter / jump)
        self.warned_zero_stamp = False

    def bad(self, reason: str, stamp: dict | None = None) -> None:
        self.stats.bad += 1
        self.stats.reasons[reason] += 1
        if self.stats.bad <= LOGGED_BAD_PER_TOPIC:
            at = f" at {stamp['sec']}.{stamp['nanosec']:09d}" if stamp else ""
            log.warning("%s: message%s skipped: %s", self.topic, at, reason)
            if self.stats.bad == LOGGED_BAD_PER_TOPIC:
                log.warning("%s: further bad messages are counted, not logged", self.topic)


class _Outputs:
    """The fer_msgs topics of the output bag."""

    def __init__(self, writer, store, summary: BagSummary):
        self.writer, self.store, self.summary = writer, store, summary
        self.frames = writer.add_connection(
            summary.expressions_topic, FRAME_EXPRESSIONS, typestore=store, offered_qos_profiles=output_qos()
        )
        self.intervals = writer.add_connection(
            summary.intervals_topic,
            EXPRESSION_INTERVAL,
            typestore=store,
            offered_qos_profiles=output_qos(INTERVALS_DEPTH, transient_local=True),
        )

    def frame(self, values: dict, bag_time: int) -> None:
        self.frame_cdr(
            self.store.serialize_cdr(build_message(self.store, FRAME_EXPRESSIONS, values), FRAME_EXPRESSIONS), bag_time
        )

    def interval(self, values: dict, bag_time: int) -> None:
        self.interval_cdr(
            self.store.serialize_cdr(build_message(self.store, EXPRESSION_INTERVAL, values), EXPRESSION_INTERVAL),
            bag_time,
        )

    def frame_cdr(self, data: bytes, bag_time: int) -> None:
        self.writer.write(self.frames, bag_time, data)
        self.summary.expressions += 1

    def interval_cdr(self, data: bytes, bag_time: int) -> None:
        self.writer.write(self.intervals, bag_time, data)
        self.summary.intervals += 1


class _EngineRunner:
    """The engine in this process: one Engine per camera, outputs built with fer_ros.ros.messages."""

    def __init__(self, cfg: EngineConfig, outputs: _Outputs):
        self.cfg, self.out = cfg, outputs
        self.cameras: list[_Camera] = []
        self.ids = itertools.count(1)  # published ids: unique across cameras, as the node publishes them

    def image(
        self,
        cam: _Camera,
        raw: bytes,
        image: np.ndarray | None,
        header: dict,
        stamp: dict,
        bag_time: int,
        bad: str | None,
        order: str = IN_ORDER,
    ) -> None:
        if bad is not None:  # not decodable: never reaches the engine (as in the node)
            cam.bad(bad, stamp)
            return
        if order == JITTER:  # dropped, as the node drops it
            return
        if order == JUMP and cam.engine is not None:  # close the old timeline with its last frame's stamps
            self._events(cam, cam.engine.reset(END_TIME_JUMP), cam.last_header or header, cam.last_time)
        if cam.engine is None:
            cam.engine = Engine(self.cfg, ids=self.ids)
            self.cameras.append(cam)
            log.info("%s: model %s on %s", cam.topic, cam.engine.model_name, cam.engine.device)
        engine = cam.engine
        t0 = time.perf_counter()
        result: FrameResult = engine.process(image, cam.book.add(stamp["sec"], stamp["nanosec"]))
        cam.stats.seconds += time.perf_counter() - t0
        if result.error is not None:  # the engine refused it; events (a reset) still go out
            cam.bad(result.error, stamp)
            self._events(cam, result.events, header, bag_time)
            return
        self.out.frame(frame_fields(result, header, (image.shape[1], image.shape[0])), bag_time)
        cam.stats.processed += 1
        cam.stats.faces += len(result.faces)
        cam.stats.ids.update(f.id for f in result.faces)
        self._events(cam, result.events, header, bag_time)
        cam.last_header, cam.last_time = header, bag_time

    def _events(self, cam: _Camera, events, header: dict, bag_time: int) -> None:
        for ev in events:
            self.out.interval(interval_fields(ev, header, cam.book), bag_time)

    def close(self) -> None:
        """End of the bag (or an error): close open intervals, stamped with each camera's last frame."""
        for cam in self.cameras:
            events = cam.engine.finish()
            if cam.last_header is not None:
                self._events(cam, events, cam.last_header, cam.last_time)
            cam.engine.close()


def _keep_definition(conn, typestore) -> tuple[str, str]:
    """(message definition, RIHS01 hash) to write for a kept input connection: the bag's own when it has them."""
    from rosbags.interfaces import MessageDefinitionFormat

    msgdef, digest = conn.msgdef.data, conn.digest
    idl_ok = msgdef.startswith("=" * 80 + "\nIDL: ")
    usable = conn.msgdef.format == MessageDefinitionFormat.MSG or (
        conn.msgdef.format == MessageDefinitionFormat.IDL and idl_ok
    )
    if not (msgdef and digest and usable):
        try:
            msgdef, _ = typestore.generate_msgdef(conn.msgtype, ros_version=2)
            digest = typestore.hash_rihs01(conn.msgtype)
        except Exception as e:  # noqa: BLE001 - rosbags raises several types for unknown types
            raise ValueError(
                f"cannot keep {conn.topic}: the bag carries no definition of {conn.msgtype} ({e})"
            ) from None
    return msgdef, digest


def _check_order(cam: _Camera, stamp: dict) -> str:
    ns = stamp["sec"] * 1_000_000_000 + stamp["nanosec"]
    order = cam.guard.classify(ns)
    if order == JITTER:
        cam.stats.out_of_order += 1
        if cam.stats.out_of_order <= LOGGED_BAD_PER_TOPIC:
            log.warning(
                "%s: frame %.1f ms before the newest one (within stamp_jitter): dropped",
                cam.topic,
                1000 * cam.guard.behind(ns),
            )
        return order
    if order == JUMP:
        cam.stats.resets += 1
        log.warning(
            "%s: stamp went back %.3f s (e.g. a bag loop): open intervals closed ('time jump'), tracks reset",
            cam.topic,
            cam.guard.behind(ns),
        )
        cam.guard.reset()
    cam.guard.accept(ns)
    return order


def run_bag(
    inp: str | Path,
    out: str | Path,
    cfg: EngineConfig | None = None,
    topics: list[str] | None = None,
    keep: list[str] | None = None,
    keep_all: bool = False,
    storage: str = "sqlite3",
    namespace: str = DEFAULT_NAMESPACE,
    progress: bool = True,
    through_node: bool = False,
    domain_id: int | None = None,
    stamp_jitter: float = DEFAULT_JITTER,
) -> BagSummary:
    """Run the engine over the image topics of bag ``inp`` and write bag ``out``; returns what was done.

    ``topics``: image topics to process (default: every Image and CompressedImage topic).
    ``keep`` / ``keep_all``: input topics copied into ``out``, with their definitions and QoS.
    ``stamp_jitter``: seconds a camera's stamp may fall back and only be dropped (the node's parameter).
    ``through_node``: instead of an engine in this process, replay the images into the real
    ROS node (``python -m fer_ros.ros``, started here on loopback with ROS domain ``domain_id``, default a
    random one) and record what it publishes (needs the ROS 2 build: rclpy and fer_msgs).
    Setup errors (unknown topics, an existing ``out``) raise before anything is written; once
    running, an error or Ctrl-C still closes the output bag with everything written so far.
    """
    from rosbags.rosbag2 import StoragePlugin
    from tqdm import tqdm

    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {STORAGES}, got {storage!r}")
    cfg = cfg or EngineConfig()
    cfg.validate()
    expressions_topic, intervals_topic = output_topics(namespace)
    inp, out = Path(inp), Path(out)
    if not inp.exists():
        raise FileNotFoundError(f"input bag {inp} does not exist")
    if out.exists():
        raise FileExistsError(f"output bag {out} exists already; bags are never overwritten, choose a new path")
    if through_node:
        from .bag_node import ros_missing

        if reason := ros_missing():
            raise ValueError(
                f"--through-node needs the ROS 2 build (make ros; run through tools/with_ros.sh): {reason}"
            )
    store = output_typestore()

    started = time.perf_counter()
    with open_reader(inp) as reader:
        by_topic: dict[str, list] = {}
        for conn in reader.connections:
            by_topic.setdefault(conn.topic, []).append(conn)
        image_topics = sorted(t for t, cs in by_topic.items() if any(c.msgtype in IMAGE_TYPES for c in cs))
        if topics:
            missing = [t for t in topics if t not in by_topic]
            wrong = [t for t in topics if t in by_topic and t not in image_topics]
            if missing or wrong:
                raise ValueError(
                    (f"topic(s) not in {inp}: {', '.join(missing)}. " if missing else "")
                    + (f"not image topics: {', '.join(wrong)}. " if wrong else "")
                    + f"Image topics in the bag: {', '.join(image_topics) or 'none'}"
                )
            chosen = list(dict.fromkeys(topics))
        else:
            chosen = image_topics
            if not chosen:
                raise ValueError(
                    f"{inp} has no {IMAGE} or {COMPRESSED_IMAGE} topic (topics: "
                    f"{', '.join(sorted(by_topic)) or 'none'})"
                )
        for t in chosen:
            if len({c.msgtype for c in by_topic[t] if c.msgtype in IMAGE_TYPES}) > 1:
                raise ValueError(f"{t} carries both {IMAGE} and {COMPRESSED_IMAGE}: one type per camera topic")
        kept_topics = sorted(by_topic) if keep_all else list(dict.fromkeys(keep or []))
        if missing := [t for t in kept_topics if t not in by_topic]:
            raise ValueError(
                f"--keep topic(s) not in {inp}: {', '.join(missing)} (topics: {', '.join(sorted(by_topic))})"
            )
        if clash := [t for t in kept_topics if t in (expressions_topic, intervals_topic)]:
            raise ValueError(
                f"kept topic(s) {', '.join(clash)} would collide with this run's outputs; "
                "pick another --namespace or do not keep them"
            )

        image_conns = [c for t in chosen for c in by_topic[t] if c.msgtype in IMAGE_TYPES]
        kept_conns = [c for t in kept_topics for c in by_topic[t]]
        read = list({c.id: c for c in image_conns + kept_conns}.values())
        kept_defs = {c.id: _keep_definition(c, reader.typestore) for c in kept_conns}
        msgtypes = {c.topic: c.msgtype for c in image_conns}
        stats = {t: TopicStats(msgtypes[t]) for t in chosen}
        cameras = {t: _Camera(t, msgtypes[t], stats[t]) for t in chosen}
        for cam in cameras.values():
            cam.guard.jitter = stamp_jitter
        summary = BagSummary(
            out, storage, stats, expressions_topic, intervals_topic, kept=dict.fromkeys(kept_topics, 0)
        )

        plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
        writer = open_writer(out, plugin, BAG_VERSION)
        try:
            out_conns, added = {}, {}
            for conn in kept_conns:  # input connections that differ only by id share one output connection
                key = (conn.topic, conn.msgtype, repr(conn.ext))
                if key not in added:
                    msgdef, digest = kept_defs[conn.id]
                    added[key] = writer.add_connection(
                        conn.topic,
                        conn.msgtype,
                        msgdef=msgdef,
                        rihs01=digest,
                        serialization_format=conn.ext.serialization_format,
                        offered_qos_profiles=conn.ext.offered_qos_profiles,
                    )
                out_conns[conn.id] = added[key]
            outputs = _Outputs(writer, store, summary)
            if through_node:
                from .bag_node import NodeRunner

                runner = NodeRunner(cfg, outputs, list(cameras.values()), domain_id, stamp_jitter)
            else:
                runner = _EngineRunner(cfg, outputs)

            image_ids = {c.id for c in image_conns}
            frame_ids: dict[str, str] = {}  # frame_id -> the first camera topic that used it
            warned_shared: set[tuple[str, str]] = set()
            bar = tqdm(total=sum(c.msgcount for c in read), disable=not progress, unit="msg", desc="fer-ros bag")
            try:
                for conn, bag_time, raw in messages(reader, read, inp):
                    bar.update(1)
                    if conn.id in out_conns:
                        writer.write(out_conns[conn.id], bag_time, raw)
                        summary.kept[conn.topic] += 1
                    if conn.id not in image_ids:
                        continue
                    cam = cameras[conn.topic]
                    try:
                        msg = reader.deserialize(raw, conn.msgtype)
                    except Exception as e:  # noqa: BLE001 - a truncated/garbled message must not end the run
                        cam.bad(f"message could not be deserialised as {conn.msgtype}: {e}")
                        continue
                    header = header_fields(
                        {"sec": msg.header.stamp.sec, "nanosec": msg.header.stamp.nanosec}, msg.header.frame_id
                    )
                    stamp = header["stamp"]
                    if stamp["sec"] == 0 and stamp["nanosec"] == 0:  # unstamped camera: the bag's clock
                        if not cam.warned_zero_stamp:
                            log.warning("%s: header stamps are zero; the engine uses the bag timestamps", conn.topic)
                            cam.warned_zero_stamp = True
                        stamp = {"sec": bag_time // 1_000_000_000, "nanosec": bag_time % 1_000_000_000}
                    owner = frame_ids.setdefault(header["frame_id"], conn.topic)
                    if owner != conn.topic and (owner, conn.topic) not in warned_shared:
                        warned_shared.add((owner, conn.topic))
                        log.warning(
                            "%s and %s both use frame_id %r: their FrameExpressions cannot be told apart",
                            owner,
                            conn.topic,
                            header["frame_id"],
                        )
                    image = bad = None
                    order = IN_ORDER
                    try:
                        image = as_bgr(decode_image(msg, conn.msgtype))
                    except BadFrame as e:
                        bad = str(e)
                    else:  # stamps going back: the node's rule (timeline.py), here and in the node alike
                        order = _check_order(cam, stamp)
                    runner.image(cam, raw, image, header, stamp, bag_time, bad, order)
            finally:
                bar.close()
                runner.close()
        finally:
            writer.close()
    summary.seconds = time.perf_counter() - started
    for name, t in stats.items():
        if t.bad:
            log.warning("%s: %d message(s) could not be processed and were skipped", name, t.bad)
    return summary
