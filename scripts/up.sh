#!/usr/bin/env bash
# `npm start [-- --mount DIR --home DIR --port N]`: installs what is missing, then runs
# `kiseki up` in the foreground. Ctrl-C unmounts and stops.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
bash "$ROOT/scripts/bootstrap.sh" runtime
exec "$ROOT/cli/bin/kiseki" up "$@"
