from glob import glob

from setuptools import find_packages, setup

package_name = "fer_ros"

# Runtime ranges: what `pip install .` needs for the engine, the CLI and the bag runner.
# mediapipe is pinned: 0.10.21 is the last release that ships its face models inside the wheel
# (later ones download them at run time), and it pins numpy<2 and protobuf<5 itself.
INSTALL_REQUIRES = [
    "mediapipe==0.10.21",
    "numpy>=1.26,<2",
    "torch>=2.4",  # CPU or CUDA build, as your platform's index gives it
    # OpenCV comes with mediapipe (opencv-contrib-python); the Makefile's venv installs mediapipe
    # without its dependencies and opencv-python-headless instead (requirements.txt), a smaller set.
    "scipy>=1.11",
    "safetensors>=0.4",
    "PyYAML>=6",
    "tqdm>=4.60",
    "matplotlib>=3.7",
    "rosbags>=0.10,<0.12",
    # The appearance network's faster CPU runtime (engine/runtime.py; the engine falls back to
    # PyTorch without them). onnx < 1.18 keeps protobuf < 5, which mediapipe 0.10.21 needs.
    "onnx>=1.16,<1.18",
    "onnxruntime>=1.18",
]
EXTRAS_REQUIRE = {
    # training, evaluation and the licensed-dataset readers
    "learn": ["openpyxl>=3.1", "threadpoolctl>=3.1"],
    # the checks of `make test`
    "test": [
        "pytest>=8",
        "pytest-randomly>=3.15",
        "scikit-image>=0.22",
        "ruff>=0.6",
        "mypy>=1.10",
        "import-linter>=2.1",
    ],
}

setup(
    name=package_name,
    version="0.2.0",
    packages=find_packages(exclude=["test", "test.*", "fer_msgs", "fer_msgs.*"]),
    package_data={package_name: ["weights/*.safetensors", "weights/*.json", "weights/*.md", "data/*.csv", "data/*.md"]},
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + package_name]),
        ("share/" + package_name, ["package.xml"]),
        ("share/" + package_name + "/launch", glob("launch/*.py")),
        ("share/" + package_name + "/config", glob("config/*.yaml") + glob("config/*.xml")),
    ],
    python_requires=">=3.10",
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    zip_safe=False,
    maintainer="fer_ros developers",
    maintainer_email="fer-ros@example.com",
    description="Streaming facial expression recognition and spotting for social robots.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "fer-ros = fer_ros.cli:main",
            "fer_node = fer_ros.ros.main:main",
        ],
    },
)
