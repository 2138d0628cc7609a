"""Keeping bulk parsing fast."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parser builds many small acyclic objects.

    A 1,000-message interchange allocates ~150,000 tuples; each 700 allocations trigger a
    generation-0 collection that finds nothing to free, which costs a third of tokenizing time.
    Reference counting still frees everything; the collector resumes afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
