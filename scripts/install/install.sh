#!/usr/bin/env bash
# Installs the built gateway as the systemd service compound-gateway on Debian or Ubuntu.
#
#   sudo scripts/install/install.sh [--prefix /opt/compound-gateway] [--low-ports] [--deps ci|copy]
#   sudo scripts/install/install.sh --uninstall [--purge]
#
# Needs: Node.js >= 20 (`node` on PATH, or --node /path/to/node) and `npm run build` done in this
# checkout. What it does:
#   - copies dist/, config/, docs/ and package.json into the prefix, with the production
#     dependencies: `npm ci --omit=dev` there (--deps ci, the default: needs the npm registry), or a
#     copy of this checkout's node_modules pruned of development packages (--deps copy: offline);
#   - creates the system user and group compound-gw, member of dialout (USB-RS485 adapters);
#   - /etc/compound-gateway/ (site.yaml, secrets/): root:compound-gw 0750, files 0640; an example
#     site.yaml when there is none (an existing one is never touched);
#   - /var/lib/compound-gateway/ (journal, files): compound-gw:compound-gw 0750;
#   - the units compound-gateway.service (hardened, logs to the journal, Restart=on-failure) and
#     compound-gateway-liveness.timer (restarts the gateway when /healthz stops answering);
#   - /usr/local/bin/gateway, the `gateway` command of the installed tree.
# --low-ports gives the service CAP_NET_BIND_SERVICE, for a site binding a port below 1024.
# --uninstall removes the units, the prefix, the command and the user and group; it keeps
# /etc/compound-gateway and /var/lib/compound-gateway unless --purge.
# --root DIR puts everything under DIR (DIR/etc/passwd and DIR/etc/group are edited, no
# systemctl, useradd or chown by name): for tests, and for preparing an image.
set -euo pipefail

ROOT=''
PREFIX=/opt/compound-gateway
DEPS=ci
LOW_PORTS=0
UNINSTALL=0
PURGE=0
NODE_BIN=''
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
USER_NAME=compound-gw
ETC=/etc/compound-gateway
STATE=/var/lib/compound-gateway
UNIT_DIR=/etc/systemd/system

die() { echo "install.sh: $*" >&2; exit 1; }
usage() { sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --deps) DEPS=${2:?--deps needs ci or copy}; shift 2 ;;
    --node) NODE_BIN=${2:?--node needs the path of node}; shift 2 ;;
    --low-ports) LOW_PORTS=1; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    -h|--help) usage ;;
    *) echo "install.sh: unknown option $1" >&2; usage ;;
  esac
done
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path, got $PREFIX" ;; esac
case "$DEPS" in ci|copy) ;; *) die "--deps must be ci or copy, got $DEPS" ;; esac
if [ -n "$ROOT" ]; then
  mkdir -p "$ROOT"
  ROOT=$(cd "$ROOT" && pwd)
fi
[ -n "$ROOT" ] || [ "$(id -u)" = 0 ] || die "run as root (sudo), or with --root DIR"

# ---- users and groups: useradd on the machine, the passwd and group files under --root ----

# First free id in 100..999 (system range) in an id file (passwd: field 3, group: field 3).
free_id() {
  local file=$1 id
  for id in $(seq 999 -1 100); do
    if ! cut -d: -f3 "$file" | grep -qx "$id"; then echo "$id"; return; fi
  done
  die "no free system id left in $file"
}

ensure_user() {
  if [ -z "$ROOT" ]; then
    getent group "$USER_NAME" >/dev/null || groupadd --system "$USER_NAME"
    getent group dialout >/dev/null || groupadd --system dialout
    if ! getent passwd "$USER_NAME" >/dev/null; then
      useradd --system --gid "$USER_NAME" --groups dialout --home-dir "$STATE" --no-create-home \
        --shell /usr/sbin/nologin --comment 'compound gateway' "$USER_NAME"
    else
      usermod --append --groups dialout "$USER_NAME"
    fi
    return
  fi
  local passwd=$ROOT/etc/passwd group=$ROOT/etc/group gid uid
  mkdir -p "$ROOT/etc"
  touch "$passwd" "$group"
  grep -q '^dialout:' "$group" || echo "dialout:x:$(grep -q '^[^:]*:[^:]*:20:' "$group" && free_id "$group" || echo 20):" >>"$group"
  if ! grep -q "^$USER_NAME:" "$group"; then echo "$USER_NAME:x:$(free_id "$group"):" >>"$group"; fi
  gid=$(grep "^$USER_NAME:" "$group" | cut -d: -f3)
  if ! grep -q "^$USER_NAME:" "$passwd"; then
    uid=$(free_id "$passwd")
    echo "$USER_NAME:x:$uid:$gid:compound gateway:$STATE:/usr/sbin/nologin" >>"$passwd"
  fi
  # Member of dialout: append to the member list unless already there.
  awk -F: -v OFS=: -v u="$USER_NAME" '$1 == "dialout" { n = split($4, m, ","); found = 0
      for (i = 1; i <= n; i++) if (m[i] == u) found = 1
      if (!found) $4 = ($4 == "" ? u : $4 "," u) } { print }' "$group" >"$group.new"
  mv "$group.new" "$group"
}

remove_user() {
  if [ -z "$ROOT" ]; then
    if getent passwd "$USER_NAME" >/dev/null; then userdel "$USER_NAME"; fi
    if getent group "$USER_NAME" >/dev/null; then groupdel "$USER_NAME"; fi
    return
  fi
  local passwd=$ROOT/etc/passwd group=$ROOT/etc/group
  [ -f "$passwd" ] && { grep -v "^$USER_NAME:" "$passwd" >"$passwd.new" || true; mv "$passwd.new" "$passwd"; }
  [ -f "$group" ] || return 0
  awk -F: -v OFS=: -v u="$USER_NAME" '$1 == u { next } { n = split($4, m, ","); out = ""
      for (i = 1; i <= n; i++) if (m[i] != u) out = (out == "" ? m[i] : out "," m[i])
      $4 = out; print }' "$group" >"$group.new"
  mv "$group.new" "$group"
}

# Numeric ids under --root (chown by name would look at the machine's users, not DIR's).
uid_of() { if [ -n "$ROOT" ]; then grep "^$1:" "$ROOT/etc/passwd" | cut -d: -f3; else id -u "$1"; fi; }
gid_of() { if [ -n "$ROOT" ]; then grep "^$1:" "$ROOT/etc/group" | cut -d: -f3; else getent group "$1" | cut -d: -f3; fi; }

systemctl_() { if [ -z "$ROOT" ]; then systemctl "$@"; fi; }

# ---- uninstall ----

if [ "$UNINSTALL" = 1 ]; then
  systemctl_ disable --now compound-gateway-liveness.timer compound-gateway.service 2>/dev/null || true
  rm -f "$ROOT$UNIT_DIR/compound-gateway.service" "$ROOT$UNIT_DIR/compound-gateway-liveness.service" \
    "$ROOT$UNIT_DIR/compound-gateway-liveness.timer" "$ROOT/usr/local/bin/gateway"
  systemctl_ daemon-reload
  rm -rf "${ROOT:?}$PREFIX"
  if [ "$PURGE" = 1 ]; then rm -rf "${ROOT:?}$STATE" "${ROOT:?}$ETC"; fi
  remove_user
  echo "compound-gateway removed$([ "$PURGE" = 1 ] && echo ', with its site files and data' || echo "; kept $ETC and $STATE (--purge removes them)")"
  exit 0
fi

# ---- install ----

NODE_BIN=${NODE_BIN:-$(command -v node || true)}
[ -n "$NODE_BIN" ] || die "Node.js >= 20 is needed and \`node\` is not on PATH: install it (e.g. apt-get install nodejs, Debian 13 / Ubuntu 24.04 ship 20+; else NodeSource's node_20.x), or give --node /path/to/node"
NODE_MAJOR=$("$NODE_BIN" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$NODE_MAJOR" -ge 20 ] || die "Node.js >= 20 is needed, $NODE_BIN is $("$NODE_BIN" --version 2>/dev/null || echo 'not runnable'): install Node.js 20 or later"
[ -f "$SRC/dist/gateway/cli.js" ] || die "no build in $SRC/dist: run \`npm ci && npm run build\` there first"

DEST=$ROOT$PREFIX
echo "installing the gateway into $DEST (node $("$NODE_BIN" --version) at $NODE_BIN)"
rm -rf "$DEST.new"
mkdir -p "$DEST.new"
cp -a "$SRC/dist" "$SRC/config" "$SRC/docs" "$SRC/package.json" "$SRC/package-lock.json" "$DEST.new/"
# The benchmark compiles its own scripts into dist/scripts: not part of an installation.
rm -rf "$DEST.new/dist/scripts"
for codec in "$SRC"/drivers/*/codecs/*.js; do
  [ -e "$codec" ] || continue
  mkdir -p "$DEST.new/$(dirname "${codec#"$SRC"/}")"
  cp -a "$codec" "$DEST.new/${codec#"$SRC"/}"
done
# The installed tree runs no build: its package.json keeps no scripts (`prepare` would call tsc).
(cd "$DEST.new" && npm pkg delete scripts devDependencies >/dev/null)
if [ "$DEPS" = copy ]; then
  [ -d "$SRC/node_modules" ] || die "--deps copy: no node_modules in $SRC (run npm ci there)"
  cp -a "$SRC/node_modules" "$DEST.new/"
  (cd "$DEST.new" && npm prune --omit=dev --no-audit --no-fund >/dev/null)
else
  (cd "$DEST.new" && npm ci --omit=dev --no-audit --no-fund) || die "npm ci --omit=dev failed in $DEST.new (no access to the npm registry? use --deps copy)"
fi
rm -rf "$DEST"
mv "$DEST.new" "$DEST"
chown -R 0:0 "$DEST" 2>/dev/null || true
chmod -R go-w "$DEST"

ensure_user
UID_=$(uid_of "$USER_NAME")
GID_=$(gid_of "$USER_NAME")

install -d -m 0755 "$ROOT/etc" "$ROOT/var/lib" "$ROOT$UNIT_DIR" "$ROOT/usr/local/bin"
install -d -m 0750 -o 0 -g "$GID_" "$ROOT$ETC" "$ROOT$ETC/secrets"
if [ ! -e "$ROOT$ETC/site.yaml" ]; then
  install -m 0640 -o 0 -g "$GID_" "$SRC/config/examples/demo-compound.yaml" "$ROOT$ETC/site.yaml"
  echo "wrote an example $ETC/site.yaml: replace it with this site's file (gateway check-config $ETC/site.yaml)"
fi
# Files under the site folder: readable by the gateway, not writable, nothing for others.
find "$ROOT$ETC" -type f -exec chown "0:$GID_" {} + -exec chmod 0640 {} +
install -d -m 0750 -o "$UID_" -g "$GID_" "$ROOT$STATE"

CAPS=''
[ "$LOW_PORTS" = 1 ] && CAPS=CAP_NET_BIND_SERVICE
for unit in compound-gateway.service compound-gateway-liveness.service; do
  sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@NODE@|$NODE_BIN|g" -e "s|@ETC@|$ETC|g" -e "s|@CAPS@|$CAPS|g" \
    "$SRC/scripts/install/$unit.in" >"$ROOT$UNIT_DIR/$unit"
  chmod 0644 "$ROOT$UNIT_DIR/$unit"
done
install -m 0644 "$SRC/scripts/install/compound-gateway-liveness.timer" "$ROOT$UNIT_DIR/"
# With the gateway's V8 heap limit and malloc arena limit (gateway/core/node-flags.ts), as the unit runs it.
printf '#!/bin/sh\nexport MALLOC_ARENA_MAX=2\nexec %s --max-old-space-size=512 %s/dist/gateway/cli.js "$@"\n' "$NODE_BIN" "$PREFIX" >"$ROOT/usr/local/bin/gateway"
chmod 0755 "$ROOT/usr/local/bin/gateway"

systemctl_ daemon-reload
systemctl_ enable compound-gateway.service compound-gateway-liveness.timer
echo "installed. Next: edit $ETC/site.yaml, then
  gateway doctor --config $ETC/site.yaml
  systemctl start compound-gateway compound-gateway-liveness.timer
  journalctl -u compound-gateway -f"
