"""ROS-free runner: a frame source through the engine into the result files."""

from __future__ import annotations

import logging
from pathlib import Path

from tqdm import tqdm

from .engine import Engine, EngineConfig
from .outputs import ResultWriter
from .sources import open_input

log = logging.getLogger("fer_ros.runner")


def run_video(spec: str, out_dir: str | Path, cfg: EngineConfig | None = None, stills: bool = False,
              fps: float = 30.0, progress: bool = True, engine: Engine | None = None) -> dict[str, Path]:
    """Run the engine over ``spec`` (see sources.open_input) and write the outputs to ``out_dir``.

    ``stills``: every image is an independent photo; face state is reset between images.
    """
    source = open_input(spec, fps)
    own_engine = engine is None
    engine = engine or Engine(cfg)
    log.info("input %s; model %s on %s", source.description, engine.model_name, engine.device)
    writer = ResultWriter(out_dir, source.fps, stills=stills)
    skipped = 0
    try:
        for frame in tqdm(source.frames, total=source.total, disable=not progress, unit="frame",
                          desc="fer-ros"):
            if stills:
                writer.events(engine.reset())
            result = engine.process(frame.image, 0.0 if stills else frame.stamp)
            if frame.error:  # the reader knows better than the engine why there is no image
                result.error = frame.error
            skipped += result.error is not None
            writer.frame(result, frame.image if result.error is None else None, frame.name)
    finally:
        outputs = writer.close(engine.close())
        if own_engine:
            engine.release()
    if skipped:
        log.warning("%d frame(s) skipped (see the warnings above and 'error' in frames.jsonl)", skipped)
    return outputs
