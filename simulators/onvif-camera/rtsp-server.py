"""The simulated camera's RTSP server (RFC 2326), GStreamer's gst-rtsp-server.

Usage: /usr/bin/python3 rtsp-server.py <host> <rtsp-port> <udp-port> [mount]

Serves the H.264 RTP that ffmpeg sends to <host>:<udp-port> at rtsp://<host>:<rtsp-port>/<mount>
(default stream1), to readers asking for RTP over UDP or interleaved in the RTSP TCP connection
(RTP/AVP/TCP), as real cameras do. One shared media: every reader sees the same stream. Only
elements of gstreamer1.0-plugins-base/-good are used (no h264parse). Prints "listening" once the
port is bound; stops on SIGTERM.
"""
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    if len(sys.argv) not in (4, 5):
        sys.exit('usage: rtsp-server.py <host> <rtsp-port> <udp-port> [mount]')
    host, port, udp = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mount = '/' + (sys.argv[4] if len(sys.argv) == 5 else 'stream1')
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        f'( udpsrc address={host} port={udp} '
        'caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" '
        '! rtph264depay ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
    factory.set_shared(True)
    server.get_mount_points().add_factory(mount, factory)
    if server.attach(None) == 0:
        sys.exit(f'rtsp-server.py: cannot listen on {host}:{port}')
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f'listening rtsp://{host}:{port}{mount}', flush=True)
    loop.run()


main()
