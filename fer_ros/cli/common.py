"""What every subcommand shares: the engine flags, parameter files, the error boundary."""

from __future__ import annotations

import argparse
import dataclasses

from fer_ros.engine.config import MODELS, EngineConfig

ENGINE_FLAGS = ("model", "weights", "device", "max_faces", "detect_every", "lost_timeout")


def add_engine_args(p: argparse.ArgumentParser) -> None:
    # Defaults are None so that only flags given on the command line override --config.
    g = p.add_argument_group("engine (defaults: config/fer.yaml values)")
    g.add_argument("--config", help="ROS 2 parameter YAML with engine parameters (e.g. config/fer.yaml)")
    g.add_argument(
        "--model", choices=MODELS, help="recurrent: MV-LSTM per face (default); baseline: the frame-wise CNN alone"
    )
    g.add_argument(
        "--weights",
        help="model file (.safetensors): an expression model for recurrent, a backbone for "
        "baseline; default: the shipped weights",
    )
    g.add_argument("--device", help="auto (CUDA when present; default), cpu, cuda, cuda:N")
    g.add_argument("--max-faces", type=int, help="most faces tracked per frame (default 8)")
    g.add_argument(
        "--detect-every",
        type=int,
        help="most frames between two face detections; faces are followed from their landmarks in between (default 10)",
    )
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
    """--config's parameters, overridden by the engine flags given on the command line."""
    cfg = EngineConfig.from_params(load_params(args.config)) if args.config else EngineConfig()
    overrides = {name: getattr(args, name) for name in ENGINE_FLAGS if getattr(args, name) is not None}
    if getattr(args, "aligned", False):
        overrides["aligned"] = True
    cfg = dataclasses.replace(cfg, **overrides)
    cfg.validate()
    return cfg
