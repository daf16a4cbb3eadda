"""`fer-ros bag`: rosbag simulation without ROS (or through the real node with --through-node)."""

from __future__ import annotations

import argparse
import logging

from .common import add_engine_args, domain_id, engine_config

log = logging.getLogger("fer_ros.bag")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bag",
        help="rosbag simulation without ROS: run the engine on a bag's image topics, write a bag",
        usage="fer-ros bag IN --out OUT [--topics TOPIC ...] [--keep TOPIC ... | --keep-all] "
        "[--storage sqlite3|mcap] [--namespace /fer_node] [--through-node] [engine options]",
        description="Reads a ROS 2 bag (sqlite3 or mcap) with rosbags, runs one engine per camera topic "
        "(sensor_msgs/msg/Image: bgr8, rgb8, mono8, bgra8, rgba8 and more; "
        "sensor_msgs/msg/CompressedImage) in the bag's timestamp order, and writes a new bag "
        "(rosbag2 format version 8: Humble and Jazzy read it) with NS/expressions "
        "(fer_msgs/msg/FrameExpressions, one per processed frame) and NS/intervals "
        "(fer_msgs/msg/ExpressionInterval), stamped with the source images' header stamps, plus "
        "the input topics asked to keep. Undecodable messages are logged, counted and skipped.",
    )
    p.add_argument("input", metavar="IN", help="input bag: a rosbag2 folder (or a .mcap / .db3 file)")
    p.add_argument("--out", required=True, metavar="OUT", help="output bag folder (must not exist)")
    p.add_argument(
        "--topics",
        nargs="+",
        metavar="TOPIC",
        help="image topics to process (default: every Image and CompressedImage topic)",
    )
    keep = p.add_mutually_exclusive_group()
    keep.add_argument(
        "--keep", nargs="+", metavar="TOPIC", default=[], help="input topics copied into the output bag (default: none)"
    )
    keep.add_argument("--keep-all", action="store_true", help="copy every input topic into the output bag")
    p.add_argument(
        "--storage", choices=("sqlite3", "mcap"), default="sqlite3", help="storage of the output bag (default sqlite3)"
    )
    p.add_argument(
        "--namespace",
        default="/fer_node",
        help="namespace of the output topics NS/expressions and NS/intervals (default /fer_node, "
        "where the node's ~/expressions and ~/intervals resolve)",
    )
    p.add_argument(
        "--through-node",
        action="store_true",
        help="instead of the engine in this process, start the ROS node (loopback, private domain, "
        "use_sim_time), replay the frames into it frame by frame and record what it publishes "
        "(needs the ROS 2 build: make ros; run through tools/with_ros.sh)",
    )
    p.add_argument(
        "--domain-id", type=domain_id, help="ROS_DOMAIN_ID for --through-node (default: a random one, 1-100)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_engine_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from fer_ros.ros.bag import run_bag
    from fer_ros.ros.bag_node import NodeReplayError

    try:
        summary = run_bag(
            args.input,
            args.out,
            engine_config(args),
            topics=args.topics,
            keep=args.keep,
            keep_all=args.keep_all,
            storage=args.storage,
            namespace=args.namespace,
            progress=not args.quiet,
            through_node=args.through_node,
            domain_id=args.domain_id,
        )
    except NodeReplayError as e:
        log.error("--through-node: %s (the output bag keeps what was recorded)", e)
        return 1
    print("\n".join(summary.lines()))
    if summary.processed:
        print(
            f"{summary.processed} frames in {summary.seconds:.1f} s "
            f"({1000 * summary.seconds / summary.processed:.1f} ms/frame overall)"
        )
    return 0
