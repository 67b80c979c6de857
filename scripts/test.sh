#!/usr/bin/env bash
# `npm test`: installs what is missing, typechecks, lints, and runs every test (unit and
# end-to-end: real kiseki-server processes, real FUSE mounts). Ends with one summary line.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
bash scripts/bootstrap.sh test || exit 1
export PATH="$HOME/.local/bin:$PATH"

echo "== typecheck"
pnpm exec tsc -p tsconfig.json || { echo "tests: 0 passed, 1 failed (typecheck)"; exit 1; }
echo "== lint"
pnpm exec biome check . || { echo "tests: 0 passed, 1 failed (lint)"; exit 1; }

echo "== vitest"
report=$(mktemp -t kiseki-vitest-XXXXXX.json)
pnpm exec vitest run --reporter=default --reporter=json --outputFile="$report" "$@"
rc=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  if (r.numTotalTests === 0) { console.log("no tests ran"); process.exit(1); }
' "$report" || rc=1
rm -f "$report"
exit $rc
