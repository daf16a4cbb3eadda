"""`fer-ros video`: a video, a folder of frames, a camera or stills through the engine into files."""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path

from tqdm import tqdm

from fer_ros.engine import Engine, EngineConfig
from fer_ros.io.sources import open_input
from fer_ros.io.writers import ResultWriter

from .common import add_engine_args, engine_config

log = logging.getLogger("fer_ros.video")


def run_video(
    spec: str,
    out_dir: str | Path,
    cfg: EngineConfig | None = None,
    stills: bool = False,
    fps: float = 30.0,
    progress: bool = True,
    engine: Engine | None = None,
) -> dict[str, Path]:
    """Run the engine over ``spec`` (see sources.open_input) and write the outputs to ``out_dir``.

    ``stills``: every image is an independent photo; face state is reset between images.
    """
    source = open_input(spec, fps, recursive=stills)
    with contextlib.ExitStack() as stack:
        if engine is None:
            engine = stack.enter_context(Engine(cfg))
        log.info("input %s; model %s on %s", source.description, engine.model_name, engine.device)
        writer = ResultWriter(out_dir, source.fps, stills=stills)
        skipped = 0
        try:
            for frame in tqdm(source.frames, total=source.total, disable=not progress, unit="frame", desc="fer-ros"):
                if stills:
                    writer.events(engine.reset())
                result = engine.process(frame.image, 0.0 if stills else frame.stamp)
                if frame.error:  # the reader knows better than the engine why there is no image
                    result.error = frame.error
                skipped += result.error is not None
                writer.frame(result, frame.image if result.error is None else None, frame.name)
        finally:
            outputs = writer.close(engine.finish())
    if skipped:
        log.warning("%d frame(s) skipped (see the warnings above and 'error' in frames.jsonl)", skipped)
    return outputs


def add_parser(sub) -> None:
    p = sub.add_parser(
        "video",
        help="run the engine on a video, a folder of frames, a camera or stills",
        description="Writes DIR/frames.jsonl, DIR/intervals.jsonl, DIR/annotated.mp4 "
        "(annotated/ for --stills) and DIR/timeline.png.",
    )
    p.add_argument(
        "input",
        help="'default' (the sample clip), a video file, a folder of frames "
        "(a sequence in name order), an image, or a camera index",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument(
        "--stills",
        action="store_true",
        help="each image is an independent photo (state reset); a folder is read with its subfolders",
    )
    p.add_argument("--aligned", action="store_true", help="inputs are already face crops: skip detection")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of a folder of frames (stamps)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    add_engine_args(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    outputs = run_video(
        args.input, args.out, engine_config(args), stills=args.stills, fps=args.fps, progress=not args.quiet
    )
    print(f"outputs in {args.out}:")
    for name, path in outputs.items():
        print(f"  {name:10s} {path}")
    return 0
