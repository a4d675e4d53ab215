"""Building a large world allocates millions of small objects; with the cyclic garbage collector
running, each full collection walks everything built so far and startup grows quadratically.
The builders pause it (nothing they build is cyclic garbage)."""

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
