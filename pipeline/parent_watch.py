"""A child that outlives the service's main process must stop, not linger as an orphan.

When the main process is killed outright (SIGKILL, OOM killer) it cannot stop its children, and an
orphaned analytics or recorder would go on writing beside the next run's. Each child therefore
waits on its parent's sentinel (a pipe that closes when the parent exits, however it exits) and
then stops as if asked, cleanly (a recorder closes its segment), or exits after a grace period.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
from multiprocessing.synchronize import Event

log = logging.getLogger("custodywatch.process")

# How long a child may take to stop cleanly once its parent is gone (the supervisor gives 5 s).
GRACE_S = 10.0


def stop_with_parent(stop: Event, grace_s: float = GRACE_S) -> None:
    """In a child process: set `stop` when the parent exits; exit after `grace_s` if still running."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        log.error("the service's main process (pid %s) is gone: stopping", parent.pid)
        stop.set()
        threading.Event().wait(grace_s)
        log.error("still running %.0f s after the main process went: exiting", grace_s)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
