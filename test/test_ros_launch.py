"""launch/fer.launch.py: compiles and imports anywhere; builds its description where launch_ros exists."""

import importlib.util
import py_compile
from pathlib import Path

import pytest

LAUNCH = Path(__file__).resolve().parent.parent / "launch" / "fer.launch.py"


def _load():
    spec = importlib.util.spec_from_file_location("fer_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_launch_file_compiles_and_imports_without_launch():
    py_compile.compile(str(LAUNCH), doraise=True)
    module = _load()  # launch / launch_ros are imported lazily, inside the functions
    assert callable(module.generate_launch_description)


def test_launch_description_declares_its_arguments():
    pytest.importorskip("launch_ros", reason="launch_ros is not installable from PyPI here; a ROS install has it")
    from launch.actions import DeclareLaunchArgument

    desc = _load().generate_launch_description()
    names = {a.name for a in desc.entities if isinstance(a, DeclareLaunchArgument)}
    assert {"image_topic", "device", "model", "config", "use_sim_time"} <= names
