"""A worker process's long-lived heap, kept out of the garbage collector's full passes.

Why: by the time a worker polls, it holds a few hundred thousand objects that live as long as
the process (torch and transformers modules, the loaded models, pydantic's validators, the
Temporal SDK and the workflow modules), and each of CPython's full (generation 2) collections
walks all of them with the GIL held, stopping every interaction and turn in flight
(``bench/throughput`` prints the full collections before and after the freeze: six of up to
about 300 ms while its stack starts and warms up).
``gc.freeze`` moves what start-up built into the permanent generation, so a full collection
walks only what was made since; the objects stay alive (and reference counting still frees
them), nothing changes but the walk.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> int:
    """Collect start-up's garbage, then freeze what survives; returns how many objects are
    frozen. Call once a process has built what it keeps (models, clients, workers)."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
