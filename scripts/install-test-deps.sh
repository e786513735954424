#!/usr/bin/env bash
# Installs the system programs the test suite uses as independent peers (BRIEF §8).
# Idempotent and quick when everything is already there. Needs root (or sudo) for apt-get.
set -euo pipefail

# program-to-check  debian-package
wanted=(
  "mosquitto:mosquitto"
  "mosquitto_sub:mosquitto-clients"
  "mbpoll:mbpoll"
  "socat:socat"
  "pymodbus:python3-pymodbus"
  "openssl:openssl"
)

have() {
  case "$1" in
    pymodbus) /usr/bin/python3 -c 'import pymodbus' >/dev/null 2>&1 ;;
    mosquitto) command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=()
for pair in "${wanted[@]}"; do
  prog=${pair%%:*}
  pkg=${pair##*:}
  have "$prog" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  [ "${1:-}" = "--check" ] || echo "test dependencies: all present"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "missing: ${missing[*]}"
  exit 1
fi

echo "installing test dependencies: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian mosquitto package may start a system broker on :1883; tests start their own on other ports.
for pair in "${wanted[@]}"; do
  prog=${pair%%:*}
  have "$prog" || { echo "install-test-deps: $prog still missing after installing ${pair##*:}" >&2; exit 1; }
done
echo "test dependencies installed"
