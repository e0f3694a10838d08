"""Small components for supervisor tests: real child processes that heartbeat, crash, or pass
numbered messages from a producer to a consumer over a real socket."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import ClassVar

import zmq

from custodywatch.pipeline.process import Component, heartbeat


@dataclass
class Ticker(Component):
    """Heartbeats ten times a second until stopped."""

    name: str
    kind: ClassVar[str] = "ticker"

    def run(self, stop: Event) -> None:
        while not stop.wait(0.1):
            heartbeat()


@dataclass
class Crasher(Component):
    """Fails right after its start, every time."""

    name: str
    kind: ClassVar[str] = "crasher"

    def run(self, stop: Event) -> None:
        raise SystemExit(3)


@dataclass
class Producer(Component):
    """Sends numbered messages until stopped, and for a while after (a last batch in flight);
    writes the last number it sent when it exits."""

    name: str
    endpoint: str
    out: str
    kind: ClassVar[str] = "producer"
    flush_s: float = 0.5

    def run(self, stop: Event) -> None:
        ctx = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        push.connect(self.endpoint)
        seq = 0
        flush_until: float | None = None
        while flush_until is None or time.monotonic() < flush_until:
            heartbeat()
            try:
                push.send_json(seq + 1, flags=zmq.NOBLOCK)  # no consumer left: nothing more is sent
                seq += 1
            except zmq.Again:
                pass
            time.sleep(0.01)
            if flush_until is None and stop.is_set():
                flush_until = time.monotonic() + self.flush_s
        push.close(linger=1000)
        ctx.term()
        Path(self.out).write_text(json.dumps(seq))


@dataclass
class Consumer(Component):
    """Receives the producer's numbers; writes the highest it received when it exits."""

    name: str
    endpoint: str
    out: str
    kind: ClassVar[str] = "consumer"
    stop_after: ClassVar[tuple[str, ...]] = ("producer",)

    def run(self, stop: Event) -> None:
        ctx = zmq.Context()
        pull = ctx.socket(zmq.PULL)
        pull.bind(self.endpoint)
        highest = 0
        while True:
            stopping = stop.is_set()
            heartbeat()
            if pull.poll(0 if stopping else 100):
                while True:
                    try:
                        highest = max(highest, int(str(pull.recv_json(flags=zmq.NOBLOCK))))
                    except zmq.Again:
                        break
            if stopping:
                break
        ctx.destroy(linger=0)
        Path(self.out).write_text(json.dumps(highest))
