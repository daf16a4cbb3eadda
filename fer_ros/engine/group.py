"""Several streams (cameras) through one set of networks, batched.

``EngineGroup(cfg, streams=N)`` builds N engines that share one ``Models`` and one face-id
counter. ``process([(stream, frame, stamp), ...])`` runs each frame's front stage (faces,
crops, geometry; the streams in parallel threads, as MediaPipe releases the GIL), then ONE
CNN call and ONE recurrent step for every face of every stream, then each stream's
spotters. Each stream keeps its own tracker, face states and intervals, exactly as a lone
``Engine`` would: batching changes how the networks are called, not what they compute.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor

from .config import EngineConfig
from .engine import Engine, run_models
from .models import Models
from .results import FrameResult


class EngineGroup:
    def __init__(
        self, cfg: EngineConfig, streams: int, *, ids: Iterator[int] | None = None, keep_features: bool = False
    ):
        if streams < 1:
            raise ValueError(f"streams must be >= 1, got {streams}")
        self.models = Models(cfg)
        ids = ids if ids is not None else itertools.count(1)
        self.engines = [Engine(cfg, ids=ids, keep_features=keep_features, models=self.models) for _ in range(streams)]
        threads = min(cfg.front_threads, streams)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="fer-stream") if threads > 1 else None

    def process(self, frames: Sequence[tuple[int, object, float | None]]) -> list[FrameResult]:
        """One frame each for some of the streams: (stream index, image, stamp) -> results, same order.
        A stream appears at most once per call (its frames are processed in order)."""
        streams = [s for s, _, _ in frames]
        if len(set(streams)) != len(streams):
            raise ValueError("a stream may give one frame per call")

        def front(item):
            s, image, stamp = item
            return self.engines[s], self.engines[s].prepare(image, stamp)

        items = list(self._pool.map(front, frames)) if self._pool and len(frames) > 1 else [front(f) for f in frames]
        return run_models(self.models, items)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        for engine in self.engines:
            engine.close()

    def __enter__(self) -> EngineGroup:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
