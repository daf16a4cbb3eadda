"""The codebase's shape: layers point one way, no import cycles, small modules, a small engine API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import fer_ros.engine

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 520  # "about 500": a module past this is two concepts


def test_import_contracts_hold():
    """setup.cfg's import-linter contracts: cli -> ros | learn -> io -> engine -> model, the engine free
    of ROS and training imports, and no import cycle inside any package."""
    lint = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(lint), "--config", str(ROOT / "setup.cfg")], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "3 kept, 0 broken" in proc.stdout


def test_modules_stay_small():
    big = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "fer_ros").rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert not big, f"modules over {MAX_LINES} lines: {big}"


def test_engine_public_api_is_small_and_importable():
    assert set(fer_ros.engine.__all__) == {
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
    }
    for name in fer_ros.engine.__all__:
        assert getattr(fer_ros.engine, name) is not None
    assert fer_ros.engine.Engine.__doc__ and fer_ros.engine.Engine.process.__doc__
    assert fer_ros.engine.Engine.prepare.__doc__ and fer_ros.engine.Engine.complete.__doc__
