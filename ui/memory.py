"""The server process's memory, as the page sees it: what lives for the whole process is
kept out of the cyclic garbage collector's sight.

After the first page a server holds every module, the boundary shapes and the
store's facts: some hundreds of thousands of objects that never become garbage. Each
full collection walked them all (~50 ms on an 8M-row store), landing on whichever
click happened to allocate at that moment. `gc.freeze` moves them to a generation the
collector skips; objects made later are collected as before.
"""

from __future__ import annotations

import functools
import gc


@functools.cache
def freeze_after_first_page() -> None:
    """Once per process, after its first page is drawn (and its shapes read)."""
    gc.collect()  # what is already garbage is freed, not frozen with the rest
    gc.freeze()
