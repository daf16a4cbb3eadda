"""`fer-ros video`: a video, a folder of frames, a camera or stills through the engine into files."""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path

from tqdm import tqdm

from fer_ros.engine import Engine, EngineConfig
from fer_ros.io.signals import Stopped, deferred
from fer_ros.io.sources import Prefetch, Source, open_input
from fer_ros.io.writers import ResultWriter
from fer_ros.model.errors import OutputError

from .common import add_engine_args, engine_config, frame_rate

log = logging.getLogger("fer_ros.video")


def run_video(
    spec: str | Source,
    out_dir: str | Path,
    cfg: EngineConfig | None = None,
    stills: bool = False,
    fps: float = 30.0,
    progress: bool = True,
    engine: Engine | None = None,
) -> dict[str, Path]:
    """Run the engine over ``spec`` (see sources.open_input; or a ``Source`` already open) and write
    the outputs to ``out_dir``.

    ``stills``: every image is an independent photo; face state is reset between images.
    However the run ends (the input's end, a stop signal, an output error), the stream is
    finished (open intervals end with "stream stopped") and every output is closed.
    """
    source = open_input(spec, fps, recursive=stills) if isinstance(spec, str) else spec
    with contextlib.ExitStack() as stack:
        if engine is None:
            engine = stack.enter_context(Engine(cfg))
        log.info("input %s; model %s on %s", source.description, engine.model_name, engine.device)
        writer = ResultWriter(out_dir, source.fps, stills=stills)
        # A video's frames get the engine's front stage in the reader thread, overlapping the
        # networks here: two cores for one stream. Stills reset the engine between images, so
        # they are processed whole, here.
        prepare = None if stills else (lambda f: engine.prepare(f.image, f.stamp))
        frames = stack.enter_context(Prefetch(source.frames, prepare=prepare))
        skipped, failed = 0, False
        try:
            bar = tqdm(frames, total=source.total, disable=not progress, unit="frame", desc="fer-ros")
            for item in bar:
                with deferred():  # a stop signal lands between two frames, never inside one
                    skipped += _one_frame(engine, writer, item, stills)
        except (Stopped, KeyboardInterrupt):
            raise  # a stop: the outputs are closed below as at the end of the input
        except BaseException:
            failed = True
            raise
        finally:
            with deferred():
                frames.close()  # no front stage runs while the stream is finished
                outputs = _close(writer, engine, failed)
    if skipped:
        log.warning("%d frame(s) skipped (see the warnings above and 'error' in frames.jsonl)", skipped)
    return outputs


def _one_frame(engine: Engine, writer: ResultWriter, item, stills: bool) -> bool:
    """Process (stills) or complete (video: ``(frame, prepared)``) and write one frame; True when
    it was skipped."""
    if stills:
        frame = item
        writer.events(engine.reset())
        result = engine.process(frame.image, 0.0)
    else:
        frame, prepared = item
        result = engine.complete(prepared)
    if frame.error:  # the reader knows better than the engine why there is no image
        result.error = frame.error
    writer.frame(result, frame.image, frame.name)
    return result.error is not None


def _close(writer: ResultWriter, engine: Engine, failed: bool) -> dict[str, Path]:
    """End the stream and close the outputs. After a failure (being raised), an output error here
    is only logged: the first error is the one to report."""
    try:
        return writer.close(engine.finish())
    except OutputError as e:
        if not failed:
            raise
        log.debug("while closing after an error: %s", e)
        return {}


def add_parser(sub) -> None:
    p = sub.add_parser(
        "video",
        help="run the engine on a video, a folder of frames, a camera or stills",
        description="Writes DIR/frames.jsonl, DIR/intervals.jsonl, DIR/annotated.mp4 "
        "(annotated/ for --stills) and DIR/timeline.png. Unreadable frames (a damaged packet, a corrupt "
        "image) are skipped: one frames.jsonl line with 'error' and a marked placeholder in the video. "
        "Exit status: 0 done, 2 a bad flag, input or output (one line), 130 Ctrl-C, 143 SIGTERM "
        "(both close every output first).",
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
    p.add_argument(
        "--fps",
        type=frame_rate,
        default=30.0,
        help="frame rate of a folder of frames: their stamps and the annotated video's rate (0.01 to 1000)",
    )
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
