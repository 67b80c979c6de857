#!/usr/bin/env bash
# Builds the addon against the headers of the running Node (node-gyp would try to download
# them otherwise, which fails offline). A failed build is reported, and Kiseki falls back to
# the JavaScript implementations (slower, same results).
set -uo pipefail
cd "$(dirname "$0")"
NODEDIR=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [ ! -f "$NODEDIR/include/node/node_api.h" ]; then
  echo "kiseki-native: no Node headers under $NODEDIR/include/node; using JavaScript fallbacks" >&2
  exit 0
fi
# Erasure coding has no JavaScript fallback (it would be ~100x slower): without Intel ISA-L
# the install fails here, saying what to install.
if [ ! -f /usr/include/isa-l/erasure_code.h ]; then
  echo "kiseki-native: Intel ISA-L is missing (needed for erasure coding): apt-get install libisal-dev, or run scripts/bootstrap.sh as root" >&2
  exit 1
fi
if ! npx --no-install node-gyp rebuild --nodedir="$NODEDIR" --silent >/dev/null 2>build.log; then
  echo "kiseki-native: build failed (see native/build.log); using JavaScript fallbacks" >&2
  exit 0
fi
rm -f build.log
