"""The worker's start-up heap, taken out of the garbage collector's sight.

What a worker builds before its first request (imported modules, the GraphQL schema, ORM
models, XSDs, trust material, clients) lives as long as the worker. Left where it is, every
full collection walks all of it to find cycles among what requests made, and the collector
runs often under load: it cost the in-process citizen query a third of its CPU and made the
slowest answers at concurrency 8 four times the median (``docs/benchmarks.md``). Frozen,
a collection walks only what was made since.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect start-up's garbage, then move every survivor to the permanent generation.

    Collected first so that no cycle already unreachable is kept for the worker's life.
    """
    gc.collect()
    gc.freeze()
