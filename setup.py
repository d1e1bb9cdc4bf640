"""Package discovery: `kerasrnn` and its applications, whose sources live in
the repository's top-level `pipelines/` folder but install as
`kerasrnn.pipelines` (the only top-level import name is `kerasrnn`).
Metadata and requirements are in setup.cfg."""

from setuptools import find_packages
from setuptools import setup

setup(
    packages=find_packages(include=["kerasrnn", "kerasrnn.*"])
    + ["kerasrnn.pipelines"]
    + [f"kerasrnn.pipelines.{name}" for name in find_packages("pipelines")],
    package_dir={"kerasrnn.pipelines": "pipelines"},
)
