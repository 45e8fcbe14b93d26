"""A fixture body for tests that explain one small frame at a time (imported by name: the folder is on
``sys.path``)."""

from __future__ import annotations

from collections.abc import Iterator

import numba
from threadpoolctl import threadpool_limits


def one_thread() -> Iterator[None]:
    """One thread for OpenMP and numba: each call explains a frame of a few rows, and on a busy machine the
    thread pools' spin-waiting makes one explanation 30 times slower (0.6 s instead of 20 ms)."""
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        numba.set_num_threads(threads)
