"""The simulated camera's RTSP server (RFC 2326), GStreamer's gst-rtsp-server.

Usage: /usr/bin/python3 rtsp-server.py <host> [mount]

Binds, on <host>, a TCP port for RTSP and a UDP port pair for the H.264 RTP (and RTCP) that ffmpeg
sends it, all chosen by the system and held for the server's life (no other program can take them
between two readers), then prints one line:

    listening rtsp://<host>:<rtsp-port>/<mount> rtp=<udp-port>

It serves that stream to readers asking for RTP over UDP or interleaved in the RTSP TCP connection
(RTP/AVP/TCP), as real cameras do. One shared media: every reader sees the same stream. Only
elements of gstreamer1.0-plugins-base/-good are used (no h264parse). Stops on SIGTERM.
"""
import signal
import socket
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gio, GLib, Gst, GstRtspServer  # noqa: E402


def udp_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """Two UDP sockets bound to consecutive ports of host (RTP, then RTCP), the first chosen by the system."""
    for _ in range(100):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((host, 0))
        rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtcp.bind((host, rtp.getsockname()[1] + 1))
            return rtp, rtcp
        except OSError:
            rtp.close()
            rtcp.close()
    sys.exit(f'rtsp-server.py: no two consecutive free UDP ports on {host}')


def main() -> None:
    if len(sys.argv) not in (2, 3):
        sys.exit('usage: rtsp-server.py <host> [mount]')
    host = sys.argv[1]
    mount = '/' + (sys.argv[2] if len(sys.argv) == 3 else 'stream1')
    Gst.init(None)
    # RTCP from ffmpeg lands in `rtcp` and is not read: the socket only keeps the port ours.
    rtp, rtcp = udp_pair(host)
    rtp_socket = Gio.Socket.new_from_fd(rtp.detach())

    def use_held_socket(_factory, media):
        # udpsrc reads the held socket and leaves it open when the media stops, for the next reader.
        src = media.get_element().get_by_name('rtp')
        src.set_property('socket', rtp_socket)
        src.set_property('close-socket', False)

    server = GstRtspServer.RTSPServer()
    server.set_address(host)
    server.set_service('0')
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        '( udpsrc name=rtp '
        'caps="application/x-rtp,media=video,clock-rate=90000,encoding-name=H264,payload=96" '
        '! rtph264depay ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    )
    factory.set_shared(True)
    factory.connect('media-configure', use_held_socket)
    server.get_mount_points().add_factory(mount, factory)
    if server.attach(None) == 0:
        sys.exit(f'rtsp-server.py: cannot listen on {host}')
    loop = GLib.MainLoop()
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, loop.quit)
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, loop.quit)
    print(f'listening rtsp://{host}:{server.get_bound_port()}{mount} rtp={rtp_socket.get_local_address().get_port()}', flush=True)
    loop.run()
    rtcp.close()


main()
