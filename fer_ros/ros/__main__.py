"""``python -m fer_ros.ros [--lifecycle] --ros-args ...``: the node (see main.py)."""

import sys

from .main import main

sys.exit(main())
