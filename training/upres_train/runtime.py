"""Process set-up shared by the command-line scripts."""
from __future__ import annotations

import os
import sys

# glibc hands every freed block above its mmap threshold (at most 32 MB by default) back to the
# kernel, so each new image-sized tensor is page-faulted and zeroed again: evaluate.py on whole
# photos spent 2/3 of its CPU time in the kernel (86 s -> 30 s with these). glibc reads them
# only at start-up, hence the re-exec.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": str(16 << 30), "MALLOC_TRIM_THRESHOLD_": str(16 << 30)}


def reexec_with_malloc_env() -> None:
    """Re-run the current script with MALLOC_ENV set (once; no-op when already set)."""
    if all(k in os.environ for k in MALLOC_ENV) or not sys.platform.startswith("linux"):
        return
    os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_ENV})
