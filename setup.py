"""Packaging for tensorboard-plugin-internals.

The tab's source lives in the top-level ``frontend/`` folder and ships inside
the wheel as ``tb_plugin/frontend`` (package data), so an installed wheel
serves the tab without the source checkout.
"""

import os

import setuptools

HERE = os.path.dirname(os.path.abspath(__file__))


def _frontend_files():
    """Every file under frontend/, relative to it (wheel package data)."""
    root = os.path.join(HERE, "frontend")
    found = []
    for folder, _, files in os.walk(root):
        for name in files:
            found.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(found)


def _version():
    about = {}
    with open(os.path.join(HERE, "tb_plugin", "version.py")) as f:
        exec(f.read(), about)
    return about["VERSION"]


setuptools.setup(
    name="tensorboard-plugin-internals",
    version=_version(),
    description="An Internals tab for TensorBoard: layer activations, weights "
    "and attention of Keras models over training.",
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.9",
    packages=setuptools.find_packages(include=["tb_plugin", "tb_plugin.*"]) + ["tb_plugin.frontend"],
    package_dir={"tb_plugin.frontend": "frontend"},
    package_data={"tb_plugin.frontend": _frontend_files()},
    install_requires=[
        "tensorboard>=2.16",
        "numpy",
        "protobuf",
        "werkzeug",
        "google-crc32c",
    ],
    extras_require={
        "tf": ["tensorflow>=2.16"],
        "demo": ["tensorflow>=2.16", "scikit-learn"],
        # Embedding projections beyond PCA, computed by TensorBoard's process.
        "tsne": ["scikit-learn"],
        "umap": ["umap-learn"],
        "test": [
            "tensorflow>=2.16",
            "scikit-learn",
            "pytest",
            "pytest-xdist",
            "hypothesis",
            "playwright",
            "build",
        ],
    },
    entry_points={
        "tensorboard_plugins": [
            "internals = tb_plugin.backend.plugin:InternalsLoader",
        ],
    },
    classifiers=[
        "Framework :: TensorFlow",
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
