"""Datasets, generation, training, evaluation and metrics (never imported by the engine)."""

from pathlib import Path

# Shipped data: by-eye labels of the sample clips, the reference face of the augmentations.
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
