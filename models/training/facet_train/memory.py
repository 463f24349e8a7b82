"""How the training process gets its memory from glibc.

Two settings, measured on the 2-core VMs this project trains on:

- Huge pages for malloc's memory (`glibc.malloc.hugetlb=1`: transparent huge pages are
  `madvise` here, so without it every tensor sits on 4 KiB pages). Fine-tuning MobileNetV2 at
  224 px slowed to a third (14 vs 45 photos/s) once the heap had been through a warm-up and a
  validation pass: the CPU's TLB could no longer cover the scattered 4 KiB pages.
- Freed memory kept in the process (high mmap and trim thresholds): a step that frees and
  re-allocates the same few hundred MB otherwise takes every page fault again (MobileNetV2
  forward: 14 → 150 photos/s).

glibc reads these tunables only when a process starts, so a command re-executes itself once
with them set (`python -m facet_train.train …` and the same under `facet model train`). The cost
is a resident size that stays at its peak.
"""

from __future__ import annotations

import os
import sys

TUNABLES = ("glibc.malloc.hugetlb=1", "glibc.malloc.mmap_threshold=1073741824", "glibc.malloc.trim_threshold=2147483647")


def reexec_with_malloc_tunables() -> None:
    """Replace this process with itself under TUNABLES, unless they are set already (or can't be: no glibc, no sys.orig_argv)."""
    current = os.environ.get("GLIBC_TUNABLES", "")
    if "glibc.malloc.hugetlb" in current or not sys.platform.startswith("linux") or not getattr(sys, "orig_argv", None):
        return
    env = dict(os.environ, GLIBC_TUNABLES=":".join(filter(None, [current, *TUNABLES])))
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
