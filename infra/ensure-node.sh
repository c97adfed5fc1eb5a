#!/usr/bin/env bash
# Makes sure Node.js >= 20.6 with npm is on PATH. On a machine without it, installs Debian's nodejs + npm, and if
# that Node is older than 20.6 (Debian 12 ships 18), installs Node 20 from the npm registry (the `node` package
# ships the official binary as an npm package) into /opt/minicloud-node and links it into /usr/local/bin.
set -euo pipefail

need_major=20
need_minor=6

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  local v; v=$(node -p 'process.versions.node' 2>/dev/null) || return 1
  local major=${v%%.*} rest=${v#*.}; local minor=${rest%%.*}
  (( major > need_major || (major == need_major && minor >= need_minor) ))
}

if node_ok && command -v npm >/dev/null 2>&1; then
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "ensure-node: installing Debian nodejs + npm" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

if ! node_ok; then
  echo "ensure-node: $(node -v 2>/dev/null || echo 'no node') is too old; installing Node 20 from the npm registry" >&2
  mkdir -p /opt/minicloud-node
  npm install --prefix /opt/minicloud-node --no-audit --no-fund node@20 >/dev/null
  ln -sf /opt/minicloud-node/node_modules/node/bin/node /usr/local/bin/node
  hash -r
fi

node_ok || { echo "ensure-node: could not provide Node >= ${need_major}.${need_minor}" >&2; exit 1; }
echo "ensure-node: $(node -v)" >&2
