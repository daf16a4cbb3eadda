"""The streaming engine: frames in, per-face expressions and interval events out.

No ROS and no training code is imported here. The public API is the ``Engine`` class (and
``EngineGroup``, several cameras through one set of networks; ``Models`` and ``run_models``
for a caller that schedules the two stages itself, as the ROS node does), its
settings (``EngineConfig``, ``SpotterConfig``) and its results (``FrameResult``,
``FaceResult``, ``Features``, ``IntervalEvent``); a frame it cannot use is reported as
``BadFrame``.
"""

from .config import MODELS, EngineConfig
from .engine import STAGES, Engine, PreparedFrame, run_models
from .group import EngineGroup
from .images import BadFrame
from .models import Models
from .results import FaceResult, Features, FrameResult
from .spotter import IntervalEvent, SpotterConfig

__all__ = [
    "Engine",
    "EngineGroup",
    "PreparedFrame",
    "Models",
    "run_models",
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
