"""The `fer-ros` command line (``fer_ros.cli:main``); ``python -m fer_ros.cli`` runs it too."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
