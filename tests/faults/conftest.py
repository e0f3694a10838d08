"""Fault tests reuse the helpers that run the whole service as a process tree (tests/e2e)."""
from __future__ import annotations

import sys
from pathlib import Path

E2E = str(Path(__file__).resolve().parent.parent / "e2e")
if E2E not in sys.path:
    sys.path.insert(0, E2E)
