"""Where the files the code reads at run time live.

In the source tree the migrations, the templates and `alembic.ini` sit beside the `app` package; an
installed copy (a wheel, the Docker image) carries them inside it, under `app/_resources` (copied in
at build time by `setup.py`), so that `carnet db upgrade` works from anywhere.
"""

from pathlib import Path
from typing import Final

PACKAGE_ROOT: Final = Path(__file__).resolve().parent
_INSTALLED: Final = PACKAGE_ROOT / "_resources"
RESOURCES: Final = _INSTALLED if _INSTALLED.is_dir() else PACKAGE_ROOT.parent
MIGRATIONS_DIR: Final = RESOURCES / "migrations"
TEMPLATES_DIR: Final = RESOURCES / "templates"
ALEMBIC_INI: Final = RESOURCES / "alembic.ini"
