"""The streaming engine: frames in, per-face expressions and interval events out.

No ROS and no training code is imported here. The public API is the ``Engine`` class (and
``EngineGroup``, several cameras through one set of networks), its
settings (``EngineConfig``, ``SpotterConfig``) and its results (``FrameResult``,
``FaceResult``, ``Features``, ``IntervalEvent``); a frame it cannot use is reported as
``BadFrame``.
"""

from .config import MODELS, EngineConfig
from .engine import STAGES, Engine, PreparedFrame
from .group import EngineGroup
from .images import BadFrame
from .results import FaceResult, Features, FrameResult
from .spotter import IntervalEvent, SpotterConfig

__all__ = [
    "Engine",
    "EngineGroup",
    "PreparedFrame",
    "EngineConfig",
    "SpotterConfig",
    "FrameResult",
    "FaceResult",
    "Features",
    "IntervalEvent",
    "BadFrame",
    "MODELS",
    "STAGES",
]
