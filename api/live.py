"""The live view of a room: the camera's sub-stream as MJPEG, which an <img> shows by itself.

Each viewer opens its own connection to the camera (the API process has no frames of its own:
the readers hand theirs to the detector), decodes it and sends at most `fps` JPEGs a second,
dropping the rest, so a slow viewer sees the room now rather than a growing delay.
"""
from __future__ import annotations

import time
from collections.abc import Generator

import av
import av.error
import cv2

BOUNDARY = "frame"
JPEG_QUALITY = 75
OPEN_TIMEOUT_S = 10.0


class LiveViewError(Exception):
    """The camera cannot be opened (the message never carries the URL: it may hold credentials)."""


def mjpeg_parts(url: str, fps: float = 5.0) -> Generator[bytes, None, None]:
    """multipart/x-mixed-replace parts, each one JPEG of the stream; ends when the stream does."""
    options = {"rtsp_transport": "tcp"} if url.startswith("rtsp") else {}
    try:
        container = av.open(url, options=options, timeout=OPEN_TIMEOUT_S)
    except (av.error.FFmpegError, OSError) as exc:
        raise LiveViewError(f"cannot open the camera: {type(exc).__name__}") from None
    with container:
        stream = container.streams.video[0]
        started, first, last_sent = time.monotonic(), None, -1.0
        try:
            for frame in container.decode(stream):
                at = frame.time if frame.time is not None else time.monotonic() - started
                first = at if first is None else first
                ahead = (at - first) - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(min(ahead, 1.0))  # a file plays at its own pace, as a camera would
                if at - last_sent < 1.0 / fps:
                    continue
                last_sent = at
                ok, jpeg = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"),
                                        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                if ok:
                    data = jpeg.tobytes()
                    yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                           .encode() + data + b"\r\n")
        except av.error.FFmpegError:
            return  # the camera dropped: the viewer's <img> stops on the last picture
