"""The service's processes keep their heap in two malloc arenas (memory one thread frees is there for
the next), unless the box's environment sets its own limit. Counted in real processes with glibc's
own report of its heaps."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from custodywatch import heap_release, malloc_arenas

pytestmark = pytest.mark.skipif(not heap_release.available(), reason="needs glibc's malloc")

# Eight threads that each allocate and stay alive, then glibc's count of its heaps (one per arena).
COUNT_ARENAS = textwrap.dedent("""
    import ctypes, ctypes.util, os, re, sys, tempfile, threading
    if sys.argv[1] == "limit":
        from custodywatch.malloc_arenas import limit_for_service
        print("limit", limit_for_service())
    done, ready = threading.Event(), threading.Semaphore(0)
    def work():
        kept = [bytearray(2000) for _ in range(50)]
        ready.release()
        done.wait()
    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for _ in threads:
        ready.acquire()
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    path = tempfile.mktemp()
    fp = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, fp)
    libc.fclose(fp)
    print("arenas", len(re.findall(r'<heap nr="', open(path).read())))
    os.unlink(path)
    done.set()
    if sys.argv[1] == "limit":  # a process the service starts, with the environment it inherits
        child = __import__("subprocess").run([sys.executable, "-c", sys.argv[2], "plain", sys.argv[2]],
                                             capture_output=True, text=True, check=True)
        print("child", child.stdout.split()[-1])
""")


def count(mode: str, **env: str) -> dict[str, str]:
    environ = {k: v for k, v in os.environ.items() if k != malloc_arenas.ENV} | env
    out = subprocess.run([sys.executable, "-c", COUNT_ARENAS, mode, COUNT_ARENAS], env=environ,
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return {line.split()[0]: line.split()[1] for line in out.splitlines()}


def test_without_the_limit_each_thread_takes_its_own_arena() -> None:
    assert int(count("plain")["arenas"]) >= 5  # the main thread's and one per new thread, up to 8 a core


def test_the_service_and_the_processes_it_starts_keep_to_two_arenas() -> None:
    seen = count("limit")
    assert seen["limit"] == "2"
    assert int(seen["arenas"]) <= 2
    assert int(seen["child"]) <= 2


def test_a_limit_the_box_sets_is_kept() -> None:
    seen = count("limit", MALLOC_ARENA_MAX="4")
    assert seen["limit"] == "4"
    assert 2 < int(seen["arenas"]) <= 4
    assert 2 < int(seen["child"]) <= 4
