#!/usr/bin/env bash
# Regenerates src/gen/ (TypeScript types for every message and service) from proto/*.proto
# with the pinned @grpc/proto-loader generator. Run after changing a .proto; commit the output.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf src/gen
npx proto-loader-gen-types proto/kiseki/v1/services.proto --longs=Number --enums=String --defaults --oneofs \
  --includeComments --grpcLib=@grpc/grpc-js --outDir=src/gen -I proto 2>&1 | grep -v -e "alpha" -e "not found in any of the include paths" -e "trace-warnings" || true
# NodeNext ESM wants explicit extensions on relative imports, even type-only ones.
find src/gen -name '*.ts' -print0 | xargs -0 sed -i -E "s#from '(\.{1,2}/[^']+)'#from '\1.ts'#"
