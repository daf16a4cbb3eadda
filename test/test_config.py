"""Engine parameters from the shipped YAML: parsed, validated, typos refused."""

from pathlib import Path

import pytest

from fer_ros.cli import build_parser
from fer_ros.cli.common import engine_config, load_params
from fer_ros.engine.engine import EngineConfig

CONFIG = Path(__file__).resolve().parent.parent / "config" / "fer.yaml"


def test_shipped_yaml_gives_the_engine_defaults():
    cfg = EngineConfig.from_params(load_params(CONFIG))
    assert cfg == EngineConfig()


def test_nested_and_dotted_spotter_names_both_work():
    a = EngineConfig.from_params({"spotter": {"on_threshold": 0.6}})
    b = EngineConfig.from_params({"spotter.on_threshold": 0.6})
    assert a.spotter.on_threshold == b.spotter.on_threshold == 0.6


@pytest.mark.parametrize(
    "params, name",
    [
        ({"modle": "baseline"}, "modle"),
        ({"spotter.on_treshold": 0.5}, "spotter.on_treshold"),
        ({"model": "lstm"}, "model"),
        ({"detect_every": 0}, "detect_every"),
        ({"lost_timeout": -1.0}, "lost_timeout"),
        ({"spotter.off_threshold": 0.9}, "off_threshold"),
    ],
)
def test_bad_values_are_refused_naming_them(params, name):
    with pytest.raises(ValueError, match=name):
        EngineConfig.from_params(params)


def test_command_line_flags_override_the_file_only_when_given():
    args = build_parser().parse_args(["video", "x", "--out", "y", "--config", str(CONFIG), "--model", "baseline"])
    cfg = engine_config(args)
    assert cfg.model == "baseline" and cfg.detect_every == EngineConfig().detect_every
