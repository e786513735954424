#!/usr/bin/env bash
# The whole test suite: system test peers, lint, type check, every vitest test.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh --check >/dev/null 2>&1 || bash scripts/install-test-deps.sh
npx eslint -c scripts/eslint.config.js .
npx tsc -p tsconfig.json --noEmit
npx vitest run --config scripts/vitest.config.ts "$@"
