"""The installed package carries the files the code reads at run time: the migrations, the templates and
`alembic.ini` live at the root of the source tree and are copied into the built package as
`app/_resources` (app/paths.py finds them in either place). Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

RESOURCES = ("migrations", "templates", "alembic.ini")


class BuildWithResources(build_py):  # type: ignore[misc]
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads them from the source tree
            return
        target = Path(self.build_lib) / "app" / "_resources"
        for name in RESOURCES:
            source = Path(name)
            if source.is_dir():
                shutil.copytree(
                    source, target / name, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / name)


setup(cmdclass={"build_py": BuildWithResources})
