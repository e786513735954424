#!/usr/bin/env bash
# The whole test suite: system test peers, lint, type check, every vitest test.
set -euo pipefail
cd "$(dirname "$0")/.."

# The independent peers (mosquitto, mbpoll, socat, openssl, pymodbus) are required, never skipped:
# --check names each missing one on stderr; then they are installed, or the run fails naming them.
if ! bash scripts/install-test-deps.sh --check; then
  echo "test: installing the missing test peers named above (scripts/install-test-deps.sh)" >&2
  bash scripts/install-test-deps.sh
fi
npx eslint -c scripts/eslint.config.js .
npx tsc -p tsconfig.json --noEmit
npx vitest run --config scripts/vitest.config.ts "$@"
