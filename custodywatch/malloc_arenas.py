"""Two malloc arenas for every process of the service, unless the box's environment says otherwise.

glibc gives each thread that allocates its own arena, up to eight per core, and memory freed goes
back to the arena it came from, where other threads' arenas cannot use it. With two arenas the
service held less for the same work: in two 145-minute soaks side by side at flood rate, 8 cameras,
the recorder's threads' arenas held 7.5-9.4 MiB against 22.8-26.3 with glibc's default, its resident
memory was 8.5-8.8 MiB lower at minutes 48 and 96 and the reader's 12-13 MiB lower, with as many
alerts; the main process grew as fast with both (docs/reliability.md, Soak). `MALLOC_ARENA_MAX`
set before the service starts (the unit's `Environment=`, or /etc/default/custodywatch) is kept as
it is.

The limit has to be in place before threads allocate: `limit_for_service()` is called first thing
by `custodywatch run`. It applies to this process through `mallopt` and to the processes the
service starts through the environment they inherit, which glibc reads when they start.
"""
from __future__ import annotations

import ctypes
import logging
import os

from custodywatch.memory_report import libc_function

ENV = "MALLOC_ARENA_MAX"
SERVICE_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h

log = logging.getLogger("custodywatch.heap")


def _set_in_this_process(arenas: int) -> bool:
    mallopt = libc_function("mallopt", [ctypes.c_int, ctypes.c_int], ctypes.c_int)
    return mallopt is not None and bool(mallopt(_M_ARENA_MAX, arenas))


def limit_for_service() -> str | None:
    """Limit this process and the processes it starts to `SERVICE_ARENAS` arenas, unless the
    environment already sets a limit; the limit in force (the environment's value, as given), or None
    where the C library has no such setting."""
    given = os.environ.get(ENV)
    if given is not None:
        return given
    if not _set_in_this_process(SERVICE_ARENAS):
        return None
    os.environ[ENV] = str(SERVICE_ARENAS)
    log.debug("malloc arenas limited to %d", SERVICE_ARENAS)
    return os.environ[ENV]
