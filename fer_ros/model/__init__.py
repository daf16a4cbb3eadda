"""Networks, weights I/O and export: the bottom layer, imported by every other one."""

from pathlib import Path

# Shipped weights and their model card (package data).
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"
