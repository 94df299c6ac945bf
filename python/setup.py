"""pip install ./python: the siren module (pure Python: ctypes + numpy).

setup.py only, on purpose: without a pyproject.toml, pip builds with the
setuptools and wheel already installed (Debian's python3-setuptools and
python3-wheel) instead of fetching them into an isolated build environment,
so the install works offline. The module loads libsiren.so at import time
(`make shared` or `make install`; see siren/_lib.py for where it looks);
a libsiren.so* copied into siren/ before installing is installed with it.
"""
import os
import re

from setuptools import setup

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "siren", "__init__.py")) as f:
    version = re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)

setup(
    name="siren",
    version=version,
    description="SIREN neural fields fitted on the CPU: Python binding of "
                "libsiren (ctypes + numpy)",
    packages=["siren"],
    package_data={"siren": ["libsiren.so*"]},
    python_requires=">=3.7",
    install_requires=["numpy"],
    zip_safe=False,
)
