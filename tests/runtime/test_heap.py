"""`freeze_start_up`: once per process, in a fresh interpreter (freezing is process-wide)."""

from __future__ import annotations

import subprocess
import sys

_SCRIPT = """
import gc
import weakref
from ml_connector.runtime.heap import freeze_start_up

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)

start_up_garbage = cycle()  # collected, not frozen
assert gc.get_freeze_count() == 0
assert freeze_start_up() is True
frozen = gc.get_freeze_count()
assert frozen > 0
assert start_up_garbage() is None  # freed before freezing
assert freeze_start_up() is False  # only once: later calls would keep the work's garbage for good
assert gc.get_freeze_count() == frozen
work_garbage = cycle()
gc.collect()
assert work_garbage() is None  # the work's garbage is still collected
print("ok")
"""


def test_start_up_objects_are_frozen_once_and_later_garbage_still_collected():
    result = subprocess.run([sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
