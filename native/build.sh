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
# The libfuse3 low-level binding mount.kiseki runs on (native/fuse3). It needs libfuse3-dev
# (pkg-config fuse3); without it mount.kiseki cannot start and says so.
if ! pkg-config --exists fuse3; then
  echo "kiseki-native: libfuse3-dev is missing (pkg-config fuse3): mount.kiseki needs it (apt-get install libfuse3-dev)" >&2
elif ! (cd fuse3 && npx --no-install node-gyp rebuild --nodedir="$NODEDIR" --silent >/dev/null 2>build.log); then
  echo "kiseki-native: the fuse3 binding failed to build (see native/fuse3/build.log): mount.kiseki needs it" >&2
else
  rm -f fuse3/build.log
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
