"""The streaming engine: frames in, per-face expressions and interval events out.

No ROS and no training code is imported here. The public API is the ``Engine`` class, its
settings (``EngineConfig``, ``SpotterConfig``) and its results (``FrameResult``,
``FaceResult``, ``IntervalEvent``); a frame it cannot use raises or reports ``BadFrame``.
"""

from .config import MODELS, EngineConfig
from .engine import STAGES, Engine, FaceResult, FrameResult
from .images import BadFrame
from .spotter import IntervalEvent, SpotterConfig

__all__ = ["Engine", "EngineConfig", "SpotterConfig", "FrameResult", "FaceResult", "IntervalEvent", "BadFrame",
           "MODELS", "STAGES"]
