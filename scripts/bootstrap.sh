#!/usr/bin/env bash
# Installs what Kiseki needs on a Debian machine with Node 20, then the workspace's packages.
#   bash scripts/bootstrap.sh [runtime|test|bench]
# As root it installs missing Debian packages itself; otherwise it says which ones to install.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROFILE=${1:-runtime}
PNPM_VERSION=12.4.2

say() { printf 'kiseki-bootstrap: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# --- Node -------------------------------------------------------------------------------
command -v node >/dev/null || die "Node.js is not installed: install Node 20 (e.g. apt-get install nodejs) and retry"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]')
[ "$NODE_MAJOR" -ge 20 ] || die "Node $(node --version) is too old: Kiseki needs Node 20 or newer"

# --- Debian packages ----------------------------------------------------------------------
# fuse3: fusermount3 and the kernel interface; libfuse3-dev + pkg-config: what the FUSE
# binding in native/fuse3 builds against.
# libisal-dev: Intel ISA-L, which native/ links for erasure coding (no fallback).
PKGS=(fuse3 libfuse3-dev pkg-config openssl libisal-dev)
case "$PROFILE" in
  test) PKGS+=(rsync fio softhsm2 python3-pykmip awscli attr sqlite3 git python3) ;;
  bench) PKGS+=(rsync fio gocryptfs etcd-server etcd-client) ;;
esac
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed: check the package mirror"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  else
    die "missing Debian packages: ${missing[*]}; run: sudo apt-get install ${missing[*]}"
  fi
fi
[ -e /dev/fuse ] || die "/dev/fuse is missing: FUSE is not available on this machine (load the fuse module)"

# --- pnpm ---------------------------------------------------------------------------------
if ! command -v pnpm >/dev/null || [ "$(pnpm --version 2>/dev/null)" != "$PNPM_VERSION" ]; then
  say "installing pnpm $PNPM_VERSION with npm (corepack can't verify it here)"
  if [ "$(id -u)" -eq 0 ]; then
    npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null 2>&1 || die "npm install -g pnpm@$PNPM_VERSION failed"
  else
    npm install --silent --prefix "$HOME/.local" "pnpm@$PNPM_VERSION" >/dev/null 2>&1 \
      || die "npm install pnpm@$PNPM_VERSION into ~/.local failed"
    export PATH="$HOME/.local/bin:$PATH"
  fi
fi

# --- workspace packages -------------------------------------------------------------------
cd "$ROOT"
# Native addons (pkcs11js, ours) build against the installed Node headers: no header download.
[ -d /usr/include/node ] && export npm_config_nodedir="${npm_config_nodedir:-/usr}"
stamp=node_modules/.kiseki-installed
if [ ! -f "$stamp" ] || [ pnpm-lock.yaml -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  say "installing workspace packages (pnpm install)"
  pnpm install --frozen-lockfile --reporter=silent || die "pnpm install failed (see above)"
  touch "$stamp"
fi
