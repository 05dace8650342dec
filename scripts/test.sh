#!/usr/bin/env bash
# Installs everything, runs the project's checks (types, lint, import rules), then every test.
# The last line is the plain count CI reads: "N passed, N failed[, N skipped]".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
npm run --silent check
set +e
npx vitest run
rc=$?
set -e
node scripts/test-summary.mjs test-results.json
exit $rc
