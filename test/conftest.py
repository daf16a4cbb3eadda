"""Shared fixtures: real sample clips decoded once, engine runs over them cached per session.

``run_clip`` runs a fresh Engine (real MediaPipe) over a sample clip once per (clip,
model, options) and hands every test the same ``Run``; ``run_frames`` does one uncached
pass over any frame list. ``engine_model`` parametrises a test over both models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from fer_ros.engine import Engine, EngineConfig, FrameResult, IntervalEvent
from fer_ros.io.media import media_path
from fer_ros.io.sources import open_input

ENGINE_MODELS = ["baseline", "recurrent"]


@dataclass
class Run:
    """One engine pass: per frame the result and the tracker's live ids after it."""

    config: EngineConfig
    stamps: list[float]
    results: list[FrameResult]
    live: list[set[int]]  # tracker ids alive after each frame
    final_events: list[IntervalEvent] = field(default_factory=list)  # from Engine.finish()

    def ids(self, k: int) -> list[int]:
        return [f.id for f in self.results[k].faces]

    def all_ids(self) -> set[int]:
        return {f.id for r in self.results for f in r.faces}

    def frames_with(self, fid: int) -> list[int]:
        return [k for k, r in enumerate(self.results) if any(f.id == fid for f in r.faces)]

    def events(self) -> list[tuple[int, IntervalEvent]]:
        """(frame index in this run, event) in emission order; finish() events at len(results)."""
        out = [(k, ev) for k, r in enumerate(self.results) for ev in r.events]
        return out + [(len(self.results), ev) for ev in self.final_events]


def run_engine(frames, stamps, config: EngineConfig, engine: Engine | None = None) -> Run:
    run = Run(config, list(stamps), [], [])
    with engine or Engine(config) as engine:
        for image, stamp in zip(frames, stamps):
            run.results.append(engine.process(image, stamp))
            run.live.append(engine.tracked_ids)
        run.final_events = engine.finish()
    return run


@pytest.fixture(scope="session")
def clip_frames():
    """name -> (frames as BGR arrays, stamps in seconds), read through fer_ros.io.sources once."""
    cache = {}

    def get(name: str) -> tuple[list[np.ndarray], list[float]]:
        if name not in cache:
            items = list(open_input(str(media_path(name))).frames)
            cache[name] = ([f.image for f in items], [f.stamp for f in items])
        return cache[name]

    return get


@pytest.fixture(scope="session")
def run_clip(clip_frames):
    """run_clip(name, model="baseline", **EngineConfig options) -> Run, computed once per key."""
    cache = {}

    def get(name: str, model: str = "baseline", **options) -> Run:
        key = (name, model, tuple(sorted(options.items())))
        if key not in cache:
            frames, stamps = clip_frames(name)
            cache[key] = run_engine(frames, stamps, EngineConfig(model=model, **options))
        return cache[key]

    return get


@pytest.fixture(scope="session")
def run_frames():
    """run_frames(frames, stamps, EngineConfig) -> Run over any frame list (not cached)."""
    return run_engine


@pytest.fixture(params=ENGINE_MODELS)
def engine_model(request) -> str:
    """Both models, "baseline" and "recurrent"."""
    return request.param
