#!/usr/bin/env bash
# `pnpm bench <name>`: runs test/bench/<name>.bench.ts (not part of the test suite).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
name=${1:-}
[ -n "$name" ] || { echo "usage: pnpm bench <name>   (one of: $(cd "$ROOT/test/bench" && ls *.bench.ts | sed 's/.bench.ts//' | tr '\n' ' '))" >&2; exit 2; }
shift
file="$ROOT/test/bench/$name.bench.ts"
[ -f "$file" ] || { echo "no benchmark '$name' in test/bench" >&2; exit 2; }
bash "$ROOT/scripts/bootstrap.sh" bench
exec "$ROOT/bin/run-ts" "$file" "$@"
