"""Freezing a worker's start-up heap: what exists then leaves the collector's passes, what
comes later is collected as before."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from runtime.heap import freeze_startup_heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """No automatic pass meanwhile (only the function's own), nothing frozen before or after."""
    gc.unfreeze()
    gc.disable()
    yield
    gc.enable()
    gc.unfreeze()  # the rest of the suite runs with the collector as it was


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def _tracked(obj: object) -> bool:
    return any(o is obj for o in gc.get_objects())


@pytest.mark.usefixtures("unfrozen")
def test_what_start_up_built_is_frozen_and_its_garbage_collected_first() -> None:
    kept = _Cycle()
    garbage = _Cycle()
    del garbage
    assert sum(type(o) is _Cycle for o in gc.get_objects()) == 2  # the cycle lingers
    before = gc.get_freeze_count()
    frozen = freeze_startup_heap()
    # Frozen objects still die by reference counting (a frame's temporaries, another thread's
    # garbage), so the count can only fall after the call returns.
    assert before < gc.get_freeze_count() <= frozen
    assert not _tracked(kept)  # in the permanent generation: no pass walks it
    later = _Cycle()
    assert _tracked(later)  # made after start-up: collected as usual
    gc.unfreeze()
    assert [o for o in gc.get_objects() if type(o) is _Cycle] in ([kept, later], [later, kept])
