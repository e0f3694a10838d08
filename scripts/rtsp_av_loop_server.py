#!/usr/bin/env python3
"""Loop video files *with their audio* forever as live RTSP cameras, without re-encoding.

The project's own variant of ../shared/tools/rtsp_loop_server.py (same command line, same
behaviour for video-only files) that also serves an audio track, as interrogation-room cameras
do: AAC (RTP MPEG4-GENERIC) or G.711 A-law/µ-law (PCMA/PCMU), and H.264 or H.265 video.
custodywatch.rtsp_server.RtspLoopServer runs it when given `tool=` this file; it needs the same
interpreter (Debian's `gi` + PyAV: .venv-rtsp from scripts/setup.sh).

usage: rtsp_av_loop_server.py --port 8554 cam1=a.mp4 cam2=b.mov
"""
import argparse
import sys
import threading
import time

import av
import gi
from av.bitstream import BitStreamFilterContext

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)

VIDEO = {  # codec -> (annexb filter, caps media type, payloader)
    "h264": ("h264_mp4toannexb", "video/x-h264", "rtph264pay"),
    "hevc": ("hevc_mp4toannexb", "video/x-h265", "rtph265pay"),
}


def audio_caps(stream):
    cc = stream.codec_context
    name, rate, channels = cc.name, cc.sample_rate, cc.channels
    if name == "aac":
        return (f"audio/mpeg,mpegversion=4,stream-format=raw,rate={rate},channels={channels},"
                f"codec_data=(buffer){(cc.extradata or b'').hex()}"), "rtpmp4gpay"
    if name == "pcm_alaw":
        return f"audio/x-alaw,rate={rate},channels={channels}", "rtppcmapay"
    if name == "pcm_mulaw":
        return f"audio/x-mulaw,rate={rate},channels={channels}", "rtppcmupay"
    raise SystemExit(f"{stream.container.name}: audio codec {name} is not served (aac, pcm_alaw, pcm_mulaw)")


class LoopFeeder(threading.Thread):
    """Reads the file in its own order, paces packets in real time and loops at the end."""

    def __init__(self, path, sources, name):
        super().__init__(daemon=True, name=f"feed-{name}")
        self.path, self.sources, self.name = path, sources, name  # sources: stream index -> appsrc
        self.stop_evt = threading.Event()
        self.started = threading.Event()
        sources[0].connect("need-data", lambda *a: self.started.set())

    def run(self):
        if not self.started.wait(10):
            print(f"[{self.name}] pipeline never asked for data", file=sys.stderr)
            return
        t_start = time.monotonic()
        offset = 0.0
        while not self.stop_evt.is_set():
            with av.open(self.path) as c:
                video = c.streams.video[0]
                bsf = BitStreamFilterContext(VIDEO[video.codec_context.name][0], video)
                wanted = [video] + ([c.streams.audio[0]] if len(self.sources) > 1 else [])
                first = {}
                end = 0.0
                for raw in c.demux(wanted):
                    packets = bsf.filter(raw) if raw.stream is video and raw.size else [raw]
                    for pkt in packets:
                        if self.stop_evt.is_set():
                            break
                        if pkt.size == 0 or pkt.dts is None:
                            continue
                        tb = float(pkt.time_base)
                        first.setdefault(pkt.stream_index, pkt.dts)
                        t = (pkt.dts - first[pkt.stream_index]) * tb
                        delay = t_start + offset + t - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                        buf = Gst.Buffer.new_wrapped(bytes(pkt))
                        if pkt.stream_index == video.index and not pkt.is_keyframe:
                            buf.set_flags(Gst.BufferFlags.DELTA_UNIT)
                        src = self.sources[0 if pkt.stream_index == video.index else 1]
                        if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                            self.stop_evt.set()
                            break
                        end = max(end, t + float((pkt.duration or 0) * tb))
                offset += end


class LoopFactory(GstRtspServer.RTSPMediaFactory):
    def __init__(self, name, path):
        super().__init__()
        self.name, self.path = name, path
        with av.open(path) as c:
            v = c.streams.video[0]
            if v.codec_context.name not in VIDEO:
                raise SystemExit(f"{path}: video must be H.264 or H.265 (got {v.codec_context.name})")
            _, media, vpay = VIDEO[v.codec_context.name]
            fps = v.average_rate or 25
            vcaps = (f"{media},stream-format=byte-stream,alignment=au,width={v.width},height={v.height},"
                     f"framerate={fps.numerator}/{fps.denominator}")
            self.has_audio = bool(c.streams.audio)
            launch = ("( appsrc name=vsrc is-live=true format=time do-timestamp=true max-bytes=0 "
                      f'caps="{vcaps}" '
                      f"! {vpay} name=pay0 pt=96 ")
            if self.has_audio:
                acaps, apay = audio_caps(c.streams.audio[0])
                launch += (f'appsrc name=asrc is-live=true format=time do-timestamp=true max-bytes=0 '
                           f'caps="{acaps}" ! {apay} name=pay1 pt=97 ')
        self.set_launch(launch + ")")
        self.set_shared(True)
        self.connect("media-configure", self.on_media_configure)

    def on_media_configure(self, factory, media):
        element = media.get_element()
        sources = [element.get_child_by_name("vsrc")]
        if self.has_audio:
            sources.append(element.get_child_by_name("asrc"))
        feeder = LoopFeeder(self.path, sources, self.name)
        media.connect("unprepared", lambda m: feeder.stop_evt.set())
        feeder.start()
        print(f"[{self.name}] media configured, feeding {self.path}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", default="8554")
    ap.add_argument("--address", default="127.0.0.1")
    ap.add_argument("streams", nargs="+", help="mount=file")
    a = ap.parse_args()
    server = GstRtspServer.RTSPServer()
    server.set_address(a.address)
    server.set_service(a.port)
    mounts = server.get_mount_points()
    for spec in a.streams:
        name, path = spec.split("=", 1)
        mounts.add_factory("/" + name, LoopFactory(name, path))
        print(f"rtsp://{a.address}:{a.port}/{name} -> {path}", flush=True)
    # Keep every RTP packet for TCP clients (the default drops on a full send backlog).
    server.connect("client-connected", lambda srv, client: client.set_property("drop-backlog", False))
    if server.attach(None) == 0:
        raise SystemExit("could not bind port")
    GLib.MainLoop().run()


if __name__ == "__main__":
    main()
