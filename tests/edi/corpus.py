"""Where EDI test files come from.

* `FIXTURES` (`tests/edi/fixtures`): files written for Carnet's tests, each with its verdict beside it
  (`<file>.expected.json`, conventions in `fixtures/README.md`). Every test runs on them, always.
* `CORPUS`: the public conformance corpus (real files written by others, under their own licences,
  not part of this project), read only when `CARNET_EDI_CORPUS` names its folder (`.ci/run` sets it
  when such a folder is there). Its files then go through the same conformance tests as the fixtures. When
  the variable is set and the folder is not there, the run fails: a conformance suite asked for and
  silently skipped would pass for one that ran.
"""

import os
from pathlib import Path

import pytest

ENV = "CARNET_EDI_CORPUS"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CONFIGURED = bool(os.environ.get(ENV))
CORPUS: Path | None = Path(os.environ[ENV]) if CONFIGURED else None
if CORPUS is not None and not CORPUS.is_dir():
    raise pytest.UsageError(
        f"{ENV}={os.environ[ENV]!r} names no folder: the EDI conformance corpus is missing"
    )
needs_corpus = pytest.mark.skipif(
    not CONFIGURED, reason=f"the EDI conformance corpus is not configured ({ENV})"
)
SUFFIXES_NOT_DATA = (".json", ".md")


def data_files(root: Path | None) -> list[Path]:
    """The data files of a fixture or corpus folder (not their sidecars nor their notes)."""
    if root is None:
        return []
    return sorted(p for p in root.glob("*/*") if p.is_file() and p.suffix not in SUFFIXES_NOT_DATA)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
