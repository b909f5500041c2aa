"""Packs the top-level asset folders into the wheel as toolchain/_assets/ (toolchain/assets.py reads them).

pyproject.toml holds the project's metadata; setuptools has no declarative way to put files from outside
the package folder into it, so this hook copies hls_templates/, rtl_templates/ and board/ at build time.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ASSETS = ("hls_templates", "rtl_templates", "board")


class BuildWithAssets(build_py):
    def run(self):
        super().run()
        if self.editable_mode:
            return  # an editable install reads the source tree's folders
        for name in ASSETS:
            target = Path(self.build_lib) / "toolchain" / "_assets" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(name, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints"))


setup(cmdclass={"build_py": BuildWithAssets})
