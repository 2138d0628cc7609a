"""The EDI conformance corpus: real files written by others (`../shared/corpus`, under their own
licences), not part of this project. Tests read it only when `CARNET_EDI_CORPUS` names its folder
(`.ci/run` sets it when the folder is there); otherwise a test that reads a corpus file is skipped,
and tests that take the corpus as extra samples run on the project's own samples alone.
"""

import os
from pathlib import Path
from typing import NoReturn, cast

import pytest

ENV = "CARNET_EDI_CORPUS"
REASON = f"the EDI conformance corpus is not configured ({ENV})"


class _NoCorpus:
    """Where the corpus would be: it holds no file, and reading one skips the test."""

    def __truediv__(self, _name: str) -> "_NoCorpus":
        return self

    def glob(self, _pattern: str) -> list[Path]:
        return []

    def is_dir(self) -> bool:
        return False

    def read_bytes(self) -> NoReturn:
        pytest.skip(REASON)

    def read_text(self, *_args: object, **_kwargs: object) -> NoReturn:
        pytest.skip(REASON)


CONFIGURED = bool(os.environ.get(ENV))
CORPUS: Path = Path(os.environ[ENV]) if CONFIGURED else cast(Path, _NoCorpus())
needs_corpus = pytest.mark.skipif(not CONFIGURED, reason=REASON)
