"""Packaging for nnabla-nas."""

import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "nnabla_nas", "__init__.py")) as f:
    VERSION = re.search(r'__version__ = "([^"]+)"', f.read()).group(1)
with open(os.path.join(HERE, "README.md")) as f:
    LONG_DESCRIPTION = f.read()

setup(
    name="nnabla-nas",
    version=VERSION,
    description="Neural architecture search (DARTS, ProxylessNAS) native to NNabla",
    long_description=LONG_DESCRIPTION,
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["nnabla_nas", "nnabla_nas.*"]),
    package_data={"nnabla_nas.utils.cli": ["nnabla.conf"]},
    # nnabla publishes wheels for CPython 3.8 to 3.10 only.
    python_requires=">=3.8,<3.11",
    install_requires=[
        "nnabla>=1.33,<2",
        "numpy>=1.20,<2",          # nnabla 1.x is built against numpy 1.x
        "tqdm>=4.50",              # progress bars
        "pyyaml>=5.4",             # YAML configs (safe_load only)
        "h5py>=3.0",               # .h5 parameter files (nnabla's format)
        "scikit-learn>=1.0",       # the bundled `digits` dataset
        "matplotlib>=3.3",
        "Pillow>=8",               # JPEG/PNG decoding of the imagenet folder loader         # cell and learning-curve pictures, no system packages
        "tensorboardX>=2.5,<3",    # works with nnabla's protobuf~=3.20 pin (tensorboard does not)
    ],
    extras_require={
        "cuda": ["nnabla-ext-cuda120"],
        "dev": ["pytest>=7", "hypothesis>=6", "sphinx>=5", "wheel"],
        # ONNX export and ONNX Runtime latency (nnabla_nas.export). Both resolve with
        # nnabla's protobuf~=3.20 pin. nnabla-converter itself is installed with
        # `pip install --no-deps nnabla-converter==1.39.0`: it declares TensorFlow (2 GB)
        # as a dependency, which ONNX export does not use (see docs/deploy.rst).
        "export": ["onnx>=1.13,<1.18", "onnxruntime>=1.16,<1.24"],
    },
    entry_points={"console_scripts": ["nnabla-nas=nnabla_nas.cli:run"]},
    classifiers=[
        "Programming Language :: Python :: 3.8",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
    ],
)
