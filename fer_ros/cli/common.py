"""What every subcommand shares: the engine flags and their checks, parameter files, one-line errors.

Numeric and device flags are checked when the command line is parsed (argparse types below):
a bad value is one line and exit status 2 before anything is loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re

from fer_ros.engine.config import MODELS, EngineConfig, default_params, flat_params
from fer_ros.io.sources import check_fps
from fer_ros.model.errors import UserError

ENGINE_FLAGS = ("model", "weights", "device", "max_faces", "detect_every", "lost_timeout")
DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?)$")
ROS_DOMAIN_IDS = range(0, 233)  # what ROS 2 accepts (0-101 and 215-232 are safe on every OS)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line: ``fer-ros video: error: argument --fps: ... (see fer-ros video --help)``."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _typed(check):
    """An argparse type from a check that raises ValueError (its message becomes the error line)."""

    def parse(text: str):
        try:
            return check(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    parse.__name__ = check.__name__  # argparse names the type in some messages
    return parse


def _number(text: str, kind=float):
    try:
        return kind(text)
    except ValueError:
        raise ValueError(f"not {'an integer' if kind is int else 'a number'}: {text!r}") from None


@_typed
def positive_int(text: str) -> int:
    value = _number(text, int)
    if value < 1:
        raise ValueError(f"must be an integer >= 1, got {text!r}")
    return value


@_typed
def seconds(text: str) -> float:
    value = _number(text)
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"must be a finite number of seconds >= 0, got {text!r}")
    return value


@_typed
def frame_rate(text: str) -> float:
    return check_fps(text, what="")


@_typed
def device(text: str) -> str:
    check_device(text, what="")
    return text


@_typed
def domain_id(text: str) -> int:
    value = _number(text, int)
    if value not in ROS_DOMAIN_IDS:
        raise ValueError(f"must be a ROS domain id from 0 to {ROS_DOMAIN_IDS[-1]}, got {text!r}")
    return value


def check_device(name: str, what: str = "device") -> None:
    """``what`` names the value in the message ("" when argparse names it)."""
    if not isinstance(name, str) or not DEVICE.match(name):
        raise UserError(f"{what + ' ' if what else ''}must be auto, cpu, cuda or cuda:N, got {name!r}")


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
    g.add_argument("--device", type=device, help="auto (CUDA when present; default), cpu, cuda, cuda:N")
    g.add_argument("--max-faces", type=positive_int, help="most faces tracked per frame (default 8)")
    g.add_argument(
        "--detect-every",
        type=positive_int,
        help="most frames between two face detections; faces are followed from their landmarks in between (default 10)",
    )
    g.add_argument("--lost-timeout", type=seconds, help="seconds unseen before a face id ends (default 1.0)")


def load_params(path: str) -> dict:
    """The ros__parameters of the first node in a ROS 2 parameter file; UserError naming the file
    (and the line) when it is missing, not YAML, or not a parameter file."""
    import yaml

    try:
        with open(path) as f:
            doc = yaml.safe_load(f)
    except FileNotFoundError:
        raise UserError(f"--config {path}: no such file") from None
    except OSError as e:
        raise UserError(f"--config {path}: cannot read it ({e.strerror})") from None
    except UnicodeDecodeError:
        raise UserError(f"--config {path}: not a text file") from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(e, "problem", None) or "cannot be parsed"
        raise UserError(f"--config {path}: not valid YAML{at} ({problem})") from None
    nodes = doc.values() if isinstance(doc, dict) else ()
    for node in nodes:
        if isinstance(node, dict) and isinstance(node.get("ros__parameters"), dict):
            return node["ros__parameters"]
    raise UserError(f"--config {path}: no '<node>: ros__parameters:' section of parameters")


def check_types(params: dict, path: str) -> None:
    """Each parameter of a file has the type of its default (a number, a flag, a name): UserError
    naming the file and the parameter otherwise (``lost_timeout: abc`` is caught here, not deep
    in a comparison). Unknown names are left to EngineConfig.from_params, which lists them."""
    defaults = default_params()
    for key, value in flat_params(params).items():
        if key not in defaults or defaults[key] is None or value is None:
            continue
        kind = type(defaults[key])
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = isinstance(value, bool) if kind is bool else number if kind in (int, float) else isinstance(value, kind)
        if not ok:
            wanted = {bool: "true or false", int: "a number", float: "a number", str: "a name"}.get(kind, kind.__name__)
            raise UserError(f"--config {path}: {key} must be {wanted}, got {value!r}")


def engine_config(args) -> EngineConfig:
    """--config's parameters, overridden by the engine flags given on the command line."""
    cfg = EngineConfig()
    if args.config:
        params = load_params(args.config)
        check_types(params, args.config)
        try:
            cfg = EngineConfig.from_params(params)
        except (TypeError, ValueError) as e:  # a value of the wrong type (lost_timeout: abc) or range
            raise UserError(f"--config {args.config}: {e}") from None
    overrides = {name: getattr(args, name) for name in ENGINE_FLAGS if getattr(args, name) is not None}
    if getattr(args, "aligned", False):
        overrides["aligned"] = True
    cfg = dataclasses.replace(cfg, **overrides)
    cfg.validate()
    check_device(cfg.device)
    return cfg


def one_line(error: BaseException) -> str:
    """An error's message on one line (some libraries put the detail on the next lines)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return "; ".join(lines) or type(error).__name__
