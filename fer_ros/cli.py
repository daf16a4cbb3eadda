"""`fer-ros` command line: thin shells around the engine."""

from __future__ import annotations

import argparse
import logging
import sys

from .config import MODELS, EngineConfig

log = logging.getLogger("fer_ros")


ENGINE_FLAGS = ("model", "weights", "device", "max_faces", "detect_every", "lost_timeout")


def add_engine_args(p: argparse.ArgumentParser) -> None:
    # Defaults are None so that only flags given on the command line override --config.
    g = p.add_argument_group("engine (defaults: config/fer.yaml values)")
    g.add_argument("--config", help="ROS 2 parameter YAML with engine parameters (e.g. config/fer.yaml)")
    g.add_argument("--model", choices=MODELS,
                   help="recurrent: MV-LSTM per face (default); baseline: the frame-wise CNN alone")
    g.add_argument("--weights", help="recurrent model file (.safetensors); default: the shipped weights")
    g.add_argument("--device", help="auto (CUDA when present; default), cpu, cuda, cuda:N")
    g.add_argument("--max-faces", type=int, help="most faces tracked per frame (default 8)")
    g.add_argument("--detect-every", type=int,
                   help="run the face detectors every N frames, tracking landmarks in between (default 1)")
    g.add_argument("--lost-timeout", type=float, help="seconds unseen before a face id ends (default 1.0)")


def load_params(path: str) -> dict:
    """The ros__parameters of the first node in a ROS 2 parameter file."""
    import yaml

    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    for node in doc.values():
        if isinstance(node, dict) and "ros__parameters" in node:
            return node["ros__parameters"]
    raise ValueError(f"{path}: no '<node>: ros__parameters:' section")


def engine_config(args) -> EngineConfig:
    cfg = EngineConfig.from_params(load_params(args.config)) if args.config else EngineConfig()
    for name in ENGINE_FLAGS:
        if getattr(args, name) is not None:
            setattr(cfg, name, getattr(args, name))
    if getattr(args, "aligned", False):
        cfg.aligned = True
    cfg.validate()
    return cfg


def cmd_video(args) -> int:
    from .runner import run_video

    outputs = run_video(args.input, args.out, engine_config(args), stills=args.stills, fps=args.fps,
                        progress=not args.quiet)
    print(f"outputs in {args.out}:")
    for name, path in outputs.items():
        print(f"  {name:10s} {path}")
    return 0


def cmd_bag(args) -> int:
    from .bag import run_bag
    from .bag_node import NodeReplayError

    try:
        summary = run_bag(args.input, args.out, engine_config(args), topics=args.topics, keep=args.keep,
                          keep_all=args.keep_all, storage=args.storage, namespace=args.namespace,
                          progress=not args.quiet, through_node=args.through_node, domain_id=args.domain_id)
    except NodeReplayError as e:
        log.error("--through-node: %s (the output bag keeps what was recorded)", e)
        return 1
    print("\n".join(summary.lines()))
    if summary.processed:
        print(f"{summary.processed} frames in {summary.seconds:.1f} s "
              f"({1000 * summary.seconds / summary.processed:.1f} ms/frame overall)")
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench

    run_bench(frames=args.frames, devices=args.devices, model=args.model, weights=args.weights,
              detect_every=args.detect_every)
    return 0


EVAL_VIDEOS = 40  # default size of the generated held-out set
EVAL_DATASETS = ("generated", "ckplus", "oulu", "mmi", "casme2", "samm", "casme2lv", "segments")


def cmd_eval(args) -> int:
    from pathlib import Path

    # Everything the command line can get wrong is checked before anything slow starts.
    if args.model == "baseline":
        raise ValueError("eval always runs the recurrent model and the frame-wise baseline side by side; "
                         "leave out --model")
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    if args.dataset == "generated":
        if args.path is not None:
            raise ValueError(f"--dataset generated takes no PATH (it generates the held-out set), got {args.path}")
        if args.videos < 1:
            raise ValueError(f"--videos must be >= 1, got {args.videos}")
    else:
        from .datasets import TITLES

        title = TITLES[args.dataset]
        if args.path is None:
            raise ValueError(f"--dataset {args.dataset} needs PATH: the {title} folder as distributed "
                             f"(nothing is downloaded)")
        if args.dataset == "segments":
            if not Path(args.path).exists():
                raise ValueError(f"{args.path}: no such label CSV or folder of them")
        elif not Path(args.path).is_dir():
            raise ValueError(f"{args.path}: no such folder (expected the {title} dataset folder)")
    cfg = engine_config(args)
    from .predictors import DEFAULT_MODEL

    weights = Path(cfg.weights) if cfg.weights else DEFAULT_MODEL
    if not weights.is_file():
        raise FileNotFoundError(f"recurrent model weights not found: {weights} (pass --weights FILE)")

    from . import evaluate as ev

    if args.dataset == "generated":
        n = min(args.videos, args.limit) if args.limit else args.videos
        idents = ev.heldout_identities(cache_dir=None if args.no_cache else ev.CACHE_DIR)
        dataset = ev.generated_description(n, args.seed, idents)
        print(f"generated held-out set: {n} sequences of {len(idents)} held-out bases "
              f"({', '.join(dataset['persons'])}), seed {args.seed}")
        videos = ev.generated_videos(n, args.seed, identities=idents)
        total = n
    else:
        from .datasets import load_dataset

        options = {"aligned": True} if args.aligned else {}
        videos = load_dataset(args.dataset, args.path, **options)
        print(videos.summary())
        dataset = {"name": args.dataset, "title": title, "root": str(args.path), "aligned": bool(args.aligned),
                   "summary": videos.summary(), "skipped": dict(videos.skipped), "notes": dict(videos.notes),
                   "videos_read": len(videos)}
        if args.limit:
            videos = videos[: args.limit]
            dataset["limit"] = args.limit
        if not videos:
            raise ValueError(f"{args.path}: no labelled video to evaluate")
        total = len(videos)
    ev.evaluate(videos, cfg, args.out, dataset=dataset, total=total, progress=not args.quiet)
    out = Path(args.out)
    print(f"report: {out / 'report.json'}; figures: {out / 'on_the_fly.png'}, {out / 'confusion.png'}")
    return 0


def add_train_args(p: argparse.ArgumentParser) -> None:
    """Arguments of `fer-ros train` and `python -m fer_ros.train` (one definition for both)."""
    p.add_argument("config", help="training YAML, e.g. config/train_default.yaml")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--resume", action="store_true",
                   help="continue from --out's last.safetensors / last_optim.safetensors (same config)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def cmd_train(args) -> int:
    from .train import train

    path = train(args.config, args.out, resume=args.resume, progress=False if args.quiet else None)
    print(f"best checkpoint: {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fer-ros", description="Streaming facial expression recognition and spotting (ROS-free runners).")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("video", help="run the engine on a video, a folder of frames, a camera or stills",
                       description="Writes DIR/frames.jsonl, DIR/intervals.jsonl, DIR/annotated.mp4 "
                                   "(annotated/ for --stills) and DIR/timeline.png.")
    p.add_argument("input", help="'default' (the sample clip), a video file, a folder of frames "
                                 "(a sequence in name order), an image, or a camera index")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--stills", action="store_true", help="each image is an independent photo (state reset)")
    p.add_argument("--aligned", action="store_true", help="inputs are already face crops: skip detection")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of a folder of frames (stamps)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_engine_args(p)
    p.set_defaults(func=cmd_video)

    p = sub.add_parser(
        "bag", help="rosbag simulation without ROS: run the engine on a bag's image topics, write a bag",
        usage="fer-ros bag IN --out OUT [--topics TOPIC ...] [--keep TOPIC ... | --keep-all] "
              "[--storage sqlite3|mcap] [--namespace /fer_node] [--through-node] [engine options]",
        description="Reads a ROS 2 bag (sqlite3 or mcap) with rosbags, runs one engine per camera topic "
                    "(sensor_msgs/msg/Image: bgr8, rgb8, mono8, bgra8, rgba8 and more; "
                    "sensor_msgs/msg/CompressedImage) in the bag's timestamp order, and writes a new bag "
                    "(rosbag2 format version 8: Humble and Jazzy read it) with NS/expressions "
                    "(fer_msgs/msg/FrameExpressions, one per processed frame) and NS/intervals "
                    "(fer_msgs/msg/ExpressionInterval), stamped with the source images' header stamps, plus "
                    "the input topics asked to keep. Undecodable messages are logged, counted and skipped.")
    p.add_argument("input", metavar="IN", help="input bag: a rosbag2 folder (or a .mcap / .db3 file)")
    p.add_argument("--out", required=True, metavar="OUT", help="output bag folder (must not exist)")
    p.add_argument("--topics", nargs="+", metavar="TOPIC",
                   help="image topics to process (default: every Image and CompressedImage topic)")
    keep = p.add_mutually_exclusive_group()
    keep.add_argument("--keep", nargs="+", metavar="TOPIC", default=[],
                      help="input topics copied into the output bag (default: none)")
    keep.add_argument("--keep-all", action="store_true", help="copy every input topic into the output bag")
    p.add_argument("--storage", choices=("sqlite3", "mcap"), default="sqlite3",
                   help="storage of the output bag (default sqlite3)")
    p.add_argument("--namespace", default="/fer_node",
                   help="namespace of the output topics NS/expressions and NS/intervals (default /fer_node, "
                        "where the node's ~/expressions and ~/intervals resolve)")
    p.add_argument("--through-node", action="store_true",
                   help="instead of the engine in this process, start the ROS node (loopback, private domain, "
                        "use_sim_time), replay the frames into it frame by frame and record what it publishes "
                        "(needs the ROS 2 build: make ros; run through tools/with_ros.sh)")
    p.add_argument("--domain-id", type=int, help="ROS_DOMAIN_ID for --through-node (default: a random one, 1-100)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_engine_args(p)
    p.set_defaults(func=cmd_bag)

    p = sub.add_parser(
        "eval", help="recurrent model vs frame-wise baseline on a held-out set (streaming engine, frame by frame)",
        usage="fer-ros eval --dataset {%s} [PATH] [--aligned] --out DIR [--limit N] [--videos N] "
              "[engine options]" % ",".join(EVAL_DATASETS),
        description="Runs the streaming engine frame by frame, as the node does, with the recurrent model and "
                    "with the frame-wise baseline, and reports accuracy when 10/25/50/75/100%% of each expression "
                    "has been seen (on-the-fly curve), spotting precision/recall/F1 at IoU >= 0.5 (MEGC rule, "
                    "pooled over videos), intensity MAE and the confusion matrix. Writes DIR/report.json "
                    "({\"model\": ..., \"baseline\": ...}), DIR/videos.jsonl, DIR/on_the_fly.png and "
                    "DIR/confusion.png. 'generated': sequences of the held-out faces (never used in training); "
                    "'segments': videos labelled by frame segments in a CSV (e.g. the shipped "
                    "fer_ros/data/real_clip_labels.csv of a real sample clip); the others read a licensed dataset "
                    "from PATH (nothing is downloaded).")
    p.add_argument("--dataset", required=True, choices=EVAL_DATASETS)
    p.add_argument("path", nargs="?", metavar="PATH", help="dataset folder, or the label CSV for 'segments' (not for 'generated')")
    p.add_argument("--aligned", action="store_true", help="read the dataset's aligned face crops (where it has them)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--limit", type=int, help="evaluate only the first N videos")
    p.add_argument("--videos", type=int, default=EVAL_VIDEOS,
                   help=f"generated: number of held-out sequences (default {EVAL_VIDEOS}: a few minutes on 2 cores)")
    p.add_argument("--seed", type=int, default=0, help="generated: seed of the held-out sequences (default 0)")
    p.add_argument("--no-cache", action="store_true",
                   help="generated: find the held-out base faces again instead of reading .cache/eval")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_engine_args(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", help="per-stage milliseconds and frames/s on the sample clip",
                       description="1 face (the clip letterboxed to 640x480) and 4 faces (a 2x2 mosaic "
                                   "at 640x480), on CPU and on CUDA when present. Prints; asserts nothing.")
    p.add_argument("--frames", type=int, default=150, help="frames per measurement (after warm-up)")
    p.add_argument("--devices", nargs="+", default=None, help="devices to measure (default: cpu, and cuda if present)")
    p.add_argument("--model", choices=MODELS, default="recurrent")
    p.add_argument("--weights", help="recurrent model file (.safetensors)")
    p.add_argument("--detect-every", type=int, nargs="+", default=[1, 3],
                   help="detector intervals to measure")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("train", help="train the recurrent model (generated sequences by default)",
                       description="Builds the feature datasets under .cache/datasets/ if missing, trains "
                                   "with validation each epoch, writes the best checkpoint (safetensors) "
                                   "and metrics.json to --out. Same as `python -m fer_ros.train`.")
    add_train_args(p)
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return args.func(args)
    except (ValueError, OSError) as e:
        log.error("%s", e)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
