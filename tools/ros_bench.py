"""Rate and latency of fer_node on a real clip, over real DDS on loopback. Prints; asserts nothing.

    tools/with_ros.sh python tools/ros_bench.py [--clip NAME] [--rate 30] [--model baseline] [--frames N]
        [--ros4hri on|off] [--image-qos reliable|sensor_data] [--cameras K] [--publisher-dds large-images|default]

Starts the node as its own process (``config/fer.yaml`` and ``config/fer_node.yaml``, a domain
id of its own, loopback discovery), publishes the clip's frames as sensor_msgs/Image at
``--rate`` Hz (on K camera topics at once with ``--cameras K``: /cam1/image_raw, ...), and
prints, per camera: the start-up time (process start -> its topics matched: imports,
model load and warm-up at configure), frames published / processed / dropped by the node /
lost before it, end-to-end latency (publish -> FrameExpressions received here, matched by
stamp), the rate of results, and the node's own /diagnostics figures.

The publisher here stands for the camera driver. By default it (and the node) run Fast DDS with
``config/fastdds_large_images.xml``, as the README asks of a camera driver: a shared-memory
segment that holds a whole frame. ``--publisher-dds default`` measures Fast DDS as it comes
(512 KB segment: frames above it travel as loopback UDP fragments).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "test"))

from ros_harness import (  # noqa: E402
    DDS_PROFILE,
    Client,
    NodeProcess,
    image_msg,
    new_domain_id,
    read_clip,
    stamp_of,
)


def node_periods(client: Client, topic: str) -> dict:
    """The node's own latency figures for ``topic`` over the run: per-period p50s (their median),
    the worst per-period p95 and the mean processing time, from every /diagnostics message."""
    rows = []
    for arr in client.snapshot(client.diagnostics):
        for st in arr.status:
            if st.name.endswith(topic):
                kv = {x.key: x.value for x in st.values}
                if kv.get("latency_ms_p50", "nan") != "nan":
                    rows.append(kv)
    if not rows:
        return {}
    return {
        "n": len(rows),
        "p50": statistics.median(float(r["latency_ms_p50"]) for r in rows),
        "p95": max(float(r["latency_ms_p95"]) for r in rows),
        "busy": statistics.fmean(float(r["processing_ms_mean"]) for r in rows),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", default="WolfgangLanger_Pexels.mp4", help="sample clip name (fer_ros.io.media)")
    p.add_argument("--rate", type=float, default=30.0, help="publishing rate, Hz")
    p.add_argument("--frames", type=int, default=None, help="frames to publish (default: the whole clip)")
    p.add_argument("--model", default="baseline", help="recurrent | baseline")
    p.add_argument("--device", default="auto")
    p.add_argument("--ros4hri", choices=("on", "off"), default="on", help="the ROS4HRI topics too")
    p.add_argument("--image-qos", choices=("reliable", "sensor_data"), default="reliable")
    p.add_argument("--cameras", type=int, default=1, help="camera topics, each publishing the clip at --rate")
    p.add_argument(
        "--publisher-dds",
        choices=("large-images", "default"),
        default="large-images",
        help="Fast DDS profile of the publisher and the node: config/fastdds_large_images.xml, or Fast DDS's own",
    )
    args = p.parse_args()
    if args.cameras < 1:
        p.error("--cameras must be >= 1")
    if args.publisher_dds == "large-images":  # read when this process's (and the node's) participant is made
        os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(DDS_PROFILE)
    else:
        os.environ.pop("FASTRTPS_DEFAULT_PROFILES_FILE", None)
    topics = ["/image_raw"] if args.cameras == 1 else [f"/cam{i + 1}/image_raw" for i in range(args.cameras)]
    outputs = ["/fer_node"] if args.cameras == 1 else [f"/cam{i + 1}/fer_node" for i in range(args.cameras)]

    frames = read_clip(args.clip, limit=args.frames)
    domain = new_domain_id()
    with tempfile.TemporaryDirectory() as tmp:
        proc = NodeProcess(
            domain,
            {
                "model": args.model,
                "device": args.device,
                "image_qos": args.image_qos,
                "ros4hri": args.ros4hri == "on",
                "diagnostics_period": 1.0,
                "image_topics": topics,
            },
            Path(tmp),
        )
        t_start = time.monotonic()
        client = Client(domain, image_topics=topics, outputs=outputs)
        try:
            client.wait_ready(proc)
            startup = time.monotonic() - t_start - 0.5  # wait_ready lets the endpoints settle for 0.5 s
            sent: list[dict[int, float]] = [{} for _ in topics]  # per camera: stamp ns -> publish time
            t0 = time.monotonic()
            for k, frame in enumerate(frames):
                for i, topic in enumerate(topics):  # the cameras' stamps differ by 1 us: results match by stamp
                    stamp = stamp_of(k, offset_ns=123_456 + 1000 * i)
                    msg = image_msg(frame, stamp, frame_id=topic)
                    sent[i][stamp.sec * 1_000_000_000 + stamp.nanosec] = time.monotonic()
                    client.publish(msg, topic)
                time.sleep(max(0.0, t0 + (k + 1) / args.rate - time.monotonic()))
            t_pub = time.monotonic() - t0
            time.sleep(2.0)
            got = [len(client.by_ns[ns]["frames"]) for ns in outputs]
            lats = [sorted(client.latency_of(s)) for s in sent]
            diags = [client.latest_diagnostics(t) or {} for t in topics]
            periods = [node_periods(client, t) for t in topics]
        finally:
            client.close()
            rc = proc.signal()
    h, w = frames[0].shape[:2]
    print(
        f"fer_node, model {args.model}, device {diags[0].get('device', '?')}, {args.image_qos} images, ROS4HRI "
        f"{args.ros4hri}, Fast DDS profile {args.publisher_dds}: {len(frames)} frames {w}x{h} on {len(topics)} "
        f"camera(s), each at {len(frames) / t_pub:.1f} Hz"
    )
    print(f"  start-up (process start -> topics matched, model loaded and warmed up): {startup:.1f} s")
    nan = float("nan")
    for topic, n, lat, diag, period in zip(topics, got, lats, diags, periods):
        q = (lambda f, lat=lat: 1000 * lat[min(len(lat) - 1, int(f * len(lat)))]) if lat else (lambda f: float("nan"))
        print(
            f"  {topic}: {n} FrameExpressions ({100 * n / len(frames):.1f}% of its frames, {n / t_pub:.1f} Hz); "
            f"node: {diag.get('frames_processed')} processed, {diag.get('frames_dropped')} dropped (newer frame "
            f"waiting), {diag.get('frames_lost_in_transport')} lost before the node"
        )
        print(
            f"    end-to-end latency (publish -> result received): p50 {q(0.5):.1f} ms, p95 {q(0.95):.1f} ms, "
            f"max {q(1.0):.1f} ms"
        )
        print(
            f"    in the node (image received -> results published, /diagnostics): p50 {period.get('p50', nan):.1f} ms "
            f"(median of its {period.get('n', 0)} periods with frames), p95 {period.get('p95', nan):.1f} ms (worst "
            f"period), engine + publishing {period.get('busy', nan):.1f} ms a frame"
        )
    print(f"  node exit code {rc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
