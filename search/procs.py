"""Child processes that die with their parent.

A worker process forked by a build (``search.bulk``) or a server waits for
messages from its parent. When the parent is killed (``kill -9``, the OOM killer), no
message ever comes and the worker would wait forever, holding its share of the
index in memory (100-200 MB each on the news corpus). On Linux the kernel can send
a signal to a process when its parent dies (``PR_SET_PDEATHSIG``); a child calls
:func:`die_with_parent` first thing after the fork to ask for ``SIGKILL``.

The signal comes when the *thread* that forked the child ends, so fork workers from
a thread that lives as long as they should (the main thread, in practice).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent: int) -> bool:
    """Have the kernel kill this process when ``parent`` dies; whether it could.

    ``parent`` is the pid the parent had before the fork: if it died before the
    request was made (the signal would then never come), this process exits at once.
    Returns False, changing nothing, where ``prctl`` is not available (not Linux).
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:
        os._exit(1)
    return True
