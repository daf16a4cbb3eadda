"""`fer-ros train`: the appearance backbone (FER2013) or the recurrent model, by the config's ``task``.

DDP for the recurrent model: ``torchrun --nproc_per_node N -m fer_ros.cli train CONFIG --out DIR``.
"""

from __future__ import annotations

import argparse
import os

import yaml

TASKS = ("recurrent", "backbone")


def config_task(path: str) -> str:
    """The config's ``task`` (default recurrent); ValueError naming the file when unreadable."""
    try:
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML ({e})") from None
    if not isinstance(doc, dict):
        raise ValueError(f"{path}: a training config is a YAML mapping of sections")
    task = doc.get("task", "recurrent")
    if task not in TASKS:
        raise ValueError(f"{path}: task must be one of {', '.join(TASKS)}, got {task!r}")
    return task


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train the appearance backbone on FER2013 or the recurrent model",
        description="config/backbone_fer2013.yaml (task: backbone): the frame-wise CNN on FER2013 Training, "
        "selected on PublicTest; --data names your copy (fer2013.csv or the Kaggle folders). "
        "config/train_default.yaml (task: recurrent): the MV-LSTM on generated sequences and real "
        "stills. Both validate every epoch, write resumable checkpoints (safetensors), a per-epoch "
        "CSV and a plot to --out, and print the selected weights.",
    )
    p.add_argument("config", help="training YAML, e.g. config/backbone_fer2013.yaml or config/train_default.yaml")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--data", help="FER2013 copy: fer2013.csv or the Kaggle folder layout (overrides data.path)")
    p.add_argument("--resume", action="store_true", help="continue from --out's last checkpoint (same config)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    progress = False if args.quiet else None
    if config_task(args.config) == "backbone":
        from fer_ros.learn.train_backbone import train

        path = train(args.config, args.out, data_path=args.data, resume=args.resume, progress=progress)
    else:
        from fer_ros.learn.train import train

        path = train(args.config, args.out, data_path=args.data, resume=args.resume, progress=progress)
    if int(os.environ.get("RANK", "0")) == 0:
        print(f"selected weights: {path}")
    return 0
