"""`fer-ros eval`: the recurrent model against the frame-wise baseline, through the streaming engine."""

from __future__ import annotations

import argparse
from pathlib import Path

from .common import add_engine_args, engine_config

EVAL_VIDEOS = 40  # default size of the generated held-out set
EVAL_DATASETS = ("generated", "fer2013", "ckplus", "oulu", "mmi", "casme2", "samm", "casme2lv", "segments")


def run_fer2013(args: argparse.Namespace) -> int:
    """Labelled stills: accuracy, UAR, macro-F1 and the confusion of both models (learn.evaluate_stills)."""
    from fer_ros.learn.datasets.fer2013 import read_fer2013
    from fer_ros.learn.evaluate_stills import evaluate_stills, format_table

    if args.path is None:
        raise ValueError("--dataset fer2013 needs PATH: fer2013.csv or the Kaggle folder layout")
    cfg = engine_config(args)
    stills = read_fer2013(args.path, args.split, limit=args.limit)
    report = evaluate_stills(
        stills, cfg, args.out, {"name": "fer2013", "root": str(args.path)}, progress=not args.quiet
    )
    print(format_table(report))
    out = Path(args.out)
    print(f"report: {out / 'report.json'}; figure: {out / 'confusion.png'}")
    return 0


def run(args: argparse.Namespace) -> int:
    # Everything the command line can get wrong is checked before anything slow starts.
    if args.model == "baseline":
        raise ValueError(
            "eval always runs the recurrent model and the frame-wise baseline side by side; leave out --model"
        )
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    if args.dataset == "fer2013":
        return run_fer2013(args)
    if args.dataset == "generated":
        if args.path is not None:
            raise ValueError(f"--dataset generated takes no PATH (it generates the held-out set), got {args.path}")
        if args.videos < 1:
            raise ValueError(f"--videos must be >= 1, got {args.videos}")
    else:
        from fer_ros.learn.datasets import TITLES

        title = TITLES[args.dataset]
        if args.path is None:
            raise ValueError(
                f"--dataset {args.dataset} needs PATH: the {title} folder as distributed (nothing is downloaded)"
            )
        if args.dataset == "segments":
            if not Path(args.path).exists():
                raise ValueError(f"{args.path}: no such label CSV or folder of them")
        elif not Path(args.path).is_dir():
            raise ValueError(f"{args.path}: no such folder (expected the {title} dataset folder)")
    cfg = engine_config(args)
    from fer_ros.model.expression import DEFAULT_MODEL

    weights = Path(cfg.weights) if cfg.weights else DEFAULT_MODEL
    if not weights.is_file():
        raise FileNotFoundError(f"recurrent model weights not found: {weights} (pass --weights FILE)")

    from fer_ros.learn import evaluate as ev
    from fer_ros.learn import generated as gen

    if args.dataset == "generated":
        n = min(args.videos, args.limit) if args.limit else args.videos
        idents = gen.test_identities(cache_dir=None if args.no_cache else gen.CACHE_DIR)
        dataset = gen.generated_description(n, args.seed, idents)
        print(
            f"generated held-out set: {n} sequences of {len(idents)} held-out bases "
            f"({', '.join(dataset['persons'])}), seed {args.seed}"
        )
        videos = gen.generated_videos(n, args.seed, identities=idents)
        total = n
    else:
        from fer_ros.learn.datasets import load_dataset

        options = {"aligned": True} if args.aligned else {}
        videos = load_dataset(args.dataset, args.path, **options)
        print(videos.summary())
        dataset = {
            "name": args.dataset,
            "title": title,
            "root": str(args.path),
            "aligned": bool(args.aligned),
            "summary": videos.summary(),
            "skipped": dict(videos.skipped),
            "notes": dict(videos.notes),
            "videos_read": len(videos),
        }
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


def add_parser(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="recurrent model vs frame-wise baseline on a held-out set (streaming engine, frame by frame)",
        usage="fer-ros eval --dataset {{{}}} [PATH] [--aligned] [--split S] --out DIR [--limit N] [--videos N] "
        "[engine options]".format(",".join(EVAL_DATASETS)),
        description="Runs the streaming engine frame by frame, as the node does, with the recurrent model and "
        "with the frame-wise baseline, and reports accuracy when 10/25/50/75/100%% of each expression "
        "has been seen (on-the-fly curve), spotting precision/recall/F1 at IoU >= 0.5 (MEGC rule, "
        "pooled over videos), intensity MAE and the confusion matrix. Writes DIR/report.json "
        '({"model": ..., "baseline": ...}), DIR/videos.jsonl, DIR/on_the_fly.png and '
        "DIR/confusion.png. 'generated': sequences of the test faces (never used in training or "
        "selection); 'fer2013': labelled stills (--split, default PrivateTest) through the engine as "
        "`fer-ros video DIR --stills --aligned` reads them: accuracy, UAR, macro-F1, confusion; "
        "'segments': videos labelled by frame segments in a CSV (e.g. the shipped "
        "fer_ros/data/real_clip_labels.csv of a real sample clip); the others read a licensed dataset "
        "from PATH (nothing is downloaded).",
    )
    p.add_argument("--dataset", required=True, choices=EVAL_DATASETS)
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="dataset folder, the label CSV for 'segments', fer2013.csv or its folders (not for 'generated')",
    )
    p.add_argument("--aligned", action="store_true", help="read the dataset's aligned face crops (where it has them)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--limit", type=int, help="evaluate only the first N videos (fer2013: images)")
    p.add_argument(
        "--split",
        default="PrivateTest",
        choices=("Training", "PublicTest", "PrivateTest"),
        help="fer2013: which split (default PrivateTest, the test split)",
    )
    p.add_argument(
        "--videos",
        type=int,
        default=EVAL_VIDEOS,
        help=f"generated: number of held-out sequences (default {EVAL_VIDEOS}: a few minutes on 2 cores)",
    )
    p.add_argument("--seed", type=int, default=0, help="generated: seed of the held-out sequences (default 0)")
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="generated: find the held-out base faces again instead of reading .cache/eval",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_engine_args(p)
    p.set_defaults(func=run)
