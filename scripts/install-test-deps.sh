#!/usr/bin/env bash
# Installs the system programs the test suite uses as independent peers:
#
#   mosquitto         /usr/sbin/mosquitto and mosquitto_passwd: the city broker of the uplink tests
#   mosquitto-clients mosquitto_pub: an independent MQTT client publishing device uplinks (LoRaWAN)
#   curl              an independent HTTP client with Digest authentication (access gates)
#   mbpoll            an independent Modbus master polling the gas-detector simulator
#   socat             serial pty pairs (Modbus RTU, GSM modem)
#   openssl           certificates for the TLS / mutual-TLS uplink tests
#   python3-pymodbus  an independent Modbus slave for the gas-detector driver, run by /usr/bin/python3;
#   python3-serial, python3-serial-asyncio
#                     needed by `from pymodbus.server import ...` (only recommended by python3-pymodbus)
#   ffmpeg            ffmpeg (with libx264): the simulated cameras' test video and the live view's
#                     transcoder; ffprobe: an independent RTSP reader
#   onvif-tools       onvif-util: an independent ONVIF client (libonvif) against the camera simulator
#   gir1.2-gst-rtsp-server-1.0, python3-gi, gstreamer1.0-plugins-base, gstreamer1.0-plugins-good
#                     GStreamer's RTSP server (RTP over TCP and UDP), run by /usr/bin/python3, serving
#                     the simulated cameras' streams
#   iproute2          ip netns: the private network namespaces of the onvif-util test (root)
#   systemd           systemd-analyze verify: the service unit written by scripts/install/install.sh
#   chromium          /usr/bin/chromium: the headless browser of the console's browser tests (playwright-core)
#
# Every check exercises what the tests really use (the same binary, the same imports), so a peer
# that is present but unusable counts as missing.
#
#   bash scripts/install-test-deps.sh           install whatever is missing (apt-get; root or sudo)
#   bash scripts/install-test-deps.sh --check   no install: name each missing peer and its Debian
#                                               package on stderr, exit 1; silent exit 0 when all present
#
# Overrides (for testing this script): CG_TEST_PYTHON (default /usr/bin/python3, the interpreter the
# pymodbus test spawns), CG_TEST_MOSQUITTO (default /usr/sbin/mosquitto, the broker the tests spawn).
# The other programs are looked up on PATH, as the tests do. The checks use only shell builtins
# besides the probed programs themselves, so they also work with a reduced PATH.
set -euo pipefail

PY=${CG_TEST_PYTHON:-/usr/bin/python3}
MOSQUITTO=${CG_TEST_MOSQUITTO:-/usr/sbin/mosquitto}

# What simulators/onvif-camera/rtsp-server.py needs of GStreamer: the RTSP server and the RTP elements.
GST_RTSP='import gi
gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import Gst, GstRtspServer
Gst.init(None)
for e in ("udpsrc", "rtph264depay", "rtph264pay"):
    if Gst.ElementFactory.find(e) is None: raise SystemExit("missing GStreamer element " + e)'
GST_PACKAGES=(python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good)

# What drivers/gas-detector/testing/pymodbus-slave.py imports from pymodbus.
PYMODBUS_IMPORTS='from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.server import StartAsyncTcpServer'

PEERS=(mosquitto mosquitto_passwd mosquitto_pub curl mbpoll socat openssl pymodbus ffmpeg ffprobe onvif-util gst-rtsp-server ip systemd-analyze chromium)

last_line() { # last non-empty line of $1
  local s=${1%$'\n'}
  printf '%s' "${s##*$'\n'}"
}

# runs PROGRAM (on PATH) with ARGS and expects EXPECTED in its output (any exit status).
runs() {
  local program=$1 expected=$2 out path
  shift 2
  path=$(command -v "$program") || { WHY="$program not on PATH"; return 1; }
  out=$("$path" "$@" 2>&1) || true
  case "$out" in *"$expected"*) return 0 ;; esac
  WHY="'$path $*' did not run: $(last_line "$out")"
  return 1
}

# probe PEER: returns 0 when the peer works as the tests use it; otherwise sets WHY and PKG.
probe() {
  local out path
  WHY=""
  PKG=""
  case "$1" in
    mosquitto)
      PKG=mosquitto
      if [ ! -x "$MOSQUITTO" ]; then WHY="$MOSQUITTO not found"; return 1; fi
      # `mosquitto -h` prints its usage and exits 3: judge by the output.
      out=$("$MOSQUITTO" -h 2>&1) || true
      case "$out" in *"mosquitto version"*) return 0 ;; esac
      WHY="'$MOSQUITTO -h' did not run: $(last_line "$out")"
      return 1
      ;;
    mosquitto_passwd)
      PKG=mosquitto
      path=$(command -v mosquitto_passwd) || { WHY="mosquitto_passwd not on PATH"; return 1; }
      out=$("$path" 2>&1) || true # usage, exits 1
      case "$out" in *mosquitto_passwd*) return 0 ;; esac
      WHY="'$path' did not run: $(last_line "$out")"
      return 1
      ;;
    mosquitto_pub)
      PKG=mosquitto-clients
      path=$(command -v mosquitto_pub) || { WHY="mosquitto_pub not on PATH"; return 1; }
      out=$("$path" --help 2>&1) || true # usage, exits 1
      case "$out" in *mosquitto_pub*) return 0 ;; esac
      WHY="'$path --help' did not run: $(last_line "$out")"
      return 1
      ;;
    curl)
      PKG=curl
      path=$(command -v curl) || { WHY="curl not on PATH"; return 1; }
      out=$("$path" --version 2>&1) && return 0
      WHY="'$path --version' failed: $(last_line "$out")"
      return 1
      ;;
    mbpoll)
      PKG=mbpoll
      path=$(command -v mbpoll) || { WHY="mbpoll not on PATH"; return 1; }
      if out=$("$path" -h 2>&1); then
        case "$out" in *"usage : mbpoll"*) return 0 ;; esac
      fi
      WHY="'$path -h' did not run: $(last_line "$out")"
      return 1
      ;;
    socat)
      PKG=socat
      path=$(command -v socat) || { WHY="socat not on PATH"; return 1; }
      out=$("$path" -V 2>&1) && return 0
      WHY="'$path -V' failed: $(last_line "$out")"
      return 1
      ;;
    openssl)
      PKG=openssl
      path=$(command -v openssl) || { WHY="openssl not on PATH"; return 1; }
      out=$("$path" version 2>&1) && return 0
      WHY="'$path version' failed: $(last_line "$out")"
      return 1
      ;;
    pymodbus)
      PKG=python3-pymodbus
      if [ ! -x "$PY" ]; then PKG=python3; WHY="$PY not found"; return 1; fi
      out=$("$PY" -c "$PYMODBUS_IMPORTS" 2>&1) && return 0
      WHY="$PY cannot import what pymodbus-slave.py imports: $(last_line "$out")"
      # Name the Debian package that provides the module the import stopped at.
      if [[ "$out" =~ No\ module\ named\ \'([A-Za-z0-9_]+) ]]; then
        case "${BASH_REMATCH[1]}" in
          pymodbus) PKG=python3-pymodbus ;;
          serial) PKG=python3-serial ;;
          serial_asyncio) PKG=python3-serial-asyncio ;;
          *) PKG="python3-${BASH_REMATCH[1]//_/-}" ;;
        esac
      fi
      return 1
      ;;
    ffmpeg)
      PKG=ffmpeg
      # The camera simulator encodes H.264 with libx264.
      runs ffmpeg ' libx264 ' -hide_banner -encoders
      ;;
    ffprobe)
      PKG=ffmpeg
      runs ffprobe 'ffprobe version' -hide_banner -version
      ;;
    onvif-util)
      PKG=onvif-tools
      runs onvif-util 'Usage: onvif-util' -h
      ;;
    gst-rtsp-server)
      PKG=gir1.2-gst-rtsp-server-1.0
      if [ ! -x "$PY" ]; then PKG=python3; WHY="$PY not found"; return 1; fi
      out=$("$PY" -c "$GST_RTSP" 2>&1) && return 0
      WHY="$PY cannot run GStreamer's RTSP server: $(last_line "$out")"
      return 1
      ;;
    systemd-analyze)
      PKG=systemd
      runs systemd-analyze 'systemd' --version
      ;;
    ip)
      PKG=iproute2
      runs ip 'iproute2' -V
      ;;
    chromium)
      PKG=chromium
      runs chromium 'Chromium' --version
      ;;
    *)
      echo "install-test-deps: unknown peer $1" >&2
      exit 2
      ;;
  esac
}

MISSING=() # "peer|package|why"
check_all() {
  MISSING=()
  local peer
  for peer in "${PEERS[@]}"; do
    probe "$peer" || MISSING+=("$peer|$PKG|$WHY")
  done
}

report_missing() { # on stderr, one line per missing peer
  local m peer pkg why
  for m in "${MISSING[@]}"; do
    peer=${m%%|*}
    m=${m#*|}
    pkg=${m%%|*}
    why=${m#*|}
    echo "install-test-deps: missing test peer $peer: install Debian package $pkg ($why)" >&2
  done
}

check_all

if [ ${#MISSING[@]} -eq 0 ]; then
  [ "${1:-}" = "--check" ] || echo "test dependencies: all present"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  report_missing
  echo "install-test-deps: run 'bash scripts/install-test-deps.sh' (apt-get, as root or with sudo) to install them" >&2
  exit 1
fi

# Packages of the missing peers; pymodbus always comes with python3-serial and
# python3-serial-asyncio, because --no-install-recommends would otherwise leave
# pymodbus.server unimportable.
packages=()
for m in "${MISSING[@]}"; do
  peer=${m%%|*}
  m=${m#*|}
  pkg=${m%%|*}
  case " ${packages[*]:-} " in *" $pkg "*) ;; *) packages+=("$pkg") ;; esac
  if [ "$peer" = gst-rtsp-server ]; then
    for p in "${GST_PACKAGES[@]}"; do
      case " ${packages[*]} " in *" $p "*) ;; *) packages+=("$p") ;; esac
    done
  fi
  if [ "$peer" = pymodbus ]; then
    for p in python3 python3-pymodbus python3-serial python3-serial-asyncio; do
      case " ${packages[*]} " in *" $p "*) ;; *) packages+=("$p") ;; esac
    done
  fi
done

report_missing
echo "installing test dependencies: ${packages[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# The Debian mosquitto package may start a system broker on :1883; tests start their own on other ports.

check_all
if [ ${#MISSING[@]} -ne 0 ]; then
  echo "install-test-deps: still missing after installing ${packages[*]}:" >&2
  report_missing
  exit 1
fi
echo "test dependencies installed"
